"""Pretrained word vectors for the embedding layer: a built-in offline set (``core.choices.vectors``, e.g.
``glove-6b-50d``) or a user's own GloVe, word2vec or fastText text file.

Nothing here downloads. A built-in set is memory-mapped and only the rows a vocabulary asks for are read; a file is
streamed line by line and only the vocabulary's tokens are kept, so a multi-gigabyte file costs time, not memory.
File formats:

* GloVe: no header; each line ``token v1 v2 ... vd`` separated by spaces.
* word2vec text and fastText ``.vec``: the same, after a first line ``count dim``.
* Either, gzip-compressed (``.gz``): detected from the bytes.

Binary word2vec files are refused with a sentence asking for the text format. Vocabulary tokens the vectors lack get
random vectors of the same scale as the found ones (they are learned when the embedding is fine-tuned); the
out-of-vocabulary token gets the mean of the found vectors; padding stays zero.

Vocabulary extension (:func:`vocabulary_extension`): after the training split's vocabulary is built, the most
frequent pretrained words it lacks are appended (vector files and sets are frequency-sorted), keeping only words the
run's preprocessing would produce unchanged; the vocabulary never reads validation or test texts.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator, Optional, Union

import numpy as np

from core.choices.vectors import VECTOR_SETS, VectorSet
from core.config import ExperimentConfig
from core.errors import DataError
from core.records import Record
from core.text.preprocessing import TextPreprocessor
from core.text.vectorizing import OOV_ID, PAD_ID, Vocabulary

Source = Union[str, os.PathLike, bytes]  # a built-in set's key, a file path, or a file's bytes


@dataclass(frozen=True)
class VectorCoverage(Record):
    """How much of a vocabulary a vectors file covers (what the run record and the previews show)."""

    source: str  # the file's name (never its contents)
    dim: int
    found: int  # vocabulary tokens (padding and OOV not counted) that the file has
    vocabulary_tokens: int
    lines_read: int
    lowercased: bool  # file tokens were lowercased to match a lowercased vocabulary
    frozen: bool = False  # set by the run: the embedding kept these vectors unchanged
    extended: int = 0  # pretrained words appended after the training vocabulary (their vectors stay fixed)

    @property
    def coverage(self) -> float:
        return self.found / self.vocabulary_tokens if self.vocabulary_tokens else 0.0

    def sentence(self) -> str:
        return (f"{self.source}: {self.found:,} of {self.vocabulary_tokens:,} vocabulary tokens ({self.coverage:.0%}) "
                f"have {self.dim}-dimensional vectors" + (" (file tokens lowercased)" if self.lowercased else "")
                + (f"; {self.extended:,} more pretrained words joined the vocabulary" if self.extended else "") + ".")


@dataclass(frozen=True)
class WordVectors:
    matrix: np.ndarray  # (vocabulary size, dim) float32: the embedding's initial weights
    coverage: VectorCoverage


def _open(source: Source) -> tuple[IO[bytes], str]:
    if isinstance(source, (bytes, bytearray)):
        raw: IO[bytes] = io.BytesIO(bytes(source))
        name = "uploaded vectors"
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"There is no word-vectors file at {str(path)!r}; check the path in model.word_vectors.")
        raw = path.open("rb")
        name = path.name
    head = raw.read(2)
    raw.seek(0)
    if head == b"\x1f\x8b":
        raw = gzip.GzipFile(fileobj=raw)
    return raw, name


def _lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, str]]:
    for number, raw_line in enumerate(stream, start=1):
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{name} is not a UTF-8 text file of word vectors (line {number}); give the text format "
                            "(GloVe .txt, word2vec text or fastText .vec), not a binary file.") from None
        line = line.rstrip("\r\n")
        if line.strip():
            yield number, line


def _header(line: str) -> int | None:
    """The dimension of a word2vec/fastText "count dim" first line, or None for a GloVe vector line."""
    parts = line.split()
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        return int(parts[1])
    return None


def vector_set(source: object) -> Optional[VectorSet]:
    """The built-in set ``source`` names (a registry key), or None for a file path or bytes."""
    return VECTOR_SETS.get(source) if isinstance(source, str) and source in VECTOR_SETS else None


def vector_dimension(source: Source) -> int:
    """The vectors' dimension: a built-in set's, or read from a file's first line (no more of it)."""
    record = vector_set(source)
    if record is not None:
        return record.dim
    stream, name = _open(source)
    with stream:
        for _number, line in _lines(stream, name):
            header = _header(line)
            return header if header is not None else len(line.rstrip(" ").split(" ")) - 1
    raise DataError(f"{name} holds no word vectors; give a GloVe, word2vec or fastText text file.")


