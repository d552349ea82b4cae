"""Corpora the benches share: the built-in dataset, and a generated long-text corpus with a realistic length spread.

No package ships a labelled long-document corpus offline, so :func:`long_texts` generates one (seeded): document
lengths follow a log-normal distribution (median ~110 tokens, 95th percentile ~380, a long tail beyond), as word
counts of real documents do; words come from a Zipf-distributed shared vocabulary, and each class adds its own topic
words at a low rate (some shared between classes) plus 8% label noise, so the task is learnable but not trivial and
longer documents carry more evidence than short ones.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SYLLABLES = ["ab", "ca", "dor", "en", "fri", "gal", "hu", "in", "jo", "ker", "lin", "mo", "nat", "or", "pla",
             "qui", "ros", "sta", "tur", "un", "ver", "wen", "xi", "yo", "zan"]
CLASSES = ("policy", "markets", "science", "sport")
SHARED_VOCABULARY = 8000
TOPIC_WORDS = 40
TOPIC_RATE = 0.05
LABEL_NOISE = 0.08


def _words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    words = []
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def long_texts(rows: int = 2000, seed: int = 0, median: float = 110.0, sigma: float = 0.75) -> list[tuple[str, str]]:
    """(text, label) rows; lengths log-normal (median ``median`` tokens, 95th percentile median·e^(1.645σ))."""
    rng = random.Random(seed)
    draws = np.random.default_rng(seed)
    taken: set[str] = set()
    shared = _words(rng, SHARED_VOCABULARY, taken)
    topics = {label: _words(rng, TOPIC_WORDS, taken) for label in CLASSES}
    for i, label in enumerate(CLASSES):  # neighbouring classes share a quarter of their topic words
        neighbour = CLASSES[(i + 1) % len(CLASSES)]
        topics[label][: TOPIC_WORDS // 4] = topics[neighbour][-TOPIC_WORDS // 4:]
    weights = 1.0 / np.arange(1, SHARED_VOCABULARY + 1) ** 1.05
    weights /= weights.sum()
    shares = [0.4, 0.3, 0.2, 0.1]  # imbalanced, like most real label sets
    labels = draws.choice(len(CLASSES), size=rows, p=shares)
    lengths = np.maximum(3, draws.lognormal(np.log(median), sigma, size=rows).round().astype(int))
    result = []
    for label, length in zip(labels.tolist(), lengths.tolist()):
        ranks = draws.choice(SHARED_VOCABULARY, size=length, p=weights)
        topic = topics[CLASSES[label]]
        tokens = [rng.choice(topic) if rng.random() < TOPIC_RATE else shared[rank] for rank in ranks.tolist()]
        shown = rng.randrange(len(CLASSES)) if rng.random() < LABEL_NOISE else label
        result.append((" ".join(tokens), CLASSES[shown]))
    return result


def dataset(name: str):
    """A core Dataset by name: "builtin" (the default built-in set) or "long" (the generated long-text corpus)."""
    from core.data.dataset import build_dataset

    if name == "builtin":
        from core.data.builtin import load_builtin

        return build_dataset(load_builtin())
    if name == "long":
        import csv
        import io

        from core.data.reading import read_csv_bytes

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(("text", "label"))
        writer.writerows(long_texts())
        return build_dataset(read_csv_bytes(buffer.getvalue().encode("utf-8"), source_name="generated-long-texts.csv"))
    raise ValueError(f"unknown corpus {name!r}; known: builtin, long")
