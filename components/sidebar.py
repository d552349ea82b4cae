"""The sidebar on every page: which data and which training job, kept current while a job runs."""

from __future__ import annotations

import streamlit as st

from components import job_status, state
from components.safe import plain


def _job_status() -> None:
    view = job_status.poll()
    if view is None:
        return
    if view.status == "queued":
        st.info(plain(f"Training queued (position {view.queue_position})."))
    elif view.active:
        epochs = len(view.history.get("loss", []))
        st.info(plain(f"Training… {epochs} epoch(s) done." if not view.warmup_message else view.warmup_message))
    elif view.status == "failed":
        st.error(plain("Last training failed; see the Train page."))
    else:
        st.success(plain(f"Last training {view.status}."))


def render_sidebar() -> None:
    with st.sidebar:
        source = state.source()
        st.caption(plain(f"Data: {source.name}"))
        job = state.job()
        active = job is not None and job.is_active()
        # Poll while a job runs, so its status is fresh on every page (and its messages are drained).
        st.fragment(run_every=1.0 if active else None)(_job_status)()