def pretrained_words(source: Source, *, lowercase: bool = False) -> Iterator[str]:
    """The vectors' words in their own order (most frequent first in GloVe, word2vec and fastText files), each once
    (lowercased when ``lowercase``: the first case variant stands for the word, as in :func:`load_word_vectors`)."""
    record = vector_set(source)
    if record is not None:
        words: Iterator[str] = iter(record.load().words)
    else:
        words = _file_words(source)
    seen: set[str] = set()
    for word in words:
        word = word.lower() if lowercase else word
        if word not in seen:
            seen.add(word)
            yield word


def _file_words(source: Source) -> Iterator[str]:
    stream, name = _open(source)
    with stream:
        dim = None
        for _, line in _lines(stream, name):
            parts = line.rstrip(" ").split(" ")
            if dim is None:
                dim = _header(line)
                if dim is not None:
                    continue
                dim = len(parts) - 1
            yield " ".join(parts[:-dim]) if len(parts) > dim > 0 else parts[0]


def vocabulary_extension(config: ExperimentConfig) -> Optional[Callable[[Vocabulary], Vocabulary]]:
    """What appends the configured pretrained words to a training vocabulary: the ``model.pretrained_words`` most
    frequent words of ``model.word_vectors`` that the vocabulary lacks and that this preprocessing would produce
    unchanged (a stemmed run gains stems, not the words they replace; punctuation is skipped when it is stripped).
    None when no vectors are set or the extension is off. It reads only the vectors and the vocabulary it is given:
    which texts built that vocabulary (the training rows) is the caller's contract."""
    model = config.model
    if not model.word_vectors or not model.extend_vocabulary:
        return None
    source, limit, lowercase = model.word_vectors, model.pretrained_words, config.preprocessing.lowercase
    preprocessor = TextPreprocessor(config.preprocessing)  # shared by every call: each word is normalised once

    def kept(word: str) -> bool:
        return preprocessor.tokens(word) == [word]

    def extend(vocabulary: Vocabulary) -> Vocabulary:
        known = set(vocabulary.tokens)
        new = (word for word in pretrained_words(source, lowercase=lowercase) if word not in known and kept(word))
        return vocabulary.extended(itertools.islice(new, limit))

    return extend


def load_word_vectors(source: Source, vocabulary: Vocabulary, dim: Optional[int] = None, *, lowercase: bool = False,
                      seed: int = 0) -> WordVectors:
    """The embedding matrix for ``vocabulary`` from a built-in set's key, or a vectors text file (path or bytes),
    and its coverage of the vocabulary's training tokens. ``dim``: the dimension the vectors must have (None: their
    own). ``lowercase``: match the vectors' tokens lowercased (when preprocessing lowercases the texts; the first of
    several case variants wins, which in frequency-sorted files is the most common one).

    Raises DataError with one sentence for a missing set or file, a binary, malformed or wrong-dimension file, and for
    vectors that cover none of the vocabulary.
    """
    if dim is not None and dim < 1:
        raise ValueError(f"dim must be positive, got {dim}")
    index = vocabulary.index()
    wanted = {token: token_id for token, token_id in index.items() if token_id not in (PAD_ID, OOV_ID)}
    record = vector_set(source)
    if record is not None:
        name, matrix, found, lines_read = _from_set(record, wanted, vocabulary.size, dim, lowercase)
    else:
        name, matrix, found, lines_read = _from_file(source, wanted, vocabulary.size, dim, lowercase)
    trained = vocabulary.trained_size
    count = int(found[:trained].sum())
    if count == 0:
        raise DataError(f"None of the vocabulary's {trained - 2:,} tokens is in {name}; check the file's language"
                        + (" or turn on lowercasing." if not lowercase else "."))
    known = matrix[found]
    rng = np.random.default_rng(seed)
    missing = np.flatnonzero(~found)
    missing = missing[(missing != PAD_ID) & (missing != OOV_ID)]
    matrix[missing] = rng.normal(0.0, float(known.std()) or 0.1,
                                 size=(len(missing), matrix.shape[1])).astype(np.float32)
    matrix[OOV_ID] = known.mean(axis=0)
    matrix[PAD_ID] = 0.0
    coverage = VectorCoverage(source=name, dim=matrix.shape[1], found=count, vocabulary_tokens=trained - 2,
                              lines_read=lines_read, lowercased=lowercase, extended=vocabulary.extension_size)
    return WordVectors(matrix, coverage)


