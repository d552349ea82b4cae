"""The blend's bag-of-words model and its weight, without Keras: the fair baseline's model on token IDs, the weight
rule."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import ExperimentConfig, apply_overrides
from core.errors import ConfigError
from core.model.bag_of_words import NO_PAIR_KEY, fit_bag_of_words, predict_bag_of_words, word_pair_keys
from core.model.baseline import tfidf_pipeline
from core.text.vectorizing import Vocabulary, build_vocabulary, encode
from core.training.blending import WEIGHTS, bag_of_words_vocabulary, choose_weight

CLASS_NAMES = ("a", "b", "c")


def _texts(rows: int, seed: int, classes: int = 3) -> tuple[list[str], np.ndarray]:
    """Lower-case word texts whose classes lean on their own words, with rare words (below a frequency floor of 2)
    and texts longer than a length cut would keep."""
    rng = np.random.default_rng(seed)
    common = [f"w{i}" for i in range(40)]
    y = np.arange(rows) % classes
    texts = []
    for label in y:
        words = list(rng.choice(common[label * 10:label * 10 + 10] + common[30:], size=int(rng.integers(3, 25))))
        if rng.random() < 0.5:
            words.insert(int(rng.integers(0, len(words))), f"rare{rng.integers(0, 10_000)}")
        texts.append(" ".join(words))
    return texts, y


def _bag_of_words_ids(train: list[str], test: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """IDs as a blended run makes them: the LSTM's vocabulary (floor 2, 30 words at most), then every other training
    word for the bag-of-words part; lengths uncut."""
    vocabulary = bag_of_words_vocabulary(build_vocabulary(train, max_size=30, min_frequency=2), train)
    length = max(len(text.split()) for text in train + test)
    return encode(train, vocabulary, length), encode(test, vocabulary, length), vocabulary.size


@pytest.mark.parametrize("classes", [2, 3])
def test_the_bag_of_words_part_is_the_fair_baseline_on_the_same_words(classes):
    """The fit on IDs (every training word its own ID, every word pair its own feature) gives the fair baseline's
    test probabilities: the same TF-IDF + one-vs-rest logistic regression, two classes and more."""
    texts, y = _texts(160, seed=classes, classes=classes)
    train, test = texts[:110], texts[110:]
    train_ids, test_ids, vocab_size = _bag_of_words_ids(train, test)
    weights = fit_bag_of_words(train_ids, y[:110], classes=classes, vocab_size=vocab_size)
    baseline = tfidf_pipeline().fit(train, y[:110])
    np.testing.assert_allclose(predict_bag_of_words(weights, test_ids), baseline.predict_proba(test), atol=1e-6)
    assert int((weights.word_idf > 0).sum()) == len(baseline[0].vocabulary_) - int((weights.pair_idf > 0).sum())


def test_only_the_most_frequent_features_are_kept_as_the_baselines_vectorizer_keeps_them():
    texts, y = _texts(120, seed=7)
    train_ids, _, vocab_size = _bag_of_words_ids(texts, texts)
    every = fit_bag_of_words(train_ids, y, classes=3, vocab_size=vocab_size)
    kept = fit_bag_of_words(train_ids, y, classes=3, vocab_size=vocab_size, max_features=50)
    assert int((every.word_idf > 0).sum() + (every.pair_idf > 0).sum()) > 50
    assert int((kept.word_idf > 0).sum() + (kept.pair_idf > 0).sum()) == 50
    assert np.allclose(predict_bag_of_words(kept, train_ids).sum(axis=1), 1.0)


def test_pair_keys_are_exact_and_skip_padding_and_oov():
    ids = np.array([[5, 7, 9, 0, 0], [1, 4, 0, 0, 0]])
    keys = word_pair_keys(ids, 10)
    assert keys[0, :2].tolist() == [57, 79] and (keys[0, 2:] < NO_PAIR_KEY).all()
    assert (keys[1] < NO_PAIR_KEY).all()  # OOV (1) then a word: not a pair the baseline would have kept


def _separable(rows: int = 90, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % 3
    ids = np.zeros((rows, 8), dtype=np.int32)
    for i, label in enumerate(y):
        ids[i, :6] = rng.choice([2 + 3 * label, 3 + 3 * label, 4 + 3 * label, 11], size=6)
    return ids, y


def test_the_fitted_model_separates_separable_words_and_its_probabilities_sum_to_one():
    ids, y = _separable()
    weights = fit_bag_of_words(ids[:60], y[:60], classes=3, vocab_size=12)
    probabilities = predict_bag_of_words(weights, ids[60:])
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == y[60:]).mean() > 0.9


def test_words_and_pairs_the_fit_never_saw_weigh_nothing():
    """As with a TfidfVectorizer's vocabulary: an unseen feature neither scores nor changes the norm."""
    ids, y = _separable()
    weights = fit_bag_of_words(ids[:60], y[:60], classes=3, vocab_size=20)
    assert (weights.word_idf[12:] == 0).all() and weights.word_idf[1] == 0  # IDs 12..19 never occur; OOV never counts
    with_unseen = ids[60:].copy()
    with_unseen[:, 6] = 15  # one unseen word appended to every row (it also makes one unseen pair)
    assert np.allclose(predict_bag_of_words(weights, with_unseen), predict_bag_of_words(weights, ids[60:]))


