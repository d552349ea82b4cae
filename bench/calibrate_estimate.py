"""Measure real training throughput and peak memory on this machine and fit core/estimate.py's constants.

    .venv/bin/python bench/calibrate_estimate.py            # all configs (a few minutes on 2 cores)
    .venv/bin/python bench/calibrate_estimate.py --quick    # three configs, to check the table still holds

Each config trains in its own subprocess (so ru_maxrss is that config's peak) through core.training.fit.train, the way
core.training.experiment does: random post-padded token IDs, 3 epochs without early stopping; the per-epoch time is the faster of
epochs 2 and 3 (epoch 1 includes graph tracing; other work on a shared machine only adds time). Prints measured vs predicted (with the module's constants and with the
constants fitted here) and the fitted constants, ready to paste into core/estimate.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.choices.resampling import RESAMPLERS  # noqa: E402

EPOCHS = 3
# The calibration's embedding-space resampler: the first such record of the registry (SMOTE).
EMBEDDED_RESAMPLER = next(record.key for record in RESAMPLERS if record.embedded)

# name, rows (training split, before resampling), settings; vocab defaults to 5000, classes to 4
CONFIGS: list[tuple[str, int, list[str]]] = [
    ("default bi-64 L100 b64", 1200, []),
    ("uni-32 no-attn L60 b32", 1200, ["model.lstm_units=32", "model.bidirectional=false", 'model.attention="none"', "vectorizing.max_length=60", "training.batch_size=32"]),
    ("bi-128 L100 b64", 800, ["model.lstm_units=128"]),
    ("2x bi-64 L100 b64", 800, ["model.lstm_layers=2"]),
    ("bi-64 L200 b64", 600, ["vectorizing.max_length=200"]),
    ("bi-64 L100 b16", 500, ["training.batch_size=16"]),
    ("bi-64 L100 b256", 2500, ["training.batch_size=256"]),
    ("bi-64 multihead-4 L100", 800, ["model.attention=multihead", "model.attention_heads=4"]),
    ("3x uni-64 L50 b128", 1500, ["model.lstm_layers=3", "model.bidirectional=false", "vectorizing.max_length=50", "training.batch_size=128"]),
    ("E300 V50k uni-64 L100", 1200, ["model.embedding_dim=300", "model.bidirectional=false", "vocab=50000"]),
    ("bi-64 L100 rec-dropout", 800, ["model.recurrent_dropout=0.2"]),
    ("uni-128 L100 rec-dropout b128", 1200, ["model.recurrent_dropout=0.2", "model.bidirectional=false", "model.lstm_units=128", "training.batch_size=128"]),
    ("SMOTE bi-64 L100 b64", 600, [f"resampling.strategy={EMBEDDED_RESAMPLER}", "classes=60:25:10:5"]),
]
# Measured and shown, but left out of the fit: an out-of-sample check (DESIGN.md's CPU anchor model, batch 256).
HOLDOUT: list[tuple[str, int, list[str]]] = [
    ("holdout 2x uni-64 no-attn b256", 3000, ["model.lstm_layers=2", "model.bidirectional=false", 'model.attention="none"', "training.batch_size=256", "vocab=20000"]),
]
QUICK = ("default bi-64 L100 b64", "SMOTE bi-64 L100 b64", "holdout 2x uni-64 no-attn b256")


def _parse(settings: list[str]):
    from core.config import ExperimentConfig, apply_overrides

    vocab, shares = 5000, [25, 25, 25, 25]
    overrides = ["training.epochs=%d" % EPOCHS, "training.early_stopping=false", "vectorizing.max_length=100"]
    for setting in settings:
        key, _, value = setting.partition("=")
        if key == "vocab":
            vocab = int(value)
        elif key == "classes":
            shares = [int(v) for v in value.split(":")]
        else:
            overrides.append(setting)
    return apply_overrides(ExperimentConfig(), overrides), vocab, shares


def _token_ids(rng, rows: int, steps: int, vocab: int):
    import numpy as np

    lengths = rng.integers(max(1, steps // 4), steps + 1, size=rows)
    ids = rng.integers(2, vocab, size=(rows, steps), dtype=np.int32)
    ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return ids


def worker(name: str, rows: int, settings: list[str]) -> dict:
    """Train one config in this process and report epoch times and peak RSS."""
    import resource

    import numpy as np

    from core.model import estimate
    from core.choices import resampling as resampling_module
    from core.model.classifier import build_classifier
    from core.training.fit import embedder, freeze_embedding, seed_everything, train, warm_up_embedding

    config, vocab, shares = _parse(settings)
    steps, classes = config.vectorizing.max_length, len(shares)
    split = config.split
    val_rows = round(rows * split.validation_fraction / (1 - split.validation_fraction - split.test_fraction))
    test_rows = round((rows + val_rows) * split.test_fraction / (1 - split.test_fraction))
    rng = np.random.default_rng(0)
    probabilities = np.asarray(shares, dtype=float) / sum(shares)
    y_train = rng.choice(classes, size=rows, p=probabilities)
    y_val = rng.choice(classes, size=val_rows, p=probabilities)
    x_train, x_val = _token_ids(rng, rows, steps, vocab), _token_ids(rng, val_rows, steps, vocab)
    x_test = _token_ids(rng, test_rows, steps, vocab)  # held, as the experiment holds it, for the memory figure
    seed_everything(0)
    embed = weights = None
    started = time.perf_counter()
    if resampling_module.RESAMPLERS.get(config.resampling.strategy).embedded:
        weights = warm_up_embedding(x_train, y_train, vocab, classes, config.model, config.resampling.embedding_warmup_epochs,
                                    config.training.batch_size, 0)
        embed = embedder(weights)
    resampled = resampling_module.resample_training(x_train, y_train, classes, config.resampling, 0, embed)
    setup_s = time.perf_counter() - started
    models = build_classifier(config.model, vocab, classes, steps, 0)
    if weights is not None:
        freeze_embedding(models, weights)
        x_val = embed(x_val)
    epoch_ends: list[float] = []

    def listen(event) -> None:
        if event.kind == "start":
            epoch_ends.append(event.elapsed_s)
        elif event.kind == "epoch":
            epoch_ends.append(event.elapsed_s)

    train(models, resampled.x, resampled.y, x_val, y_val, config.training, embedded=resampled.embedded,
          class_weight=resampled.class_weight, listener=listen)
    epochs = [b - a for a, b in zip(epoch_ends, epoch_ends[1:])]
    params = models.model.count_params()
    assert params == estimate.parameter_count(config.model, vocab_size=vocab, num_classes=classes, max_length=steps)
    del x_test
    return {
        "name": name, "rows": rows, "train_counts": np.bincount(y_train, minlength=classes).tolist(),
        "settings": settings, "rows_after": int(len(resampled.y)), "val_rows": val_rows,
        "epochs": epochs, "setup_s": setup_s, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def baseline() -> dict:
    import resource

    import core.model.classifier  # noqa: F401
    import core.choices.resampling  # noqa: F401
    import core.training.fit  # noqa: F401

    return {"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run(arguments: list[str]) -> dict:
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, env=environment, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{arguments[:2]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _nnls(rows: list[list[float]], targets: list[float]) -> list[float]:
    import numpy as np
    from scipy.optimize import nnls

    matrix = np.asarray(rows, dtype=float)
    target = np.asarray(targets, dtype=float)
    scale = np.where(matrix.max(axis=0) > 0, matrix.max(axis=0), 1.0)  # columns of similar size for the solver
    solution, _ = nnls(matrix / scale / target[:, None], np.ones(len(target)))  # relative error
    return list(solution / scale)


def main() -> None:
    from core.model import estimate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three configs only; no refit")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "ROWS", "SETTINGS_JSON"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        name, rows, settings = arguments.worker
        print(json.dumps(worker(name, int(rows), json.loads(settings))))
        return
    if arguments.baseline:
        print(json.dumps(baseline()))
        return

    base = _run(["--baseline"])["rss_mb"]
    print(f"baseline RSS after importing core.training.fit/model/resampling: {base:.0f} MB", flush=True)
    results = []
    for name, rows, settings in CONFIGS + HOLDOUT:
        if arguments.quick and name not in QUICK:
            continue
        result = _run(["--worker", name, str(rows), json.dumps(settings)])
        print(f"  {name}: epochs {', '.join(f'{e:.2f}' for e in result['epochs'])} s, peak {result['rss_mb']:.0f} MB", flush=True)
        results.append(result)

    term_rows, measured, loops, tracing, memory_parts = [], [], [], [], []
    for result in results:
        config, vocab, shares = _parse(result["settings"])
        steps = config.vectorizing.max_length
        terms = estimate._time_terms(config, train_rows=result["rows_after"], validation_rows=result["val_rows"],
                                     vocab_size=vocab, num_classes=len(shares), max_length=steps)
        term_rows.append([terms[name] for name in estimate.TIME_COEFFICIENTS])
        measured.append(min(result["epochs"][1:]))  # other work on the machine only ever adds time
        loops.append(config.model.lstm_layers * (2 if config.model.bidirectional else 1))
        tracing.append(result["epochs"][0] - measured[-1])
        predicted = estimate.estimate_epoch(config, train_counts=result["train_counts"], rows_after_resampling=result["rows_after"],
                                            validation_rows=result["val_rows"], vocab_size=vocab, num_classes=len(shares),
                                            max_length=steps)
        parts = predicted.memory_breakdown
        activations = parts["activations"] / estimate.ACTIVATION_FACTOR if estimate.ACTIVATION_FACTOR else 0.0
        memory_parts.append((result["rss_mb"], parts["weights and optimizer"] + parts["training data"], activations, predicted))

    names = list(estimate.TIME_COEFFICIENTS)
    fit = [not result["name"].startswith("holdout") for result in results]

    def fitting(values: list) -> list:
        return [value for value, keep in zip(values, fit) if keep]

    if arguments.quick:
        fitted = dict(estimate.TIME_COEFFICIENTS)
        fitted_tracing = [estimate.TRACING_FIXED_SECONDS, estimate.TRACING_SECONDS_PER_LOOP]
        memory_fit = [estimate.FIXED_OVERHEAD_MB, estimate.ACTIVATION_FACTOR]
    else:
        fitted = dict(zip(names, _nnls(fitting(term_rows), fitting(measured))))
        fitted_tracing = _nnls([[1.0, n] for n in fitting(loops)], [max(0.1, t) for t in fitting(tracing)])
        # memory: rss - baseline - weights - data = fixed + factor x activations
        memory_fit = _nnls([[1.0, a] for _, _, a, _ in fitting(memory_parts)],
                           [max(1.0, rss - base - known) for rss, known, _, _ in fitting(memory_parts)])

    print()
    print(f"{'config':32} {'rows':>5} {'meas s':>7} {'module':>7} {'err':>5} {'fitted':>7} {'err':>5} | "
          f"{'meas MB':>7} {'module':>7} {'err':>5} {'fitted':>7} {'err':>5}")
    for result, row, seconds, (rss, known, activations, predicted) in zip(results, term_rows, measured, memory_parts):
        module_s = predicted.seconds_per_epoch
        fitted_s = sum(c * t for c, t in zip(fitted.values(), row))
        fitted_mb = base + memory_fit[0] + known + memory_fit[1] * activations
        print(f"{result['name']:32} {result['rows_after']:>5} {seconds:7.2f} {module_s:7.2f} {module_s / seconds - 1:+5.0%} "
              f"{fitted_s:7.2f} {fitted_s / seconds - 1:+5.0%} | {rss:7.0f} {predicted.memory_mb:7.0f} "
              f"{predicted.memory_mb / rss - 1:+5.0%} {fitted_mb:7.0f} {fitted_mb / rss - 1:+5.0%}")
    print()
    print("TIME_COEFFICIENTS = {")
    for name, value in fitted.items():
        print(f'    "{name}": {value:.4g},')
    print("}")
    print(f"TRACING_FIXED_SECONDS = {fitted_tracing[0]:.2g}")
    print(f"TRACING_SECONDS_PER_LOOP = {fitted_tracing[1]:.2g}")
    print("first-epoch extra, measured:", ", ".join(f"{t:.1f}" for t in tracing))
    print(f"RUNTIME_BASELINE_MB = {base:.0f}")
    print(f"FIXED_OVERHEAD_MB = {memory_fit[0]:.0f}")
    print(f"ACTIVATION_FACTOR = {memory_fit[1]:.3g}")


if __name__ == "__main__":
    main()
