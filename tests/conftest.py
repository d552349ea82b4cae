"""Shared fixtures: small generated datasets and tiny experiment configs (no downloads, seconds to train)."""

from __future__ import annotations

import os
import random

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.config import ExperimentConfig, apply_overrides  # noqa: E402
from core.data.dataset import build_dataset, Dataset  # noqa: E402
from core.data.reading import read_csv_bytes  # noqa: E402

TOPIC_WORDS = {
    "sports": ["match", "goal", "team", "coach", "league", "score", "player", "season"],
    "tech": ["laptop", "software", "server", "network", "code", "chip", "battery", "update"],
    "food": ["recipe", "bread", "cheese", "soup", "spicy", "oven", "dinner", "flavour"],
    "rare": ["volcano", "lava", "eruption", "magma"],
}
FILLER = ["the", "a", "was", "is", "not", "very", "today", "with", "and", "of", "new", "old"]


def generated_texts(counts: dict[str, int], seed: int = 0, length: tuple[int, int] = (4, 14)) -> list[tuple[str, str]]:
    """(text, label) rows whose words mostly come from the label's topic, plus shared filler."""
    rng = random.Random(seed)
    rows = []
    for label, count in counts.items():
        words = TOPIC_WORDS[label]
        for _ in range(count):
            n = rng.randint(*length)
            tokens = [rng.choice(words) if rng.random() < 0.5 else rng.choice(FILLER) for _ in range(n)]
            rows.append((" ".join(tokens), label))
    rng.shuffle(rows)
    return rows


def csv_bytes(rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def make_dataset(counts: dict[str, int], seed: int = 0) -> Dataset:
    return build_dataset(read_csv_bytes(csv_bytes(generated_texts(counts, seed)), source_name="generated.csv"))


@pytest.fixture(autouse=True)
def _restore_main_module():
    """AppTest runs a script as ``__main__`` and leaves it there; a training job spawned later would re-run that
    script in its child. Every test starts and ends with the interpreter's own ``__main__``."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


TINY_MODEL = [
    "model.embedding_dim=16",
    "model.lstm_units=8",
    "model.attention_units=8",
    "training.batch_size=16",
    "training.epochs=2",
    "training.progress_every_batches=1",
    "vectorizing.max_length=12",
    "resampling.embedding_warmup_epochs=1",
]


def tiny_config(*overrides: str) -> ExperimentConfig:
    return apply_overrides(ExperimentConfig(), TINY_MODEL + list(overrides))


@pytest.fixture(scope="session")
def imbalanced_dataset() -> Dataset:
    """Three classes, 60 / 20 / 2 rows: the 2-row class exercises every small-class path."""
    return make_dataset({"sports": 60, "tech": 20, "rare": 2}, seed=1)


@pytest.fixture(scope="session")
def balanced_dataset() -> Dataset:
    return make_dataset({"sports": 40, "tech": 40, "food": 40}, seed=2)
