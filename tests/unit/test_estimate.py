"""The pre-flight estimate: exact parameter counts against Keras, a sane cost model, and no Keras import."""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys

import numpy as np
import pytest

from core.model import estimate
from core.config import ExperimentConfig, ModelConfig, apply_overrides

from support.paths import ROOT  # noqa: E402

# (embedding_dim, lstm_units, lstm_layers, bidirectional, attention, attention_heads, attention_units,
#  vocab_size, num_classes, max_length)
GRID = [
    (16, 8, 1, True, "additive", 4, 8, 300, 3, 12),
    (16, 8, 1, False, "additive", 4, 5, 300, 2, 12),
    (8, 4, 1, False, "none", 1, 8, 50, 2, 5),
    (8, 4, 1, True, "none", 1, 8, 50, 7, 5),
    (32, 16, 2, True, "none", 4, 8, 1000, 4, 20),
    (12, 6, 2, False, "additive", 4, 3, 77, 5, 9),
    (10, 7, 3, True, "additive", 4, 9, 120, 3, 15),
    (6, 3, 4, False, "none", 1, 4, 40, 2, 6),
    (6, 3, 4, True, "multihead", 2, 4, 40, 2, 6),
    (16, 8, 1, True, "multihead", 4, 8, 300, 3, 12),
    (16, 8, 1, True, "multihead", 3, 8, 300, 3, 12),  # width 16 // 3 heads: key_dim 5
    (16, 5, 2, False, "multihead", 5, 6, 200, 6, 10),  # key_dim 1
    (20, 9, 1, False, "multihead", 4, 7, 90, 3, 8),  # key_dim max(1, 9 // 4) = 2
    (24, 12, 3, True, "multihead", 16, 10, 500, 4, 10),  # key_dim 1 with 16 heads
    (2, 1, 1, True, "additive", 1, 1, 3, 2, 1),  # the smallest model the config allows
    (64, 32, 2, True, "multihead", 8, 16, 2000, 10, 30),
]


def model_config(combo: tuple) -> ModelConfig:
    embedding_dim, units, layers, bidirectional, attention, heads, attention_units = combo[:7]
    return ModelConfig(
        embedding_dim=embedding_dim, lstm_units=units, lstm_layers=layers, bidirectional=bidirectional,
        attention=attention, attention_heads=heads, attention_units=attention_units,
    )


def sizes(combo: tuple) -> dict:
    vocab_size, num_classes, max_length = combo[7:]
    return {"vocab_size": vocab_size, "num_classes": num_classes, "max_length": max_length}


@functools.lru_cache(maxsize=None)
def keras_model(combo: tuple):
    from core.model.classifier import build_model

    return build_model(model_config(combo), **sizes(combo))


def _shape_text(layer) -> str:
    output = layer.output
    if isinstance(output, (list, tuple)):
        return "[" + ", ".join(str(tuple(part.shape)) for part in output) + "]"
    return str(tuple(output.shape))


@pytest.mark.parametrize("combo", GRID, ids=lambda combo: "-".join(map(str, combo)))
def test_parameter_count_equals_keras(combo):
    assert estimate.parameter_count(model_config(combo), **sizes(combo)) == keras_model(combo).count_params()


@pytest.mark.parametrize("combo", GRID[::3], ids=lambda combo: "-".join(map(str, combo)))
def test_summary_rows_match_keras_layers(combo):
    model = keras_model(combo)
    rows = estimate.model_summary(model_config(combo), **sizes(combo))
    assert [row.name for row in rows] == [layer.name for layer in model.layers]
    for row, layer in zip(rows, model.layers):
        assert row.kind == type(layer).__name__
        assert row.output_shape == _shape_text(layer)
        assert row.parameters == layer.count_params(), row.name
    with_weights = {layer.name for layer in model.layers if layer.weights}
    assert with_weights == {row.name for row in rows if row.parameters}


# (subword_buckets, extension_size, vector_dim): pretrained words appended as fixed rows, vectors projected when
# their size differs from embedding_dim (16 here).
PRETRAINED = [(0, 0, 50), (0, 9, 16), (0, 9, 50), (30, 9, 50), (30, 0, 7)]


@pytest.mark.slow
@pytest.mark.parametrize("subwords, extension, vector_dim", PRETRAINED)
def test_pretrained_vectors_count_exactly_against_keras(subwords, extension, vector_dim):
    from core.model.classifier import build_model

    config = ModelConfig(embedding_dim=16, lstm_units=8, attention_units=8, subword_buckets=subwords,
                         word_vectors="glove-6b-50d")
    shape = {"vocab_size": 60, "num_classes": 3, "max_length": 12}
    model = build_model(config, **shape, vector_dim=vector_dim, frozen_rows=extension)
    rows = estimate.model_summary(config, **shape, extension_size=extension, vector_dim=vector_dim)
    assert [(row.name, row.kind, row.output_shape, row.parameters) for row in rows] == \
        [(layer.name, type(layer).__name__, _shape_text(layer), layer.count_params()) for layer in model.layers]
    assert estimate.parameter_count(config, **shape, extension_size=extension, vector_dim=vector_dim) == model.count_params()
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    embedded = False
    assert estimate._trainable_parameters(config, 60, 3, 12, embedded, extension, vector_dim) == trainable


