"""Suspected label errors: rows whose given class a model that never saw them finds unlikely.

Every checked row gets out-of-fold class probabilities from a TF-IDF + *multinomial* (softmax) logistic-regression
model with balanced class weights (k-fold cross-validation over the rows the caller passes — the candidate pool,
which must not include the sealed test split), optionally averaged with the LSTM's own out-of-fold probabilities.
cleanlab's confident learning (``cleanlab.filter.find_label_issues``) then flags the rows whose given label is
improbable, ranked by the probability the model gives the given label (lowest first). A suspect is a row to look
at, not a verdict.

Why not the baseline's own pipeline (one-vs-rest liblinear): its per-class probabilities are normalised one-vs-rest
scores, not a softmax, and ranked flipped labels 1-4 points worse on Financial PhraseBank (DESIGN §7: precision at
k = flips 0.589 / 0.663 against 0.633 / 0.685 multinomial balanced, two seeds, same pool and folds); class weighting
did not cost anything, so it stays. ``bench/label_noise.py`` measures both on the built-in data: on the
phase-of-flight set the multinomial model ranks better (0.396 against 0.372, seed 0); on the default set it does
not (0.401 against 0.421 averaged over seeds 0-7, a row or three of 76 either way per seed).

scikit-learn and cleanlab are imported inside functions (through core.lazy): the dashboard imports this module on
its first page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from core import lazy
from core.errors import DataError
from core.records import Record

MODEL_DESCRIPTION = "TF-IDF on words and word pairs + multinomial logistic regression with balanced class weights"
MODEL_SOURCE = f"{MODEL_DESCRIPTION}, out-of-fold"
REGULARISATION_C = 10.0  # as the baseline's logistic regression
LSTM_SOURCE = "LSTM k-fold models, out-of-fold"
_PROBABILITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class LabelSuspect(Record):
    """One row whose given label looks wrong to a model that was not trained on it."""

    row: int  # index into the dataset
    text: str
    given_label: str
    suggested_label: str  # the class the out-of-fold probabilities favour
    suggested_label_probability: float  # out-of-fold probability of the suggested class
    given_label_probability: float  # out-of-fold probability of the given class ("self-confidence"): the sort key


@dataclass(frozen=True)
class LabelIssueReport(Record):
    """Suspects, most suspicious first, plus how they were found."""

    suspects: tuple[LabelSuspect, ...]
    suspects_per_class: dict[str, int]  # by given label, over every suspect found (before ``limit``)
    suspects_found: int  # before ``limit`` cut the list
    rows_checked: int  # rows of the pool that received out-of-fold probabilities
    rows_not_checked: int  # rows of the pool whose class is too small to hold out (they trained every fold)
    folds: int
    method: str
    sources: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    seconds: float = 0.0
    rows_in_pool: int = 0  # the candidate rows passed in (never the test split): rows_checked + rows_not_checked

    @property
    def listed(self) -> int:
        """Suspects in ``suspects`` (the first ``limit`` of ``suspects_found``)."""
        return len(self.suspects)


def find_label_suspects(
    texts_processed: Sequence[str],
    y: np.ndarray,
    class_names: Sequence[str],
    rows: np.ndarray,
    *,
    seed: int,
    folds: int = 5,
    extra_pred_probs: Optional[np.ndarray] = None,
    limit: Optional[int] = None,
    display_texts: Optional[Sequence[str]] = None,
) -> LabelIssueReport:
    """Rank the given ``rows`` — the candidate pool, never the test split — by how unlikely their given label is,
    out of fold.

    ``texts_processed`` and ``y`` cover the whole dataset; only ``rows`` are read. ``extra_pred_probs`` (one row
    per entry of ``rows``, a column per class; NaN rows where a source has no prediction) is averaged with the
    baseline's probabilities. ``display_texts`` (whole dataset, e.g. the raw texts) is what suspects show.
    """
    started = time.perf_counter()
    y = np.asarray(y, dtype=np.int64)
    rows = _checked_rows(rows, len(texts_processed), len(y))
    num_classes = len(class_names)
    if num_classes < 2:
        raise ValueError("find_label_suspects needs at least two class names")
    if folds < 2:
        raise ValueError("folds must be at least 2")
    if limit is not None and limit < 0:
        raise ValueError("limit must be None or a non-negative number")
    labels = y[rows]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("every label must be an index into class_names")
    extra = _checked_extra(extra_pred_probs, len(rows), num_classes)

    folds_used, notes = _fold_count(labels, folds, class_names)
    texts = [texts_processed[row] for row in rows]
    probabilities, checked = _out_of_fold_probabilities(texts, labels, num_classes, folds_used, seed)
    skipped = np.flatnonzero(~checked)
    if skipped.size:
        small = sorted({class_names[label] for label in labels[skipped]})
        notes.append(
            f"{skipped.size} row(s) of {_listed(small)} were not checked: their class has fewer rows than "
            f"{folds_used} folds, so they trained every fold and no model could judge them unseen."
        )
    sources = [f"{MODEL_SOURCE} ({folds_used} folds)"]
    if extra is not None:
        probabilities, averaged = _averaged(probabilities, extra, checked)
        sources.append(f"{LSTM_SOURCE} (averaged in on {averaged} of {int(checked.sum())} checked rows)")

    ranked = _ranked_issues(labels[checked], probabilities[checked])
    positions = np.flatnonzero(checked)[ranked]
    listed = positions if limit is None else positions[:limit]
    texts_shown = display_texts if display_texts is not None else texts_processed
    suspects = tuple(_suspect(int(rows[p]), texts_shown[rows[p]], int(labels[p]), probabilities[p], class_names)
                     for p in listed)
    per_class = {name: 0 for name in class_names}
    for label in labels[positions]:
        per_class[class_names[label]] += 1
    return LabelIssueReport(
        suspects=suspects,
        suspects_per_class=per_class,
        suspects_found=int(positions.size),
        rows_checked=int(checked.sum()),
        rows_not_checked=int(skipped.size),
        folds=folds_used,
        method=_method_sentence(int(checked.sum()), folds_used, extra is not None),
        sources=tuple(sources),
        notes=tuple(notes),
        seconds=round(time.perf_counter() - started, 3),
        rows_in_pool=int(rows.size),
    )


def _checked_rows(rows: np.ndarray, num_texts: int, num_labels: int) -> np.ndarray:
    if num_texts != num_labels:
        raise ValueError(f"texts_processed has {num_texts} entries but y has {num_labels}")
    rows = np.asarray(rows)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        raise ValueError("rows must be a one-dimensional array of row indices")
    rows = rows.astype(np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= num_texts):
        raise ValueError("rows must be indices into texts_processed")
    if np.unique(rows).size != rows.size:
        raise ValueError("rows must not repeat a row")
    return rows


def _checked_extra(extra: Optional[np.ndarray], num_rows: int, num_classes: int) -> Optional[np.ndarray]:
    if extra is None:
        return None
    extra = np.asarray(extra, dtype=np.float64)
    if extra.shape != (num_rows, num_classes):
        raise ValueError(f"extra_pred_probs must have shape ({num_rows}, {num_classes}), one row per entry of rows")
    present = ~np.isnan(extra).any(axis=1)
    values = extra[present]
    if values.size and (values.min() < -_PROBABILITY_TOLERANCE or values.max() > 1 + _PROBABILITY_TOLERANCE):
        raise ValueError("extra_pred_probs must hold probabilities between 0 and 1")
    if values.size and np.abs(values.sum(axis=1) - 1).max() > _PROBABILITY_TOLERANCE:
        raise ValueError("each row of extra_pred_probs must sum to 1 (or be NaN where there is no prediction)")
    return np.clip(extra, 0.0, 1.0)  # NaN stays NaN


def _fold_count(labels: np.ndarray, folds: int, class_names: Sequence[str]) -> tuple[int, list[str]]:
    """The requested folds, lowered only when fewer than two classes could otherwise be held out."""
    counts = np.bincount(labels, minlength=len(class_names))
    if (counts >= 2).sum() < 2:
        raise DataError(
            "Label checking needs at least two classes with two or more rows among the rows checked: "
            "add rows or check a larger part of the data."
        )
    notes = []
    usable = folds
    while usable > 2 and (counts >= usable).sum() < 2:
        usable -= 1
    if usable < folds:
        notes.append(f"Folds lowered from {folds} to {usable}: fewer than two classes had {folds} rows.")
    return usable, notes


def probability_model(labels: np.ndarray):
    """The unfitted TF-IDF + multinomial logistic-regression pipeline whose out-of-fold probabilities rank suspects,
    with balanced class weights for ``labels`` (the rows it is about to be fitted on).

    The vectorizer is the baseline's (words and word pairs, sublinear tf, one-letter tokens and digits kept); the
    classifier is one softmax over all classes, so a row's probabilities compete with each other. Balanced weights
    (scikit-learn's: rows / (classes x rows of the class)) are passed divided by the largest, with C multiplied by
    it: the same objective, but saga's step size assumes weights of at most 1. With the raw weights, the built-in
    phase-of-flight data (a 10-row class beside a 5,400-row one: weights 540x apart) stopped far from the optimum
    and ranked 5 % flips at precision 0.30, where lbfgs's ranking scores 0.40; rescaled: 0.40 (0.396 after
    cleanlab) in 10 CPU s where lbfgs took 111, and 0.372 with the one-vs-rest baseline pipeline
    (bench/label_noise.py --dataset faa-bird-strikes-phase --seeds 0 --lbfgs).
    """
    lazy.load("sklearn")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    classes, counts = np.unique(np.asarray(labels), return_counts=True)
    balanced = len(labels) / (len(classes) * counts)
    largest = float(balanced.max())
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, max_features=200_000,
                        token_pattern=r"(?u)\b\w+\b"),
        LogisticRegression(C=REGULARISATION_C * largest,
                           class_weight=dict(zip(classes.tolist(), (balanced / largest).tolist())),
                           solver="saga", tol=1e-3, max_iter=500, random_state=0),
    )


def _out_of_fold_probabilities(
    texts: list[str], labels: np.ndarray, num_classes: int, folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities with a column for every class, mask of rows that were held out once)."""
    import warnings

    lazy.load("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from core.data.splitting import stratified_folds

    probabilities = np.zeros((len(labels), num_classes))
    checked = np.zeros(len(labels), dtype=bool)
    for train_part, held_out in stratified_folds(labels, folds, seed):
        if held_out.size == 0:
            continue
        pipeline = probability_model(labels[train_part])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=ConvergenceWarning)  # tol 1e-3 is the stopping rule meant
                pipeline.fit([texts[i] for i in train_part], labels[train_part])
        except ValueError as exc:
            if "empty vocabulary" not in str(exc):
                raise
            raise DataError(
                "The texts are empty after preprocessing, so there are no words to judge labels by: "
                "relax the preprocessing (keep stop words or numbers) and try again."
            ) from None
        # A class absent from this fold's training part gets probability 0: its column stays zero.
        probabilities[np.ix_(held_out, pipeline.classes_)] = pipeline.predict_proba([texts[i] for i in held_out])
        checked[held_out] = True
    return probabilities, checked


