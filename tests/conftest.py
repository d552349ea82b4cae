"""Shared fixtures: small generated datasets and tiny experiment configs (no downloads, seconds to train)."""

from __future__ import annotations

import json
import multiprocessing.process
import os
import random
import sys
from pathlib import Path

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


# ------------------------------------------------------------------------------------------------ test tiers
# The fast loop is `pytest -m "not slow and not browser"`. A test that imports TensorFlow, trains a model or starts
# a process belongs to a slower tier: tests/system/ (marked slow by folder), tests/browser/ (marked browser), or an
# explicit @pytest.mark.slow. The guard below fails an unmarked test that does any of these, so the fast loop
# stays fast as tests are added. With LSTM_TEXT_LAB_TIER_REPORT=<file> it records instead of failing.

TIER_FOLDERS = {"system": "slow", "browser": "browser"}
_SLOW_WORK: dict[str, set] = {}


def _watch(event: str, args: tuple) -> None:
    found = _SLOW_WORK.get("current")
    if found is None:
        return
    if event == "import" and args[0] in ("tensorflow", "keras"):
        found.add(f"imports {args[0]}")
    elif event == "subprocess.Popen":
        command = " ".join(str(part) for part in (args[1] or ()))
        if " -m core" in command or "streamlit run" in command or "bin/postgres" in command or "pg_ctl" in command:
            found.add("runs " + command.split()[0].rsplit("/", 1)[-1] + (" -m core" if " -m core" in command else ""))


sys.addaudithook(_watch)


def pytest_collection_modifyitems(config, items):
    """Tiers by folder: tests/system/ is slow, tests/browser/ is browser (tests/unit/ and tests/app/ are fast)."""
    tests_root = Path(__file__).parent
    for item in items:
        marker = TIER_FOLDERS.get(Path(str(item.fspath)).relative_to(tests_root).parts[0])
        if marker:
            item.add_marker(marker)


@pytest.fixture(autouse=True)
def _tier_guard(request, monkeypatch):
    marked = any(request.node.get_closest_marker(name) for name in ("slow", "browser"))
    found: set = set()
    start = multiprocessing.process.BaseProcess.start

    def counted_start(self):
        found.add("starts a process")
        return start(self)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", counted_start)
    keras = sys.modules.get("keras")
    if keras is not None:
        fit = keras.Model.fit

        def counted_fit(self, *args, **kwargs):
            found.add("trains a model")
            return fit(self, *args, **kwargs)

        monkeypatch.setattr(keras.Model, "fit", counted_fit)
    _SLOW_WORK["current"] = found
    yield
    _SLOW_WORK["current"] = None
    report = os.environ.get("LSTM_TEXT_LAB_TIER_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"test": request.node.nodeid, "marked": marked, "found": sorted(found)}) + "\n")
    elif found and not marked:
        pytest.fail(f"This test {' and '.join(sorted(found))}: move it to tests/system/ or mark it slow, so that "
                    "the fast loop (-m 'not slow and not browser') stays fast.", pytrace=False)
