import dataclasses

import numpy as np
import pytest

from core.choices.resampling import (
    ABOUT,
    AT_MOST,
    EXACT,
    RESAMPLERS,
    UNDERSAMPLE_FLOOR,
    balanced_class_weights,
    preview_counts,
    resample_training,
)
from core.config import ResamplingConfig
from core.errors import ConfigError

STEPS, DIM, VOCAB = 10, 6, 30


def _training_rows(counts=(40, 12, 2), seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    lengths = rng.integers(1, STEPS + 1, size=len(y))
    x = np.zeros((len(y), STEPS), dtype=np.int32)
    for row, length in enumerate(lengths):
        x[row, :length] = rng.integers(2, VOCAB, size=length) + y[row]  # a little class signal
    return x, y


class SpyEmbedder:
    """A fixed random embedding that records what it was asked to embed."""

    def __init__(self):
        self.weights = np.random.default_rng(1).normal(size=(VOCAB + 5, DIM)).astype(np.float32)
        self.seen = []

    def __call__(self, ids):
        self.seen.append(ids.copy())
        vectors = self.weights[ids]
        vectors[ids == 0] = 0
        return vectors


def assert_preview_holds(preview: list[int], kind: str, actual: list[int]) -> None:
    """The preview is what training receives: exactly, as an upper bound, or within rounding (5% or 2 rows)."""
    if kind == EXACT:
        assert preview == actual
    elif kind == AT_MOST:
        assert all(after <= bound for after, bound in zip(actual, preview)), (preview, actual)
    else:
        assert kind == ABOUT
        assert all(abs(after - guess) <= max(2, 0.05 * guess)
                   for after, guess in zip(actual, preview)), (preview, actual)


# The contract every record of the registry meets (imbalanced-learn's habit: one test over every sampler).
@pytest.mark.parametrize("strategy", RESAMPLERS.keys())
def test_every_strategy_meets_the_contract_on_a_three_class_set_with_a_two_row_class(strategy):
    record = RESAMPLERS.get(strategy)
    x, y = _training_rows()
    embed = SpyEmbedder()
    config = ResamplingConfig(strategy=strategy, k_neighbors=5)
    result = resample_training(x, y, 3, config, seed=0, embed=embed)
    assert result.counts_before == [40, 12, 2]
    assert len(result.x) == len(result.y) == sum(result.counts_after)
    assert result.embedded == record.embedded
    preview, kind = preview_counts([40, 12, 2], config)
    assert kind == record.preview_kind
    assert_preview_holds(preview, kind, result.counts_after)
    assert record.title and record.texts.what and record.texts.when and record.texts.risk
    assert set(record.settings) <= {f.name for f in dataclasses.fields(ResamplingConfig)}
    if record.weights is not None:
        assert result.class_weight == record.weights(result.counts_before)
    if strategy in ("none", "class_weights"):
        assert result.counts_after == [40, 12, 2] and result.x is x
    if strategy == "class_weights":
        assert result.class_weight[2] > result.class_weight[1] > result.class_weight[0]
    if strategy == "random_over":
        assert result.counts_after == [40, 40, 40]
    if strategy == "random_under":
        assert result.counts_after == [UNDERSAMPLE_FLOOR, 12, 2]
    if record.embedded:
        assert result.x.shape[1:] == (STEPS, DIM)
        assert result.counts_after[0] == 40 and result.counts_after[2] >= 2
        assert any("lowered" in note for note in result.notes)  # k went from 5 to 1 for the 2-row class
        # every row keeps at least one real step and its padding strictly at the end
        real = np.abs(result.x).sum(axis=2) > 0
        assert real[:, 0].all()
        assert all((np.diff(row.astype(int)) <= 0).all() for row in real)
        # the embedding saw the training rows and nothing else
        assert len(embed.seen) == 1 and np.array_equal(embed.seen[0], x)
    else:
        assert not embed.seen


@pytest.mark.parametrize("strategy", [r.key for r in RESAMPLERS if r.embedded])
def test_synthetic_rows_interpolate_between_real_training_rows(strategy):
    x, y = _training_rows(counts=(30, 8, 6), seed=3)
    embed = SpyEmbedder()
    result = resample_training(x, y, 3, ResamplingConfig(strategy=strategy, k_neighbors=3), seed=0, embed=embed)
    real = embed(x)
    for row, label in zip(result.x, result.y):
        # each value lies within the range that class's real rows span at that position (or is padding)
        same = real[y == label]
        assert (row >= same.min(axis=0) - 1e-5).all() and (row <= same.max(axis=0) + 1e-5).all()


def test_a_single_training_row_class_is_duplicated_for_smote():
    x, y = _training_rows(counts=(20, 6, 1))
    result = resample_training(x, y, 3, ResamplingConfig(strategy="smote"), seed=0, embed=SpyEmbedder())
    assert result.counts_after == [20, 20, 20]
    assert any("single training row" in note for note in result.notes)


def test_unknown_strategy_lists_the_choices():
    config = dataclasses.replace(ResamplingConfig(), strategy="bogus")
    x, y = _training_rows()
    with pytest.raises(ConfigError, match="class_weights"):
        resample_training(x, y, 3, config, seed=0)


def test_same_seed_same_resampling():
    x, y = _training_rows()
    a = resample_training(x, y, 3, ResamplingConfig(strategy="smote"), seed=4, embed=SpyEmbedder())
    b = resample_training(x, y, 3, ResamplingConfig(strategy="smote"), seed=4, embed=SpyEmbedder())
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


def test_class_weights_make_every_class_weigh_the_same():
    weights = balanced_class_weights([40, 12, 2, 0])
    assert set(weights) == {0, 1, 2}  # an absent class gets no weight
    assert weights[0] * 40 == pytest.approx(weights[1] * 12) == pytest.approx(weights[2] * 2)
    assert sum(weights[c] * n for c, n in ((0, 40), (1, 12), (2, 2))) == pytest.approx(54)
