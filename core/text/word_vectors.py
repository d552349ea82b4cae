"""User-supplied pretrained word vectors (GloVe, word2vec or fastText text files) for the embedding layer.

Nothing here downloads or ships vectors: the user points at a file (or uploads its bytes). The file is streamed line
by line and only the vocabulary's tokens are kept, so a multi-gigabyte file costs time, not memory. Formats:

* GloVe: no header; each line ``token v1 v2 ... vd`` separated by spaces.
* word2vec text and fastText ``.vec``: the same, after a first line ``count dim``.
* Either, gzip-compressed (``.gz``): detected from the bytes.

Binary word2vec files are refused with a sentence asking for the text format. Vocabulary tokens the file lacks get
random vectors of the same scale as the found ones (they are learned when the embedding is fine-tuned); the
out-of-vocabulary token gets the mean of the found vectors; padding stays zero.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Union

import numpy as np

from core.errors import DataError
from core.records import Record
from core.text.vectorizing import OOV_ID, PAD_ID, Vocabulary

Source = Union[str, os.PathLike, bytes]


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

    @property
    def coverage(self) -> float:
        return self.found / self.vocabulary_tokens if self.vocabulary_tokens else 0.0

    def sentence(self) -> str:
        return (f"{self.source}: {self.found:,} of {self.vocabulary_tokens:,} vocabulary tokens ({self.coverage:.0%}) have "
                f"{self.dim}-dimensional vectors" + (" (file tokens lowercased)" if self.lowercased else "") + ".")



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


def load_word_vectors(source: Source, vocabulary: Vocabulary, dim: int, *, lowercase: bool = False,
                      seed: int = 0) -> WordVectors:
    """The embedding matrix for ``vocabulary`` from a vectors text file (path or bytes) of ``dim``-dimensional
    vectors, and its coverage. ``lowercase``: match file tokens lowercased (when preprocessing lowercases the texts;
    the first of several case variants in the file wins, which in frequency-sorted files is the most common one).

    Raises DataError with one sentence for a missing, binary, malformed or wrong-dimension file, and for one that
    covers none of the vocabulary.
    """
    if dim < 1:
        raise ValueError(f"dim must be positive, got {dim}")
    index = vocabulary.index()
    wanted = {token: token_id for token, token_id in index.items() if token_id not in (PAD_ID, OOV_ID)}
    matrix = np.zeros((vocabulary.size, dim), dtype=np.float32)
    found = np.zeros(vocabulary.size, dtype=bool)
    stream, name = _open(source)
    lines_read = 0
    with stream:
        first = True
        for number, line in _lines(stream, name):
            parts = line.rstrip(" ").split(" ")
            if first:
                first = False
                header_dim = _header(line)
                file_dim = header_dim if header_dim is not None else len(parts) - 1
                if file_dim != dim:
                    raise DataError(f"{name} holds {file_dim}-dimensional vectors but model.embedding_dim is {dim}: "
                                    f"set model.embedding_dim to {file_dim}.")
                if header_dim is not None:
                    continue
            values = _numbers(parts[-dim:]) if len(parts) > dim else None
            if values is None:
                raise DataError(f"Line {number} of {name} is not a token followed by {dim} numbers; give a GloVe, "
                                "word2vec or fastText text file.")
            lines_read += 1
            token = " ".join(parts[:-dim])
            token_id = wanted.get(token.lower() if lowercase else token)
            if token_id is not None and not found[token_id]:
                matrix[token_id] = values
                found[token_id] = True
    if lines_read == 0:
        raise DataError(f"{name} holds no word vectors; give a GloVe, word2vec or fastText text file.")
    count = int(found.sum())
    if count == 0:
        raise DataError(f"None of the vocabulary's {len(wanted):,} tokens is in {name}; check the file's language"
                        + (" or turn on lowercasing." if not lowercase else "."))
    known = matrix[found]
    rng = np.random.default_rng(seed)
    missing = np.flatnonzero(~found)
    missing = missing[(missing != PAD_ID) & (missing != OOV_ID)]
    matrix[missing] = rng.normal(0.0, float(known.std()) or 0.1, size=(len(missing), dim)).astype(np.float32)
    matrix[OOV_ID] = known.mean(axis=0)
    matrix[PAD_ID] = 0.0
    coverage = VectorCoverage(source=name, dim=dim, found=count, vocabulary_tokens=len(wanted), lines_read=lines_read,
                              lowercased=lowercase)
    return WordVectors(matrix, coverage)


def _numbers(parts: list[str]) -> np.ndarray | None:
    try:
        return np.asarray([float(part) for part in parts], dtype=np.float32)
    except ValueError:
        return None