def test_l2_does_not_change_the_count():
    counts = {estimate.parameter_count(ModelConfig(l2=l2), vocab_size=500, num_classes=3, max_length=40) for l2 in (0.0, 1e-4, 0.5)}
    assert len(counts) == 1


SIZES = {"vocab_size": 5000, "num_classes": 4, "max_length": 100}


def seconds(*overrides: str, rows: int = 1000, **size_overrides) -> float:
    config = apply_overrides(ExperimentConfig(), list(overrides))
    return estimate.estimate_epoch(config, train_counts=[rows // 2, rows - rows // 2], **{**SIZES, **size_overrides}).seconds_per_epoch


def test_more_work_takes_longer():
    base = seconds()
    assert seconds("model.lstm_units=128") > base
    assert seconds(max_length=200) > base
    assert seconds(rows=2000) > base
    assert seconds("model.lstm_layers=2") > base
    assert seconds("model.embedding_dim=300") > base
    assert seconds("model.attention=multihead") > base
    assert seconds("model.recurrent_dropout=0.2") > base
    assert seconds("model.bidirectional=true") > seconds("model.bidirectional=false")
    assert seconds("training.batch_size=16") > seconds("training.batch_size=128")  # per-step overhead


def test_estimate_is_self_consistent():
    config = ExperimentConfig()
    result = estimate.estimate_epoch(config, train_counts=[600, 600], **SIZES)
    assert result.seconds_per_epoch > 0
    assert result.samples_per_second == pytest.approx(1200 / result.seconds_per_epoch)
    assert result.memory_mb == pytest.approx(sum(result.memory_breakdown.values()))
    assert result.memory_mb > estimate.RUNTIME_BASELINE_MB  # the runtime baseline is included
    assert result.total_seconds == pytest.approx(result.seconds_per_epoch * config.training.epochs + result.first_epoch_extra_seconds)
    assert any("2-core CPU" in note for note in result.notes)


def test_smote_trains_on_more_rows_and_more_memory():
    counts = [600, 300, 200, 100]
    plain = estimate.estimate_epoch(ExperimentConfig(), train_counts=counts, **SIZES)
    smote_config = apply_overrides(ExperimentConfig(), ["resampling.strategy=smote"])
    smote = estimate.estimate_epoch(smote_config, train_counts=counts, **SIZES)
    assert plain.rows_trained == 1200
    assert smote.rows_trained == 2400  # every class grown to the majority
    assert smote.memory_breakdown["training data"] > plain.memory_breakdown["training data"]
    assert smote.memory_mb > plain.memory_mb
    assert smote.seconds_per_epoch > plain.seconds_per_epoch
    assert any("embedded sequences" in note and "2,400 x 100 x 128" in note for note in smote.notes)
    given = estimate.estimate_epoch(smote_config, train_counts=counts, rows_after_resampling=3000, **SIZES)
    assert given.rows_trained == 3000


def test_rows_after_resampling_per_strategy():
    counts = [500, 40, 5, 0]

    def rows(strategy):
        return estimate.resampled_rows(apply_overrides(ExperimentConfig(), [f"resampling.strategy={strategy}"]), counts)

    assert rows("class_weights") == (545, "exact")
    assert rows("random_over") == (1500, "exact")
    assert rows("random_under") == (20 + 20 + 5, "exact")
    assert rows("adasyn") == (1500, "about")
    adasyn = estimate.estimate_epoch(apply_overrides(ExperimentConfig(), ["resampling.strategy=adasyn"]), train_counts=counts, **SIZES)
    assert adasyn.rows_trained == 1500 and adasyn.rows_kind == "about"
    assert any("decides while training" in note for note in adasyn.notes)


def test_recurrent_dropout_note():
    slow = estimate.estimate_epoch(apply_overrides(ExperimentConfig(), ["model.recurrent_dropout=0.25"]), train_counts=[400, 400], **SIZES)
    fast = estimate.estimate_epoch(ExperimentConfig(), train_counts=[400, 400], **SIZES)
    assert any("Recurrent dropout" in note and "cuDNN" in note for note in slow.notes)
    assert not any("Recurrent dropout" in note for note in fast.notes)


def test_k_folds_multiply_the_total():
    config = apply_overrides(ExperimentConfig(), ["split.k_folds=5"])
    result = estimate.estimate_epoch(config, train_counts=[400, 400], **SIZES)
    assert result.total_seconds == pytest.approx(5 * (result.seconds_per_epoch * config.training.epochs + result.first_epoch_extra_seconds))


def test_default_model_lands_near_the_measured_throughput():
    """Calibration anchor: the default config at 1,200 rows took 3.1 s per epoch on the 2-core machine."""
    assert 2.0 < seconds(rows=1200) < 4.5


@pytest.mark.parametrize(
    "value, text",
    [(0, "0.0 s"), (0.84, "0.8 s"), (9.4, "9.4 s"), (42.4, "42 s"), (59.6, "1 min"), (185, "3 min 5 s"), (7620, "2 h 7 min")],
)
def test_format_seconds(value, text):
    assert estimate.format_seconds(value) == text


def test_importing_the_estimate_does_not_import_keras():
    code = (
        "import sys, core.model.estimate\n"
        "heavy = sorted(name for name in ('keras', 'tensorflow', 'torch', 'jax', 'sklearn', 'streamlit') if name in sys.modules)\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_results_are_frozen():
    row = estimate.model_summary(ModelConfig(), vocab_size=10, num_classes=2, max_length=4)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.parameters = 1
