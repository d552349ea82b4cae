"""Label-noise triage: how many deliberately flipped labels the suspect list ranks first.

    .venv/bin/python bench/label_noise.py                              # built-in data, seeds 0 and 1
    .venv/bin/python bench/label_noise.py --dataset faa-bird-strikes-phase --seeds 0 --lbfgs

For each seed: the built-in dataset's stratified split (the default config's), then 5 % of the non-test rows get
another label at random (seeded); the test split stays out of the candidate pool, as in the product. Precision at
k = number of flips (share of the k most suspicious rows that were flipped) for three rankings of the same pool and
the same 5 stratified folds:

* before: the one-vs-rest liblinear TF-IDF + LR pipeline of the baseline (core.model.baseline.tfidf_pipeline), out
  of fold, ranked by cleanlab as core.evidence.label_issues did until it changed;
* after: core.evidence.label_issues.find_label_suspects as it is (TF-IDF + multinomial LR, balanced, + cleanlab);
* reference: a plain multinomial out-of-fold ranking computed here with scikit-learn alone (the same model and
  folds, no cleanlab), by the probability of the given label, lowest first;
* lbfgs (with --lbfgs, slow): the same ranking from LogisticRegression(class_weight="balanced") solved by lbfgs
  to tol 1e-3, the solver-independent answer the saga fit should approach.

With k around 76 on the built-in data, one row is 0.013 of precision: differences under ~0.03 are a row or two.
CPU seconds are this process's (a shared machine's wall time counts whatever else ran).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ExperimentConfig  # noqa: E402
from core.data.builtin import DEFAULT_DATASET, load_builtin  # noqa: E402
from core.data.dataset import build_dataset  # noqa: E402
from core.data.splitting import stratified_folds, stratified_split  # noqa: E402
from core.evidence.label_issues import find_label_suspects  # noqa: E402
from core.text.preprocessing import preprocess  # noqa: E402

FLIP_RATE = 0.05
FOLDS = 5


def flipped_labels(y: np.ndarray, pool: np.ndarray, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``y`` with FLIP_RATE of the pool's rows moved to another class at random, and those rows."""
    rng = np.random.default_rng(seed)
    noisy = np.array(y, dtype=np.int64)
    flipped = rng.choice(pool, size=round(FLIP_RATE * len(pool)), replace=False)
    for row in flipped:
        noisy[row] = rng.choice([c for c in range(num_classes) if c != noisy[row]])
    return noisy, np.sort(flipped)


def precision(ranked_rows, flipped: np.ndarray) -> float:
    top = list(ranked_rows)[: len(flipped)]
    return len(set(int(r) for r in top) & set(flipped.tolist())) / len(flipped)


def before_ranking(texts: list[str], labels: np.ndarray, num_classes: int, seed: int) -> np.ndarray:
    """Positions in the pool, as the one-vs-rest baseline pipeline + cleanlab ranked them."""
    from cleanlab.filter import find_label_issues

    from core.model.baseline import tfidf_pipeline

    probabilities = np.zeros((len(labels), num_classes))
    for train_part, held_out in stratified_folds(labels, FOLDS, seed):
        pipeline = tfidf_pipeline()
        pipeline.fit([texts[i] for i in train_part], labels[train_part])
        probabilities[np.ix_(held_out, pipeline.classes_)] = pipeline.predict_proba([texts[i] for i in held_out])
    return np.asarray(find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1))


def reference_ranking(texts: list[str], labels: np.ndarray, seed: int, *, lbfgs: bool = False) -> np.ndarray:
    """Positions in the pool by a plain multinomial out-of-fold probability of the given label, lowest first."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.utils.class_weight import compute_class_weight

    probabilities = np.zeros((len(labels), int(labels.max()) + 1))
    for train, held_out in StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed).split(texts, labels):
        classes = np.unique(labels[train])
        weights = compute_class_weight("balanced", classes=classes, y=labels[train])
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=200_000,
                                     token_pattern=r"(?u)\b\w+\b")
        if lbfgs:
            model = LogisticRegression(C=10.0, class_weight="balanced", tol=1e-3, max_iter=300)
        else:  # balanced weights over their largest, C times it: the same objective in the form saga converges on
            model = LogisticRegression(C=10.0 * weights.max(), class_weight=dict(zip(classes, weights / weights.max())),
                                       solver="saga", tol=1e-3, max_iter=500, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(vectorizer.fit_transform([texts[i] for i in train]), labels[train])
        probabilities[np.ix_(held_out, model.classes_)] = model.predict_proba(
            vectorizer.transform([texts[i] for i in held_out]))
    return np.argsort(probabilities[np.arange(len(labels)), labels], kind="stable")


def timed(work, *args, **kwargs):
    started = time.process_time()
    result = work(*args, **kwargs)
    return result, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=DEFAULT_DATASET)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--lbfgs", action="store_true", help="also rank with an lbfgs fit (slow: ~10x the CPU)")
    args = parser.parse_args()

    dataset = build_dataset(load_builtin(args.dataset))
    config = ExperimentConfig()
    texts, _ = preprocess(dataset.texts, config.preprocessing)
    num_classes = len(dataset.class_names)
    print(f"{args.dataset}: {len(dataset)} rows, {num_classes} classes; {FLIP_RATE:.0%} of the non-test rows flipped")
    lbfgs_head = f" {'lbfgs':>7}" if args.lbfgs else ""
    print(f"{'seed':>4} {'pool':>6} {'flips':>6}  {'before':>7} {'after':>7} {'reference':>9}{lbfgs_head}   "
          f"CPU s before / after / reference{' / lbfgs' if args.lbfgs else ''}")
    for seed in args.seeds:
        split = stratified_split(dataset.y, config.split, seed, dataset.class_names)
        pool = np.setdiff1d(np.arange(len(dataset)), split.test)
        noisy, flipped = flipped_labels(dataset.y, pool, num_classes, seed)
        pool_texts, labels = [texts[row] for row in pool], noisy[pool]
        before, before_s = timed(before_ranking, pool_texts, labels, num_classes, seed)
        report, after_s = timed(find_label_suspects, texts, noisy, dataset.class_names, pool, seed=seed)
        reference, reference_s = timed(reference_ranking, pool_texts, labels, seed)
        before, reference = pool[before], pool[reference]
        after = [suspect.row for suspect in report.suspects]
        lbfgs, lbfgs_cells = "", ""
        if args.lbfgs:
            ranked, lbfgs_s = timed(reference_ranking, pool_texts, labels, seed, lbfgs=True)
            ranked = pool[ranked]
            lbfgs, lbfgs_cells = f" {precision(ranked, flipped):>7.3f}", f" / {lbfgs_s:.1f}"
        print(f"{seed:>4} {len(pool):>6} {len(flipped):>6}  "
              f"{precision(before, flipped):>7.3f} {precision(after, flipped):>7.3f} "
              f"{precision(reference, flipped):>9.3f}{lbfgs}   "
              f"{before_s:.1f} / {after_s:.1f} / {reference_s:.1f}{lbfgs_cells}")


if __name__ == "__main__":
    main()
