"""Shared fixtures and the test tiers (tests/support/ holds the shared fakes, paths and import graph)."""

from __future__ import annotations

import json
import multiprocessing.process
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.data.dataset import Dataset  # noqa: E402
from support.fakes import make_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_main_module():
    """AppTest runs a script as ``__main__`` and leaves it there; a training job spawned later would re-run that
    script in its child. Every test starts and ends with the interpreter's own ``__main__``."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


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
    if not marked:  # a page that trains warms a worker process ahead of Start: not in the fast loop
        monkeypatch.setenv("LSTM_TEXT_LAB_WARM_WORKER", "0")
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
