"""Length-bucketed batches: exact trimming, every row once per epoch, seeded plans, and one traced function."""

import functools

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import core.layers  # noqa: E402
from core.config import ModelConfig  # noqa: E402
from core.model.classifier import build_classifier  # noqa: E402
from core.training.batching import (  # noqa: E402
    COMPILED_SHAPES,
    LengthBatches,
    batches_per_epoch,
    length_step,
    plan_epoch,
    predict_trimmed,
    sequence_lengths,
    tf_length_batches,
    trimmed_length,
)
from core.training.fit import train  # noqa: E402
from support.fakes import tiny_config  # noqa: E402


def _post_padded(rows=40, steps=30, vocab=50, seed=0, min_length=1):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, steps + 1, size=rows)
    x = np.zeros((rows, steps), dtype="int32")
    for row, n in enumerate(lengths):
        x[row, :n] = rng.integers(2, vocab, size=n)
    return x, lengths


def test_lengths_are_one_past_the_last_real_step():
    x, lengths = _post_padded()
    assert sequence_lengths(x).tolist() == lengths.tolist()
    embedded = np.zeros((3, 5, 2), dtype="float32")
    embedded[0, :2] = 1.0
    embedded[1, :5] = 0.5
    assert sequence_lengths(embedded).tolist() == [2, 5, 1]  # an empty row still counts one step


def test_every_row_once_per_epoch_batches_of_similar_length_and_seeded():
    lengths = np.random.default_rng(1).integers(1, 100, size=1000)
    plan = plan_epoch(lengths, 32, np.random.default_rng(7))
    rows = np.concatenate(plan)
    assert sorted(rows.tolist()) == list(range(1000))
    assert sum(len(b) < 32 for b in plan) == 1  # only one partial batch, as with plain batching
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in plan])
    assert spread < 10  # random batches of 32 from 1..99 would spread ~90
    again = plan_epoch(lengths, 32, np.random.default_rng(7))
    assert all(np.array_equal(a, b) for a, b in zip(plan, again))
    other = plan_epoch(lengths, 32, np.random.default_rng(8))
    assert not all(np.array_equal(a, b) for a, b in zip(plan, other))


def test_batches_are_trimmed_and_reshuffled_each_epoch():
    x, lengths = _post_padded(rows=100, steps=30)
    y = np.arange(100)
    batches = LengthBatches(x, y, 16, seed=3, step=1)
    first = [batches[i] for i in range(len(batches))]
    assert len(batches) == 7
    for bx, by in first:
        assert bx.shape[1] == lengths[by].max()  # y holds the row numbers here
        np.testing.assert_array_equal(bx, x[by, : bx.shape[1]])
    assert first[0][0].shape[1] != first[1][0].shape[1]  # TensorFlow's data signature leaves the length open
    batches.on_epoch_end()
    second = [batches[i][1] for i in range(len(batches))]
    assert not all(np.array_equal(a[1], b) for a, b in zip(first, second))
    assert sorted(np.concatenate(second).tolist()) == list(range(100))


def test_the_tensorflow_pipeline_serves_the_same_batches_epoch_after_epoch():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the tf.data pipeline is TensorFlow's")
    x, lengths = _post_padded(rows=100, steps=30, seed=6)
    y = np.arange(100)  # each target is its row number
    per_epoch = batches_per_epoch(100, 16)
    served = [(bx.numpy(), by.numpy()) for bx, by in tf_length_batches(x, y, 16, seed=3, epochs=3)]
    assert len(served) == 3 * per_epoch
    reference = LengthBatches(x, y, 16, seed=3, step=1)
    for epoch in range(3):
        mine = served[epoch * per_epoch:(epoch + 1) * per_epoch]
        assert sorted(np.concatenate([by for _, by in mine]).tolist()) == list(range(100))  # every row once
        for (bx, by), (rx, ry) in zip(mine, [reference[i] for i in range(len(reference))]):
            np.testing.assert_array_equal(by, ry)
            np.testing.assert_array_equal(bx, rx)  # gathered and trimmed to the batch's longest row
            assert bx.shape[1] == lengths[by].max()
        reference.on_epoch_end()
    assert served[0][0].shape[1] != served[1][0].shape[1]


def test_compiling_backends_see_few_lengths_and_tracing_ones_exact_lengths():
    assert length_step(73, "tensorflow") == 1 and length_step(73, "torch") == 1
    step = length_step(73, "jax")
    assert len({trimmed_length(n, step, 73) for n in range(1, 74)}) <= COMPILED_SHAPES