def _averaged(baseline: np.ndarray, extra: np.ndarray, checked: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean of the two sources where the extra one has a prediction; the baseline alone elsewhere."""
    available = ~np.isnan(extra).any(axis=1)
    merged = baseline.copy()
    merged[available] = (baseline[available] + extra[available]) / 2
    return merged, int((available & checked).sum())


def _ranked_issues(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """cleanlab's confident-learning issues, lowest probability of the given label first."""
    if labels.size == 0 or np.unique(labels).size < 2:
        return np.zeros(0, dtype=np.int64)
    lazy.load("cleanlab")
    from cleanlab.filter import find_label_issues

    # n_jobs=1: cleanlab otherwise forks a process pool, unsafe inside the dashboard's threads and TF processes.
    ranked = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1)
    return np.asarray(ranked, dtype=np.int64)


def _suspect(row: int, text: str, label: int, probabilities: np.ndarray, class_names: Sequence[str]) -> LabelSuspect:
    suggested = int(np.argmax(probabilities))
    return LabelSuspect(
        row=row,
        text=str(text),
        given_label=class_names[label],
        suggested_label=class_names[suggested],
        suggested_label_probability=round(float(probabilities[suggested]), 4),
        given_label_probability=round(float(probabilities[label]), 4),
    )


