"""The LSTM classifier, built with the Keras 3 Functional API.

token IDs → mask-aware Embedding (with pretrained vectors of another size: → a learned linear projection) → dropout
→ 1–4 LSTM layers (each followed by dropout) → the attention kind's
layers (``core.choices.attention``: none, additive pooling, or multi-head self-attention followed by that pooling)
→ softmax.

The layers after the embedding (the "body") are built once and can be applied to two inputs: token IDs through the
embedding (the model that is saved and served), or already-embedded sequences (what SMOTE-family resampling
produces, since interpolating token IDs would invent tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
from keras import layers, regularizers

from core.choices.attention import ATTENTION_KINDS, ATTENTION_LAYER
from core.choices.ngrams import NGRAM_LAYER, NGRAM_PATHS, PRESENCE
from core.config import ModelConfig
from core.layers import LengthAwareLSTM, NgramPath, PretrainedEmbedding, SubwordEmbedding, TokenPresence, WordIds
from core.text.vectorizing import SUBWORD_SLOTS

TOKEN_INPUT = "token_ids"
EMBEDDING = "embedding"
SUBWORD_EMBEDDING = "subword_embedding"
PROJECTION = "vector_projection"  # pretrained vectors of their own size → embedding_dim (no bias: zero stays zero)
# with subwords: word vector + subword vector, what the LSTM reads (and gradients explain)
TOKEN_VECTORS = "token_vectors"
ATTENTION = ATTENTION_LAYER
OUTPUT = "probabilities"
SEQUENCE_SCORES = "sequence_scores"  # the LSTM head's logits, when an n-gram path's are added to them
ENSEMBLE = "ensemble"  # the averaging model's name (its members are nested models named member_1, member_2, ...)


@dataclass
class ClassifierModels:
    model: keras.Model  # token IDs → class probabilities (saved in the run record)
    embedded_model: keras.Model  # embedded sequences → class probabilities (shares every layer but the embedding)
    explainer: keras.Model | None  # token IDs → (probabilities, attention weights per token); None without attention


def _body(config: ModelConfig, num_classes: int, seed: int, vocab_size: int) -> Callable:
    """Create the body's layers once and return a function that applies them to a (masked) sequence tensor and, with
    an n-gram path, the token IDs it reads."""
    rate = config.dropout if config.embedding_dropout is None else config.embedding_dropout
    embedding_dropout = layers.Dropout(rate, seed=seed, name="embedding_dropout")
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
    head = _head(config, num_classes, seed, vocab_size)

    def apply(sequence, ids=None):
        """(probabilities, attention weights or None)"""
        x = embedding_dropout(sequence)
        for lstm, dropout in recurrent:
            x = dropout(lstm(x))
        x, weights = attention(x)
        return head(x, sequence, ids), weights

    return apply


def _head(config: ModelConfig, num_classes: int, seed: int, vocab_size: int) -> Callable:
    """The output layer, with the n-gram path's scores added to its logits or its features joined before it."""
    regularizer = regularizers.L2(config.l2) if config.l2 > 0 else None
    path = NGRAM_PATHS.get(config.ngram_path)
    units = path.units(config, num_classes)
    if not units:
        output = layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer, name=OUTPUT)
        return lambda features, token_vectors, ids: output(features)
    presence = TokenPresence(name=PRESENCE)
    ngrams = NgramPath(units, vocab_size, config.ngram_buckets, l2=config.ngram_l2, dropout=config.ngram_dropout,
                       seed=seed + 200, speed=config.ngram_speed, name=NGRAM_LAYER)
    if path.added:
        sequence_scores = layers.Dense(num_classes, kernel_regularizer=regularizer, name=SEQUENCE_SCORES)
        total = layers.Add(name="scores")
        softmax = layers.Activation("softmax", name=OUTPUT)
        return lambda features, token_vectors, ids: softmax(
            total([sequence_scores(features), ngrams([ids, presence(ids)])]))
    joined = layers.Concatenate(name="joined_features")
    output = layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer, name=OUTPUT)
    return lambda features, token_vectors, ids: output(joined([features, ngrams([ids, presence(ids)])]))