def test_rounded_lengths_never_exceed_the_padded_width():
    assert trimmed_length(5, 8, 30) == 8
    assert trimmed_length(29, 8, 30) == 30
    assert trimmed_length(16, 8, 30) == 16


@pytest.mark.parametrize("attention", ["additive", "multihead", "none"])
def test_one_batch_gives_the_same_outputs_with_and_without_trimming(attention):
    config = ModelConfig(embedding_dim=8, lstm_units=6, attention=attention, attention_units=4, attention_heads=2,
                         dropout=0.0)
    models = build_classifier(config, vocab_size=50, num_classes=3, max_length=30, seed=0)
    x, lengths = _post_padded(rows=8, steps=18, seed=2)
    x = np.pad(x, ((0, 0), (0, 12)))  # padded to the model's 30 steps; every row ends by step 18
    trimmed = x[:, : lengths.max()]
    assert trimmed.shape[1] < x.shape[1]
    full = models.model.predict_on_batch(x)
    short = models.model.predict_on_batch(trimmed)
    np.testing.assert_allclose(short, full, atol=1e-6)
    # the embedded view (what SMOTE-family resampling trains on): zero vectors after each row's end
    vectors = np.random.default_rng(3).normal(size=(50, 8)).astype("float32")
    embedded = vectors[x] * (x != 0)[..., None]
    full = models.embedded_model.predict_on_batch(embedded)
    short = models.embedded_model.predict_on_batch(embedded[:, : lengths.max()])
    np.testing.assert_allclose(short, full, atol=1e-6)


def test_predict_trimmed_returns_rows_in_their_order():
    config = ModelConfig(embedding_dim=8, lstm_units=6, attention_units=4, dropout=0.0)
    models = build_classifier(config, vocab_size=50, num_classes=3, max_length=30, seed=0)
    x, _ = _post_padded(rows=70, steps=30, seed=4)
    np.testing.assert_allclose(predict_trimmed(models.model, x, 16), models.model.predict(x, batch_size=16, verbose=0),
                               atol=1e-6)


def _traces(monkeypatch) -> list:
    """Python runs a layer's call() once per trace in graph mode: count LengthAwareLSTM's."""
    calls = []
    original = core.layers.LengthAwareLSTM.call

    @functools.wraps(original)
    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(core.layers.LengthAwareLSTM, "call", counted)
    return calls


def test_many_batch_lengths_trace_no_more_than_one_length(monkeypatch):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tracing is TensorFlow's")
    config = tiny_config("training.epochs=3", "training.early_stopping=false").training
    x, _ = _post_padded(rows=160, steps=30, vocab=50, seed=5)
    y = np.random.default_rng(5).integers(0, 3, size=160)
    assert len({b[0].shape[1] for b in LengthBatches(x, y, config.batch_size, step=1)}) > 5
    traces = {}
    for buckets in (True, False):
        models = build_classifier(ModelConfig(embedding_dim=8, lstm_units=4, attention_units=4), 50, 3, 30, seed=0)
        calls = _traces(monkeypatch)
        train(models, x, y, x[:100], y[:100], config, length_buckets=buckets)  # validation: two batches
        traces[buckets] = len(calls)
        monkeypatch.undo()
    # Full-width batches have one shape; bucketed ones have many, and still trace the training step and the
    # validation's prediction no more often, over three epochs.
    assert traces[True] == traces[False] <= 3


def test_the_training_step_is_traced_once(monkeypatch):
    """Keras's TensorFlow trainer leaves the optimizer's slots and the metrics to the first trace, and a traced
    function that creates variables is traced again; train() builds them first, so one trace serves the fit."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tracing is TensorFlow's")
    config = tiny_config("training.epochs=2", "training.early_stopping=false").training
    x, _ = _post_padded(rows=64, steps=20, vocab=50, seed=3)
    y = np.random.default_rng(3).integers(0, 3, size=64)
    models = build_classifier(ModelConfig(embedding_dim=8, lstm_units=4, attention_units=4), 50, 3, 20, seed=0)
    network_class = type(models.model)
    original = network_class.train_step
    traced = []

    def counted(self, data):
        traced.append(1)
        return original(self, data)

    monkeypatch.setattr(network_class, "train_step", counted)
    outcome = train(models, x, y, x[:20], y[:20], config, class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    assert outcome.epochs_run == 2
    assert len(traced) == 1
