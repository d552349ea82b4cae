"""Custom Keras layers, written with ``keras.ops`` only so they run on TensorFlow, JAX and PyTorch.

Import this module before ``keras.saving.load_model``: the decorators below register the classes, which is what
lets safe-mode loading rebuild them (no ``Lambda`` layers anywhere, since safe mode refuses them).
"""

from __future__ import annotations

import keras
import numpy as np
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
        self.score_kernel = self.add_weight(
            name="score_kernel", shape=(features, self.units), initializer="glorot_uniform"
        )
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


@keras.saving.register_keras_serializable(package=PACKAGE)
class PretrainedEmbedding(layers.Layer):
    """An embedding whose first ``trainable_rows`` IDs (the training split's vocabulary: padding, OOV, its words) are
    learned and whose next ``frozen_rows`` IDs (pretrained words appended to the vocabulary) keep their pretrained
    vectors: two tables, one trainable and one not, looked up with ``take`` on clipped IDs and chosen with ``where``
    (no per-call concatenation of the tables). The mask is ``ids != 0`` as with ``Embedding(mask_zero=True)``, so the
    model's post-padding contract is unchanged. Freezing the whole layer (``trainable = False``) freezes both."""

    def __init__(self, trainable_rows: int, frozen_rows: int, output_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if trainable_rows < 2 or frozen_rows < 1 or output_dim < 1:
            raise ValueError(f"need trainable_rows >= 2 (padding and OOV), frozen_rows >= 1 and output_dim >= 1, got "
                             f"{trainable_rows}, {frozen_rows} and {output_dim}")
        self.trainable_rows, self.frozen_rows, self.output_dim = trainable_rows, frozen_rows, output_dim
        self.supports_masking = True

    def build(self, input_shape) -> None:
        # The same initializer as keras.layers.Embedding ("uniform": -0.05..0.05); the run sets pretrained values.
        self.embeddings = self.add_weight(name="embeddings", shape=(self.trainable_rows, self.output_dim),
                                          initializer=keras.initializers.RandomUniform(-0.05, 0.05))
        self.pretrained = self.add_weight(name="pretrained", shape=(self.frozen_rows, self.output_dim),
                                          initializer="zeros", trainable=False)
        self.built = True

    def call(self, inputs):
        ids = ops.cast(inputs, "int32")
        own = ops.take(self.embeddings, ops.minimum(ids, self.trainable_rows - 1), axis=0)
        added = ops.take(self.pretrained, ops.clip(ids - self.trainable_rows, 0, self.frozen_rows - 1), axis=0)
        return ops.where(ops.expand_dims(ids < self.trainable_rows, -1), own, added)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def full_table(self) -> np.ndarray:
        """Every ID's vector, (trainable_rows + frozen_rows, output_dim): for reading, never for a forward pass."""
        return np.concatenate([ops.convert_to_numpy(self.embeddings), ops.convert_to_numpy(self.pretrained)])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(trainable_rows=self.trainable_rows, frozen_rows=self.frozen_rows, output_dim=self.output_dim)
        return config


# ------------------------------------------------------------------------------------------ bag-of-n-grams paths
# A linear model over word n-grams beside the LSTM ("wide and deep", Cheng et al. 2016; fastText's bag of n-grams,
# Joulin et al. 2017). Both layers below read the token IDs the classifier already takes, so batching, saving,
# serving and occlusion need nothing new. Each weighs every token by its *presence* (1 for a real token, 0 for
# padding: :class:`TokenPresence`), a tensor of the model's graph that gradient methods can scale like the token
# vectors (core.evidence.explain), so gradient explanations cover the n-gram paths as well as the LSTM.

BIGRAM_MULTIPLIER = 4093  # prime; (a mod B) * 4093 + b stays below 2**31 for B <= 2**18 and IDs below 2**20
MAX_NGRAM_BUCKETS = 1 << 18


def bigram_buckets(word_ids, buckets: int):
    """Bucket 1..B of each adjacent pair of real tokens (0 where either is padding); shape (rows, steps - 1).

    The same formula runs in NumPy in :func:`core.text.vectorizing.bigram_bucket_ids` (tested equal)."""
    first, second = word_ids[:, :-1], word_ids[:, 1:]
    real = ops.logical_and(ops.not_equal(first, 0), ops.not_equal(second, 0))
    hashed = ops.mod(ops.mod(first, buckets) * BIGRAM_MULTIPLIER + second, buckets) + 1
    return ops.where(real, hashed, ops.zeros_like(hashed))


def _word_ids(ids):
    return ids[:, :, 0] if len(ids.shape) == 3 else ids


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenPresence(layers.Layer):
    """1.0 for each real token, 0.0 for padding: the weight each n-gram path gives a token (explanations scale it)."""

    def call(self, ids):
        return ops.cast(ops.not_equal(_word_ids(ids), 0), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])