def projects(config: ModelConfig, vector_dim: int | None) -> bool:
    """Whether pretrained vectors of ``vector_dim`` dimensions reach the LSTM through a learned projection."""
    return bool(config.word_vectors) and vector_dim is not None and vector_dim != config.embedding_dim


def _word_embedding(config: ModelConfig, vocab_size: int, vector_dim: int | None, frozen_rows: int) -> Callable:
    """Word IDs → the vectors the LSTM reads (embedding_dim wide): an Embedding, or with pretrained words appended
    to the vocabulary a :class:`PretrainedEmbedding` whose last ``frozen_rows`` rows stay fixed; then, for vectors
    of another size, a learned projection to embedding_dim."""
    projected = projects(config, vector_dim)
    if projected and not config.project_word_vectors:
        raise ValueError(f"{vector_dim}-dimensional vectors need model.project_word_vectors or an embedding_dim of "
                         f"{vector_dim}")
    width = vector_dim if projected else config.embedding_dim
    if frozen_rows:
        embedding = PretrainedEmbedding(vocab_size - frozen_rows, frozen_rows, width, name=EMBEDDING)
    else:
        embedding = layers.Embedding(vocab_size, width, mask_zero=True, name=EMBEDDING)
    if not projected:
        return embedding
    projection = layers.Dense(config.embedding_dim, use_bias=False, name=PROJECTION)
    return lambda ids: projection(embedding(ids))


def build_classifier(config: ModelConfig, vocab_size: int, num_classes: int, max_length: int, seed: int = 0,
                     name: str = "lstm_classifier", *, vector_dim: int | None = None,
                     frozen_rows: int = 0) -> ClassifierModels:
    """Both views of one classifier; weights are shared, so training either trains the saved model. ``name`` must
    differ between the members of one ensemble (:func:`build_ensemble`).

    With pretrained vectors (``config.word_vectors``): ``vector_dim`` is their dimension (a projection maps them to
    embedding_dim when it differs) and ``frozen_rows`` how many of the ``vocab_size`` IDs, the last ones, are
    pretrained words appended to the training vocabulary (their rows stay fixed)."""
    if num_classes < 2:
        raise ValueError("a classifier needs at least two classes")
    if not 0 <= frozen_rows <= vocab_size - 2:
        raise ValueError("frozen_rows must leave the padding and OOV rows trainable, "
                         f"got {frozen_rows} of {vocab_size}")
    body = _body(config, num_classes, seed, vocab_size)
    word_vectors = _word_embedding(config, vocab_size, vector_dim, frozen_rows)
    if config.subword_buckets:
        # One int input per position: the word ID, then its hashed n-gram IDs (core.text.vectorizing.encode_subwords).
        token_ids = keras.Input(shape=(max_length, 1 + SUBWORD_SLOTS), dtype="int32", name=TOKEN_INPUT)
        subwords = SubwordEmbedding(config.subword_buckets, config.embedding_dim, name=SUBWORD_EMBEDDING)(token_ids)
        token_vectors = layers.Add(name=TOKEN_VECTORS)([word_vectors(WordIds(name="word_ids")(token_ids)), subwords])
    else:
        token_ids = keras.Input(shape=(max_length,), dtype="int32", name=TOKEN_INPUT)
        token_vectors = word_vectors(token_ids)
    probabilities, weights = body(token_vectors, token_ids)
    model = keras.Model(token_ids, probabilities, name=name)
    explainer_model = None if weights is None else keras.Model(token_ids, [probabilities, weights], name="explainer")
    embedded = keras.Input(shape=(max_length, config.embedding_dim), dtype="float32", name="embedded_tokens")
    masked = layers.Masking(mask_value=0.0, name="embedded_mask")(embedded)
    # SMOTE-family resampling trains on embedded sequences; an n-gram path needs token IDs (the config refuses both).
    embedded_model = None if NGRAM_PATHS.get(config.ngram_path).units(config, num_classes) else keras.Model(
        embedded, body(masked)[0], name="lstm_classifier_on_embeddings")
    # Training and scoring feed batches trimmed to their longest row (core.training.batching), shorter than
    # max_length: the fresh models check the rank only. (A saved model keeps its fixed width; inference pads to it.)
    model.input_spec = layers.InputSpec(ndim=len(model.inputs[0].shape))  # 3 with subwords: (rows, steps, slots)
    if embedded_model is not None:
        embedded_model.input_spec = layers.InputSpec(ndim=3)
    return ClassifierModels(model=model, embedded_model=embedded_model, explainer=explainer_model)


