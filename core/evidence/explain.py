"""Per-token explanations of a trained classifier, and a measured score of how faithful each one is.

Methods (one registry record each): the model's attention weights, leave-one-token-out occlusion, gradient × input
and integrated gradients on the embedding output. Attention weights are not evidence by themselves (Jain & Wallace
2019: over recurrent states they often track position), so ``measure_faithfulness`` scores every method with ERASER's
comprehensiveness and sufficiency (DeYoung et al. 2020) and AOPC over a deletion curve, against a random token
order, and reports how strongly each method's scores follow token position.

Conventions: token IDs are post-padded (ID 0 = padding), so "deleting" tokens shifts the rest left and padding stays
at the end; a text with every token deleted becomes the single out-of-vocabulary token, exactly as
``core.text.vectorizing.encode`` encodes an empty text. Scores are returned for real tokens only.

Gradients in Keras 3 are backend-specific: all of that lives in ``_gradient_function`` (TensorFlow's
``GradientTape``); on another backend the gradient methods are left out and ``available_methods`` says why.
Keras/TensorFlow are imported inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from core.records import Record
from core.registry import Registry
from core.text.vectorizing import OOV_ID, PAD_ID, word_ids

SIGNED = "signed"  # positive = pushes toward the explained class, negative = against it
ATTENTION_KIND = "attention"  # non-negative weights that sum to 1 over a text's tokens
RANDOM = "random"  # the reference token order in the faithfulness table
K_PERCENTS: tuple[float, ...] = (1.0, 5.0, 10.0, 20.0, 50.0)
INTEGRATED_GRADIENTS_STEPS = 32
MAX_DELETION_STEPS = 20
MAX_FAITHFULNESS_TEXTS = 200
COMPILE_FROM_CALLS = 4  # gradient calls per request from which tracing a tf.function pays off
GRADIENT_FLOATS_PER_CALL = 2**24  # embedding floats per gradient call (64 MB), whatever the length and width
MOST_FAITHFUL_RULE = (
    "the method with the highest AOPC among those whose comprehensiveness beats random token order's; "
    "none when no method beats random order"
)


@dataclass(frozen=True)
class ExplanationMethod:
    key: str
    title: str
    shows: str  # one line: what a token's score means
    kind: str  # SIGNED or ATTENTION_KIND
    needs_attention: bool = False
    needs_gradients: bool = False


EXPLANATION_METHODS: Registry[ExplanationMethod] = Registry("explanation method", "explanation method")
EXPLANATION_METHODS.register(ExplanationMethod(
    key="attention", title="Attention weights", kind=ATTENTION_KIND, needs_attention=True,
    shows="How much the model's attention pooling weighs each token; the same for every class, summing to 1.",
))
EXPLANATION_METHODS.register(ExplanationMethod(
    key="occlusion", title="Occlusion", kind=SIGNED,
    shows="How much the class probability drops when the token is deleted from the text (negative: it rises).",
))
EXPLANATION_METHODS.register(ExplanationMethod(
    key="gradient_x_input", title="Gradient × input", kind=SIGNED, needs_gradients=True,
    shows=("The probability's gradient times the token's embedding: "
           "a first-order estimate of the token's push toward the class."),
))
EXPLANATION_METHODS.register(ExplanationMethod(
    key="integrated_gradients", title="Integrated gradients", kind=SIGNED, needs_gradients=True,
    shows=("The token's share of the probability change from an all-zero embedding to the text, "
           "integrated over 32 steps."),
))


def method_title(key: str) -> str:
    return "Random order" if key == RANDOM else EXPLANATION_METHODS.title(key)


# --------------------------------------------------------------------------------------------- availability


@dataclass(frozen=True)
class AvailableMethods:
    methods: tuple[ExplanationMethod, ...]
    unavailable: tuple[tuple[str, str], ...]  # (method key, one sentence saying why it is left out)

    def keys(self) -> tuple[str, ...]:
        return tuple(method.key for method in self.methods)

    def reason(self, key: str) -> Optional[str]:
        return dict(self.unavailable).get(key)


def gradient_support() -> Optional[str]:
    """None when this Keras backend can compute input gradients here; otherwise one sentence saying why not.

    Keras is not imported here: a model that can have gradients is a Keras model, so Keras is loaded already (and a
    stand-in model in a test does not pay for TensorFlow)."""
    keras = sys.modules.get("keras")
    if keras is None:
        return ("Gradient explanations need a Keras model; this model is not one, "
                "so attention and occlusion are offered.")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return None
    return (f"Gradient explanations are implemented for the TensorFlow backend only and Keras runs on {backend} here, "
            "so attention and occlusion are offered instead.")


def _members(model) -> list:
    """An ensemble's member models (``core.model.classifier.build_ensemble``); empty for one classifier (or a
    stand-in)."""
    # core.model.classifier.ENSEMBLE, checked without importing Keras
    if getattr(model, "name", None) != "ensemble":
        return []
    from core.model.classifier import ensemble_members

    return ensemble_members(model)


def _has_layer(model, name: str) -> bool:
    """Whether the model has a layer of that name; for an ensemble, whether every member has one."""
    members = _members(model)
    if members:
        return all(_has_layer(member, name) for member in members)
    return any(layer.name == name for layer in model.layers)


def available_methods(model) -> AvailableMethods:
    """The methods this model supports; each one left out comes with one sentence saying why."""
    methods, unavailable = [], []
    gradient_reason = gradient_support()
    for method in EXPLANATION_METHODS:
        reason = None
        if method.needs_attention and not _has_layer(model, "attention"):
            reason = ("This model has no attention layer (it was built with attention “none”), "
                      "so it has no attention weights.")
        elif method.needs_gradients and gradient_reason:
            reason = gradient_reason
        if reason:
            unavailable.append((method.key, reason))
        else:
            methods.append(method)
    return AvailableMethods(tuple(methods), tuple(unavailable))


# --------------------------------------------------------------------------------------------- token-ID helpers


def real_lengths(ids: np.ndarray) -> np.ndarray:
    return (word_ids(ids) != PAD_ID).sum(axis=1)


def validated_ids(ids, input_shape) -> np.ndarray:
    """``input_shape``: the model's input shape without the batch axis — (max_length,), or with subwords
    (max_length, 1 + slots) — or just max_length."""
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    ids = np.asarray(ids)
    if ids.ndim != 1 + len(shape) or tuple(ids.shape[1:]) != shape:
        what = f"(texts, {shape[0]}) matrix" if len(shape) == 1 else f"(texts, {', '.join(map(str, shape))}) array"
        raise ValueError(f"ids must be a {what} of token IDs, got shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be integer token IDs, got dtype {ids.dtype}")
    real = word_ids(ids) != PAD_ID
    if len(ids) and not real[:, 0].all():
        raise ValueError("every row needs at least one token (an empty text is encoded as the out-of-vocabulary ID)")
    # Post-padded: once a row has padding, it has nothing else (the mask is a prefix of each row).
    if np.any(real[:, 1:] & ~real[:, :-1]):
        raise ValueError("ids must be post-padded (padding ID 0 only after a row's last token); "
                         "use core.text.vectorizing.encode")
    return ids.astype(np.int32, copy=False)


def class_indices_of(class_indices, rows: int, num_classes: int) -> np.ndarray:
    indices = np.asarray(class_indices, dtype=np.int64).reshape(-1)
    if indices.shape[0] != rows:
        raise ValueError(f"need one class index per row: {rows} rows, {indices.shape[0]} class indices")
    if rows and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"class indices must lie in [0, {num_classes - 1}]")
    return indices


def compose(ids_row: np.ndarray, kept_positions: Sequence[np.ndarray]) -> np.ndarray:
    """One variant of ``ids_row`` per entry: the kept positions' tokens in original order, shifted left; padding
    after them. Keeping nothing gives the out-of-vocabulary token alone (how an empty text is encoded)."""
    variants = np.zeros((len(kept_positions), *ids_row.shape), dtype=np.int32)
    for index, kept in enumerate(kept_positions):
        if len(kept):
            variants[index, : len(kept)] = ids_row[kept]
        else:
            variants[index].reshape(-1)[0] = OOV_ID  # the OOV word ID; with subwords, no n-grams (as encode does)
    return variants


# --------------------------------------------------------------------------------------------- the explainer


def _gradient_function(view):
    """A function (embeddings, presence or None, ids, class indices, compiled) → (d p(class_i | row_i) / d embeddings_i,
    d p / d presence_i or None): the only backend-specific code of this module.

    ``presence`` is the token-presence input of a view whose model has n-gram paths (core.layers.TokenPresence):
    those paths weigh each token by it, so scaling it with the embeddings attributes them to the tokens as well.
    Rows are independent, so the gradient of the sum of the picked probabilities is each row's own gradient.
    ``compiled`` runs a ``tf.function``: tracing costs ~2 s once, after which a call is ~10-20x faster than eager
    (measured on 512 rows), so it pays off only for many calls (integrated gradients over many texts).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError(gradient_support())
    import tensorflow as tf

    with_presence = len(view.inputs) == 3

    def gradients(embeddings, presence, ids, class_indices):
        with tf.GradientTape() as tape:
            tape.watch(embeddings)
            if with_presence:
                tape.watch(presence)
            inputs = [embeddings, presence, ids] if with_presence else [embeddings, ids]
            probabilities = view(inputs, training=False)
            picked = tf.gather(probabilities, class_indices, axis=1, batch_dims=1)
        if with_presence:
            return tape.gradient(picked, [embeddings, presence])
        return tape.gradient(picked, embeddings), tf.zeros_like(presence)

    steps, width = view.inputs[0].shape[1], view.inputs[0].shape[2]
    id_shape = tuple(view.inputs[-1].shape[1:])  # (steps,), or with subwords (steps, 1 + slots)
    signature = [tf.TensorSpec((None, steps, width), tf.float32), tf.TensorSpec((None, steps), tf.float32),
                 tf.TensorSpec((None, *id_shape), tf.int32), tf.TensorSpec((None,), tf.int32)]
    traced = []  # the tf.function, made on first compiled use

    def run(embeddings: np.ndarray, presence: np.ndarray, ids: np.ndarray, class_indices: np.ndarray,
            compiled: bool) -> tuple[np.ndarray, Optional[np.ndarray]]:
        if compiled and not traced:
            traced.append(tf.function(gradients, input_signature=signature))
        function = traced[0] if compiled else gradients
        vectors, weights = function(tf.convert_to_tensor(embeddings, tf.float32),
                                    tf.convert_to_tensor(presence, tf.float32),
                                    tf.convert_to_tensor(ids, tf.int32), tf.convert_to_tensor(class_indices, tf.int32))
        return np.asarray(vectors), (np.asarray(weights) if with_presence else None)

    return run


