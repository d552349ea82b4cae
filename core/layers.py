"""Custom Keras layers, written with ``keras.ops`` only so they run on TensorFlow, JAX and PyTorch.

Import this module before ``keras.saving.load_model``: the decorators below register the classes, which is what
lets safe-mode loading rebuild them (no ``Lambda`` layers anywhere, since safe mode refuses them).
"""

from __future__ import annotations

import keras
from keras import layers, ops

PACKAGE = "lstm_text_lab"


def _large_negative(dtype) -> float:
    """A finite 'minus infinity' for masked scores: -inf would give NaN on an all-padding row."""
    return -3e4 if str(dtype) in ("float16", "bfloat16") else -1e9


def _lengths(mask, batch_size, steps):
    if mask is None:
        return ops.full((batch_size,), steps, dtype="int32")
    return ops.sum(ops.cast(mask, "int32"), axis=1)


def _reverse_within_length(sequences, lengths):
    """Reverse each row's first ``length`` steps, leaving the padding where it is (at the end)."""
    steps = ops.shape(sequences)[1]
    positions = ops.expand_dims(ops.arange(steps, dtype="int32"), 0)
    lengths = ops.expand_dims(lengths, 1)
    source = ops.where(positions < lengths, lengths - 1 - positions, positions)
    source = ops.broadcast_to(ops.expand_dims(source, -1), ops.shape(sequences))
    return ops.take_along_axis(sequences, source, axis=1)


def _step_at(sequences, positions):
    """Row i's output at step positions[i]."""
    index = ops.reshape(positions, (-1, 1, 1))
    index = ops.broadcast_to(index, (ops.shape(sequences)[0], 1, ops.shape(sequences)[2]))
    return ops.squeeze(ops.take_along_axis(sequences, index, axis=1), axis=1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class LengthAwareLSTM(layers.Layer):
    """A (bidirectional) LSTM that honours a right-padded mask *without* handing the mask to the LSTM kernel.

    Keras drops every backend off the fused cuDNN kernel when an LSTM receives a mask on PyTorch (30x slower on an
    H200), and TensorFlow only keeps it for strictly right-padded masks. With post-padding, a forward LSTM's
    outputs at real steps do not depend on the padding after them, so we run the LSTM unmasked, read the final
    state at each row's last real step, and run the backward direction over each row reversed *within its
    length*. Outputs at real steps equal Keras's masked LSTM; padded steps hold values that downstream layers
    ignore through the propagated mask.
    """

    def __init__(
        self,
        units: int,
        bidirectional: bool = True,
        return_sequences: bool = False,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"units must be positive, got {units}")
        self.units = units
        self.bidirectional = bidirectional
        self.return_sequences = return_sequences
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.supports_masking = True
        lstm_options = dict(units=units, return_sequences=True, recurrent_dropout=recurrent_dropout, seed=seed)
        self.forward_lstm = layers.LSTM(name="forward", **lstm_options)
        self.backward_lstm = layers.LSTM(name="backward", **lstm_options) if bidirectional else None

    def build(self, input_shape) -> None:
        self.forward_lstm.build(input_shape)
        if self.backward_lstm is not None:
            self.backward_lstm.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        batch_size, steps = ops.shape(inputs)[0], ops.shape(inputs)[1]
        lengths = _lengths(mask, batch_size, steps)
        # A fresh tensor carries no Keras mask, so the inner LSTM stays on the fused kernel.
        unmasked = ops.multiply(inputs, ops.cast(1, inputs.dtype))
        forward = self.forward_lstm(unmasked, training=training)
        if self.backward_lstm is not None:
            reversed_inputs = _reverse_within_length(unmasked, lengths)
            backward = _reverse_within_length(self.backward_lstm(reversed_inputs, training=training), lengths)
        if self.return_sequences:
            return forward if self.backward_lstm is None else ops.concatenate([forward, backward], axis=-1)
        last_forward = _step_at(forward, lengths - 1)
        if self.backward_lstm is None:
            return last_forward
        return ops.concatenate([last_forward, backward[:, 0, :]], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def compute_output_shape(self, input_shape):
        width = self.units * (2 if self.bidirectional else 1)
        if self.return_sequences:
            return (input_shape[0], input_shape[1], width)
        return (input_shape[0], width)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            units=self.units,
            bidirectional=self.bidirectional,
            return_sequences=self.return_sequences,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
        )
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionPooling(layers.Layer):
    """Additive (Bahdanau-style) attention pooling over time that respects the mask.

    Returns ``(pooled, weights)``: weights are 0 on padded steps and sum to 1 over each row's real steps, which is
    what the dashboard's heatmaps show.
    """

    def __init__(self, units: int = 64, **kwargs) -> None:
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"units must be positive, got {units}")
        self.units = units
        self.supports_masking = True

    def build(self, input_shape) -> None:
        features = input_shape[-1]
        self.score_kernel = self.add_weight(name="score_kernel", shape=(features, self.units), initializer="glorot_uniform")
        self.score_bias = self.add_weight(name="score_bias", shape=(self.units,), initializer="zeros")
        self.score_vector = self.add_weight(name="score_vector", shape=(self.units, 1), initializer="glorot_uniform")
        self.built = True

    def call(self, inputs, mask=None):
        hidden = ops.tanh(ops.matmul(inputs, self.score_kernel) + self.score_bias)
        scores = ops.squeeze(ops.matmul(hidden, self.score_vector), axis=-1)
        if mask is None:
            weights = ops.softmax(scores, axis=-1)
        else:
            mask = ops.cast(mask, scores.dtype)
            scores = ops.where(mask > 0, scores, ops.cast(_large_negative(scores.dtype), scores.dtype))
            weights = ops.softmax(scores, axis=-1) * mask
            weights = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), ops.cast(1e-9, scores.dtype))
        pooled = ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)
        return pooled, weights

    def compute_mask(self, inputs, mask=None):
        return None, None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1]), (input_shape[0], input_shape[1])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(units=self.units)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class WordIds(layers.Layer):
    """The word-ID column of a (texts, steps, 1 + slots) subword input (``core.text.vectorizing.encode_subwords``)."""

    def call(self, inputs):
        return inputs[:, :, 0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])


