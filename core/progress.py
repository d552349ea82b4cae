"""Progress of a run as events: what the CLI prints, the training job forwards and the dashboard draws.

Light on purpose (no Keras): the dashboard process reads these names while a worker process trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

from core.records import Record


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


# The phases of a run, in order; "phase" events announce each one (training itself sends start/batch/epoch/end).
PREPARING, WARMUP, BUILDING, TRAINING, EVALUATING, SAVING = (
    "preparing", "warmup", "building", "train", "evaluating", "saving"
)
PHASES = (PREPARING, WARMUP, BUILDING, TRAINING, EVALUATING, SAVING)


@dataclass(frozen=True)
class ProgressEvent(Record):
    kind: str  # "phase" | "start" | "batch" | "epoch" | "end"
    epoch: int  # 1-based epoch in progress (or just finished)
    epochs: int  # planned epochs
    batch: int  # batches done in this epoch
    batches: int  # batches per epoch
    logs: dict = field(default_factory=dict)  # loss, accuracy, val_loss, val_accuracy, val_macro_f1, learning_rate
    elapsed_s: float = 0.0
    fold: Optional[int] = None  # 1-based fold during k-fold
    folds: Optional[int] = None
    phase: str = TRAINING  # one of PHASES
    best_epoch: Optional[int] = None
    epochs_without_improvement: int = 0
    patience: Optional[int] = None
    message: str = ""
    epoch_seconds: Optional[float] = None  # on "epoch" events: how long that epoch took (validation included)
    partial: bool = False  # on "epoch" events: the epoch was cut short by Stop (shown, never scored as best)
    scored_rows: int = 0  # on "start": validation + test rows still to score after training (for the time left)


def phase_event(phase: str, message: str, *, fold: Optional[int] = None, folds: Optional[int] = None) -> ProgressEvent:
    """An announcement that a run entered ``phase`` (so a progress view never sits silent)."""
    return ProgressEvent(kind="phase", epoch=0, epochs=0, batch=0, batches=0, phase=phase, message=message,
                         fold=fold, folds=folds)


Listener = Callable[[ProgressEvent], None]


