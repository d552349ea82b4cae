"""Training speed: the engine against the model.fit a user would write by hand for the same model and data.

    .venv/bin/python bench/training_speed.py                          # both corpora, 3 seeds (about 15 min)
    .venv/bin/python bench/training_speed.py --corpus builtin --seeds 5
    .venv/bin/python bench/training_speed.py --sides bare engine "engine, no buckets"

Sides, each in a fresh spawned process, alternating order seed by seed:
  bare                 the engine's preprocessing, split, padded arrays, class weights and model, then a plain
                       ``model.fit(x, y, validation_data=..., class_weight=..., shuffle=True)`` — the peer a user
                       writes;
  engine               ``core.training.experiment.run_experiment`` as the dashboard and CLI run it
                       (length-bucketed, trimmed batches; validation scored once per epoch on trimmed batches;
                       progress events; stop checks);
  engine, no buckets   the same engine path with full-width batches (what the buckets alone are worth).
Every side trains the same epochs (early stopping off). Timed: the whole fit, first epoch (tracing) included, and
separately the median of epochs 2..N. Test macro-F1 is reported for every run: the engine must stay within the
seed-to-seed spread of the bare runs. Corpora: the built-in dataset and a generated long-text corpus
(bench/corpora.py: log-normal lengths, median ~110 tokens, 95th percentile ~380).
Exits non-zero if a run failed, not if a target is missed.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from core.config import ExperimentConfig, apply_overrides  # noqa: E402

SIDES = ("bare", "engine", "engine, no buckets")
EPOCHS = {"builtin": 8, "long": 4}


def bench_config(seed: int, epochs: int) -> ExperimentConfig:
    return apply_overrides(ExperimentConfig(),
                           [f"seed={seed}", f"training.epochs={epochs}", "training.early_stopping=false"])


def _bare(corpus: str, config: ExperimentConfig) -> dict:
    """What a user writes: the same arrays, class weights and model, then plain fit, predict and score."""
    import math

    import keras
    from corpora import dataset as load

    from core.choices.resampling import resample_training
    from core.model.classifier import build_classifier
    from core.model.evaluation import classification_metrics
    from core.text.preprocessing import preprocess
    from core.training.experiment import split_rows, vectorize
    from core.training.fit import make_optimizer, seed_everything

    data = load(corpus)
    seed_everything(config.seed)
    processed, _ = preprocess(data.texts, config.preprocessing)
    split = split_rows(data, config)
    vectorized = vectorize(processed, {"train": split.train, "validation": split.validation, "test": split.test},
                           config.vectorizing)
    y = data.y
    resampled = resample_training(vectorized.x["train"], y[split.train], len(data.class_names), config.resampling,
                                  config.seed)
    model = build_classifier(config.model, vectorized.vocabulary.size, len(data.class_names), vectorized.max_length,
                             config.seed).model
    batches = math.ceil(len(resampled.y) / config.training.batch_size)
    model.compile(optimizer=make_optimizer(config.training, batches), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ends: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    started, cpu = time.perf_counter(), time.process_time()
    model.fit(resampled.x, resampled.y, validation_data=(vectorized.x["validation"], y[split.validation]),
              batch_size=config.training.batch_size, class_weight=resampled.class_weight, shuffle=True, verbose=0,
              epochs=config.training.epochs, callbacks=[EpochClock()])
    fit_seconds, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    probabilities = model.predict(vectorized.x["test"], batch_size=config.training.batch_size * 4, verbose=0)
    f1 = classification_metrics(y[split.test], probabilities, data.class_names).macro_f1
    return {"fit_s": fit_seconds, "cpu_s": fit_cpu, "epochs_s": [b - a for a, b in zip(ends, ends[1:])], "macro_f1": f1}


def _engine(corpus: str, config: ExperimentConfig, buckets: bool) -> dict:
    from corpora import dataset as load

    import core.training.fit
    from core.training.experiment import run_experiment

    if not buckets:  # the same engine path with full-width batches
        core.training.fit.train = functools.partial(core.training.fit.train, length_buckets=False)
    marks: dict[str, float] = {}
    ends: list[float] = []

    def listener(event):
        if event.kind == "start":
            marks["start"], marks["cpu"] = time.perf_counter(), time.process_time()
        elif event.kind == "epoch":
            ends.append(time.perf_counter())
        elif event.kind == "end":
            marks["end"], marks["cpu_end"] = time.perf_counter(), time.process_time()

    result = run_experiment(load(corpus), config, listener=listener, runs_dir=None)
    return {"fit_s": marks["end"] - marks["start"], "cpu_s": marks["cpu_end"] - marks["cpu"],
            "epochs_s": [b - a for a, b in zip(ends, ends[1:])], "macro_f1": result.metrics.test.macro_f1}


def _child(side: str, corpus: str, config_dict: dict, results) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from core.backend import import_keras

        import_keras()
        config = ExperimentConfig.from_dict(config_dict)
        results.put(_bare(corpus, config) if side == "bare" else _engine(corpus, config, buckets=side == "engine"))
    except BaseException as exc:  # report, never hang the parent
        results.put({"error": f"{type(exc).__name__}: {exc}"})


def run_side(side: str, corpus: str, config: ExperimentConfig) -> dict:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_child, args=(side, corpus, config.to_dict(), results))
    process.start()
    value = results.get(timeout=3600)
    process.join()
    if "error" in value:
        raise RuntimeError(f"{side} on {corpus} failed: {value['error']}")
    return value


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["builtin", "long", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sides", nargs="*", default=list(SIDES), choices=SIDES)
    parser.add_argument("--epochs", type=int, help="epochs per run (default: 8 on builtin, 4 on long)")
    args = parser.parse_args(argv)
    corpora = ["builtin", "long"] if args.corpus == "both" else [args.corpus]
    started = time.perf_counter()
    tables = []
    for corpus in corpora:
        epochs = args.epochs or EPOCHS[corpus]
        runs: dict[str, list[dict]] = {side: [] for side in args.sides}
        for index in range(args.seeds):
            seed = 42 + index
            order = args.sides if index % 2 == 0 else list(reversed(args.sides))  # alternate who goes first
            for side in order:
                run = run_side(side, corpus, bench_config(seed, epochs))
                runs[side].append(run)
                print(f"{corpus} seed {seed} {side}: fit {run['fit_s']:.1f} s ({run['cpu_s']:.1f} s CPU), "
                      f"epoch median {statistics.median(run['epochs_s']):.2f} s, "
                      f"test macro-F1 {run['macro_f1']:.3f}", file=sys.stderr)
        tables.append((corpus, epochs, runs))
    print(f"\n{args.seeds} seeds (42…), sides alternating; {time.perf_counter() - started:.0f} s in all.\n")
    for corpus, epochs, runs in tables:
        bare = runs.get("bare")
        print(f"**{corpus}**, {epochs} epochs per run\n")
        print("| side | fit s (median) | s/epoch, epochs 2..N (median) | speed-up vs bare (fit) "
              "| per-seed fit speed-ups | CPU s (median) | speed-up vs bare (CPU) | test macro-F1 |")
        print("|---|---|---|---|---|---|---|---|")
        for side, side_runs in runs.items():
            fit = statistics.median(r["fit_s"] for r in side_runs)
            epoch = statistics.median(e for r in side_runs for e in r["epochs_s"])
            cpu = statistics.median(r["cpu_s"] for r in side_runs)
            if bare:
                ratio = statistics.median(r["fit_s"] for r in bare) / fit
                per_seed = ", ".join(f"{b['fit_s'] / r['fit_s']:.2f}" for b, r in zip(bare, side_runs))
                cpu_ratio = statistics.median(r["cpu_s"] for r in bare) / cpu
            else:
                ratio, per_seed, cpu_ratio = float("nan"), "—", float("nan")
            print(f"| {side} | {fit:.1f} | {epoch:.2f} | {ratio:.2f}x | {per_seed} | {cpu:.1f} | {cpu_ratio:.2f}x | "
                  f"{mean_sd([r['macro_f1'] for r in side_runs])} |")
        if bare and "engine" in runs and len(bare) > 1:
            bare_f1 = [r["macro_f1"] for r in bare]
            gap = statistics.mean(r["macro_f1"] for r in runs["engine"]) - statistics.mean(bare_f1)
            spread = statistics.stdev(bare_f1)
            verdict = "not worse than the spread" if gap >= -spread else "worse by more than the spread"
            print(f"\nengine − bare macro-F1 {gap:+.3f}; bare seed-to-seed sd {spread:.3f}: {verdict}\n")
        else:
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
