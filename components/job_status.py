"""Polling the session's training job from any page, and reacting once when it ends."""

from __future__ import annotations

from typing import Optional

import streamlit as st

from components import cached, state
from core.jobs import JobView

_LAST_STATUS = "lab_job_last_status"


def poll() -> Optional[JobView]:
    """The job's current view. The first poll that sees the job end selects its run and reruns the whole app,
    so whatever page is open (Evaluate included) redraws with the result."""
    job = state.job()
    if job is None:
        return None
    view = cached.scheduler().view(job)
    previous = st.session_state.get(_LAST_STATUS)
    st.session_state[_LAST_STATUS] = view.status
    if previous in ("queued", "starting", "running") and not view.active:
        if view.run_dir:
            state.select_run(view.run_dir)
        st.rerun()
    return view


def mark_started(status: str) -> None:
    st.session_state[_LAST_STATUS] = status
