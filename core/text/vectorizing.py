"""Token IDs for the LSTM: a vocabulary built from the training split only, post-padded sequences.

Conventions the model relies on: ID 0 is padding, ID 1 is the out-of-vocabulary token, sequences are padded and
truncated at the *end* (so the mask is strictly right-padded, which the fused cuDNN kernel requires), and no row is
all padding (an empty text becomes a single out-of-vocabulary token).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from core.records import Record

PAD_TOKEN = "[PAD]"
OOV_TOKEN = "[UNK]"
PAD_ID = 0
OOV_ID = 1
MIN_SUGGESTED_LENGTH = 8
MAX_SUGGESTED_LENGTH = 400


@dataclass(frozen=True)
class Vocabulary(Record):
    tokens: tuple[str, ...]  # index = token ID; tokens[0] is padding, tokens[1] the OOV token
    # With a pretrained extension: how many leading tokens (padding and OOV included) came from the training split;
    # the tokens after them are pretrained words whose vectors stay fixed. None: every token came from training.
    trained: Optional[int] = None
    # With a blend: how many leading tokens the LSTM reads; the words after them (development words below its
    # frequency floor) only the bag-of-words part reads, and the model maps them to OOV for the LSTM. None: all.
    read_by_lstm: Optional[int] = None

    def __post_init__(self) -> None:
        if len(self.tokens) < 2 or self.tokens[0] != PAD_TOKEN or self.tokens[1] != OOV_TOKEN:
            raise ValueError("vocabulary must start with the padding and OOV tokens")
        if self.trained is not None and not 2 <= self.trained <= self.lstm_size:
            raise ValueError("the vocabulary's trained part must hold the padding and OOV tokens and fit in it")
        if self.read_by_lstm is not None and not 2 <= self.read_by_lstm <= len(self.tokens):
            raise ValueError("the LSTM's part of the vocabulary must hold the padding and OOV tokens and fit in it")

    @property
    def size(self) -> int:
        return len(self.tokens)

    @property
    def lstm_size(self) -> int:
        """The token IDs the LSTM reads (every one, unless a blend appended words for its bag-of-words part)."""
        return self.size if self.read_by_lstm is None else self.read_by_lstm

    @property
    def trained_size(self) -> int:
        return self.lstm_size if self.trained is None else self.trained

    @property
    def extension_size(self) -> int:
        """Pretrained words appended after the training vocabulary (0 without an extension)."""
        return self.lstm_size - self.trained_size

    def with_words_for_bag_of_words(self, words: Iterable[str]) -> "Vocabulary":
        """This vocabulary followed by ``words`` it lacks, which only a blend's bag-of-words part reads."""
        if self.read_by_lstm is not None:
            raise ValueError("the vocabulary already holds the bag-of-words part's words")
        known = set(self.tokens)
        added = tuple(dict.fromkeys(word for word in words if word not in known))
        return Vocabulary(self.tokens + added, trained=self.trained, read_by_lstm=self.size)

    def index(self) -> dict[str, int]:
        return {token: token_id for token_id, token in enumerate(self.tokens)}

    def extended(self, words: Iterable[str]) -> "Vocabulary":
        """This vocabulary followed by ``words`` (pretrained words it lacks, in the given order); itself when there
        are none. Extending twice is refused: the extension is one block after the training tokens."""
        if self.trained is not None:
            raise ValueError("the vocabulary is already extended")
        known = set(self.tokens)
        added = tuple(dict.fromkeys(word for word in words if word not in known))
        return Vocabulary(self.tokens + added, trained=self.size) if added else self


def build_vocabulary(train_texts: Iterable[str], max_size: int, min_frequency: int = 1) -> Vocabulary:
    """Most frequent training tokens (ties broken alphabetically, so the result is deterministic)."""
    counts = Counter(token for text in train_texts for token in text.split())
    kept = sorted((item for item in counts.items() if item[1] >= min_frequency), key=lambda item: (-item[1], item[0]))
    room = max(0, max_size - 2)
    return Vocabulary((PAD_TOKEN, OOV_TOKEN, *(token for token, _ in kept[:room])))


def token_lengths(texts: Iterable[str]) -> np.ndarray:
    return np.fromiter((len(text.split()) for text in texts), dtype=np.int64)


@dataclass(frozen=True)
class LengthSuggestion:
    max_length: int
    percentile: float
    truncated_share: float  # share of the given texts longer than max_length


def suggest_max_length(lengths: np.ndarray, percentile: float = 95.0) -> LengthSuggestion:
    """A length that covers ``percentile`` of texts: longer sequences cost time even with a mask."""
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        return LengthSuggestion(MIN_SUGGESTED_LENGTH, percentile, 0.0)
    raw = math.ceil(float(np.percentile(lengths, percentile)))
    suggested = int(min(MAX_SUGGESTED_LENGTH, max(MIN_SUGGESTED_LENGTH, raw)))
    return LengthSuggestion(suggested, percentile, truncated_share(lengths, suggested))


def truncated_share(lengths: np.ndarray, max_length: int) -> float:
    lengths = np.asarray(lengths)
    return float((lengths > max_length).mean()) if lengths.size else 0.0


def encode(texts: Sequence[str], vocabulary: Vocabulary, max_length: int) -> np.ndarray:
    """int32 matrix (rows, max_length): post-truncated, post-padded, never an all-padding row."""
    index = vocabulary.index()
    matrix = np.zeros((len(texts), max_length), dtype=np.int32)
    for row, text in enumerate(texts):
        ids = [index.get(token, OOV_ID) for token in text.split()[:max_length]]
        if not ids:
            ids = [OOV_ID]
        matrix[row, : len(ids)] = ids
    return matrix


