"""Stratified, seeded train / validation / test splits that tolerate tiny classes.

scikit-learn's stratified splitters raise on a class with one or two rows; here every class is allocated by hand
so that a tiny class still reaches training (and, with two rows, the test split) and the report says so.
The test indices are sealed at this point: later stages receive only train/validation rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.config import SplitConfig

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    """Row indices of each split, plus what happened to classes too small to appear everywhere."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def indices(self, name: str) -> np.ndarray:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    def class_counts(self, name: str, y: np.ndarray, num_classes: int) -> list[int]:
        """Rows per class in one split."""
        return class_counts(np.asarray(y)[self.indices(name)], num_classes)


def _allocate(count: int, validation_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """How many rows of one class go to (train, validation, test)."""
    if count == 1:
        return 1, 0, 0
    if count == 2:
        return 1, 0, 1  # one to learn from, one to be measured on
    n_test = max(1, round(count * test_fraction))
    n_validation = max(1, round(count * validation_fraction)) if validation_fraction > 0 else 0
    while count - n_test - n_validation < 1:  # training keeps at least one row
        if n_validation >= n_test and n_validation > 0:
            n_validation -= 1
        else:
            n_test -= 1
    return count - n_test - n_validation, n_validation, n_test


def stratified_split(y: np.ndarray, config: SplitConfig, seed: int,
                     class_names: tuple[str, ...] | None = None) -> Split:
    """Split rows per class with a seeded shuffle; every class keeps at least one training row."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLIT_NAMES}
    notes: list[str] = []
    for class_id in np.unique(y):
        rows = np.flatnonzero(y == class_id)
        rng.shuffle(rows)
        n_train, n_validation, n_test = _allocate(len(rows), config.validation_fraction, config.test_fraction)
        parts["train"].append(rows[:n_train])
        parts["validation"].append(rows[n_train : n_train + n_validation])
        parts["test"].append(rows[n_train + n_validation :])
        name = class_names[class_id] if class_names is not None else str(class_id)
        if len(rows) < 3:
            where = ("training only (it cannot be evaluated)" if len(rows) == 1
                     else "one row for training and one for test, none for validation")
            notes.append(f"Class '{name}' has {len(rows)} row(s): {where}.")
    split = {name: np.sort(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()}
    return Split(train=split["train"], validation=split["validation"], test=split["test"], notes=tuple(notes))


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, held-out) index pairs over ``y``; classes with fewer rows than k stay in every training part."""
    from core import lazy

    lazy.load("sklearn")  # imported here, once per process: the dashboard's first page never needs it
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    counts = np.bincount(y)
    foldable = counts[y] >= k
    folded_rows = np.flatnonzero(foldable)
    always_train = np.flatnonzero(~foldable)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = []
    for train_part, held_out in splitter.split(folded_rows, y[folded_rows]):
        train_rows = np.sort(np.concatenate([folded_rows[train_part], always_train]))
        folds.append((train_rows, np.sort(folded_rows[held_out])))
    return folds


def class_counts(y: np.ndarray, num_classes: int) -> list[int]:
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes).tolist()


def stratified_indices(codes: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a sample of ``rows`` rows in which each code keeps its share (largest remainders)."""
    codes = np.asarray(codes)
    counts = np.bincount(codes)
    present = np.flatnonzero(counts)
    if rows >= len(codes):
        return np.arange(len(codes))
    quota = counts * (rows / len(codes))
    take = np.floor(quota).astype(np.int64)
    take[present] = np.maximum(take[present], 1)  # every class keeps at least one row
    shortfall = rows - int(take.sum())
    if shortfall > 0:  # hand the rows lost to rounding to the largest remainders
        room = counts - take
        order = np.argsort(-(quota - np.floor(quota)), kind="stable")
        for code in order:
            if shortfall == 0:
                break
            extra = min(int(room[code]), shortfall)
            take[code] += extra
            shortfall -= extra
    elif shortfall < 0:  # more classes than rows allow: trim the largest classes first
        for code in np.argsort(-take, kind="stable"):
            spare = min(int(take[code]) - 1, -shortfall)
            take[code] -= spare
            shortfall += spare
            if shortfall == 0:
                break
    chosen = [rng.choice(np.flatnonzero(codes == code), size=int(take[code]), replace=False)
              for code in present if take[code]]
    return np.sort(np.concatenate(chosen))
