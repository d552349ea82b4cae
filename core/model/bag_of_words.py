"""The blend's bag-of-words part: the fair baseline's model (core.model.baseline: TF-IDF on words and word pairs +
one-vs-rest logistic regression), fitted with scikit-learn on token IDs and carried inside the Keras model as a
frozen layer (:class:`core.layers.FairBagOfWords`), so a blended run saves, loads in safe mode, predicts and explains
as one model.

It is the baseline's model, not an approximation of it: every development word has its own ID (the blend appends the
words below the LSTM's frequency floor to the vocabulary, core.training.blending), each word pair is its own feature
(exact keys, no hash buckets), whole texts are read (the LSTM's length cut does not apply to it), and the 200,000
most frequent features are kept, as the baseline's vectorizer keeps them. Only the tokens differ: the part reads the
lab's tokens, which keep one-character words and words with punctuation inside that the baseline's token pattern
drops or splits (bench/baseline_tokens.py; fitted on the lab's tokens, the baseline scores what the part scores).
Rows are held ragged (:class:`TokenRows`), so one long text does not widen every row.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from core import lazy
from core.model.baseline import MAX_FEATURES
from core.text.vectorizing import OOV_ID, Vocabulary

NO_PAIR_KEY = -1  # the same constant as core.layers.NO_PAIR_KEY (tested equal): the pair table's first key
MAX_TOKENS = 2000  # the longest text the part reads whole (the config's largest max_length)
ABSENT_CLASS_SCORE = -30.0  # a class missing from the fitted rows gets (almost) no probability


@dataclass(frozen=True)
class BagOfWordsWeights:
    """What :class:`core.layers.FairBagOfWords` holds: linear weights and IDF per word ID and per kept word pair
    (row 0 of the pair arrays is "not a kept pair", its key NO_PAIR_KEY; rows 1.. follow the sorted keys), and the
    intercepts."""

    word_weights: np.ndarray  # (vocab_size, classes)
    word_idf: np.ndarray  # (vocab_size,); 0 for words the fit never saw (and for padding and OOV)
    pair_keys: np.ndarray  # (pairs + 1,) int64, sorted
    pair_weights: np.ndarray  # (pairs + 1, classes)
    pair_idf: np.ndarray  # (pairs + 1,)
    intercept: np.ndarray  # (classes,)

    @property
    def pairs(self) -> int:
        return len(self.pair_keys) - 1

    def as_layer_weights(self) -> list[np.ndarray]:
        return [self.word_weights, self.word_idf, self.pair_keys, self.pair_weights, self.pair_idf, self.intercept]


@dataclass(frozen=True)
class TokenRows:
    """Rows of word IDs back to back (no padding): row i is ``ids[starts[i]:starts[i + 1]]``."""

    ids: np.ndarray  # int64
    starts: np.ndarray  # int64, len(rows) + 1 offsets

    def __len__(self) -> int:
        return len(self.starts) - 1

    @classmethod
    def from_texts(cls, texts: Sequence[str], vocabulary: Vocabulary, max_length: int) -> "TokenRows":
        """Each preprocessed text's first ``max_length`` tokens as IDs (unknown words: OOV), as encode() maps them."""
        index = vocabulary.index()
        rows = [[index.get(token, OOV_ID) for token in text.split()[:max_length]] for text in texts]
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([len(row) for row in rows])
        return cls(np.fromiter((i for row in rows for i in row), dtype=np.int64, count=int(starts[-1])), starts)

    @classmethod
    def from_matrix(cls, word_ids: np.ndarray) -> "TokenRows":
        """From a post-padded ID matrix (with subwords: its word column); padding dropped."""
        ids = np.asarray(word_ids, dtype=np.int64)
        ids = ids[:, :, 0] if ids.ndim == 3 else ids
        real = ids != 0
        starts = np.zeros(len(ids) + 1, dtype=np.int64)
        starts[1:] = np.cumsum(real.sum(axis=1))
        return cls(ids[real], starts)

    def row_of_each_id(self) -> np.ndarray:
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.starts))


Rows = Union[TokenRows, np.ndarray]


def _token_rows(rows: Rows) -> TokenRows:
    return rows if isinstance(rows, TokenRows) else TokenRows.from_matrix(rows)