def build_ensemble(members: list[keras.Model]) -> keras.Model:
    """One model that averages its members' class probabilities: the members (same inputs, distinct names) are
    nested as layers, so the ensemble saves as one ``model.keras``, loads in safe mode and serves like a single model.
    """
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two members")
    names = [member.name for member in members]
    if len(set(names)) != len(names):
        raise ValueError(f"ensemble members need distinct names, got {names}")
    shapes = {tuple(tuple(tensor.shape) for tensor in member.inputs) for member in members}
    if len(shapes) != 1:
        raise ValueError("ensemble members must take the same inputs")
    inputs = [keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name) for tensor in members[0].inputs]
    feed = inputs[0] if len(inputs) == 1 else inputs
    averaged = layers.Average(name=OUTPUT)([member(feed) for member in members])
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, averaged, name=ENSEMBLE)


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The members of a model built by :func:`build_ensemble` (empty for a single classifier)."""
    if model.name != ENSEMBLE:
        return []
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


def presence_tensor(model: keras.Model):
    """The model's token-presence tensor, or a new one computed from its token IDs (for a member being blended)."""
    names = {layer.name for layer in model.layers}
    if PRESENCE in names:
        return model.get_layer(PRESENCE).output
    return TokenPresence(name=PRESENCE)(model.inputs[0])


def token_vector_layer(model: keras.Model):
    """What the LSTM reads per token: the embedding's output (projected, for pretrained vectors of another size), or
    with subwords the sum of word and subword vectors."""
    names = {layer.name for layer in model.layers}
    return model.get_layer(next(name for name in (TOKEN_VECTORS, PROJECTION, EMBEDDING) if name in names))


def token_vector_table(model: keras.Model):
    """Every word ID's token vector as one (vocabulary, embedding_dim) NumPy table when the LSTM reads the embedding's
    rows as they are (no subwords, no projection); None otherwise (then run the model up to
    :func:`token_vector_layer`)."""
    layer = token_vector_layer(model)
    if layer.name != EMBEDDING:
        return None
    import numpy as np

    if isinstance(layer, PretrainedEmbedding):
        return layer.full_table()
    return np.asarray(layer.embeddings, dtype=np.float32)


def set_word_vectors(model: keras.Model, matrix, trainable: bool) -> None:
    """Start the embedding from a (vocabulary, dim) matrix: a plain embedding takes it whole; a
    :class:`PretrainedEmbedding` takes the training vocabulary's rows and the appended (frozen) rows apart."""
    layer = model.get_layer(EMBEDDING)
    if isinstance(layer, PretrainedEmbedding):
        layer.set_weights([matrix[:layer.trainable_rows], matrix[layer.trainable_rows:]])
    else:
        layer.set_weights([matrix])
    layer.trainable = trainable


def build_model(config: ModelConfig, vocab_size: int, num_classes: int, max_length: int, seed: int = 0, *,
                vector_dim: int | None = None, frozen_rows: int = 0) -> keras.Model:
    return build_classifier(config, vocab_size, num_classes, max_length, seed, vector_dim=vector_dim,
                            frozen_rows=frozen_rows).model


def has_attention(model: keras.Model) -> bool:
    members = ensemble_members(model)
    if members:
        return all(has_attention(member) for member in members)
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
