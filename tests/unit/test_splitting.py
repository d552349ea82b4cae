import numpy as np

from core.config import SplitConfig
from core.data.splitting import stratified_folds, stratified_split


def test_split_is_disjoint_complete_and_stratified():
    y = np.repeat([0, 1, 2], [100, 40, 10])
    split = stratified_split(y, SplitConfig(validation_fraction=0.15, test_fraction=0.2), seed=3)
    all_rows = np.concatenate([split.train, split.validation, split.test])
    assert sorted(all_rows.tolist()) == list(range(len(y)))
    assert len(set(split.train) & set(split.test)) == 0 and len(set(split.validation) & set(split.test)) == 0
    assert np.bincount(y[split.test]).tolist() == [20, 8, 2]
    assert np.bincount(y[split.validation]).tolist() == [15, 6, 2]


def test_same_seed_same_split_other_seed_other_split():
    y = np.repeat([0, 1], [50, 50])
    a = stratified_split(y, SplitConfig(), seed=1)
    b = stratified_split(y, SplitConfig(), seed=1)
    c = stratified_split(y, SplitConfig(), seed=2)
    assert np.array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_tiny_classes_still_reach_training_and_are_reported():
    y = np.array([0] * 30 + [1, 1] + [2])
    split = stratified_split(y, SplitConfig(), seed=0, class_names=("big", "two", "one"))
    assert (y[split.train] == 1).sum() == 1 and (y[split.test] == 1).sum() == 1
    assert (y[split.train] == 2).sum() == 1 and (y[split.test] == 2).sum() == 0
    assert any("'two'" in note for note in split.notes) and any("'one'" in note for note in split.notes)


def test_folds_cover_every_row_once_and_keep_rare_classes_in_training():
    y = np.array([0] * 20 + [1] * 10 + [2] * 2)
    folds = stratified_folds(y, 3, seed=0)
    held_out = np.concatenate([h for _, h in folds])
    assert sorted(held_out.tolist()) == list(range(30))  # the 2-row class (rows 30, 31) is never held out
    for train_rows, held in folds:
        assert not set(train_rows) & set(held)
        assert {30, 31} <= set(train_rows)