def _wrong_dimension(name: str, found: int, dim: int) -> DataError:
    return DataError(f"{name} holds {found}-dimensional vectors but model.embedding_dim is {dim}: "
                     f"set model.embedding_dim to {found}.")


def _from_set(record: VectorSet, wanted: dict[str, int], size: int, dim: Optional[int], lowercase: bool):
    """(name, matrix, found, rows read) from a built-in set: its words are scanned, only the wanted rows are read."""
    if dim is not None and dim != record.dim:
        raise _wrong_dimension(record.title, record.dim, dim)
    table = record.load()
    ids, rows = [], []
    taken: set[int] = set()
    for row, word in enumerate(table.words):
        token_id = wanted.get(word.lower() if lowercase else word)
        if token_id is not None and token_id not in taken:
            taken.add(token_id)
            ids.append(token_id)
            rows.append(row)
    matrix = np.zeros((size, record.dim), dtype=np.float32)
    found = np.zeros(size, dtype=bool)
    if rows:
        order = np.argsort(rows)  # ascending rows: the memory map reads forward
        matrix[np.asarray(ids)[order]] = np.asarray(table.matrix[np.asarray(rows)[order]], dtype=np.float32)
        found[ids] = True
    return record.title, matrix, found, len(table.words)


def _from_file(source: Source, wanted: dict[str, int], size: int, dim: Optional[int], lowercase: bool):
    """(name, matrix, found, lines read) streamed from a vectors text file."""
    stream, name = _open(source)
    matrix = found = None
    file_dim = 0
    lines_read = 0
    with stream:
        for number, line in _lines(stream, name):
            parts = line.rstrip(" ").split(" ")
            if matrix is None:
                header_dim = _header(line)
                file_dim = header_dim if header_dim is not None else len(parts) - 1
                if dim is not None and file_dim != dim:
                    raise _wrong_dimension(name, file_dim, dim)
                if file_dim < 1:
                    raise DataError(f"Line {number} of {name} is not a token followed by numbers; give a GloVe, "
                                    "word2vec or fastText text file.")
                matrix = np.zeros((size, file_dim), dtype=np.float32)
                found = np.zeros(size, dtype=bool)
                if header_dim is not None:
                    continue
            values = _numbers(parts[-file_dim:]) if len(parts) > file_dim else None
            if values is None:
                raise DataError(f"Line {number} of {name} is not a token followed by {file_dim} numbers; give a GloVe, "
                                "word2vec or fastText text file.")
            lines_read += 1
            token = " ".join(parts[:-file_dim])
            token_id = wanted.get(token.lower() if lowercase else token)
            if token_id is not None and not found[token_id]:
                matrix[token_id] = values
                found[token_id] = True
    if lines_read == 0:
        raise DataError(f"{name} holds no word vectors; give a GloVe, word2vec or fastText text file.")
    return name, matrix, found, lines_read


def _numbers(parts: list[str]) -> np.ndarray | None:
    try:
        return np.asarray([float(part) for part in parts], dtype=np.float32)
    except ValueError:
        return None
