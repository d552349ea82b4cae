"""Replays rules for the blend's weight over saved probabilities: which rule, seeing only held-out training rows,
would have put the recommended settings at or above the fair baseline.

``learning_quality.py --save-parts DIR`` keeps, for each blended run, the held-out rows' labels (out-of-fold or
validation), both parts' probabilities there and on the test rows, and the weight the run chose. For each rule this
script picks the LSTM's share from the held-out rows alone, scores the blend on the test rows and prints the mean
difference to the fair baseline (from the same run's JSON line) per dataset:

* macro-F1 argmax: the lab's rule (``core.training.blending.choose_weight``; ties go to the lower log loss there,
  to the lower weight here);
* log-loss argmin: the weight whose blend has the lowest held-out log loss;
* fixed 0.5, LSTM alone (1.0), bag of words alone (0.0);
* in hindsight: the best weight on the test rows themselves (not allowed; the ceiling of any rule).

    .venv/bin/python bench/learning_quality.py --dataset all --levers recommended --save-parts bench/out/parts
    .venv/bin/python bench/blend_weights.py --parts bench/out/parts --results bench/out/learning_quality.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

WEIGHTS = [round(0.1 * step, 1) for step in range(11)]
RULES = ("macro-F1 argmax (the lab's)", "log-loss argmin", "fixed 0.5", "LSTM alone", "bag of words alone",
         "in hindsight (test rows)")


def macro_f1(y: np.ndarray, probabilities: np.ndarray) -> float:
    return float(f1_score(y, probabilities.argmax(1), average="macro"))


def log_loss(y: np.ndarray, probabilities: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-12, 1.0))))


def chosen_weights(y: np.ndarray, lstm: np.ndarray, bag: np.ndarray) -> dict[str, float]:
    """Each rule's LSTM share, from the held-out rows only."""
    blends = [w * lstm + (1 - w) * bag for w in WEIGHTS]
    f1s = [macro_f1(y, blend) for blend in blends]
    losses = [log_loss(y, blend) for blend in blends]
    return {RULES[0]: WEIGHTS[int(np.argmax(f1s))], RULES[1]: WEIGHTS[int(np.argmin(losses))], RULES[2]: 0.5,
            RULES[3]: 1.0, RULES[4]: 0.0}


def _test_labels(parts: np.lib.npyio.NpzFile, dataset: str, seed: int) -> np.ndarray:
    if "y_test" in parts:
        return parts["y_test"]
    # Parts saved before y_test was kept: the test rows depend only on the dataset and the seed's split.
    from learning_quality import load_corpus

    from core.config import ExperimentConfig
    from core.training.experiment import split_rows

    data = load_corpus(dataset)
    return data.y[split_rows(data, ExperimentConfig(seed=seed)).test]


def replay(parts_dir: Path, results: list[dict]) -> dict[tuple[str, str], list[float]]:
    """(dataset, rule) -> each seed's test macro-F1 minus the fair baseline."""
    by_name = {f"{r['dataset']}-{r['lever']}-{r['seed']}".replace(" ", "_").replace("/", "_"): r for r in results}
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for path in sorted(parts_dir.glob("*.npz")):
        record = by_name.get(path.stem)
        if record is None or record["lever"] != "recommended":
            continue
        parts = np.load(path)
        y_test = _test_labels(parts, record["dataset"], record["seed"])
        lstm_test, bag_test = parts["lstm_test"], parts["bag_test"]
        weights = chosen_weights(parts["y_held_out"], parts["lstm_held_out"], parts["bag_held_out"])
        scores = {rule: macro_f1(y_test, w * lstm_test + (1 - w) * bag_test) for rule, w in weights.items()}
        scores[RULES[5]] = max(macro_f1(y_test, w * lstm_test + (1 - w) * bag_test) for w in WEIGHTS)
        for rule, score in scores.items():
            gaps[(record["dataset"], rule)].append(score - record["baseline"])
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=Path, required=True,
                        help="the folder given to learning_quality.py --save-parts")
    parser.add_argument("--results", type=Path, required=True, help="learning_quality.py's JSON lines (its --out)")
    args = parser.parse_args(argv)
    results = [json.loads(line) for line in args.results.read_text(encoding="utf-8").splitlines() if line.strip()]
    gaps = replay(args.parts, results)
    if not gaps:
        print(f"No saved parts in {args.parts} match a recommended run in {args.results}.", file=sys.stderr)
        return 1
    datasets = sorted({dataset for dataset, _ in gaps})
    print("| rule | " + " | ".join(datasets) + " | average |")
    print("|---|" + "---|" * (len(datasets) + 1))
    for rule in RULES:
        means = [statistics.mean(gaps[(d, rule)]) for d in datasets if gaps.get((d, rule))]
        cells = [f"{statistics.mean(gaps[(d, rule)]):+.4f} (n={len(gaps[(d, rule)])})" if gaps.get((d, rule)) else "—"
                 for d in datasets]
        print(f"| {rule} | " + " | ".join(cells) + f" | {statistics.mean(means):+.4f} |")
    print("\nTest macro-F1 minus the fair baseline's, mean over seeds.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
