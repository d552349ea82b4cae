"""Small generated data and tiny configs, shared by every test folder (no downloads; seconds to train)."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Optional

from core.config import ExperimentConfig, apply_overrides
from core.data.dataset import Dataset, build_dataset
from core.data.reading import read_csv_bytes

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


class FixedJob:
    """What the scheduler, the Train page and the coach ask of a job, holding a fixed view (no process)."""

    def __init__(self, view, config: Optional[ExperimentConfig] = None) -> None:
        # What a real job's spec holds that the pages read (the Train page's coach reads the config).
        self.job_id, self._view = 10**9, view
        self.spec = SimpleNamespace(owner="", label="", config=config or ExperimentConfig(), dataset=None, tags=None)
        self.stopped = False

    def poll(self) -> None:
        pass

    def view(self, queue_position=None):
        return self._view

    def is_active(self) -> bool:
        return self._view.active

    def is_queued(self) -> bool:
        return False

    def request_stop(self) -> None:
        self.stopped = True
