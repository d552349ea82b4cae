"""Can this data be trained and scored with these settings? Decided once, before anything trains.

The split keeps every class in training and seals a test split; a class with one row never reaches the test split,
so a file whose classes all have one row would train and then have nothing to score. k-fold needs classes with k
non-test rows. :func:`assess` answers with one sentence a user can act on (the Data page shows it, the Train
button is disabled with it, the CLI exits with it) plus milder warnings that do not stop training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from core.config import ExperimentConfig
from core.data.splitting import stratified_split
from core.errors import ConfigError, DataError

MIN_CLASSES = 2


@dataclass(frozen=True)
class Trainability:
    """``reason`` is None when the data can be trained and scored; otherwise one sentence saying why not and what
    to do. ``warnings`` are sentences about weak but workable data."""

    reason: Optional[str]
    train_rows: int
    validation_rows: int
    test_rows: int
    classes_in_test: int
    warnings: tuple[str, ...] = field(default=())
    settings_problem: bool = False  # the reason lies in a setting (k-fold), not in the data itself

    @property
    def trainable(self) -> bool:
        return self.reason is None

    def raise_if_not(self) -> None:
        if self.reason is not None:
            raise (ConfigError if self.settings_problem else DataError)(self.reason)


def assess(y: np.ndarray, class_names: Sequence[str], config: ExperimentConfig, split=None) -> Trainability:
    """Rows per class and per split for ``config``'s split (or the given ``split``) and k-fold, and whether a run
    can train and be scored."""
    y = np.asarray(y, dtype=np.int64)
    counts = np.bincount(y, minlength=len(class_names))
    split = split if split is not None else stratified_split(y, config.split, config.seed, tuple(class_names))
    test_classes = int(len(np.unique(y[split.test])))
    non_test = np.bincount(y[np.concatenate([split.train, split.validation])], minlength=len(class_names))
    reason = _reason(counts, non_test, len(split.test), config.split.k_folds)
    return Trainability(
        reason=reason, train_rows=len(split.train), validation_rows=len(split.validation), test_rows=len(split.test),
        classes_in_test=test_classes,
        warnings=() if reason else tuple(_warnings(counts, len(split.validation), test_classes, config.split.k_folds)),
        settings_problem=reason is not None and reason.startswith(f"{config.split.k_folds}-fold"),
    )


def _reason(counts: np.ndarray, non_test: np.ndarray, test_rows: int, k: int) -> Optional[str]:
    present = int((counts > 0).sum())
    if present < MIN_CLASSES:
        return ("The data has only one class, so there is nothing to tell apart: "
                "choose a label column with at least two classes.")
    if test_rows == 0:
        return (f"Every class has a single row ({int(counts.sum())} rows in all), "
                "so no row is left to test the model on: "
                "add at least a second row to some classes (three or more per class lets every split be scored).")
    if k >= 2:
        foldable = int((non_test >= k).sum())
        if foldable < MIN_CLASSES:
            return (f"{k}-fold cross-validation needs at least two classes with {k} non-test rows each, and this data "
                    f"has {foldable}: lower split.k_folds or turn it off.")
    return None


def _warnings(counts: np.ndarray, validation_rows: int, test_classes: int, k: int) -> list[str]:
    notes = []
    if validation_rows == 0 and k < 2:
        notes.append("No class has enough rows for a validation split, so training runs without early stopping or "
                     "validation curves.")
    present = int((counts > 0).sum())
    if test_classes < present:
        notes.append(f"Only {test_classes} of {present} classes have a test row (classes with one row are used for "
                     "training only), so the test scores leave the others out.")
    return notes
