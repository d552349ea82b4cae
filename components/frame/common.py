"""Page frame pieces: the error guard, the current dataset, navigation hints."""

from __future__ import annotations

import logging
from typing import Callable

import streamlit as st

from components.frame import cached, state
from components.frame.navigation import PAGE_PATHS, run_app
from components.frame.safe import plain
from core.data.builtin import source_title
from core.data.dataset import Dataset
from core.errors import UserError

log = logging.getLogger("lstm_text_lab")

PAGES = PAGE_PATHS

# Streamlit's wide layout keeps 5rem on each side of the page and 6rem above it: at 1024 × 768 (a projector) with
# the sidebar open that left 564 px of page and pushed the first widgets below the fold. Up to 1400 px the page
# keeps 1.5rem a side (the toolbar's height above it), so grids of settings get a third column.
PAGE_STYLE = """<style>
@media (max-width: 1400px) {
  [data-testid="stMainBlockContainer"] { padding-left: 1.5rem; padding-right: 1.5rem; padding-top: 4rem; }
}
</style>"""


# A metric tile's narrowest width: its label ("Majority-class accuracy", "Vocabulary (training split)") and help
# icon stay whole. Five tiles in st.columns at 1024 px were 78 px each and cut the label to "Majority-cl…".
METRIC_MIN_WIDTH = 180


def metric_columns(count: int, *, min_width: int = METRIC_MIN_WIDTH) -> list:
    """``count`` cells for metric tiles, used like ``st.columns(count)``; the row wraps onto another line where a
    tile would be narrower than ``min_width`` px (less for short labels)."""
    grid = st.grid(count, min_column_width=min_width, gap="small")
    return [grid.container() for _ in range(count)]


def _routed_through_app() -> bool:
    """Run this request through ``app.py`` when Streamlit ran a page on its own; True when that happened.

    Until some session of the server has called ``st.navigation``, Streamlit treats a folder named ``pages/`` as
    the old automatic multipage app: a first request for ``/train`` (a reload or a bookmark after the server
    restarted; also every AppTest run) executes ``pages/train.py`` alone, without ``app.py``'s page config, state,
    sidebar or titled navigation. The flag is Streamlit's own switch for that mode (``st.navigation`` clears it the
    same way). :func:`run_app` then runs this same page inside its frame, in this same script run, so nothing the
    user just clicked is lost.

    The flag is server-wide: two sessions opening inner pages at the same moment on a fresh server race on it, and
    the loser would run its page without the frame. A session whose state was never initialised is therefore
    routed too (``run_app`` initialises it), whatever the flag says.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode
        PagesManager = None
    legacy = PagesManager is not None and getattr(PagesManager, "uses_pages_directory", False)
    if not legacy and state.initialised():
        return False
    if legacy:
        PagesManager.uses_pages_directory = False
    run_app()
    return True


def run_page(title: str, body: Callable[[], None], *, caption: str = "") -> None:
    """Title, one-shot notice, then the page body; a user error shows as one sentence, never a traceback."""
    if _routed_through_app():
        return
    st.html(PAGE_STYLE)  # style only: Streamlit puts it out of the page's flow
    st.title(title)
    if caption:
        st.caption(caption)
    message = state.notice()
    if message:
        st.success(plain(message))
    try:
        body()
    except UserError as exc:
        st.error(plain(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not show Streamlit's exception box
        log.exception("page %s failed", title)
        st.error(plain(f"Something went wrong on this page ({type(exc).__name__}). Your settings are kept; "
                       "try again or reload the page."))


def current_dataset(*, stop: bool = True) -> tuple[Dataset, str] | tuple[None, None]:
    """The dataset the config's columns select from the current source, and its cache key."""
    source = state.source()
    config = state.config()
    try:
        data = cached.dataset(source, config.data.text_column, config.data.label_column)
    except UserError as exc:
        if not stop:
            return None, None
        st.error(plain(exc))
        st.page_link(PAGES["data"], label="Fix the data on the Data page", icon=":material/undo:")
        st.stop()
    return data, cached.dataset_key(source, data)


def next_step(page: str, label: str) -> None:
    st.divider()
    st.page_link(PAGES[page], label=label, icon=":material/arrow_forward:")


def dataset_caption(data: Dataset) -> None:
    st.caption(plain(f"{source_title(data.source_name)} — text column {data.text_column!r}, label column "
                     f"{data.label_column!r}, {len(data.texts):,} rows, {len(data.class_names)} classes"))
