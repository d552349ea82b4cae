"""Learning quality on the built-in dataset: the recommended settings against the TF-IDF + LR baseline, and the
effect of each lever, as test macro-F1 mean ± sd over several seeds (each seed also changes the split).

    .venv/bin/python bench/learning_quality.py                 # every lever, 3 seeds (about 25-30 min on 2 cores)
    .venv/bin/python bench/learning_quality.py --levers recommended "no class weights" --seeds 2
    .venv/bin/python bench/learning_quality.py --list

Prints a Markdown table. Exits non-zero only if a run itself failed, never because a target was missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.data import build_dataset  # noqa: E402
from core.datasets import DEFAULT_DATASET, load_builtin  # noqa: E402
from core.resampling import RESAMPLERS  # noqa: E402

# Each lever changes one thing relative to the recommended settings (the config defaults); every other resampling
# strategy of the registry is one lever.
LEVERS: dict[str, list[str]] = {
    "recommended": [],
    **{record.title: [f"resampling.strategy={record.key}"] for record in RESAMPLERS
       if record.key != ExperimentConfig().resampling.strategy},
    "no attention": ["model.attention=none"],
    "multi-head attention": ["model.attention=multihead"],
    "unidirectional": ["model.bidirectional=false"],
    "two LSTM layers": ["model.lstm_layers=2"],
    "keep case": ["preprocessing.lowercase=false"],
    "keep punctuation": ["preprocessing.strip_punctuation=false"],
    "strip numbers": ["preprocessing.strip_numbers=true"],
    "remove stop words": ["preprocessing.remove_stopwords=true"],
    "Porter stemming": ["preprocessing.normalizer=porter"],
    "lemmatize": ["preprocessing.normalizer=lemmatize"],
    "no L2": ["model.l2=0"],
    "L2 1e-3": ["model.l2=0.001"],
    "dropout 0.1": ["model.dropout=0.1"],
    "dropout 0.3": ["model.dropout=0.3"],
    "keep one-off tokens": ["vectorizing.min_token_frequency=1"],
}


def run_lever(dataset, overrides: list[str], seed: int) -> dict:
    from core.experiment import run_experiment

    config = apply_overrides(ExperimentConfig(), [*overrides, f"seed={seed}"])
    result = run_experiment(dataset, config, runs_dir=None)
    return {
        "macro_f1": result.metrics.test.macro_f1,
        "accuracy": result.metrics.test.accuracy,
        "baseline": result.metrics.baseline.macro_f1,
        "epochs": result.metrics.training.epochs_run,
        "seconds": result.duration_s,
    }


def mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levers", nargs="*", default=list(LEVERS), help="which levers (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dataset", default=DEFAULT_DATASET)
    parser.add_argument("--set", dest="extra", action="append", default=[], help="extra override applied to every lever")
    parser.add_argument("--list", action="store_true", help="list the levers and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, overrides in LEVERS.items():
            print(f"{name}: {' '.join(overrides) or '(config defaults)'}")
        return 0
    unknown = [name for name in args.levers if name not in LEVERS]
    if unknown:
        print(f"error: unknown lever(s) {unknown}; see --list", file=sys.stderr)
        return 2
    dataset = build_dataset(load_builtin(args.dataset))
    seeds = [42 + i for i in range(args.seeds)]
    rows, failures = [], 0
    reference = None
    started = time.perf_counter()
    for name in args.levers:
        results = []
        for seed in seeds:
            try:
                results.append(run_lever(dataset, [*LEVERS[name], *args.extra], seed))
            except Exception as exc:  # report and go on: one broken lever must not hide the others
                failures += 1
                print(f"{name} seed {seed} FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            else:
                last = results[-1]
                print(f"{name} seed {seed}: macro-F1 {last['macro_f1']:.3f} (baseline {last['baseline']:.3f}), "
                      f"{last['epochs']} epochs, {last['seconds']:.0f} s", file=sys.stderr)
        if not results:
            continue
        f1 = [r["macro_f1"] for r in results]
        if name == "recommended":
            reference = statistics.mean(f1)
        rows.append((name, f1, [r["accuracy"] for r in results], [r["baseline"] for r in results],
                     statistics.mean(r["epochs"] for r in results), statistics.mean(r["seconds"] for r in results)))
    print(f"\nDataset {args.dataset}, {len(dataset.texts)} rows; seeds {seeds}; test split sealed per seed; "
          f"{time.perf_counter() - started:.0f} s in all.\n")
    print("| lever | test macro-F1 | Δ vs recommended | test accuracy | baseline macro-F1 (same splits) | epochs | s/run |")
    print("|---|---|---|---|---|---|---|")
    for name, f1, accuracy, baseline, epochs, seconds in rows:
        delta = f"{statistics.mean(f1) - reference:+.3f}" if reference is not None and name != "recommended" else "—"
        print(f"| {name} | {mean_sd(f1)} | {delta} | {mean_sd(accuracy)} | {mean_sd(baseline)} | {epochs:.1f} | {seconds:.0f} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