def test_a_class_missing_from_the_fitted_rows_gets_almost_no_probability():
    ids, y = _separable()
    keep = y != 2
    weights = fit_bag_of_words(ids[keep], y[keep], classes=3, vocab_size=12)
    assert predict_bag_of_words(weights, ids)[:, 2].max() < 1e-6


def test_the_bag_of_words_vocabulary_appends_the_words_the_lstm_drops_without_changing_its_ids():
    lstm = build_vocabulary(["a a b b c", "a b d"], max_size=10, min_frequency=2)
    wide = bag_of_words_vocabulary(lstm, ["a a b b c", "a b d"])
    assert wide.tokens[:lstm.size] == lstm.tokens and set(wide.tokens[lstm.size:]) == {"c", "d"}
    assert (wide.lstm_size, wide.extension_size, wide.read_by_lstm) == (lstm.size, 0, lstm.size)
    assert Vocabulary.from_dict(wide.to_dict()) == wide
    assert Vocabulary.from_dict({"tokens": list(lstm.tokens)}).read_by_lstm is None  # a run saved before


def test_the_weight_is_the_best_candidate_on_the_rows_given():
    y = np.array([0, 1, 2, 0, 1, 2])
    right = np.eye(3)[y]
    wrong = np.eye(3)[(y + 1) % 3]
    weight, scores = choose_weight(y, right * 0.9 + 0.05, wrong * 0.9 + 0.05, CLASS_NAMES)
    assert weight == 1.0 and scores["1.0"] == 1.0 and scores["0.0"] == 0.0
    weight, _ = choose_weight(y, wrong * 0.9 + 0.05, right * 0.9 + 0.05, CLASS_NAMES)
    assert weight == 0.0
    assert set(scores) == {f"{w:.1f}" for w in WEIGHTS}


def test_a_tie_in_macro_f1_goes_to_the_lower_log_loss():
    y = np.array([0, 1, 0, 1])
    confident = np.array([[0.99, 0.01], [0.01, 0.99], [0.99, 0.01], [0.01, 0.99]])
    hesitant = np.array([[0.6, 0.4], [0.4, 0.6], [0.6, 0.4], [0.4, 0.6]])
    weight, scores = choose_weight(y, confident, hesitant, ("a", "b"))
    assert len(set(scores.values())) == 1  # every weight classifies all four right
    assert weight == 1.0  # the confident part alone has the lowest log loss


def test_the_n_gram_path_cannot_take_smote_inputs():
    with pytest.raises(ConfigError, match="n-gram path reads token IDs"):
        apply_overrides(ExperimentConfig(), ["model.ngram_path=logits", "resampling.strategy=smote"])
    apply_overrides(ExperimentConfig(), ["model.blend=validated", "resampling.strategy=smote"])  # the blend can
