"""The study loop's overhead: the same trials run through ``core.evidence.study.run_study`` (journal storage, heartbeat
thread, per-epoch reports, ask/tell) and back to back by hand with plain ``run_experiment`` calls — same configs, same
seeds, both saving run records — measured side by side in one process, alternating which goes first, over several
repeats.

    .venv/bin/python bench/study_overhead.py                        # generated data, tiny model, 4 trials x 3 repeats
    .venv/bin/python bench/study_overhead.py --demo --epochs 2 --repeats 2
    .venv/bin/python bench/study_overhead.py --reuse-preprocessing  # the executor's per-config preprocessing cache on

Prints hand time / study time per repeat (1.00 = no overhead; target >= 0.95) with its spread. By default the study's
executor re-preprocesses every trial like the hand loop does, so the ratio isolates the loop itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.evidence.levers import find_levers  # noqa: E402

TINY = ["model.embedding_dim=16", "model.lstm_units=8", "model.attention_units=8", "training.batch_size=16",
        "vectorizing.max_length=12", "training.progress_every_batches=5"]
LEVERS = ["model.dropout=0.4", "training.learning_rate=0.004", "model.bidirectional=false", "model.lstm_units=16",
          "model.l2=0.0"]
WORDS = {
    "sports": "match goal team coach league score player season".split(),
    "tech": "laptop software server network code chip battery update".split(),
    "food": "recipe bread cheese soup spicy oven dinner flavour".split(),
}
FILLER = "the a was is not very today with and of new old".split()


def generated_dataset(rows_per_class: int):
    import random

    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes

    rng = random.Random(0)
    lines = ["text,label"]
    for label, words in WORDS.items():
        for _ in range(rows_per_class):
            tokens = [rng.choice(words) if rng.random() < 0.5 else rng.choice(FILLER)
                      for _ in range(rng.randint(4, 14))]
            lines.append(f"{' '.join(tokens)},{label}")
    return build_dataset(read_csv_bytes("\n".join(lines).encode(), source_name="generated.csv"))


def by_study(dataset, base, levers, runs_dir, reuse_preprocessing: bool) -> float:
    from core.evidence.study import InProcessExecutor, create_lever_study, data_source, run_study

    started = time.perf_counter()
    handle = create_lever_study(base, data_source(dataset), levers=levers, seeds=1, runs_dir=runs_dir)
    summary = run_study(handle, InProcessExecutor(dataset, runs_dir, reuse_preprocessing=reuse_preprocessing))
    if summary.done != summary.planned:
        raise RuntimeError(f"the study ended with {summary.done}/{summary.planned} trials ({summary.reason})")
    return time.perf_counter() - started


def by_hand(dataset, base, levers, runs_dir) -> float:
    from core.training.experiment import run_experiment

    configs = [base] + [lever.apply(base) for lever in levers]
    started = time.perf_counter()
    for number, config in enumerate(configs):
        run_experiment(dataset, dataclasses.replace(config, seed=base.seed), runs_dir=runs_dir,
                       tags={"bench": "hand", "trial": number})
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="the built-in dataset instead of generated rows")
    parser.add_argument("--rows", type=int, default=60, help="generated rows per class (default 60)")
    parser.add_argument("--trials", type=int, default=4,
                        help="trials per repeat: the reference plus trials-1 levers (2..6)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--reuse-preprocessing", action="store_true",
                        help="let the study's executor reuse preprocessing")
    args = parser.parse_args(argv)
    if not 2 <= args.trials <= len(LEVERS) + 1:
        parser.error(f"--trials must be from 2 to {len(LEVERS) + 1}")

    if args.demo:
        from core.data.builtin import DEFAULT_DATASET, load_builtin
        from core.data.dataset import build_dataset

        dataset = build_dataset(load_builtin(DEFAULT_DATASET))
    else:
        dataset = generated_dataset(args.rows)
    base = apply_overrides(ExperimentConfig(), [*TINY, f"training.epochs={args.epochs}"])
    levers = find_levers(base, LEVERS[: args.trials - 1])
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="study-overhead-") as scratch:
        # TensorFlow's first graphs, not part of either side
        by_hand(dataset, base, levers[:1], Path(scratch) / "warmup")
        rows = []
        for repeat in range(args.repeats):
            folder = Path(scratch) / str(repeat)
            if repeat % 2 == 0:
                study = by_study(dataset, base, levers, folder / "study", args.reuse_preprocessing)
                hand = by_hand(dataset, base, levers, folder / "hand")
            else:
                hand = by_hand(dataset, base, levers, folder / "hand")
                study = by_study(dataset, base, levers, folder / "study", args.reuse_preprocessing)
            rows.append((repeat + 1, "study first" if repeat % 2 == 0 else "hand first", hand, study))
            print(f"repeat {repeat + 1}: hand {hand:.2f} s, study {study:.2f} s, ratio {hand / study:.3f}",
                  file=sys.stderr)

    ratios = [hand / study for _, _, hand, study in rows]
    overhead_ms = [1000 * (study - hand) / args.trials for _, _, hand, study in rows]
    print(f"\n{dataset.source_name}: {len(dataset.texts)} rows; "
          f"{args.trials} trials per repeat ({args.epochs} epochs, tiny model); "
          f"{args.repeats} repeats, alternating order; "
          f"executor preprocessing reuse {'on' if args.reuse_preprocessing else 'off'}.\n")
    print("| repeat | order | by hand (s) | through the study (s) | hand / study |")
    print("|---|---|---|---|---|")
    for repeat, order, hand, study in rows:
        print(f"| {repeat} | {order} | {hand:.2f} | {study:.2f} | {hand / study:.3f} |")
    spread = f"{min(ratios):.3f}-{max(ratios):.3f}"
    print(f"\nhand / study: median {statistics.median(ratios):.3f} (range {spread}; target >= 0.95); "
          f"loop overhead per trial: median {statistics.median(overhead_ms):+.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
