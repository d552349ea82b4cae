"""The LSTM classifier, built with the Keras 3 Functional API.

token IDs → mask-aware Embedding → dropout → 1–4 LSTM layers (each followed by dropout) → the attention kind's
layers (``core.attention``: none, additive pooling, or multi-head self-attention followed by that pooling) → softmax.

The layers after the embedding (the "body") are built once and can be applied to two inputs: token IDs through the
embedding (the model that is saved and served), or already-embedded sequences (what SMOTE-family resampling
produces, since interpolating token IDs would invent tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
from keras import layers, regularizers

from core.attention import ATTENTION_KINDS, ATTENTION_LAYER
from core.config import ModelConfig
from core.layers import LengthAwareLSTM

TOKEN_INPUT = "token_ids"
EMBEDDING = "embedding"
ATTENTION = ATTENTION_LAYER
OUTPUT = "probabilities"


@dataclass
class ClassifierModels:
    model: keras.Model  # token IDs → class probabilities (saved in the run record)
    embedded_model: keras.Model  # embedded sequences → class probabilities (shares every layer but the embedding)
    explainer: keras.Model | None  # token IDs → (probabilities, attention weights per token); None without attention


def _body(config: ModelConfig, num_classes: int, seed: int) -> Callable:
    """Create the body's layers once and return a function that applies them to a (masked) sequence tensor."""
    embedding_dropout = layers.Dropout(config.dropout, seed=seed, name="embedding_dropout")
    pools = ATTENTION_KINDS.get(config.attention).pools
    recurrent = []
    for depth in range(config.lstm_layers):
        last = depth == config.lstm_layers - 1
        recurrent.append(
            (
                LengthAwareLSTM(
                    config.lstm_units,
                    bidirectional=config.bidirectional,
                    return_sequences=not last or pools,
                    recurrent_dropout=config.recurrent_dropout,
                    seed=seed + depth,
                    name=f"lstm_{depth + 1}",
                ),
                layers.Dropout(config.dropout, seed=seed + 100 + depth, name=f"lstm_{depth + 1}_dropout"),
            )
        )
    width = config.lstm_units * (2 if config.bidirectional else 1)
    attention = ATTENTION_KINDS.get(config.attention).build(config, width, seed)
    output = layers.Dense(
        num_classes,
        activation="softmax",
        kernel_regularizer=regularizers.L2(config.l2) if config.l2 > 0 else None,
        name=OUTPUT,
    )

    def apply(sequence):
        """(probabilities, attention weights or None)"""
        x = embedding_dropout(sequence)
        for lstm, dropout in recurrent:
            x = dropout(lstm(x))
        x, weights = attention(x)
        return output(x), weights

    return apply


def build_classifier(config: ModelConfig, vocab_size: int, num_classes: int, max_length: int, seed: int = 0) -> ClassifierModels:
    """Both views of one classifier; weights are shared, so training either trains the saved model."""
    if num_classes < 2:
        raise ValueError("a classifier needs at least two classes")
    body = _body(config, num_classes, seed)
    token_ids = keras.Input(shape=(max_length,), dtype="int32", name=TOKEN_INPUT)
    embedding = layers.Embedding(vocab_size, config.embedding_dim, mask_zero=True, name=EMBEDDING)
    probabilities, weights = body(embedding(token_ids))
    model = keras.Model(token_ids, probabilities, name="lstm_classifier")
    explainer_model = None if weights is None else keras.Model(token_ids, [probabilities, weights], name="explainer")
    embedded = keras.Input(shape=(max_length, config.embedding_dim), dtype="float32", name="embedded_tokens")
    masked = layers.Masking(mask_value=0.0, name="embedded_mask")(embedded)
    embedded_model = keras.Model(embedded, body(masked)[0], name="lstm_classifier_on_embeddings")
    # Training and scoring feed batches trimmed to their longest row (core.batching), shorter than max_length: the
    # fresh models check the rank only. (A saved model keeps its fixed width; inference pads to it.)
    model.input_spec = layers.InputSpec(ndim=2)
    embedded_model.input_spec = layers.InputSpec(ndim=3)
    return ClassifierModels(model=model, embedded_model=embedded_model, explainer=explainer_model)


def build_model(config: ModelConfig, vocab_size: int, num_classes: int, max_length: int, seed: int = 0) -> keras.Model:
    return build_classifier(config, vocab_size, num_classes, max_length, seed).model


def has_attention(model: keras.Model) -> bool:
    return any(layer.name == ATTENTION for layer in model.layers)


def explainer(model: keras.Model) -> keras.Model | None:
    """For a model loaded from disk: a view that also returns the attention weights per token (None without
    attention). Freshly built models carry theirs in ``ClassifierModels.explainer``."""
    if not has_attention(model):
        return None
    weights = model.get_layer(ATTENTION).output[1]
    return keras.Model(model.inputs, [model.outputs[0], weights], name="explainer")


def parameter_count(model: keras.Model) -> int:
    return int(model.count_params())


def summary_lines(model: keras.Model) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=100)
    return lines
