"""GPU path: does the engine's masked model keep the fused cuDNN LSTM kernel?

Run on a machine with a GPU, once per backend (TensorFlow need not be installed there):

    KERAS_BACKEND=torch python bench/gpu_path.py
    KERAS_BACKEND=jax   python bench/gpu_path.py
    KERAS_BACKEND=torch python bench/gpu_path.py --bidirectional

Three models of the seed's size (Embedding 128 → 2 × LSTM 64 → softmax; 20k post-padded sequences of length 100,
real lengths 20–100, batch 256) are trained side by side:
  bare    Keras LSTMs, no mask at all (the cuDNN ceiling; wrong for padded data),
  masked  Keras LSTMs behind Embedding(mask_zero=True) (correct; on torch it falls off cuDNN: DESIGN.md measured
          829 vs 24,416 samples/s on an H200),
  engine  core.model.classifier.build_model: the same layers through LengthAwareLSTM (mask honoured by lengths, the LSTM
          kernel itself unmasked).
It prints samples/s (median of the timed epochs; the first epoch is warm-up) and the engine/bare ratio (target
>= 0.9), and checks that the engine's outputs equal the masked Keras model's with the same weights.
Runs on a CPU too (slowly), which is how this script is tested here. Exits non-zero if a run fails or the engine's
outputs differ from the masked model's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from core.config import ModelConfig  # noqa: E402
from core.model.classifier import build_model  # noqa: E402


def data(rows: int, length: int, vocab: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(length // 5, length + 1, size=rows)
    ids = np.zeros((rows, length), dtype="int32")
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(2, vocab, size=n)
    return ids, rng.integers(0, classes, size=rows)


def keras_model(length: int, vocab: int, classes: int, *, masked: bool, bidirectional: bool) -> keras.Model:
    inputs = keras.Input((length,), dtype="int32")
    x = layers.Embedding(vocab, 128, mask_zero=masked)(inputs)
    for last in (False, True):
        lstm = layers.LSTM(64, return_sequences=not last)
        x = (layers.Bidirectional(lstm) if bidirectional else lstm)(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def engine_model(length: int, vocab: int, classes: int, *, bidirectional: bool) -> keras.Model:
    config = ModelConfig(embedding_dim=128, lstm_units=64, lstm_layers=2, bidirectional=bidirectional, dropout=0.0,
                         attention="none", l2=0.0)
    return build_model(config, vocab, classes, length)


def samples_per_second(model: keras.Model, x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> list[float]:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up: tracing, cuDNN plans, allocator
    rates = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        rates.append(len(x) / (time.perf_counter() - started))
    return rates


def masking_matches(length: int, vocab: int, classes: int, bidirectional: bool) -> float:
    """Largest difference between the engine's and the masked Keras model's outputs with identical weights."""
    reference = keras_model(length, vocab, classes, masked=True, bidirectional=bidirectional)
    engine = engine_model(length, vocab, classes, bidirectional=bidirectional)
    engine.set_weights(reference.get_weights())
    x, _ = data(64, length, vocab, classes, seed=1)
    return float(np.abs(engine.predict(x, verbose=0) - reference.predict(x, verbose=0)).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--bidirectional", action="store_true")
    args = parser.parse_args(argv)
    vocab, classes = 20_000, 4
    x, y = data(args.rows, args.length, vocab, classes)
    difference = masking_matches(args.length, vocab, classes, args.bidirectional)
    results = {}
    for name, build in (
        ("bare (no mask)", lambda: keras_model(args.length, vocab, classes, masked=False, bidirectional=args.bidirectional)),
        ("masked Keras", lambda: keras_model(args.length, vocab, classes, masked=True, bidirectional=args.bidirectional)),
        ("engine (LengthAwareLSTM)", lambda: engine_model(args.length, vocab, classes, bidirectional=args.bidirectional)),
    ):
        keras.utils.set_random_seed(0)
        results[name] = statistics.median(samples_per_second(build(), x, y, args.batch, args.epochs))
        print(f"{name}: {results[name]:,.0f} samples/s", file=sys.stderr)
    device = "cpu"
    if keras.backend.backend() == "torch":
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    elif keras.backend.backend() == "jax":
        import jax

        device = str(jax.devices()[0])
    kind = "2 × BiLSTM 64" if args.bidirectional else "2 × LSTM 64"
    print(f"\nbackend {keras.backend.backend()} on {device}; Embedding 128 → {kind}; {args.rows:,} × {args.length} "
          f"post-padded; batch {args.batch}; median of {args.epochs} timed epochs\n")
    print("| model | samples/s | ratio to bare |")
    print("|---|---|---|")
    bare = results["bare (no mask)"]
    for name, rate in results.items():
        print(f"| {name} | {rate:,.0f} | {rate / bare:.2f} |")
    ratio = results["engine (LengthAwareLSTM)"] / bare
    print(f"\nengine / bare = {ratio:.2f} (target >= 0.9: {'met' if ratio >= 0.9 else 'not met'}); "
          f"engine vs masked Keras outputs: max |difference| {difference:.2e}")
    return 0 if difference < 1e-4 else 1


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