@keras.saving.register_keras_serializable(package=PACKAGE)
class SubwordEmbedding(layers.Layer):
    """fastText-style subword vectors: each token position's hashed character n-gram IDs (columns 1.. of the input;
    0 = no n-gram) are looked up in one table of ``buckets + 1`` vectors and averaged, so a token the vocabulary never
    saw (ID 1) still gets a vector from its spelling. The mask is the word column's (post-padded, like the IDs)."""

    def __init__(self, buckets: int, output_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if buckets < 1 or output_dim < 1:
            raise ValueError(f"buckets and output_dim must be positive, got {buckets} and {output_dim}")
        self.buckets = buckets
        self.output_dim = output_dim
        self.supports_masking = True

    def build(self, input_shape) -> None:
        self.embeddings = self.add_weight(name="embeddings", shape=(self.buckets + 1, self.output_dim),
                                          initializer=keras.initializers.RandomUniform(-0.05, 0.05))
        self.built = True

    def call(self, inputs):
        ngrams = inputs[:, :, 1:]
        present = ops.cast(ops.not_equal(ngrams, 0), self.embeddings.dtype)
        vectors = ops.take(self.embeddings, ngrams, axis=0) * ops.expand_dims(present, -1)
        count = ops.maximum(ops.sum(present, axis=-1, keepdims=True), ops.cast(1, present.dtype))
        return ops.sum(vectors, axis=2) / count

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[:, :, 0], 0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.output_dim)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(buckets=self.buckets, output_dim=self.output_dim)
        return config
