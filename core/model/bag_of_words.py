"""The blend's bag-of-words model: TF-IDF + one-vs-rest logistic regression over the classifier's own words and hashed
word pairs, fitted with scikit-learn and carried inside the Keras model as a frozen layer
(:class:`core.layers.BagOfWordsModel`), so a blended run saves, loads in safe mode, predicts and explains as one model.

It reads token IDs, not strings: words the vocabulary does not keep share the out-of-vocabulary ID, and word pairs
are hashed into ``buckets``. So it is close to, not the same as, the fair baseline (core.model.baseline, fitted on the
raw text); Evaluate shows each part's own test score beside the blend's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from core import lazy
from core.text.vectorizing import bigram_bucket_ids

REGULARISATION_C = 10.0  # as the fair baseline's logistic regression
ABSENT_CLASS_SCORE = -30.0  # a class missing from the fitted rows gets (almost) no probability


@dataclass(frozen=True)
class BagOfWordsWeights:
    """What :class:`core.layers.BagOfWordsModel` holds: linear weights per word and pair bucket (IDF folded in at
    prediction time), the IDF of each, and the intercepts."""

    word_weights: np.ndarray  # (vocab_size, classes)
    pair_weights: np.ndarray  # (buckets + 1, classes)
    word_idf: np.ndarray  # (vocab_size,); 0 for words the fit never saw
    pair_idf: np.ndarray  # (buckets + 1,)
    intercept: np.ndarray  # (classes,)

    def as_layer_weights(self) -> list[np.ndarray]:
        return [self.word_weights, self.pair_weights, self.word_idf, self.pair_idf, self.intercept]


def count_matrix(word_ids: np.ndarray, vocab_size: int, buckets: int):
    """Sparse (rows, vocab_size + buckets + 1) counts of each row's words (padding excluded) and pair buckets."""
    lazy.load("sklearn")
    from scipy import sparse

    ids = np.asarray(word_ids)
    if ids.ndim == 3:  # subword input: the word column
        ids = ids[:, :, 0]
    pairs = bigram_bucket_ids(ids, buckets)
    rows_words, cols_words = np.nonzero(ids)
    rows_pairs, cols_pairs = np.nonzero(pairs)
    rows = np.concatenate([rows_words, rows_pairs])
    columns = np.concatenate([ids[rows_words, cols_words], vocab_size + pairs[rows_pairs, cols_pairs]])
    data = np.ones(len(rows), dtype=np.float64)
    matrix = sparse.csr_matrix((data, (rows, columns)), shape=(len(ids), vocab_size + buckets + 1))
    matrix.sum_duplicates()
    return matrix


def fit_bag_of_words(word_ids: np.ndarray, y: np.ndarray, classes: int, vocab_size: int, buckets: int,
                     *, seed: int = 0) -> BagOfWordsWeights:
    """Fit TF-IDF (sublinear tf, smoothed idf, L2 norm) + one-vs-rest logistic regression with balanced class weights
    on ``word_ids``' rows; features never seen weigh nothing (idf 0), as words outside a TfidfVectorizer's
    vocabulary."""
    lazy.load("sklearn")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    counts = count_matrix(word_ids, vocab_size, buckets)
    # Fit on the columns that occur (a few thousand of the ~65k): the same model, 5-20x less work for the solver.
    seen = np.flatnonzero(np.asarray((counts > 0).sum(axis=0)).ravel())
    transformer = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2")
    features = transformer.fit_transform(counts[:, seen])
    idf = np.zeros(counts.shape[1])
    idf[seen] = transformer.idf_
    present = np.unique(y)
    weights = np.zeros((counts.shape[1], classes))
    intercept = np.full(classes, ABSENT_CLASS_SCORE)
    if len(present) >= 2:
        # One-vs-rest liblinear in the dual, as the fair baseline (core.model.baseline): on the 14.9k FAA phase
        # remarks the multinomial saga fit stopped far from its optimum at tol 1e-3 (macro-F1 0.19 against 0.26) and
        # took 4x longer at 1e-4, while one-vs-rest gave 0.26-0.27 in 2 s; on FAA effect and NACE the two were
        # within 0.003 (3 seeds).
        model = OneVsRestClassifier(LogisticRegression(solver="liblinear", C=REGULARISATION_C, class_weight="balanced",
                                                       dual=True, random_state=seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            model.fit(features, y)
        coef = np.vstack([estimator.coef_ for estimator in model.estimators_])
        bias = np.concatenate([np.atleast_1d(estimator.intercept_) for estimator in model.estimators_])
        # one estimator scores the second class against the first: p = sigmoid(+s), 1 - p = sigmoid(-s)
        if len(present) == 2:
            weights[seen, present[1]], weights[seen, present[0]] = coef[0], -coef[0]
            intercept[present] = (-bias[0], bias[0])
        else:
            weights[np.ix_(seen, present)] = coef.T
            intercept[present] = bias
    else:  # one class only: it gets every text
        intercept[present] = 0.0
    return BagOfWordsWeights(
        word_weights=weights[:vocab_size].astype(np.float32), pair_weights=weights[vocab_size:].astype(np.float32),
        word_idf=idf[:vocab_size].astype(np.float32), pair_idf=idf[vocab_size:].astype(np.float32),
        intercept=intercept.astype(np.float32),
    )


def predict_bag_of_words(weights: BagOfWordsWeights, word_ids: np.ndarray) -> np.ndarray:
    """Class probabilities in NumPy, equal to the layer's (what weight selection uses, without building Keras)."""
    lazy.load("sklearn")
    from sklearn.preprocessing import normalize

    counts = count_matrix(word_ids, len(weights.word_idf), len(weights.pair_idf) - 1)
    tf = counts.copy()
    tf.data = 1.0 + np.log(tf.data)
    idf = np.concatenate([weights.word_idf, weights.pair_idf]).astype(np.float64)
    features = normalize(tf.multiply(idf[None, :]).tocsr(), norm="l2")
    scores = features @ np.concatenate([weights.word_weights, weights.pair_weights]).astype(np.float64)
    scores = np.asarray(scores) + weights.intercept.astype(np.float64)
    return one_vs_rest_probabilities(scores)


def one_vs_rest_probabilities(scores: np.ndarray) -> np.ndarray:
    """scikit-learn's one-vs-rest ``predict_proba``: each class's sigmoid, normalised to sum to 1 (a binary fit is
    stored as scores s and -s, whose sigmoids already sum to 1)."""
    sigmoid = 1.0 / (1.0 + np.exp(-np.clip(scores, -500, 500)))
    return sigmoid / np.maximum(sigmoid.sum(axis=1, keepdims=True), 1e-300)
