"""Where a study stands: its slots (one per planned trial; a retry shares its original's slot) and the progress
messages a worker emits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from core.evidence.study._attrs import _RETRY_OF
from core.evidence.study._plan import KIND_SWEEP
from core.evidence.study._storage import StudyHandle, _optuna
from core.records import Record


@dataclass(frozen=True)
class StudyProgress(Record):
    """One progress message: "trial_started", "epoch", "trial_finished", "waiting", "retry" or "finished"."""

    kind: str
    study: str
    trial: Optional[int] = None
    label: str = ""
    epoch: Optional[int] = None
    value: Optional[float] = None
    state: Optional[str] = None
    done: int = 0
    planned: int = 0
    message: str = ""


@dataclass(frozen=True)
class _Slots:
    waiting: int
    running: tuple
    can_ask: bool
    done: int
    planned: int


def _slot(trial) -> int:
    return int(trial.system_attrs.get(_RETRY_OF, trial.number))


def _slots(handle: StudyHandle, trials: Optional[list] = None) -> _Slots:
    """Budget accounting. A slot is one planned trial; its retries share it (``failed_trial``)."""
    optuna = _optuna()
    state = optuna.trial.TrialState
    trials = handle.trials() if trials is None else trials
    latest: dict[int, Any] = {}
    for trial in trials:
        slot = _slot(trial)
        if slot not in latest or trial.number > latest[slot].number:
            latest[slot] = trial
    done = sum(t.state.is_finished() for t in latest.values())
    planned = handle.planned()
    fresh = sum(_RETRY_OF not in t.system_attrs for t in trials)
    can_ask = handle.kind == KIND_SWEEP and fresh < planned
    return _Slots(
        waiting=sum(t.state == state.WAITING for t in trials),
        running=tuple(t for t in trials if t.state == state.RUNNING),
        can_ask=can_ask, done=done, planned=planned,
    )