@keras.saving.register_keras_serializable(package=PACKAGE)
class NgramPath(layers.Layer):
    """A trained linear path over a text's words and hashed word pairs: ``units`` numbers per text, the sum of each
    n-gram's learned row divided by the square root of the number of n-grams (the length normalisation TF-IDF's L2
    norm gives a text of distinct n-grams).

    With ``units`` equal to the number of classes its output is added to the LSTM head's logits; with fewer, it is
    concatenated to the LSTM's features before the head. ``l2`` penalises both tables; ``dropout`` drops whole
    n-grams while training. ``speed`` multiplies the output: Adam moves each weight by about the learning rate
    whatever its gradient's scale, so the path's scores move ``speed`` times faster than the LSTM's (a linear model
    over thousands of sparse features needs a far higher rate than the recurrent layers: fastText trains at 0.1-1).
    """

    def __init__(self, units: int, vocab_size: int, buckets: int, l2: float = 0.0, dropout: float = 0.0,
                 seed: int = 0, speed: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if units < 1 or vocab_size < 2 or not 1 <= buckets <= MAX_NGRAM_BUCKETS:
            raise ValueError(f"need units >= 1, vocab_size >= 2 and 1 <= buckets <= {MAX_NGRAM_BUCKETS}")
        self.units, self.vocab_size, self.buckets = units, vocab_size, buckets
        self.l2, self.dropout, self.seed, self.speed = float(l2), float(dropout), seed, float(speed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True  # it reads the padding from the IDs; its output has no time axis to mask

    def build(self, input_shape) -> None:
        regularizer = keras.regularizers.L2(self.l2) if self.l2 > 0 else None
        self.words = self.add_weight(name="words", shape=(self.vocab_size, self.units), initializer="zeros",
                                     regularizer=regularizer)
        self.pairs = self.add_weight(name="pairs", shape=(self.buckets + 1, self.units), initializer="zeros",
                                     regularizer=regularizer)
        self.built = True

    def call(self, inputs, training=None):
        ids, presence = inputs
        ids = _word_ids(ids)
        gates = presence * ops.cast(ops.not_equal(ids, 0), presence.dtype)
        pair_gates = gates[:, :-1] * gates[:, 1:]
        pairs = bigram_buckets(ids, self.buckets)
        pair_gates = pair_gates * ops.cast(ops.not_equal(pairs, 0), pair_gates.dtype)
        count = ops.sum(ops.cast(ops.not_equal(ids, 0), gates.dtype), axis=1) + ops.sum(
            ops.cast(ops.not_equal(pairs, 0), gates.dtype), axis=1)
        if training and self.dropout > 0:
            gates = gates * ops.cast(
                keras.random.uniform(ops.shape(gates), seed=self.seed_generator) >= self.dropout, gates.dtype)
            pair_gates = pair_gates * ops.cast(
                keras.random.uniform(ops.shape(pair_gates), seed=self.seed_generator) >= self.dropout, gates.dtype)
        total = ops.sum(ops.take(self.words, ids, axis=0) * ops.expand_dims(gates, -1), axis=1)
        total = total + ops.sum(ops.take(self.pairs, pairs, axis=0) * ops.expand_dims(pair_gates, -1), axis=1)
        return self.speed * total / ops.expand_dims(ops.sqrt(ops.maximum(count, 1.0)), -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(units=self.units, vocab_size=self.vocab_size, buckets=self.buckets, l2=self.l2,
                      dropout=self.dropout, seed=self.seed, speed=self.speed)
        return config


def _counts_in_row(features, present):
    """How often each position's feature occurs in its row (among present positions); 1 where absent."""
    same = ops.cast(ops.equal(ops.expand_dims(features, 2), ops.expand_dims(features, 1)), present.dtype)
    counts = ops.sum(same * ops.expand_dims(present, 1), axis=2)
    return ops.where(present > 0, counts, ops.ones_like(counts))


def _tfidf_terms(features, present, idf_table):
    """Per position: its share of the feature's sublinear tf * idf, and its share of the squared norm."""
    counts = _counts_in_row(features, present)
    idf = ops.take(idf_table, features, axis=0)
    weight = (1.0 + ops.log(counts)) * idf * present
    return weight / counts, weight * weight / counts


@keras.saving.register_keras_serializable(package=PACKAGE)
class BagOfWordsModel(layers.Layer):
    """A fitted, frozen TF-IDF + one-vs-rest logistic regression over the classifier's own words and hashed word
    pairs, giving class probabilities (:func:`core.model.bag_of_words.fit_bag_of_words` fits it with
    scikit-learn; this layer reproduces its ``predict_proba`` exactly: sublinear term frequency times IDF, L2 norm,
    each class's sigmoid of its linear score, normalised to sum to 1). Features the fit never saw weigh nothing, as
    in scikit-learn's vocabulary."""

    def __init__(self, classes: int, vocab_size: int, buckets: int, **kwargs) -> None:
        super().__init__(trainable=False, **{k: v for k, v in kwargs.items() if k != "trainable"})
        self.classes, self.vocab_size, self.buckets = classes, vocab_size, buckets
        self.supports_masking = True  # it reads the padding from the IDs; its output has no time axis to mask

    def build(self, input_shape) -> None:
        self.word_weights = self.add_weight(name="word_weights", shape=(self.vocab_size, self.classes),
                                            initializer="zeros", trainable=False)
        self.pair_weights = self.add_weight(name="pair_weights", shape=(self.buckets + 1, self.classes),
                                            initializer="zeros", trainable=False)
        self.word_idf = self.add_weight(name="word_idf", shape=(self.vocab_size,), initializer="zeros", trainable=False)
        self.pair_idf = self.add_weight(name="pair_idf", shape=(self.buckets + 1,), initializer="zeros",
                                        trainable=False)
        self.intercept = self.add_weight(name="intercept", shape=(self.classes,), initializer="zeros", trainable=False)
        self.built = True

    def _terms(self, features, present, idf_table):
        return _tfidf_terms(features, present, idf_table)

    def call(self, inputs):
        ids, presence = inputs
        ids = _word_ids(ids)
        dtype = presence.dtype
        words_present = ops.cast(ops.not_equal(ids, 0), dtype)
        pairs = bigram_buckets(ids, self.buckets)
        pairs_present = ops.cast(ops.not_equal(pairs, 0), dtype)
        word_share, word_square = self._terms(ids, words_present, self.word_idf)
        pair_share, pair_square = self._terms(pairs, pairs_present, self.pair_idf)
        norm = ops.sqrt(ops.sum(word_square, axis=1) + ops.sum(pair_square, axis=1))
        gates = presence
        scores = ops.sum(ops.take(self.word_weights, ids, axis=0) * ops.expand_dims(word_share * gates, -1), axis=1)
        scores = scores + ops.sum(ops.take(self.pair_weights, pairs, axis=0)
                                  * ops.expand_dims(pair_share * gates[:, :-1] * gates[:, 1:], -1), axis=1)
        scores = scores / ops.expand_dims(ops.maximum(norm, 1e-12), -1) + self.intercept
        sigmoid = ops.sigmoid(scores)  # one-vs-rest: each class's sigmoid, normalised (scikit-learn's predict_proba)
        return sigmoid / ops.maximum(ops.sum(sigmoid, axis=-1, keepdims=True), 1e-30)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.classes)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(classes=self.classes, vocab_size=self.vocab_size, buckets=self.buckets)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class KnownWordIds(layers.Layer):
    """What the LSTM of a blended model reads: word IDs at or above ``known_rows`` become the out-of-vocabulary ID (1)
    and positions from ``steps`` on become padding. A blended model's input carries every development word of the
    whole text for its bag-of-words part, while the LSTM reads exactly what it trained on: its own words, OOV for the
    rest, the first ``steps`` tokens. With subwords the word column (the first) is mapped and every column cut."""

    def __init__(self, known_rows: int, steps: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.known_rows, self.steps = int(known_rows), int(steps)

    def call(self, ids):
        kept = ops.cast(ops.arange(ops.shape(ids)[1]) < self.steps, ids.dtype)
        if len(ids.shape) == 3:
            words = ids[:, :, :1]
            ids = ops.concatenate([ops.where(words >= self.known_rows, ops.ones_like(words), words), ids[:, :, 1:]],
                                  axis=-1)
            return ids * ops.reshape(kept, (1, -1, 1))
        return ops.where(ids >= self.known_rows, ops.ones_like(ids), ids) * ops.expand_dims(kept, 0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(known_rows=self.known_rows, steps=self.steps)
        return config


NO_PAIR_KEY = -1  # the pair table's first key: no word pair maps to it, so row 0 of its weights stays empty


def word_pair_keys(word_ids, vocab_size: int):
    """One int64 key per adjacent pair of real words, ``first * vocab_size + second`` (exact: no hashing), and
    NO_PAIR_KEY - 1 where either is padding; shape (rows, steps - 1). NumPy twin in core.model.bag_of_words."""
    ids = ops.cast(word_ids, "int64")
    first, second = ids[:, :-1], ids[:, 1:]
    real = ops.logical_and(ops.not_equal(first, 0), ops.not_equal(second, 0))
    return ops.where(real, first * vocab_size + second, ops.full_like(first, NO_PAIR_KEY - 1))


@keras.saving.register_keras_serializable(package=PACKAGE)
class FairBagOfWords(layers.Layer):
    """The fair baseline's model (TF-IDF on words and word pairs + one-vs-rest logistic regression, fitted by
    :func:`core.model.bag_of_words.fit_fair_bag_of_words`) carried over token IDs: each word its own feature and each
    word pair its own, found in a sorted table of the ``pairs`` pair keys the fit kept (no hash buckets to share).
    Reproduces scikit-learn's ``predict_proba``: sublinear term frequency times IDF, L2 norm, each class's sigmoid,
    normalised to sum to 1. Words and pairs the fit never saw weigh nothing."""

    def __init__(self, classes: int, vocab_size: int, pairs: int, **kwargs) -> None:
        super().__init__(trainable=False, **{k: v for k, v in kwargs.items() if k != "trainable"})
        self.classes, self.vocab_size, self.pairs = classes, vocab_size, pairs
        self.supports_masking = True

    def build(self, input_shape) -> None:
        self.word_weights = self.add_weight(name="word_weights", shape=(self.vocab_size, self.classes),
                                            initializer="zeros", trainable=False)
        self.word_idf = self.add_weight(name="word_idf", shape=(self.vocab_size,), initializer="zeros", trainable=False)
        # row 0: "not a pair the fit kept"; rows 1..pairs follow the sorted keys
        self.pair_keys = self.add_weight(name="pair_keys", shape=(self.pairs + 1,), initializer="zeros",
                                         dtype="int64", trainable=False)
        self.pair_weights = self.add_weight(name="pair_weights", shape=(self.pairs + 1, self.classes),
                                            initializer="zeros", trainable=False)
        self.pair_idf = self.add_weight(name="pair_idf", shape=(self.pairs + 1,), initializer="zeros", trainable=False)
        self.intercept = self.add_weight(name="intercept", shape=(self.classes,), initializer="zeros", trainable=False)
        self.built = True

    def _pair_rows(self, ids):
        keys = word_pair_keys(ids, self.vocab_size)
        flat = ops.reshape(keys, (-1,))
        found = ops.minimum(ops.cast(ops.searchsorted(self.pair_keys, flat), "int32"), self.pairs)
        rows = ops.where(ops.equal(ops.take(self.pair_keys, found, axis=0), flat), found, ops.zeros_like(found))
        return ops.reshape(rows, ops.shape(keys))

    def call(self, inputs):
        ids, presence = inputs
        ids = _word_ids(ids)
        dtype = presence.dtype
        pairs = self._pair_rows(ids)
        word_share, word_square = _tfidf_terms(ids, ops.cast(ops.not_equal(ids, 0), dtype), self.word_idf)
        pair_share, pair_square = _tfidf_terms(pairs, ops.cast(ops.not_equal(pairs, 0), dtype), self.pair_idf)
        norm = ops.sqrt(ops.sum(word_square, axis=1) + ops.sum(pair_square, axis=1))
        scores = ops.sum(ops.take(self.word_weights, ids, axis=0) * ops.expand_dims(word_share * presence, -1), axis=1)
        scores = scores + ops.sum(ops.take(self.pair_weights, pairs, axis=0)
                                  * ops.expand_dims(pair_share * presence[:, :-1] * presence[:, 1:], -1), axis=1)
        scores = scores / ops.expand_dims(ops.maximum(norm, 1e-12), -1) + self.intercept
        sigmoid = ops.sigmoid(scores)
        return sigmoid / ops.maximum(ops.sum(sigmoid, axis=-1, keepdims=True), 1e-30)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.classes)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(classes=self.classes, vocab_size=self.vocab_size, pairs=self.pairs)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class Blend(layers.Layer):
    """``weight`` x the LSTM's probabilities + (1 - ``weight``) x the bag-of-words model's (weight chosen on
    validation rows or out-of-fold, never on test: core.training.blending)."""

    def __init__(self, weight: float, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"the blend weight must lie in [0, 1], got {weight}")
        self.weight = float(weight)

    def call(self, inputs):
        lstm, bag_of_words = inputs
        return self.weight * lstm + (1.0 - self.weight) * bag_of_words

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(weight=self.weight)
        return config
