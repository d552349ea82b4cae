"""The sidebar on every page: which data, this lab session's training, the server's training queue, and a link
that shares the settings; kept current while any job runs."""

from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from components.frame import job_status, state
from components.frame.safe import plain
from core.data.builtin import source_title
from core.training.jobs import QueueEntry

OWN_POLL_SECONDS = 1.0
QUEUE_POLL_SECONDS = 2.0
MAX_QUEUE_LINES = 4
_WATCHING = "lab_sidebar_watching"


def _own_job() -> None:
    view = job_status.poll()
    if view is None:
        return
    if view.status == "queued":
        st.info(plain(f"Your training is queued: position {view.queue_position}."))
    elif view.active:
        st.info(plain(f"Your training: {own_job_words(view, job_status.trains_folds())}."))
    elif view.status == "failed":
        st.error(plain("Your last training failed; see the Train page."))
    else:
        st.success(plain(f"Your last training {view.status}."))


def own_job_words(view, cross_validation: bool = True) -> str:
    """This session's running job in a few words: "fold 2 of 5, epoch 1 of 2" while it trains (as the Train page
    says it), else its phase and the epochs done."""
    event = view.last_event or {}
    stage = job_status.stage_words(view.fold, view.folds, event.get("epoch"), event.get("epochs"),
                                   cross_validation=cross_validation)
    if view.phase == "train" and event.get("epochs"):
        return stage
    epochs = len(view.history.get("loss", []))
    where = f" ({job_status.stage_words(view.fold, view.folds, None, None, cross_validation=cross_validation)})" \
        if view.folds else ""
    return job_status.phase_words(view.phase).lower() + where + ("" if not epochs else f", {epochs} epoch(s) done")


def queue_line(entry: QueueEntry, *, mine: bool) -> str:
    """One line of the queue, e.g. "Running: faa · BiLSTM 64 · fold 2 of 5, epoch 3 of 15 (yours)", in the same
    words as the Train page's progress."""
    label = entry.label or f"job {entry.job_id}"
    if entry.queue_position is not None:
        text = f"Waiting #{entry.queue_position}: {label}"
    elif entry.phase == "train" and entry.epoch and entry.epochs:
        stage = job_status.stage_words(entry.fold, entry.folds, entry.epoch, entry.epochs,
                                       cross_validation=entry.cross_validation)
        text = f"Running: {label} · {stage}"
    else:
        text = f"Running: {label} · {job_status.phase_words(entry.phase).lower()}"
    return text + (" (yours)" if mine else "")


def shown_entries(entries: list[QueueEntry], mine: set[int], *,
                  limit: int = MAX_QUEUE_LINES) -> tuple[list[QueueEntry], int]:
    """The queue lines worth a narrow sidebar: the first ``limit`` jobs plus any of this session's; and how many
    more wait unshown (a study may queue dozens of trials)."""
    shown = [entry for index, entry in enumerate(entries) if index < limit or entry.job_id in mine]
    return shown, len(entries) - len(shown)


def _queue() -> None:
    entries = job_status.queue()
    if not entries:
        return
    mine = {entry.job_id for entry in entries if job_status.is_mine(entry)}
    shown, hidden = shown_entries(entries, mine)
    lines = [f"- {plain(queue_line(entry, mine=entry.job_id in mine))}" for entry in shown]
    if hidden:
        lines.append(f"- … and {hidden} more waiting")
    st.markdown("**Training on this server**\n" + "\n".join(lines))
    st.caption("One training runs at a time; the others wait their turn.")


def _status() -> None:
    _own_job()
    _queue()
    # Polling only for other sessions' jobs: once the queue is empty, rerun the app once so polling stops.
    if st.session_state.get(_WATCHING) and not job_status.is_active() and not job_status.queue():
        st.session_state[_WATCHING] = False
        st.rerun()


def _share() -> None:
    with st.expander("Share these settings"):
        st.code(share_link(st.context.url or "", state.share_query()), language=None, wrap_lines=True)
        st.caption("Opens a fresh session with these settings and dataset, even after a server restart. The address "
                   "bar's link also re-attaches to your training: keep that one to yourself. Uploaded files never "
                   "travel in a link.")


def share_link(page_url: str, query: str) -> str:
    """The page's address with only the shareable query (no lab id); relative when the address is unknown."""
    parts = urlsplit(page_url)
    path = parts.path or "/"
    if parts.netloc:
        return urlunsplit((parts.scheme, parts.netloc, path, query, ""))
    return f"?{query}" if query else "(the app's own address: these are the default settings)"


def render_sidebar() -> Callable[[], None]:
    """Draw the sidebar; returns the function that names the data again once the page has run (an upload on the
    Data page changes it after the sidebar was drawn, and the name must not wait for the next rerun)."""
    with st.sidebar:
        slot = st.empty()
        _data_line(slot)
        problems = state.link_problems()
        if problems:
            st.warning("The link could not set everything:\n"
                       + "\n".join(f"- {plain(problem)}" for problem in problems))
        own = job_status.is_active()
        others = bool(job_status.queue())
        st.session_state[_WATCHING] = others and not own
        interval = OWN_POLL_SECONDS if own else (QUEUE_POLL_SECONDS if others else None)
        # Poll while any job runs, so its status is fresh on every page (and its messages are drained).
        st.fragment(run_every=interval)(_status)()
        _share()
    return lambda: _data_line(slot)


def _data_line(slot) -> None:
    """The data in use (and, for an upload, where it lives), in ``slot``: drawn again replaces what it said."""
    source = state.source()
    with slot.container():
        st.caption(plain(f"Data: {source_title(source.source_id) if source.kind == 'builtin' else source.name}"))
        if source.kind == "upload":
            st.caption("Uploaded files are kept in the server's memory only: a reload keeps yours, a server restart "
                       "does not.")
