"""The estimate's exact parameter counts and layer summary against the Keras models core.model.classifier builds."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from core.config import ModelConfig
from core.model import estimate

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


PRETRAINED = [(0, 0, 50), (0, 9, 16), (0, 9, 50), (30, 9, 50), (30, 0, 7)]


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
    assert (estimate.parameter_count(config, **shape, extension_size=extension, vector_dim=vector_dim)
            == model.count_params())
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    embedded = False
    assert estimate._trainable_parameters(config, 60, 3, 12, embedded, extension, vector_dim) == trainable