def word_pair_keys(word_ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """NumPy twin of :func:`core.layers.word_pair_keys` on an ID matrix: ``first * vocab_size + second`` per adjacent
    pair of known words, and a key below NO_PAIR_KEY where either is padding or OOV (a pair the baseline's vectorizer
    would not have kept either)."""
    ids = np.asarray(word_ids, dtype=np.int64)
    ids = ids[:, :, 0] if ids.ndim == 3 else ids
    first, second = ids[:, :-1], ids[:, 1:]
    known = (first > OOV_ID) & (second > OOV_ID)
    return np.where(known, first * vocab_size + second, NO_PAIR_KEY - 1)


def _pairs(rows: TokenRows, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, key) of every adjacent pair of known words within a row."""
    row = rows.row_of_each_id()
    first, second = rows.ids[:-1], rows.ids[1:]
    real = (row[:-1] == row[1:]) & (first > OOV_ID) & (second > OOV_ID)
    return row[:-1][real], first[real] * vocab_size + second[real]


def _counts(rows: TokenRows, vocab_size: int, pair_keys: np.ndarray):
    """Sparse (rows, vocab_size + len(pair_keys)) counts of each row's known words and of its pairs found in
    ``pair_keys`` (sorted; column vocab_size + i is pair_keys[i])."""
    lazy.load("sklearn")
    from scipy import sparse

    row = rows.row_of_each_id()
    words = rows.ids > OOV_ID
    pair_rows, keys = _pairs(rows, vocab_size)
    found = np.minimum(np.searchsorted(pair_keys, keys), len(pair_keys) - 1)
    kept = pair_keys[found] == keys
    all_rows = np.concatenate([row[words], pair_rows[kept]])
    columns = np.concatenate([rows.ids[words], vocab_size + found[kept]])
    matrix = sparse.csr_matrix((np.ones(len(all_rows)), (all_rows, columns)),
                               shape=(len(rows), vocab_size + len(pair_keys)))
    matrix.sum_duplicates()
    return matrix


def fit_bag_of_words(word_ids: Rows, y: np.ndarray, classes: int, vocab_size: int,
                     *, max_features: int = MAX_FEATURES) -> BagOfWordsWeights:
    """The fair baseline's fit on these rows' IDs: the ``max_features`` most frequent words and word pairs, TF-IDF
    (sublinear tf, smoothed idf, L2 norm) and one-vs-rest liblinear logistic regression with balanced class weights;
    features never seen weigh nothing (idf 0), as words outside a TfidfVectorizer's vocabulary."""
    lazy.load("sklearn")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfTransformer

    rows = _token_rows(word_ids)
    pair_keys = np.concatenate([[NO_PAIR_KEY], np.unique(_pairs(rows, vocab_size)[1])]).astype(np.int64)
    counts = _counts(rows, vocab_size, pair_keys)
    totals = np.asarray(counts.sum(axis=0)).ravel()
    seen = np.flatnonzero(totals > 0)
    if len(seen) > max_features:  # the vectorizer's max_features: the most frequent terms over the corpus
        seen = np.sort(seen[np.argsort(-totals[seen], kind="stable")[:max_features]])
    transformer = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2")
    features = transformer.fit_transform(counts[:, seen])
    idf = np.zeros(counts.shape[1])
    idf[seen] = transformer.idf_
    present = np.unique(y)
    weights = np.zeros((counts.shape[1], classes))
    intercept = np.full(classes, ABSENT_CLASS_SCORE)
    if len(present) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            coef, bias = _one_vs_rest(features, y)
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
        word_weights=weights[:vocab_size].astype(np.float32), word_idf=idf[:vocab_size].astype(np.float32),
        pair_keys=pair_keys, pair_weights=weights[vocab_size:].astype(np.float32),
        pair_idf=idf[vocab_size:].astype(np.float32), intercept=intercept.astype(np.float32),
    )


def _one_vs_rest(features, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's classifier (core.model.baseline.tfidf_pipeline), with its seed: (coefficients, intercepts)."""
    from core.model.baseline import linear_classifier

    model = linear_classifier()
    model.fit(features, y)
    coef = np.vstack([estimator.coef_ for estimator in model.estimators_])
    bias = np.concatenate([np.atleast_1d(estimator.intercept_) for estimator in model.estimators_])
    return coef, bias


def predict_bag_of_words(weights: BagOfWordsWeights, word_ids: Rows) -> np.ndarray:
    """Class probabilities in NumPy, equal to the layer's (what weight selection uses, without building Keras)."""
    lazy.load("sklearn")
    from sklearn.preprocessing import normalize

    counts = _counts(_token_rows(word_ids), len(weights.word_idf), weights.pair_keys)
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
