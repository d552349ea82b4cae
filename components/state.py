"""The session-state keys this app owns, and the only code that writes them.

Widget keys are never used as cross-page state (Streamlit deletes a widget's key when the widget is not rendered
on the next page). The experiment config lives under CONFIG and widgets are rebuilt from it: each widget key carries
a version that is bumped whenever the config changes from outside the widget (loaded file, recommended settings),
so widgets always show the current config.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import streamlit as st

from core.config import ExperimentConfig
from core.datasets import DEFAULT_DATASET

CONFIG = "lab_config"
SOURCE = "lab_source"
JOB = "lab_job"
SELECTED_RUN = "lab_selected_run"
RUN_PICKER_VERSION = "lab_run_picker_version"
WIDGET_VERSION = "lab_widget_version"
FIELD_ERRORS = "lab_field_errors"
NOTICE = "lab_notice"


@dataclass(frozen=True)
class DataSource:
    """Where the data comes from: a built-in dataset key, or uploaded bytes identified by their hash."""

    kind: str  # "builtin" | "upload"
    name: str  # built-in key or the uploaded file's name
    raw: Optional[bytes] = None

    @property
    def source_id(self) -> str:
        if self.kind == "builtin":
            return f"builtin:{self.name}"
        return f"upload:{hashlib.sha256(self.raw or b'').hexdigest()[:16]}"


def init() -> None:
    """Initialise once per session: the recommended config on the built-in dataset."""
    st.session_state.setdefault(CONFIG, ExperimentConfig())
    st.session_state.setdefault(SOURCE, DataSource("builtin", DEFAULT_DATASET))
    st.session_state.setdefault(WIDGET_VERSION, 0)
    st.session_state.setdefault(FIELD_ERRORS, {})


def config() -> ExperimentConfig:
    return st.session_state[CONFIG]


def set_config(new: ExperimentConfig, *, refresh_widgets: bool = True) -> None:
    """Replace the config; ``refresh_widgets`` makes every config widget show the new values."""
    st.session_state[CONFIG] = new
    if refresh_widgets:
        st.session_state[WIDGET_VERSION] += 1
        st.session_state[FIELD_ERRORS] = {}


def update_field(section: str, name: str, value: Any) -> ExperimentConfig:
    """Set one field (``section`` "" for top-level fields); raises ConfigError for impossible values."""
    current = config()
    if section:
        changed = dataclasses.replace(current, **{section: dataclasses.replace(getattr(current, section), **{name: value})})
    else:
        changed = dataclasses.replace(current, **{name: value})
    st.session_state[CONFIG] = changed
    return changed


def widget_version() -> int:
    return st.session_state[WIDGET_VERSION]


def field_errors() -> dict[str, str]:
    return st.session_state[FIELD_ERRORS]


def source() -> DataSource:
    return st.session_state[SOURCE]


def set_source(new: DataSource) -> None:
    st.session_state[SOURCE] = new


def job():
    return st.session_state.get(JOB)


def set_job(new) -> None:
    st.session_state[JOB] = new


def selected_run() -> Optional[str]:
    return st.session_state.get(SELECTED_RUN)


def select_run(run_dir: Optional[str], *, from_picker: bool = False) -> None:
    """Choose the run the Evaluate page shows; a choice made elsewhere (a run just finished, "Open in Evaluate")
    also resets the run picker so it shows that run."""
    if not from_picker and st.session_state.get(SELECTED_RUN) != run_dir:
        st.session_state[RUN_PICKER_VERSION] = st.session_state.get(RUN_PICKER_VERSION, 0) + 1
    st.session_state[SELECTED_RUN] = run_dir


def run_picker_key() -> str:
    return f"evaluate_run_{st.session_state.get(RUN_PICKER_VERSION, 0)}"


def notice(message: Optional[str] = None) -> Optional[str]:
    """A one-shot message carried to the next page (e.g. 'config loaded'); reading it clears it."""
    if message is not None:
        st.session_state[NOTICE] = message
        return None
    return st.session_state.pop(NOTICE, None)