def _method_sentence(checked: int, folds: int, with_lstm: bool) -> str:
    models = "a TF-IDF + multinomial logistic-regression model" + (
        " and the LSTM's k-fold models (averaged)" if with_lstm else ""
    )
    return (
        f"Each of the {checked:,} rows checked was scored by {models} that never saw it ({folds}-fold cross-validation "
        "on these rows only, never the test split); cleanlab's confident learning flagged the rows whose given label "
        "those out-of-fold probabilities find unlikely, most doubtful (lowest probability of the given label) first."
    )


def _listed(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names[:5]]
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return "class " + ", ".join(quoted) + more if len(names) == 1 else "classes " + ", ".join(quoted) + more


def lstm_out_of_fold(rows: np.ndarray, out_of_fold: dict, num_classes: int) -> Optional[np.ndarray]:
    """A k-fold run's held-out probabilities (its ``out_of_fold`` record) aligned to ``rows``, NaN where the run has
    none; None when it covers none of them or has another number of classes."""
    recorded = {int(row): probabilities
                for row, probabilities in zip(out_of_fold.get("rows", []), out_of_fold.get("probabilities", []))}
    aligned = np.full((len(rows), num_classes), np.nan)
    for position, row in enumerate(np.asarray(rows, dtype=np.int64)):
        probabilities = recorded.get(int(row))
        if probabilities is not None:
            if len(probabilities) != num_classes:
                return None
            aligned[position] = probabilities
    return aligned if np.isfinite(aligned).all(axis=1).any() else None
