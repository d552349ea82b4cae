"""Scoring on the sealed test split, and per-token explanations (attention weights or occlusion).

Computing is kept apart from drawing: everything here returns numbers or typed records (core.runs.results) that
serialise to JSON.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from core import lazy

lazy.load("sklearn")  # this module may be imported from several dashboard threads at once
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from core.runs.results import ClassificationMetrics, ClassScore, Confusion, MajorityResult, Prediction  # noqa: E402
from core.text.vectorizing import OOV_ID, PAD_ID, word_ids  # noqa: E402


def classification_metrics(
    y_true: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str]
) -> ClassificationMetrics:
    """Headline metrics, per-class precision/recall/F1/support and the confusion matrix (counts and row-normalised).

    Macro averages run over the classes present in ``y_true``: a class with no test rows cannot be scored, and
    counting it as F1 = 0 would punish the model for the split rather than for its predictions.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(probabilities).argmax(axis=1)
    all_labels = list(range(len(class_names)))
    present = sorted(set(y_true.tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes predicted but absent from y_true are expected on tiny splits
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=all_labels, zero_division=0
        )
        balanced = balanced_accuracy_score(y_true, y_pred) if len(y_true) else 0.0
        macro = f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0) if present else 0.0
        weighted = f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0) if present else 0.0
    counts = (confusion_matrix(y_true, y_pred, labels=all_labels) if len(y_true)
              else np.zeros((len(all_labels),) * 2, int))
    row_totals = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, row_totals, out=np.zeros(counts.shape, dtype=float), where=row_totals > 0)
    return ClassificationMetrics(
        accuracy=float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        balanced_accuracy=float(balanced),
        macro_f1=float(macro),
        weighted_f1=float(weighted),
        support=int(len(y_true)),
        per_class=[
            ClassScore(name=name, precision=float(precision[i]), recall=float(recall[i]), f1=float(f1[i]),
                       support=int(support[i]))
            for i, name in enumerate(class_names)
        ],
        confusion=Confusion(labels=list(class_names), counts=counts.astype(int).tolist(),
                            normalized=np.round(normalized, 4).tolist()),
    )


def majority_class_metrics(y_train: np.ndarray, y_test: np.ndarray, class_names: Sequence[str]) -> MajorityResult:
    """What always predicting the most common training class scores on the test split."""
    majority = int(np.bincount(y_train, minlength=len(class_names)).argmax())
    probabilities = np.zeros((len(y_test), len(class_names)))
    probabilities[:, majority] = 1.0
    metrics = classification_metrics(y_test, probabilities, class_names)
    return MajorityResult(name=class_names[majority], accuracy=metrics.accuracy,
                          balanced_accuracy=metrics.balanced_accuracy, macro_f1=metrics.macro_f1)


def prediction_records(
    texts: Sequence[str], y_true: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str],
    row_ids: Sequence[int],
) -> list[Prediction]:
    """One record per example: the text, true and predicted class, and every class's probability."""
    predicted = probabilities.argmax(axis=1)
    return [
        Prediction(row=int(row), text=text, true=class_names[int(truth)], predicted=class_names[int(guess)],
                   confidence=round(float(probs[guess]), 4), probabilities=[round(float(p), 4) for p in probs])
        for row, text, truth, guess, probs in zip(row_ids, texts, y_true, predicted, probabilities)
    ]


def token_weights(weights_row: np.ndarray, ids_row: np.ndarray) -> list[float]:
    """Attention weights of the real (non-padding) tokens of one row."""
    length = int((word_ids(np.asarray(ids_row)[None])[0] != PAD_ID).sum())
    return [float(w) for w in np.asarray(weights_row)[:length]]


def occlusion_importance(predict, ids_row: np.ndarray, class_index: int) -> list[float]:
    """Leave-one-token-out importance: how much the probability of ``class_index`` drops without each token.

    ``predict`` maps an int matrix of token IDs to probabilities. All variants run in one batch. A text left with
    no token is read as the single out-of-vocabulary token, exactly as an empty text is encoded.
    """
    ids_row = np.asarray(ids_row)  # (steps,) or, with subwords, (steps, 1 + slots)
    length = int((word_ids(ids_row[None])[0] != PAD_ID).sum())
    variants = np.zeros((length + 1, *ids_row.shape), dtype=ids_row.dtype)
    variants[0] = ids_row
    for position in range(length):
        kept = np.delete(ids_row[:length], position, axis=0)
        if len(kept) == 0:
            kept = np.zeros((1, *ids_row.shape[1:]), dtype=ids_row.dtype)
            kept.reshape(-1)[0] = OOV_ID  # the OOV word ID (and, with subwords, no n-grams): an empty text's encoding
        variants[position + 1, : len(kept)] = kept
    probabilities = np.asarray(predict(variants))
    full = probabilities[0, class_index]
    return [float(full - probabilities[i + 1, class_index]) for i in range(length)]
