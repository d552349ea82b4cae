"""The blend's bag-of-words model and its weight, without Keras: counts, TF-IDF + LR probabilities, the weight rule."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import ExperimentConfig, apply_overrides
from core.errors import ConfigError
from core.model.bag_of_words import count_matrix, fit_bag_of_words, predict_bag_of_words
from core.text.vectorizing import bigram_bucket_ids
from core.training.blending import WEIGHTS, choose_weight

CLASS_NAMES = ("a", "b", "c")


def test_pairs_of_real_tokens_get_buckets_and_padding_gets_none():
    ids = np.array([[5, 7, 9, 0, 0], [1, 1, 0, 0, 0]])
    pairs = bigram_bucket_ids(ids, 64)
    assert pairs.shape == (2, 4)
    assert (pairs[0, :2] > 0).all() and (pairs[0, 2:] == 0).all()
    assert pairs[1, 0] > 0 and (pairs[1, 1:] == 0).all()
    assert pairs.max() <= 64  # buckets 1..64; 0 means "no pair"
    assert bigram_bucket_ids(np.array([[5, 7]]), 64)[0, 0] != bigram_bucket_ids(np.array([[7, 5]]), 64)[0, 0]


def test_the_count_matrix_counts_words_and_pairs_per_row():
    ids = np.array([[3, 3, 4, 0], [4, 0, 0, 0]])
    counts = count_matrix(ids, vocab_size=6, buckets=16).toarray()
    assert counts.shape == (2, 6 + 17)
    assert counts[0, 3] == 2 and counts[0, 4] == 1 and counts[0, 0] == 0  # padding is not a word
    assert counts[0, 6:].sum() == 2 and counts[1, 6:].sum() == 0  # two pairs in the first row, none in the second


def _separable(rows: int = 90, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % 3
    ids = np.zeros((rows, 8), dtype=np.int32)
    for i, label in enumerate(y):
        ids[i, :6] = rng.choice([2 + 3 * label, 3 + 3 * label, 4 + 3 * label, 11], size=6)
    return ids, y


def test_the_fitted_model_separates_separable_words_and_its_probabilities_sum_to_one():
    ids, y = _separable()
    weights = fit_bag_of_words(ids[:60], y[:60], classes=3, vocab_size=12, buckets=256)
    probabilities = predict_bag_of_words(weights, ids[60:])
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == y[60:]).mean() > 0.9


def test_words_and_pairs_the_fit_never_saw_weigh_nothing():
    """As with a TfidfVectorizer's vocabulary: an unseen feature neither scores nor changes the norm."""
    ids, y = _separable()
    weights = fit_bag_of_words(ids[:60], y[:60], classes=3, vocab_size=20, buckets=65536)  # no pair collides
    assert (weights.word_idf[12:] == 0).all()  # IDs 12..19 never occur
    with_unseen = ids[60:].copy()
    with_unseen[:, 6] = 15  # one unseen word appended to every row (it also makes one unseen pair)
    assert np.allclose(predict_bag_of_words(weights, with_unseen), predict_bag_of_words(weights, ids[60:]))


def test_a_class_missing_from_the_fitted_rows_gets_almost_no_probability():
    ids, y = _separable()
    keep = y != 2
    weights = fit_bag_of_words(ids[keep], y[keep], classes=3, vocab_size=12, buckets=256)
    assert predict_bag_of_words(weights, ids)[:, 2].max() < 1e-6


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


@pytest.mark.parametrize("classes", [2, 3])
def test_the_probabilities_are_scikit_learns_one_vs_rest_predict_proba(classes):
    """The frozen layer reproduces these NumPy probabilities (tests/system/test_ngram_paths.py), and these reproduce
    scikit-learn's own fit on the same TF-IDF features, two classes and more."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    ids, y = _separable(rows=90, seed=5)
    keep = y < classes
    ids, y = ids[keep], y[keep]
    weights = fit_bag_of_words(ids[:40], y[:40], classes=classes, vocab_size=12, buckets=4096)
    counts = count_matrix(ids, 12, 4096)
    seen = np.flatnonzero(np.asarray((counts[:40] > 0).sum(axis=0)).ravel())
    transformer = TfidfTransformer(sublinear_tf=True)
    model = OneVsRestClassifier(LogisticRegression(solver="liblinear", C=10.0, class_weight="balanced", dual=True,
                                                   random_state=0))
    model.fit(transformer.fit_transform(counts[:40][:, seen]), y[:40])
    expected = model.predict_proba(transformer.transform(counts[40:][:, seen]))
    np.testing.assert_allclose(predict_bag_of_words(weights, ids[40:]), expected, atol=1e-6)