def _presence(ids: np.ndarray) -> np.ndarray:
    """1.0 per real token (the word column of subword IDs), as core.layers.TokenPresence computes it."""
    words = ids[:, :, 0] if ids.ndim == 3 else ids
    return (words != 0).astype(np.float32)


class Explainer:
    """Explanations of one Keras classifier (token IDs → probabilities, with a layer named "embedding"), or of an
    ensemble that averages such classifiers (``core.model.classifier.build_ensemble``).

    An ensemble's probability is the mean of its members', so its occlusion is computed on the ensemble itself
    (which equals the members' mean), its gradient × input and integrated gradients are the mean of the members'
    (the attribution to every member's token vectors together: the gradient of a mean is the mean of the
    gradients), and its attention is the members' mean attention weight per token.

    The gradient view (embeddings + token IDs → probabilities) re-applies the model's own layers after the
    embedding; the mask still comes from the token IDs through the model's own graph, so scaling the embeddings
    toward the all-zero baseline never turns real tokens into padding. Views are built once per Explainer and
    share the model's weights (they are never saved).
    """

    def __init__(self, model, *, integrated_gradients_steps: int = INTEGRATED_GRADIENTS_STEPS,
                 batch_size: int = 512) -> None:
        if len(model.inputs) != 1 or len(model.inputs[0].shape) not in (2, 3):
            raise ValueError("the model must take one (texts, max_length) matrix of token IDs (or, with subwords, "
                             "one (texts, max_length, 1 + slots) array)")
        members = _members(model)
        self.members = [Explainer(member, integrated_gradients_steps=integrated_gradients_steps, batch_size=batch_size)
                        for member in members]
        if not members and not _has_layer(model, "embedding"):
            raise ValueError("the model has no layer named 'embedding'; "
                             "build it with core.model.classifier.build_classifier")
        if integrated_gradients_steps < 1 or batch_size < 1:
            raise ValueError("integrated_gradients_steps and batch_size must be positive")
        self.model = model
        self.max_length = int(model.inputs[0].shape[1])
        self.input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        self._token_vector_view = None
        self.num_classes = int(model.outputs[0].shape[-1])
        self.integrated_gradients_steps = integrated_gradients_steps
        self.batch_size = batch_size
        self._gradient_view = None
        self._gradients = None
        self._attention_view = None

    # ------------------------------------------------------------------ views

    def available(self) -> AvailableMethods:
        return available_methods(self.model)

    def predict(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(ids, batch_size=self.batch_size, verbose=0), dtype=np.float64)

    def gradient_view(self):
        """(embeddings[, token presence], token IDs) → probabilities, with the mask computed from the token IDs by the
        model itself; a model with n-gram paths also takes their token presence (core.layers.TokenPresence)."""
        if self._gradient_view is None:
            import keras

            from core.model.classifier import PRESENCE

            embedding_output = self._token_vector_layer().output
            inputs = [embedding_output]
            if _has_layer(self.model, PRESENCE):
                inputs.append(self.model.get_layer(PRESENCE).output)
            # An intermediate tensor as input: Keras clones the graph from it; the mask's own path from the token
            # IDs (Embedding.compute_mask) stays, because the token-ID input is an input of the view as well.
            self._gradient_view = keras.Model([*inputs, self.model.inputs[0]], self.model.outputs[0],
                                              name="gradient_view")
        return self._gradient_view

    def _token_vector_layer(self):
        """What the LSTM reads per token: the embedding (projected, for pretrained vectors of another size), or with
        subwords the sum of word and subword vectors."""
        from core.model.classifier import token_vector_layer

        return token_vector_layer(self.model)

    def embeddings(self, ids: np.ndarray) -> np.ndarray:
        """Each position's token vector (what gradients are taken with respect to)."""
        if np.asarray(ids).ndim == 2:
            from core.model.classifier import token_vector_table

            table = token_vector_table(self.model)  # the rows themselves, when the LSTM reads them unchanged
            if table is not None:
                return table[ids]
        if self._token_vector_view is None:
            import keras

            self._token_vector_view = keras.Model(self.model.inputs, self._token_vector_layer().output,
                                                  name="token_vectors_view")
        return np.asarray(self._token_vector_view.predict(ids, batch_size=self.batch_size, verbose=0), dtype=np.float32)

    def _attention_model(self):
        if self._attention_view is None:
            from core.model.classifier import explainer

            self._attention_view = explainer(self.model)
        return self._attention_view

    # ------------------------------------------------------------------ explanations

    def explain(self, ids, class_indices, method: str) -> list[np.ndarray]:
        """One score per real token of each row, for the class ``class_indices[i]`` (None: the predicted class)."""
        ids = validated_ids(ids, self.input_shape)
        record = EXPLANATION_METHODS.get(method)
        reason = self.available().reason(record.key)
        if reason:
            raise ValueError(reason)
        if class_indices is None:
            class_indices = self.predict(ids).argmax(axis=1) if len(ids) else np.zeros(0, np.int64)
        classes = class_indices_of(class_indices, len(ids), self.num_classes)
        if not len(ids):
            return []
        scores = self._scores(ids, classes, record.key)
        return [np.asarray(row[:length], dtype=np.float64) for row, length in zip(scores, real_lengths(ids))]

    def _scores(self, ids: np.ndarray, classes: np.ndarray, method: str) -> list[np.ndarray]:
        """Per row, one score per position (padding included) for validated inputs."""
        if self.members and method != "occlusion":
            per_member = [member._scores(ids, classes, method) for member in self.members]
            return [np.mean([np.asarray(scores[row], dtype=np.float64) for scores in per_member], axis=0)
                    for row in range(len(ids))]
        compute = {
            "attention": self._attention,
            "occlusion": self._occlusion,
            "gradient_x_input": self._gradient_x_input,
            "integrated_gradients": self._integrated_gradients,
        }[method]
        return compute(ids, classes)

    def _attention(self, ids: np.ndarray, classes: np.ndarray) -> list[np.ndarray]:
        _, weights = self._attention_model().predict(ids, batch_size=self.batch_size, verbose=0)
        return list(np.asarray(weights))

    def _occlusion(self, ids: np.ndarray, classes: np.ndarray) -> list[np.ndarray]:
        """Leave-one-token-out for every row in one batch: p(class | text) − p(class | text without the token)."""
        lengths = real_lengths(ids)
        variants = [ids]
        for row, length in zip(ids, lengths):
            everything = np.arange(length)
            variants.append(compose(row, [np.delete(everything, position) for position in range(length)]))
        probabilities = self.predict(np.concatenate(variants))
        full = probabilities[np.arange(len(ids)), classes]
        scores, start = [], len(ids)
        for row_index, length in enumerate(lengths):
            without = probabilities[start:start + length, classes[row_index]]
            scores.append(full[row_index] - without)
            start += length
        return scores

    def embedding_gradients(self, embeddings: np.ndarray, ids: np.ndarray, classes: np.ndarray, *, calls: int = 1,
                            presence: Optional[np.ndarray] = None) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """(d p(class_i | row_i) / d embeddings_i, d p / d presence_i or None without n-gram paths), through the
        gradient view (one call per ``batch_size`` rows). ``presence`` defaults to 1 per real token. ``calls``: how
        many such calls the whole request makes (many: worth compiling)."""
        if self._gradients is None:
            self._gradients = _gradient_function(self.gradient_view())
        presence = _presence(ids) if presence is None else presence
        size = self._gradient_rows()
        compiled = calls >= COMPILE_FROM_CALLS
        parts = [self._gradients(embeddings[start:start + size], presence[start:start + size], ids[start:start + size],
                                 classes[start:start + size], compiled)
                 for start in range(0, len(ids), size)]
        vectors = np.concatenate([part[0] for part in parts])
        weights = None if parts[0][1] is None else np.concatenate([part[1] for part in parts])
        return vectors, weights

    def _gradient_rows(self) -> int:
        """Rows per gradient call: ``batch_size``, fewer for long texts with wide embeddings (memory)."""
        width = int(self._token_vector_layer().output.shape[-1])
        return max(1, min(self.batch_size, GRADIENT_FLOATS_PER_CALL // (self.max_length * width)))

    def _gradient_x_input(self, ids: np.ndarray, classes: np.ndarray) -> np.ndarray:
        embeddings, presence = self.embeddings(ids), _presence(ids)
        gradients, presence_gradients = self.embedding_gradients(
            embeddings, ids, classes, calls=math.ceil(len(ids) / self._gradient_rows()), presence=presence)
        scores = (embeddings * gradients).sum(axis=-1)
        return scores if presence_gradients is None else scores + presence * presence_gradients

    def _integrated_gradients(self, ids: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Midpoint Riemann sum from the all-zero embedding (same mask) to the text, summed over embedding dims; a
        model with n-gram paths scales their token presence from 0 to 1 along the same path."""
        steps = self.integrated_gradients_steps
        alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
        embeddings, presence = self.embeddings(ids), _presence(ids)
        rows_per_call = max(1, self._gradient_rows() // steps)
        attributions, calls = [], math.ceil(len(ids) / rows_per_call)
        for start in range(0, len(ids), rows_per_call):
            chunk, present = embeddings[start:start + rows_per_call], presence[start:start + rows_per_call]
            count = len(chunk)
            scaled = (alphas[None, :, None, None] * chunk[:, None]).reshape(count * steps, *chunk.shape[1:])
            scaled_presence = (alphas[None, :, None] * present[:, None]).reshape(count * steps, present.shape[1])
            gradients, presence_gradients = self.embedding_gradients(
                scaled, np.repeat(ids[start:start + count], steps, axis=0),
                np.repeat(classes[start:start + count], steps), calls=calls, presence=scaled_presence,
            )
            mean_gradients = gradients.reshape(count, steps, *chunk.shape[1:]).mean(axis=1)
            scores = (chunk * mean_gradients).sum(axis=-1)
            if presence_gradients is not None:
                scores = scores + present * presence_gradients.reshape(count, steps, -1).mean(axis=1)
            attributions.append(scores)
        return np.concatenate(attributions)


def explain(model, ids: np.ndarray, class_indices, method: str) -> list[np.ndarray]:
    """Per row of ``ids``, one score per real token explaining ``class_indices[i]`` (None: the predicted class)."""
    return Explainer(model).explain(ids, class_indices, method)


# --------------------------------------------------------------------------------------------- texts via a Predictor


@dataclass(frozen=True)
class TokenExplanation(Record):
    text: str
    tokens: tuple[str, ...]  # the preprocessed tokens the model saw
    scores: tuple[float, ...]  # one per token
    method: str
    kind: str
    class_index: int
    class_name: str
    probability: float  # the model's probability of that class for the text


def explain_texts(predictor, texts: Sequence[str], method: str, *, class_indices=None,
                  explainer: Optional[Explainer] = None) -> list[TokenExplanation]:
    """Explain raw texts with a :class:`core.evidence.inference.Predictor` (None as class: the predicted class).

    Pass the same ``explainer`` (built on ``predictor.model``) to repeated calls to reuse its views.
    """
    explainer = explainer or Explainer(predictor.model)
    tokens, ids = predictor.encode(list(texts))
    probabilities = explainer.predict(ids) if len(ids) else np.zeros((0, len(predictor.class_names)))
    classes = probabilities.argmax(axis=1) if class_indices is None else class_indices_of(
        class_indices, len(ids), len(predictor.class_names))
    scores = explainer.explain(ids, classes, method)
    kind = EXPLANATION_METHODS.get(method).kind
    return [
        TokenExplanation(
            text=text, tokens=tuple(row_tokens or [predictor.vocabulary.tokens[OOV_ID]]),
            scores=tuple(float(s) for s in row_scores), method=method, kind=kind, class_index=int(cls),
            class_name=str(predictor.class_names[int(cls)]), probability=float(probabilities[i, int(cls)]),
        )
        for i, (text, row_tokens, row_scores, cls) in enumerate(zip(texts, tokens, scores, classes))
    ]
