"""GPU path: does the engine's masked model keep the fused cuDNN LSTM kernel?

Three models of the seed's size (Embedding 128 → 2 × LSTM 64 → softmax; 20k post-padded sequences of length 100,
real lengths 20–100, batch 256) are trained side by side:
  bare    Keras LSTMs, no mask at all (the cuDNN ceiling; wrong for padded data),
  masked  Keras LSTMs behind Embedding(mask_zero=True) (correct; on torch it falls off cuDNN: DESIGN.md measured
          829 vs 24,416 samples/s on an H200),
  engine  core.model.classifier.build_model: the same layers through LengthAwareLSTM (mask honoured by lengths, the LSTM
          kernel itself unmasked).
It prints one backend line (Keras backend and version, device; torch: whether cuDNN is available; jax: its devices),
samples/s (median of the timed epochs; the first epoch is warm-up), the engine/bare ratio (target >= 0.9) and
whether each model's LSTMs ran Keras's fused backend op (``backend.lstm``: cuDNN on a GPU; on a CPU, torch's own
LSTM op, and nothing on TensorFlow or JAX) or the step-by-step loop. It checks that the engine's outputs equal the
masked Keras model's with the same weights (with TF32 turned off for that comparison; an unmasked model's
difference is printed beside it, to show what a masking mistake looks like), that every model's outputs have the
expected shape and sum to 1, and that the engine's LSTMs take the fused op wherever the bare model's do.
Exits 0 when every check passes (the speed target is reported, not enforced), 1 when one fails, 2 when Keras or
the backend's library is missing (one sentence naming the package).

TensorFlow need not be installed: ``KERAS_BACKEND=torch`` or ``jax`` picks the backend, and nothing this script
imports loads TensorFlow on those backends. ``--dry-run`` runs the same steps at tiny sizes (one epoch, no warm-up,
vocabulary 300, 96 × 12, masking checked for one- and two-directional LSTMs) in seconds: that is how it is tested on
a CPU (tests/system/test_gpu_path.py; on torch and jax without TensorFlow too).

On a lent GPU machine (device tool; its python3 is 3.12 with torch and jax but no Keras, namex or optree): once,
here, in the repo's root (.whl/ is in .gitignore),

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \\
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0

then one run with carry [".whl"] and timeout_s 600 (the timeouts below add up to 560 s; DESIGN.md's H200 numbers
put it near 5 minutes; the tables come back in output_tail, the numbers in $OUT/*.json), as one line:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 || exit; nvidia-smi -L;
    KERAS_BACKEND=torch timeout 60 python3 bench/gpu_path.py --dry-run || exit;
    for b in torch jax; do KERAS_BACKEND=$b timeout 200 python3 bench/gpu_path.py --json $OUT/$b.json; done;
    KERAS_BACKEND=torch timeout 100 python3 bench/gpu_path.py --bidirectional --models bare,engine
    --json $OUT/torch-bi.json

(``--models bare,engine`` skips timing the masked Keras model, which DESIGN.md measured at 275 samples/s for the
bidirectional model on torch: 4 epochs of 20k rows would take 5 minutes; its outputs are still compared. The JAX
bidirectional run, ``KERAS_BACKEND=jax ... --bidirectional``, fits a second call if device time is left.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.backend import BackendUnavailable, describe_backend, import_keras, require_backend  # noqa: E402

CLASSES = 4
VOCAB = 20_000
TOLERANCE = 1e-4  # largest |engine − masked Keras| accepted, on class probabilities, in full float32
TARGET = 0.9  # engine samples/s over bare samples/s
DRY_RUN = {"rows": 96, "length": 12, "batch": 32, "epochs": 1, "vocab": 300}
MODELS = {"bare": "bare (no mask)", "masked": "masked Keras", "engine": "engine (LengthAwareLSTM)"}


def data(rows: int, length: int, vocab: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Post-padded token IDs (real lengths length/5..length, at least 1) and labels: the only padding cuDNN accepts
    with a mask (strictly right-padded, no all-padding row), checked here."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(1, length // 5), length + 1, size=rows)
    if rows >= 2:  # the extremes: one real token, and no padding at all
        lengths[0], lengths[1] = 1, length
    ids = np.zeros((rows, length), dtype="int32")
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(2, vocab, size=n)
    real = ids != 0
    if not (real[:, 0].all() and (real[:, 1:] <= real[:, :-1]).all()):
        raise AssertionError("the data is not strictly right-padded with a real first token in every row")
    return ids, rng.integers(0, classes, size=rows)


def keras_model(length: int, vocab: int, classes: int, *, masked: bool, bidirectional: bool):
    import keras
    from keras import layers

    inputs = keras.Input((length,), dtype="int32")
    x = layers.Embedding(vocab, 128, mask_zero=masked)(inputs)
    for last in (False, True):
        lstm = layers.LSTM(64, return_sequences=not last)
        x = (layers.Bidirectional(lstm) if bidirectional else lstm)(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def engine_model(length: int, vocab: int, classes: int, *, bidirectional: bool):
    from core.config import ModelConfig
    from core.model.classifier import build_model

    config = ModelConfig(embedding_dim=128, lstm_units=64, lstm_layers=2, bidirectional=bidirectional, dropout=0.0,
                         attention="none", l2=0.0)
    return build_model(config, vocab, classes, length)


def builder(name: str, length: int, vocab: int, bidirectional: bool) -> Callable:
    if name == "engine":
        return lambda: engine_model(length, vocab, CLASSES, bidirectional=bidirectional)
    return lambda: keras_model(length, vocab, CLASSES, masked=name == "masked", bidirectional=bidirectional)


@contextlib.contextmanager
def fused_lstm_calls() -> Iterator[dict]:
    """Count how Keras's LSTM layers ran while inside: ``fused`` when the backend's ``lstm`` op took them (cuDNN on a
    GPU), ``loop`` when it declined (NotImplementedError) and Keras stepped through time itself. Keras 3's LSTM
    calls ``keras.src.backend.lstm`` (a private name: if it is missing, ``available`` is False and nothing is counted).
    TensorFlow and JAX count while tracing, torch on every call: read the counts as yes/no, not as call numbers."""
    counts = {"fused": 0, "loop": 0, "available": False}
    try:
        from keras.src import backend as keras_backend
    except ImportError:
        yield counts
        return
    original = getattr(keras_backend, "lstm", None)
    if original is None:
        yield counts
        return

    def counted(*args, **kwargs):
        try:
            result = original(*args, **kwargs)
        except NotImplementedError:
            counts["loop"] += 1
            raise
        counts["fused"] += 1
        return result

    counts["available"] = True
    keras_backend.lstm = counted
    try:
        yield counts
    finally:
        keras_backend.lstm = original


def fused_label(counts: dict) -> str:
    if not counts["available"]:
        return "n/a"
    if counts["fused"] and counts["loop"]:
        return "mixed"
    return "yes" if counts["fused"] else "no" if counts["loop"] else "n/a"


@contextlib.contextmanager
def full_precision(backend: str) -> Iterator[None]:
    """float32 matrix products without TF32 while inside (cuDNN RNNs and matmuls default to TF32 on Ampere and
    later GPUs, which alone would differ by about 1e-3): the masking check compares masking, not rounding."""
    restore: list[Callable[[], None]] = []
    try:
        if backend == "torch":
            import torch

            for flags in (torch.backends.cudnn.rnn, torch.backends.cuda.matmul):
                if hasattr(flags, "fp32_precision"):  # torch >= 2.9; mixing it with allow_tf32 raises
                    previous = flags.fp32_precision
                    flags.fp32_precision = "ieee"
                    restore.append(lambda flags=flags, previous=previous: setattr(flags, "fp32_precision", previous))
            if not restore:
                previous_cudnn, previous_matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
                torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
                restore.append(lambda: (setattr(torch.backends.cudnn, "allow_tf32", previous_cudnn),
                                        setattr(torch.backends.cuda.matmul, "allow_tf32", previous_matmul)))
        elif backend == "tensorflow":
            import tensorflow as tf

            previous = tf.config.experimental.tensor_float_32_execution_enabled()
            tf.config.experimental.enable_tensor_float_32_execution(False)
            restore.append(lambda: tf.config.experimental.enable_tensor_float_32_execution(previous))
        elif backend == "jax":
            import jax

            context = jax.default_matmul_precision("highest")
            context.__enter__()
            restore.append(lambda: context.__exit__(None, None, None))
        yield
    finally:
        for undo in reversed(restore):
            undo()


def masking_check(length: int, vocab: int, bidirectional: bool) -> dict:
    """Largest |difference| of class probabilities between the engine and the masked Keras model with identical
    weights, and, for scale, between an unmasked Keras model and the masked one (what a masking mistake gives)."""
    import keras

    reference = keras_model(length, vocab, CLASSES, masked=True, bidirectional=bidirectional)
    engine = engine_model(length, vocab, CLASSES, bidirectional=bidirectional)
    unmasked = keras_model(length, vocab, CLASSES, masked=False, bidirectional=bidirectional)
    engine.set_weights(reference.get_weights())
    unmasked.set_weights(reference.get_weights())
    x, _ = data(64, length, vocab, CLASSES, seed=1)
    with full_precision(keras.backend.backend()):
        expected = reference.predict(x, verbose=0)
        engine_outputs, unmasked_outputs = engine.predict(x, verbose=0), unmasked.predict(x, verbose=0)
    return {"bidirectional": bidirectional, "engine": float(np.abs(engine_outputs - expected).max()),
            "unmasked": float(np.abs(unmasked_outputs - expected).max()),
            "shapes_equal": engine_outputs.shape == expected.shape == (len(x), CLASSES)}


def shape_problem(model, x: np.ndarray) -> str | None:
    """None when the model maps (n, steps) IDs to (n, classes) finite probabilities summing to 1."""
    outputs = np.asarray(model.predict(x[:8], verbose=0))
    if outputs.shape != (min(8, len(x)), CLASSES):
        return f"outputs of shape {outputs.shape}, expected {(min(8, len(x)), CLASSES)}"
    if not np.isfinite(outputs).all() or np.abs(outputs.sum(axis=1) - 1).max() > 1e-3:
        return "outputs that are not finite probabilities summing to 1"
    return None


def samples_per_second(model, x: np.ndarray, y: np.ndarray, batch: int, epochs: int, warmup: bool) -> list[float]:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    if warmup:
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # tracing, cuDNN plans, allocator
    rates = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        rates.append(len(x) / (time.perf_counter() - started))
    return rates


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--vocab", type=int, default=VOCAB)
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"which to time, comma-separated, of {', '.join(MODELS)} (outputs are compared anyway)")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny sizes, one epoch without warm-up, masking checked in both directions")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    args.models = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = [name for name in args.models if name not in MODELS]
    if unknown or not args.models:
        parser.error(f"--models takes some of {', '.join(MODELS)}; got {', '.join(unknown) or 'none'}")
    if args.dry_run:
        vars(args).update(DRY_RUN)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        require_backend()
    except BackendUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    keras = import_keras()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing warnings: each model here is traced anew
    backend_line = describe_backend()
    print(f"backend: {backend_line}", flush=True)

    problems: list[str] = []
    directions = (False, True) if args.dry_run else (args.bidirectional,)
    masking = [masking_check(args.length, args.vocab, bidirectional) for bidirectional in directions]
    for check in masking:
        which = "2 × BiLSTM" if check["bidirectional"] else "2 × LSTM"
        if not check["shapes_equal"]:
            problems.append(f"{which}: the engine's and the masked model's outputs differ in shape")
        if not check["engine"] <= TOLERANCE:
            problems.append(f"{which}: the engine's outputs differ from the masked Keras model's by "
                            f"{check['engine']:.2e} (> {TOLERANCE:g})")

    x, y = data(args.rows, args.length, args.vocab, CLASSES)
    results: dict[str, dict] = {}
    for name in args.models:
        keras.utils.set_random_seed(0)
        try:  # one model failing (out of memory, a kernel refusing a mask) must not cost the others' numbers
            with fused_lstm_calls() as counts:
                model = builder(name, args.length, args.vocab, args.bidirectional)()
                rates = samples_per_second(model, x, y, args.batch, args.epochs, warmup=not args.dry_run)
            problem = shape_problem(model, x)
        except Exception as exc:  # noqa: BLE001 - reported as a failed check, with the exception's own words
            problems.append(f"{MODELS[name]} failed: {type(exc).__name__}: {str(exc)[:300]}")
            print(f"{MODELS[name]} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            continue
        if problem:
            problems.append(f"{MODELS[name]}: {problem}")
        results[name] = {"samples_per_second": statistics.median(rates), "epochs": rates, "fused": fused_label(counts)}
        print(f"{MODELS[name]}: {results[name]['samples_per_second']:,.0f} samples/s", file=sys.stderr, flush=True)
    if "bare" in results and "engine" in results and results["bare"]["fused"] == "yes" \
            and results["engine"]["fused"] != "yes":
        problems.append("the engine's LSTMs left the fused LSTM op that the bare model's took")

    kind = "2 × BiLSTM 64" if args.bidirectional else "2 × LSTM 64"
    timing = ("one epoch, no warm-up (dry run)" if args.dry_run
              else f"median of {args.epochs} timed epochs after a warm-up")
    print(f"\nEmbedding 128 → {kind}; {args.rows:,} × {args.length} post-padded; vocabulary {args.vocab:,}; "
          f"batch {args.batch}; {timing}\n")
    print("| model | samples/s | ratio to bare | fused LSTM op |")
    print("|---|---|---|---|")
    bare = results.get("bare", {}).get("samples_per_second")
    for name, result in results.items():
        ratio = f"{result['samples_per_second'] / bare:.2f}" if bare else "—"
        print(f"| {MODELS[name]} | {result['samples_per_second']:,.0f} | {ratio} | {result['fused']} |")
    ratio = results["engine"]["samples_per_second"] / bare if bare and "engine" in results else None
    print()
    if ratio is not None:
        print(f"engine / bare = {ratio:.2f} (target >= {TARGET}: {'met' if ratio >= TARGET else 'not met'})")
    for check in masking:
        which = "2 × BiLSTM" if check["bidirectional"] else "2 × LSTM"
        print(f"masking ({which}): max |engine − masked Keras| {check['engine']:.2e} (tolerance {TOLERANCE:g}; "
              f"an unmasked LSTM differs by {check['unmasked']:.2e})")
    print("checks: " + ("all passed" if not problems else "FAILED: " + "; ".join(problems)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "backend": backend_line, "dry_run": args.dry_run, "bidirectional": args.bidirectional, "rows": args.rows,
            "length": args.length, "vocab": args.vocab, "batch": args.batch, "epochs": args.epochs,
            "results": results, "engine_over_bare": ratio, "target": TARGET, "masking": masking,
            "tolerance": TOLERANCE, "problems": problems,
        }, indent=2) + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
