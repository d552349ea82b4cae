"""Pretrained word vectors: why a naive GloVe start lost macro-F1, and which of this release's levers win it back.

For each corpus and seed (each seed also changes the split), single models (``split.k_folds=0``) are trained from the
config defaults with:

* reference: no vectors (every vector learned from the training rows);
* GloVe naive: ``model.word_vectors=glove-6b-50d`` at ``embedding_dim=50``, no vocabulary extension, no projection,
  the default dropout (0.5) on the vectors: how the previous release measured it (DESIGN.md section 7);
* + vocabulary extension: naive + the 50,000 most frequent GloVe words the training vocabulary lacks, fixed;
* + projection to 128: the vectors kept at 50 dimensions and a learned projection to ``embedding_dim=128``;
* + embedding dropout 0.1: naive with dropout 0.1 on the token vectors (the LSTM layers keep 0.5);
* all together: extension + projection to 128 + embedding dropout 0.1 (the new defaults with GloVe, plus the dropout);
* controls without vectors at ``embedding_dim=50`` (with the default and with 0.1 embedding dropout): whether a loss
  comes from GloVe's values or from 50 dimensions and their dropout.

Prints, as Markdown, test macro-F1 mean ± sd, the paired difference to the reference (mean ± sd over seeds), the
share of test tokens that are out-of-vocabulary, the parameters, and CPU seconds per run (the run's processor time,
all threads; other work on a shared machine inflates it less than wall time).

    .venv/bin/python bench/word_vectors.py                                   # faa-bird-strikes-effect, 3 seeds
    .venv/bin/python bench/word_vectors.py --dataset nace-rev2-sections --seeds 2
    .venv/bin/python bench/word_vectors.py --variants reference "GloVe naive" --seeds 1
    .venv/bin/python bench/word_vectors.py --table                           # the table from saved runs

Every finished run is appended to bench/out/word_vectors.jsonl (``--out``); a run already saved for the same dataset,
variant and seed is not repeated, so a long measurement can be stopped and resumed. Exits non-zero only if a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.data.builtin import BUILTIN_DATASETS, DEFAULT_DATASET, load_builtin  # noqa: E402
from core.data.dataset import build_dataset  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "word_vectors.jsonl"
SEEDS = (42, 43, 44, 45, 46, 47, 48, 49, 50, 51)
REFERENCE = "reference (no vectors)"
GLOVE = "model.word_vectors=glove-6b-50d"
NAIVE = (GLOVE, "model.embedding_dim=50", "model.extend_vocabulary=false", "model.project_word_vectors=false")
VARIANTS: dict[str, tuple[str, ...]] = {
    REFERENCE: (),
    "GloVe naive (dim 50, dropout 0.5)": NAIVE,
    "+ vocabulary extension": (*NAIVE, "model.extend_vocabulary=true"),
    "+ projection to 128": (GLOVE, "model.embedding_dim=128", "model.extend_vocabulary=false",
                            "model.project_word_vectors=true"),
    "+ embedding dropout 0.1": (*NAIVE, "model.embedding_dropout=0.1"),
    "all together": (GLOVE, "model.embedding_dim=128", "model.extend_vocabulary=true",
                     "model.project_word_vectors=true", "model.embedding_dropout=0.1"),
    # Controls: is it the vectors' values or the 50 dimensions? Is it the dropout on any 50-d embedding?
    "control: no vectors, dim 50": ("model.embedding_dim=50",),
    "control: no vectors, dim 50, embedding dropout 0.1": ("model.embedding_dim=50", "model.embedding_dropout=0.1"),
}
BASE = ("split.k_folds=0", "split.ensemble=false", "split.ensemble_seeds=1")


def _variant(name: str) -> str:
    """A variant by its name or any unambiguous start of it ("GloVe naive", "all")."""
    if name in VARIANTS:
        return name
    matches = [key for key in VARIANTS if key.lower().startswith(name.lower())]
    if len(matches) != 1:
        raise SystemExit(f"unknown or ambiguous variant {name!r}; variants: {', '.join(VARIANTS)}")
    return matches[0]


def run_one(dataset, key: str, variant: str, seed: int) -> dict:
    from core.training.experiment import run_experiment

    config = apply_overrides(ExperimentConfig(seed=seed), [*BASE, *VARIANTS[variant]])
    started = time.perf_counter()
    result = run_experiment(dataset, config, runs_dir=None)
    metrics = result.metrics
    ids = result.trained.vectorized.x["test"]
    ids = ids[..., 0] if ids.ndim == 3 else ids
    vocabulary = result.trained.vectorized.vocabulary
    return {
        "dataset": key, "variant": variant, "seed": seed,
        "test_macro_f1": metrics.test.macro_f1, "validation_macro_f1": metrics.validation.macro_f1,
        "baseline_macro_f1": metrics.baseline.macro_f1,
        "test_oov": float((ids == 1).sum() / max(1, (ids != 0).sum())),
        "vocabulary": vocabulary.size, "extension": vocabulary.extension_size,
        "coverage": metrics.word_vectors.coverage if metrics.word_vectors else None,
        "parameters": metrics.training.parameters, "epochs": metrics.training.epochs_run,
        "cpu_seconds": metrics.training.cpu_seconds, "wall_seconds": round(time.perf_counter() - started, 1),
    }


def _saved(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _spread(values: list[float]) -> str:
    if not values:
        return "–"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def table(records: list[dict], key: str, seeds: list[int], variants: list[str]) -> str:
    by = {(r["variant"], r["seed"]): r for r in records if r["dataset"] == key and r["seed"] in seeds}
    lines = [f"**{key}** ({BUILTIN_DATASETS[key].title if key in BUILTIN_DATASETS else key}), seeds "
             f"{', '.join(map(str, seeds))}, single models",
             "",
             "| variant | test macro-F1 | Δ vs reference (paired) | test OOV | extension words | parameters "
             "| CPU s / run | n |",
             "|---|---|---|---|---|---|---|---|"]
    for variant in variants:
        runs = [by[(variant, seed)] for seed in seeds if (variant, seed) in by]
        if not runs:
            continue
        deltas = [by[(variant, r["seed"])]["test_macro_f1"] - by[(REFERENCE, r["seed"])]["test_macro_f1"]
                  for r in runs if (REFERENCE, r["seed"]) in by]
        delta = "–" if variant == REFERENCE or not deltas else (
            f"{statistics.mean(deltas):+.3f} ± {statistics.stdev(deltas) if len(deltas) > 1 else 0.0:.3f}")
        lines.append(
            f"| {variant} | {_spread([r['test_macro_f1'] for r in runs])} | {delta} | "
            f"{statistics.mean(r['test_oov'] for r in runs):.1%} | "
            f"{round(statistics.mean(r['extension'] for r in runs)):,} | "
            f"{round(statistics.mean(r['parameters'] for r in runs)):,} | "
            f"{statistics.mean(r['cpu_seconds'] for r in runs):.0f} | {len(runs)} |")
    baseline = [r["baseline_macro_f1"] for r in by.values() if r["variant"] == REFERENCE]
    if baseline:
        lines += ["", f"TF-IDF + LR baseline (train + validation) on the same splits: {_spread(baseline)}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", nargs="+", default=[DEFAULT_DATASET], choices=list(BUILTIN_DATASETS))
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds, from 42 up (default 3)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), help="names or unambiguous starts of names")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--table", action="store_true", help="print the tables from saved runs; train nothing")
    args = parser.parse_args(argv)
    seeds = list(SEEDS[: max(1, min(args.seeds, len(SEEDS)))])
    variants = [_variant(name) for name in args.variants]
    if REFERENCE not in variants:
        variants.insert(0, REFERENCE)  # the paired differences need it
    failed = 0
    if not args.table:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        done = {(r["dataset"], r["variant"], r["seed"]) for r in _saved(args.out)}
        for key in args.dataset:
            dataset = build_dataset(load_builtin(key))
            for seed in seeds:
                for variant in variants:
                    if (key, variant, seed) in done:
                        continue
                    try:
                        record = run_one(dataset, key, variant, seed)
                    except Exception as exc:  # report and go on: one failed run must not lose the others
                        failed += 1
                        print(f"FAILED {key} / {variant} / seed {seed}: {exc!r}", file=sys.stderr, flush=True)
                        continue
                    with args.out.open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(record) + "\n")
                    print(f"{key} / {variant} / seed {seed}: test macro-F1 {record['test_macro_f1']:.3f}, "
                          f"{record['cpu_seconds']:.0f} CPU-s, {record['wall_seconds']:.0f} s",
                          file=sys.stderr, flush=True)
    records = _saved(args.out)
    for key in args.dataset:
        print(table(records, key, seeds, variants))
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