# Subwords (fastText-style): character n-grams of "<token>", hashed into a fixed number of buckets, so the input
# carries every token's spelling whether or not the vocabulary knows it. Vocabulary-independent and deterministic
# (FNV-1a over UTF-8, fastText's hash), so training, a saved run and a typed text agree.
SUBWORD_MIN_N = 3
SUBWORD_MAX_N = 5
SUBWORD_SLOTS = 10  # n-grams kept per token (longer words keep their first and last ones: prefixes and suffixes)


def _fnv1a(text: str) -> int:
    value = 2166136261
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def subword_ids(token: str, buckets: int) -> list[int]:
    """The token's character n-gram bucket IDs (1..buckets; 0 is reserved for "no n-gram"), at most SUBWORD_SLOTS."""
    if buckets < 1:
        raise ValueError(f"buckets must be positive, got {buckets}")
    marked = f"<{token}>"
    grams = [marked[start:start + n] for n in range(SUBWORD_MIN_N, SUBWORD_MAX_N + 1)
             for start in range(len(marked) - n + 1)]
    if not grams:  # a token shorter than the smallest n-gram with its markers cannot happen (3 chars min), but be safe
        grams = [marked]
    if len(grams) > SUBWORD_SLOTS:
        half = SUBWORD_SLOTS // 2
        by_position = sorted(range(len(grams)), key=lambda i: (marked.find(grams[i]), i))
        grams = [grams[i] for i in by_position[:half] + by_position[-(SUBWORD_SLOTS - half):]]
    return [1 + _fnv1a(gram) % buckets for gram in grams]


def encode_subwords(texts: Sequence[str], vocabulary: Vocabulary, max_length: int, buckets: int) -> np.ndarray:
    """int32 array (rows, max_length, 1 + SUBWORD_SLOTS): column 0 is :func:`encode`'s word ID, the others the
    token's n-gram bucket IDs (0 = none). Padding positions are all zero; an empty text is the OOV token without
    n-grams, exactly as :func:`encode` encodes it."""
    words = encode(texts, vocabulary, max_length)
    array = np.zeros((len(texts), max_length, 1 + SUBWORD_SLOTS), dtype=np.int32)
    array[:, :, 0] = words
    cache: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        for position, token in enumerate(text.split()[:max_length]):
            ids = cache.get(token)
            if ids is None:
                ids = cache[token] = subword_ids(token, buckets)
            array[row, position, 1:1 + len(ids)] = ids
    return array


def word_ids(ids: np.ndarray) -> np.ndarray:
    """The word-ID matrix of encoded rows, whether plain (rows, steps) or with subwords (rows, steps, 1 + slots)."""
    ids = np.asarray(ids)
    return ids[..., 0] if ids.ndim == 3 else ids


def decode_tokens(row: np.ndarray, vocabulary: Vocabulary) -> list[str]:
    """The tokens of one encoded row, padding removed."""
    return [vocabulary.tokens[token_id] for token_id in word_ids(row[None])[0] if token_id != PAD_ID]


def oov_rate(texts: Sequence[str], vocabulary: Vocabulary) -> float:
    """Share of token occurrences that the vocabulary does not know (that the LSTM reads as OOV: a blend's words for
    its bag-of-words part alone count as unknown)."""
    index, known = vocabulary.index(), vocabulary.lstm_size
    total = unknown = 0
    for text in texts:
        for token in text.split():
            total += 1
            unknown += index.get(token, known) >= known
    return unknown / total if total else 0.0


@dataclass(frozen=True)
class VocabularyPreview:
    """What the Preprocess and Model pages show before training: the vocabulary the training split gives, how much
    of the validation split it misses, and the length the model will read."""

    vocabulary_size: int
    distinct_train_tokens: int
    oov_rate_validation: float
    suggested_max_length: int
    max_length: int
    truncated_share: float
    train_lengths: np.ndarray
    train_rows: int


def preview_vocabulary(train_texts: Sequence[str], held_out_texts: Sequence[str], config) -> VocabularyPreview:
    """The vocabulary and length facts of ``config`` (a VectorizingConfig) from preprocessed training texts only."""
    vocabulary = build_vocabulary(train_texts, config.max_vocab_size, config.min_token_frequency)
    lengths = token_lengths(train_texts)
    suggestion = suggest_max_length(lengths, config.length_percentile)
    max_length = config.max_length or suggestion.max_length
    return VocabularyPreview(
        vocabulary_size=vocabulary.size,
        distinct_train_tokens=len({token for text in train_texts for token in text.split()}),
        oov_rate_validation=oov_rate(held_out_texts, vocabulary),
        suggested_max_length=suggestion.max_length,
        max_length=max_length,
        truncated_share=truncated_share(lengths, max_length),
        train_lengths=lengths,
        train_rows=len(train_texts),
    )


BIGRAM_MULTIPLIER = 4093  # the same constant as core.layers.BIGRAM_MULTIPLIER (tested equal)


def bigram_bucket_ids(word_ids: np.ndarray, buckets: int) -> np.ndarray:
    """NumPy twin of :func:`core.layers.bigram_buckets`: bucket 1..``buckets`` of each adjacent pair of real tokens
    of a (rows, steps) ID matrix, 0 where either is padding; shape (rows, steps - 1)."""
    ids = np.asarray(word_ids, dtype=np.int64)
    first, second = ids[:, :-1], ids[:, 1:]
    hashed = ((first % buckets) * BIGRAM_MULTIPLIER + second) % buckets + 1
    return np.where((first != 0) & (second != 0), hashed, 0).astype(np.int32)
