"""The model's building blocks: masking-correct LSTM, attention weights, serialization."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from core.config import ModelConfig  # noqa: E402
from core.layers import AttentionPooling, LengthAwareLSTM  # noqa: E402
from core.model.classifier import build_classifier  # noqa: E402


def _right_padded(batch=4, steps=7, features=5, lengths=(7, 3, 1, 5)):
    x = np.random.default_rng(0).normal(size=(batch, steps, features)).astype("float32")
    mask = np.arange(steps)[None, :] < np.array(lengths)[:, None]
    x[~mask] = 0.0
    return x, mask


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_length_aware_lstm_equals_keras_masked_lstm(bidirectional, return_sequences):
    x, mask = _right_padded()
    inputs = keras.Input((7, 5))
    masked = layers.Masking(0.0)(inputs)
    ours = LengthAwareLSTM(6, bidirectional=bidirectional, return_sequences=return_sequences)
    reference_lstm = layers.LSTM(6, return_sequences=return_sequences)
    reference = layers.Bidirectional(reference_lstm) if bidirectional else reference_lstm
    model = keras.Model(inputs, [ours(masked), reference(masked)])
    if bidirectional:
        reference.forward_layer.set_weights(ours.forward_lstm.get_weights())
        reference.backward_layer.set_weights(ours.backward_lstm.get_weights())
    else:
        reference.set_weights(ours.forward_lstm.get_weights())
    ours_out, reference_out = model.predict(x, verbose=0)
    if return_sequences:
        ours_out, reference_out = ours_out[mask], reference_out[mask]  # padded steps are ignored downstream
    np.testing.assert_allclose(ours_out, reference_out, atol=1e-5)


def test_length_aware_lstm_never_hands_a_mask_to_the_kernel():
    """The inner LSTMs must run unmasked: a mask is what drops PyTorch (and left-padded TF) off cuDNN."""
    seen = []
    layer = LengthAwareLSTM(4, bidirectional=True, return_sequences=True)
    original = layers.LSTM.inner_loop

    def spy(self, sequences, initial_state, mask, training=False):
        seen.append(mask)
        return original(self, sequences, initial_state, mask, training=training)

    layers.LSTM.inner_loop = spy
    try:
        x, mask = _right_padded()
        layer(x, mask=mask)
    finally:
        layers.LSTM.inner_loop = original
    assert len(seen) == 2 and all(m is None for m in seen)


def test_attention_weights_are_zero_on_padding_and_sum_to_one():
    x, mask = _right_padded(lengths=(7, 3, 1, 5))
    pooled, weights = AttentionPooling(8)(x, mask=mask)
    weights = np.asarray(weights)
    assert np.all(weights[~mask] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert np.asarray(pooled).shape == (4, 5)


@pytest.mark.parametrize("attention", ["none", "additive", "multihead"])
@pytest.mark.parametrize("lstm_layers", [1, 3])
def test_classifier_variants_give_probabilities_and_masked_attention(attention, lstm_layers):
    config = ModelConfig(embedding_dim=8, lstm_units=4, lstm_layers=lstm_layers, attention=attention, attention_units=4,
                         attention_heads=2)
    built = build_classifier(config, vocab_size=20, num_classes=3, max_length=9, seed=0)
    ids = np.zeros((3, 9), dtype="int32")
    ids[0, :9] = 5
    ids[1, :4] = [2, 3, 4, 5]
    ids[2, :1] = [7]
    probabilities = built.model.predict(ids, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (built.explainer is None) == (attention == "none")
    if built.explainer is not None:
        same, weights = built.explainer.predict(ids, verbose=0)
        np.testing.assert_allclose(same, probabilities, atol=1e-6)
        assert np.all(weights[ids == 0] == 0.0)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    embedded = built.embedded_model.predict(np.random.default_rng(0).normal(size=(2, 9, 8)).astype("float32"),
                                            verbose=0)
    assert embedded.shape == (2, 3)


def test_padding_does_not_change_a_prediction():
    """The same text padded to two lengths gets the same probabilities: padding is invisible to the model."""
    config = ModelConfig(embedding_dim=8, lstm_units=4, lstm_layers=2, attention="multihead", attention_units=4,
                         attention_heads=2)
    short = build_classifier(config, vocab_size=20, num_classes=3, max_length=6, seed=0)
    long = build_classifier(config, vocab_size=20, num_classes=3, max_length=11, seed=0)
    long.model.set_weights(short.model.get_weights())
    ids = np.array([[3, 4, 5, 0, 0, 0]], dtype="int32")
    padded = np.zeros((1, 11), dtype="int32")
    padded[0, :3] = [3, 4, 5]
    np.testing.assert_allclose(short.model.predict(ids, verbose=0), long.model.predict(padded, verbose=0), atol=1e-5)
