"""Training overhead: the engine's training path exactly as the dashboard runs it (a spawned worker from
core.training.jobs, progress events every N batches flowing over a queue to the parent) against a bare ``model.fit`` of
the identical model on identical data in a spawned process of its own. Runs alternate A/B; the first epoch (graph
tracing) is excluded; medians of the per-epoch times are compared. Target: throughput ratio (engine / bare) >= 0.95.

    .venv/bin/python bench/training_overhead.py              # 4 alternating pairs, 8 epochs each (about 5 min)
    .venv/bin/python bench/training_overhead.py --pairs 6 --epochs 10

Exits non-zero if a run failed, not if the target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.data.builtin import load_builtin  # noqa: E402
from core.data.dataset import build_dataset  # noqa: E402


def bench_config(epochs: int) -> ExperimentConfig:
    # Fixed epoch count so both sides do the same work; everything else is the recommended setting.
    return apply_overrides(ExperimentConfig(), [f"training.epochs={epochs}", "training.early_stopping=false"])


def _bare_fit(config_dict: dict, results) -> None:
    """Child process: the same preprocessing, split, vectorizing, class weights and model, then plain fit."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    import math

    import keras

    from core.choices.resampling import resample_training
    from core.model.classifier import build_classifier
    from core.text.preprocessing import preprocess
    from core.training.experiment import split_rows, vectorize
    from core.training.fit import make_optimizer, seed_everything

    config = ExperimentConfig.from_dict(config_dict)
    dataset = build_dataset(load_builtin())
    seed_everything(config.seed)
    processed, _ = preprocess(dataset.texts, config.preprocessing)
    split = split_rows(dataset, config)
    rows = {"train": split.train, "validation": split.validation, "test": split.test}
    vectorized = vectorize(processed, rows, config.vectorizing)
    y = dataset.y
    x_train, y_train = vectorized.x["train"], y[split.train]
    resampled = resample_training(x_train, y_train, len(dataset.class_names), config.resampling, config.seed)
    models = build_classifier(config.model, vectorized.vocabulary.size, len(dataset.class_names), vectorized.max_length,
                              config.seed)
    model = models.model
    batches = math.ceil(len(y_train) / config.training.batch_size)
    model.compile(optimizer=make_optimizer(config.training, batches), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ends: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        # Only an epoch hook: batch hooks would change how Keras dispatches callbacks, this does not.
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    model.fit(resampled.x, resampled.y, validation_data=(vectorized.x["validation"], y[split.validation]),
              batch_size=config.training.batch_size, class_weight=resampled.class_weight, shuffle=True, verbose=0,
              epochs=config.training.epochs, callbacks=[EpochClock()])
    results.put([later - earlier for earlier, later in zip(ends, ends[1:])])  # epochs 2..N: the first one traces


def bare_epoch_seconds(config: ExperimentConfig) -> list[float]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_bare_fit, args=(config.to_dict(), results))
    process.start()
    value = results.get(timeout=900)
    process.join()
    return value


def engine_epoch_seconds(config: ExperimentConfig, runs_dir: str) -> tuple[list[float], int]:
    from core.training.jobs import FINISHED, JobScheduler, TrainingJob, spec_for, wait

    dataset = build_dataset(load_builtin())
    scheduler = JobScheduler(max_running=1)
    job = scheduler.submit(TrainingJob(spec_for(dataset, config, runs_dir)))
    view = wait(job, scheduler, timeout=900, interval=0.1)
    if view.status != FINISHED:
        raise RuntimeError(f"engine run ended {view.status}: {view.error}")
    ends = view.epoch_ends
    return [later - earlier for earlier, later in zip(ends, ends[1:])], len(view.batch_points)  # epochs 2..N


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args(argv)
    config = bench_config(args.epochs)
    engine, bare, events = [], [], 0
    with tempfile.TemporaryDirectory() as runs_dir:
        for pair in range(args.pairs):
            order = [("engine", "bare"), ("bare", "engine")][pair % 2]  # alternate who goes first
            for side in order:
                if side == "engine":
                    epochs, events = engine_epoch_seconds(config, runs_dir)
                    engine.append(epochs)
                else:
                    bare.append(bare_epoch_seconds(config))
                latest = (engine if side == "engine" else bare)[-1]
                print(f"pair {pair + 1}: {side} {statistics.median(latest):.3f} s/epoch (median of {len(latest)})",
                      file=sys.stderr)
    # This machine's speed drifts by up to 2x for seconds at a time: pool every timed epoch and take medians.
    engine_median = statistics.median(e for run in engine for e in run)
    bare_median = statistics.median(e for run in bare for e in run)
    ratio = bare_median / engine_median
    print(f"\nBuilt-in dataset, recommended model, {args.epochs} epochs per run (first excluded), "
          f"{args.pairs} A/B pairs; "
          f"the engine side streamed {events} batch events per run.\n")
    print("| side | s/epoch (median of all timed epochs) | per-run medians |")
    print("|---|---|---|")
    for name, runs, median in (("engine (spawned worker, events to a queue)", engine, engine_median),
                               ("bare model.fit (spawned process)", bare, bare_median)):
        print(f"| {name} | {median:.3f} | {', '.join(f'{statistics.median(run):.3f}' for run in runs)} |")
    print(f"\nthroughput ratio engine / bare = {ratio:.3f} (target >= 0.95: {'met' if ratio >= 0.95 else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
