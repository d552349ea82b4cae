"""This lab session's training job from any page: finding it again after a reload, polling it, reacting once when
it ends, and the server-wide queue every session can see."""

from __future__ import annotations

from typing import Optional

import streamlit as st

from components.frame import cached, state
from core.training.jobs import ACTIVE, JobView, QueueEntry, TrainingJob

_LAST_STATUS = "lab_job_last_status"

PHASE_WORDS = {
    "preparing": "Preparing",
    "warmup": "Warm-up",
    "building": "Building the model",
    "train": "Training",
    "evaluating": "Evaluating",
    "saving": "Saving",
}


def job() -> Optional[TrainingJob]:
    """The newest job of this lab session: the one this tab started, or, after a reload (or in a second tab on the
    same URL), the one the lab session's owner started from any tab."""
    current = state.job()
    latest = cached.scheduler().latest_for(state.owner())
    if latest is not None and (current is None or latest.job_id > current.job_id):
        state.set_job(latest)
        # Re-attached to a job still running: its end must trigger the same one-time rerun as in the starting tab.
        st.session_state[_LAST_STATUS] = latest.view().status
        return latest
    return current


def is_active() -> bool:
    current = job()
    return current is not None and current.is_active()


def poll() -> Optional[JobView]:
    """The job's current view. The first poll that sees the job end selects its run and reruns the whole app,
    so whatever page is open (Evaluate included) redraws with the result."""
    current = job()
    if current is None:
        return None
    view = cached.scheduler().view(current)
    previous = st.session_state.get(_LAST_STATUS)
    st.session_state[_LAST_STATUS] = view.status
    if previous in ACTIVE and not view.active:
        if view.run_dir:
            state.select_run(view.run_dir)
        st.rerun()
    return view


def mark_started(status: str) -> None:
    st.session_state[_LAST_STATUS] = status


def queue() -> list[QueueEntry]:
    """Every running and waiting job on this server, in order."""
    return cached.scheduler().overview()


def is_mine(entry: QueueEntry) -> bool:
    return entry.owner == state.owner()


def trains_folds(current: Optional[TrainingJob] = None) -> bool:
    """Whether the job's parts are k-fold's folds (else models trained on one split that differ by seed; both
    arrive as "fold n of m" events). The session's own job when none is given."""
    current = current if current is not None else job()
    config = getattr(getattr(current, "spec", None), "config", None)
    return config is None or config.split.k_folds >= 2


def phase_words(phase: str) -> str:
    return PHASE_WORDS.get(phase, phase.capitalize())


def stage_words(fold: Optional[int], folds: Optional[int], epoch: Optional[int], epochs: Optional[int], *,
                cross_validation: bool = True) -> str:
    """Where a run stands, the same on every page: "fold 2 of 5, epoch 1 of 2"; "model 2 of 3, ..." for an average
    of models trained on one split (no folds); "epoch 3 of 15" for one model. Empty before the first epoch."""
    parts = []
    if folds:
        parts.append(f"{'fold' if cross_validation else 'model'} {fold or 1} of {folds}")
    if epoch and epochs:
        parts.append(f"epoch {epoch} of {epochs}")
    return ", ".join(parts)
