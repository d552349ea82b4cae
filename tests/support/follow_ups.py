"""Follow-ups for training jobs (core.training.jobs.JobSpec.after_saving) that tests can watch: top-level
functions, so a spawned worker can unpickle them (it has the parent's sys.path, tests/ included)."""

from __future__ import annotations

import time
from pathlib import Path

STARTED, ENDED = "follow-up-started", "follow-up-ended"


def wait_for_stop(result, should_stop) -> None:
    """Mark the run folder, then wait (up to 5 minutes) until asked to stop, checking like a measurement does."""
    folder = Path(result.run_dir)
    (folder / STARTED).write_text(str(time.time()))
    deadline = time.time() + 300
    while time.time() < deadline and not should_stop():
        time.sleep(0.1)
    (folder / ENDED).write_text(str(time.time()))
