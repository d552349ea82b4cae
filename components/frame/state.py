"""The session-state keys this app owns, and the only code that writes them.

Widget keys are never used as cross-page state (Streamlit deletes a widget's key when the widget is not rendered
on the next page). The experiment config lives under CONFIG and widgets are rebuilt from it: each widget key carries
a version that is bumped whenever the config changes from outside the widget (loaded file, recommended settings),
so widgets always show the current config.

A *lab session* outlives the browser tab: its id travels in the URL (``?lab=…``) and a server-wide
:class:`components.services.LabStore` (``cached.lab_store()``) keeps its config, data source and job owner, so a
reloaded tab (or a second tab on the same URL) picks up the settings, the data and the running training. The
shareable part (the settings that differ from the defaults, and a built-in dataset's key) is in the URL too, like
TensorFlow Playground's links: it survives even a server restart. An uploaded file lives only in the server's memory
and does not.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from collections import Counter
from typing import Any, Optional

import streamlit as st

from components.frame import cached
from components.services import DataSource, LabRecord
from core.config import DataConfig, ExperimentConfig, apply_overrides
from core.data.builtin import BUILTIN_DATASETS, DEFAULT_DATASET
from core.errors import ConfigError

CONFIG = "lab_config"
SOURCE = "lab_source"
JOB = "lab_job"
LAB_ID = "lab_id"
OWNER = "lab_owner"
LINK_PROBLEMS = "lab_link_problems"
START_REFUSED = "lab_start_refused"
SELECTED_RUN = "lab_selected_run"
RUN_PICKER_VERSION = "lab_run_picker_version"
WIDGET_VERSION = "lab_widget_version"
FIELD_ERRORS = "lab_field_errors"
NOTICE = "lab_notice"
CLEANING = "lab_cleaning"  # the Data page's label-noise review: its results and decisions, the retrain loop
VECTOR_SOURCE = "lab_vector_source"  # the Model page's word-vectors choice while "my own file" has no path yet

LAB_PARAM = "lab"
DATASET_PARAM = "dataset"
UPLOADED = "upload"  # the dataset parameter's value for "an uploaded file" (which no link can carry)
_LAB_ID = re.compile(r"[A-Za-z0-9_-]{8,32}")
_MAX_LINK_PARAMS = 60
_MAX_LINK_VALUE = 100


# ---------------------------------------------------------------------------------- settings <-> link parameters


def _flat(config: ExperimentConfig) -> dict[str, Any]:
    flat = {}
    for name, value in config.to_dict().items():
        if isinstance(value, dict):
            flat.update({f"{name}.{field}": inner for field, inner in value.items()})
        else:
            flat[name] = value
    return flat


def _link_names() -> dict[str, str]:
    """Dotted setting → its short name in a link: the bare field name where it is unique (``epochs``), else the
    dotted name. The data section is left out: built-in datasets have only their two columns, and an uploaded
    file's column names mean nothing without the file."""
    field_of = {s: s.rsplit(".", 1)[-1] for s in _flat(ExperimentConfig()) if not s.startswith("data.")}
    counts = Counter(field_of.values())
    reserved = {LAB_PARAM, DATASET_PARAM, "embed", "embed_options"}  # ours, and Streamlit's own
    return {s: field if counts[field] == 1 and field not in reserved else s for s, field in field_of.items()}


LINK_NAMES: dict[str, str] = _link_names()
SETTING_FOR_LINK: dict[str, str] = {short: setting for setting, short in LINK_NAMES.items()}
_DEFAULTS = _flat(ExperimentConfig())


def _link_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "none"
    return json.dumps(value)  # true/false, ints, and floats in their shortest exact form (0.002, 1e-05)


def settings_params(config: ExperimentConfig, source: DataSource) -> dict[str, str]:
    """The shareable part of a lab session as link parameters: each setting that differs from the defaults, and
    the dataset (a built-in key; ``upload`` for an uploaded file, which no link can carry)."""
    params = {}
    if source.kind == "upload":
        params[DATASET_PARAM] = UPLOADED
    elif source.name != DEFAULT_DATASET:
        params[DATASET_PARAM] = source.name
    for setting, value in _flat(config).items():
        if setting in LINK_NAMES and value != _DEFAULTS[setting]:
            params[LINK_NAMES[setting]] = _link_value(value)
    return params


def settings_from_params(params: dict[str, str]) -> tuple[ExperimentConfig, DataSource, list[str]]:
    """The config and data source a link describes, and one short note per part that could not be used."""
    problems: list[str] = []
    source = DataSource("builtin", DEFAULT_DATASET)
    dataset = params.get(DATASET_PARAM)
    if dataset == UPLOADED:
        problems.append("this link was made with an uploaded file, which links cannot carry: upload it again on the "
                        "Data page (the built-in dataset is in use meanwhile)")
    elif dataset in BUILTIN_DATASETS:
        source = DataSource("builtin", dataset)
    elif dataset is not None:
        problems.append(f"there is no built-in dataset {dataset[:_MAX_LINK_VALUE]!r}")
    assignments = []
    for key, value in list(params.items())[:_MAX_LINK_PARAMS]:
        if key in (LAB_PARAM, DATASET_PARAM):
            continue
        setting = SETTING_FOR_LINK.get(key)
        if setting is None:
            problems.append(f"{key[:40]!r} is not a setting")
        elif len(value) > _MAX_LINK_VALUE:
            problems.append(f"the value of {key!r} is too long")
        else:
            assignments.append(f"{setting}={value}")
    try:
        return apply_overrides(ExperimentConfig(), assignments), source, problems
    except ConfigError:
        pass
    config = ExperimentConfig()  # one at a time, keeping each setting that works on its own
    for assignment in assignments:
        try:
            config = apply_overrides(config, [assignment])
        except ConfigError as exc:
            problems.append(str(exc).rstrip("."))
    return config, source, problems


# ------------------------------------------------------------------------------------------- the session itself


def _new_id(length: int) -> str:
    return secrets.token_urlsafe(length)


def _reattach(record: LabRecord, params: dict[str, str]) -> tuple[ExperimentConfig, DataSource, list[str]]:
    """The URL's settings win (it may have been edited by hand, or belong to another tab of the same lab); the store
    adds what no URL carries: the uploaded file and the chosen columns."""
    stored_dataset = settings_params(ExperimentConfig(), record.source).get(DATASET_PARAM)
    wanted_dataset = params.get(DATASET_PARAM)
    config, _, problems = settings_from_params({k: v for k, v in params.items() if k != DATASET_PARAM})
    source, data = record.source, record.config.data
    if wanted_dataset != stored_dataset:
        _, source, more = settings_from_params({DATASET_PARAM: wanted_dataset} if wanted_dataset is not None else {})
        problems, data = problems + more, DataConfig()
    if source.kind == "upload" and source.raw is None:
        problems.append(f"the uploaded file {source.name[:60]!r} is no longer kept on this server: upload it again "
                        "on the Data page (the built-in dataset is in use meanwhile)")
        source, data = DataSource("builtin", DEFAULT_DATASET), DataConfig()
    return dataclasses.replace(config, data=data), source, problems


def _open_lab() -> None:
    """First run of a browser session: re-attach to the lab session the URL names, else start one from the link's
    settings (or the defaults)."""
    params = st.query_params.to_dict()
    lab_id = params.get(LAB_PARAM, "")
    lab_id = lab_id if _LAB_ID.fullmatch(lab_id) else ""
    record = cached.lab_store().get(lab_id) if lab_id else None
    if record is not None:
        config, source, problems = _reattach(record, params)
        owner = record.owner
    else:
        config, source, problems = settings_from_params(params)
        owner = _new_id(12)
    st.session_state[LAB_ID] = lab_id or _new_id(8)
    st.session_state[OWNER] = owner
    st.session_state[CONFIG] = config
    st.session_state[SOURCE] = source
    st.session_state[LINK_PROBLEMS] = problems


def init() -> None:
    """Once per browser session: open (or re-attach to) the lab session. Every run: record it in the store and keep
    the URL current (a page switch may drop its query; the setters below record changes made later in a run)."""
    if LAB_ID not in st.session_state:
        _open_lab()
    st.session_state.setdefault(WIDGET_VERSION, 0)
    st.session_state.setdefault(FIELD_ERRORS, {})
    _changed()


def initialised() -> bool:
    """True once :func:`init` has run in this browser session (pages read state only after that)."""
    return LAB_ID in st.session_state and CONFIG in st.session_state


def lab_id() -> str:
    return st.session_state[LAB_ID]


def owner() -> str:
    """Who this lab session's jobs belong to (kept apart from the lab id, which the URL shows)."""
    return st.session_state[OWNER]


def link_params() -> dict[str, str]:
    """The URL's query: the lab id (which re-attaches to the training), then the shareable settings."""
    return {LAB_PARAM: lab_id(), **settings_params(config(), source())}


def share_query() -> str:
    """The query of a link that carries only the settings and dataset (opening it starts a fresh lab session)."""
    from urllib.parse import urlencode

    return urlencode(settings_params(config(), source()))


def link_problems() -> list[str]:
    """What the link that opened this session asked for and could not get; reading it clears it."""
    return st.session_state.pop(LINK_PROBLEMS, None) or []


def _remember() -> None:
    if LAB_ID in st.session_state:
        cached.lab_store().put(lab_id(), LabRecord(config=config(), source=source(), owner=owner()))


def _sync_url() -> None:
    if LAB_ID not in st.session_state:
        return
    wanted = link_params()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _changed() -> None:
    _remember()
    _sync_url()


# ------------------------------------------------------------------------------------------------- the config


def config() -> ExperimentConfig:
    return st.session_state[CONFIG]


def set_config(new: ExperimentConfig, *, refresh_widgets: bool = True) -> None:
    """Replace the config; ``refresh_widgets`` makes every config widget show the new values."""
    st.session_state[CONFIG] = new
    if refresh_widgets:
        st.session_state[WIDGET_VERSION] += 1
        st.session_state[FIELD_ERRORS] = {}
    _changed()


def update_field(section: str, name: str, value: Any) -> ExperimentConfig:
    """Set one field (``section`` "" for top-level fields); raises ConfigError for impossible values."""
    current = config()
    if section:
        changed = dataclasses.replace(
            current, **{section: dataclasses.replace(getattr(current, section), **{name: value})}
        )
    else:
        changed = dataclasses.replace(current, **{name: value})
    st.session_state[CONFIG] = changed
    _changed()
    return changed


def widget_version() -> int:
    return st.session_state[WIDGET_VERSION]


def field_errors() -> dict[str, str]:
    return st.session_state[FIELD_ERRORS]


def source() -> DataSource:
    return st.session_state[SOURCE]


def vector_source() -> Optional[str]:
    """The word-vectors source last chosen on the Model page ("none", a built-in set's key or "file"), if any."""
    return st.session_state.get(VECTOR_SOURCE)


def set_vector_source(choice: str) -> None:
    st.session_state[VECTOR_SOURCE] = choice


def set_source(new: DataSource) -> None:
    st.session_state[SOURCE] = new
    _changed()


# ----------------------------------------------------------------------------------------------- jobs and runs


def job():
    return st.session_state.get(JOB)


def set_job(new) -> None:
    st.session_state[JOB] = new


def refuse_start(message: Optional[str] = None) -> Optional[str]:
    """Why Start did not queue another job (this lab session's training still runs); reading it clears it."""
    if message is not None:
        st.session_state[START_REFUSED] = message
        return None
    return st.session_state.pop(START_REFUSED, None)


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


def cleaning() -> dict:
    """The label-noise review of this session (components.panels.cleaning), kept across page switches:

    "key": the dataset key it belongs to; "settings": the preprocessing, split and seed its results were found with;
    "found": whether the person asked for them; "suspects", "leakage": the results (LabelIssueReport, and the
    straddling near-duplicates with their inflation); "review": the decisions (core.evidence.cleaning.Review);
    "editor": the version of the suspects table's widget key; "top": the N of the bulk actions; "stale": results were
    dropped because the settings changed; "loop", "jobs": the last retrain-and-compare. Reset when the data changes.
    """
    return st.session_state.setdefault(CLEANING, {})


def reset_cleaning(dataset_key: str) -> dict:
    st.session_state[CLEANING] = {"key": dataset_key, "settings": None, "found": False, "suspects": None,
                                  "leakage": None, "review": None, "editor": 0, "top": None, "stale": False,
                                  "loop": None, "jobs": []}
    return st.session_state[CLEANING]


def forget_cleaning_results() -> None:
    """The preprocessing or split changed: the suspects, near-duplicates and decisions no longer apply (the retrain
    loop, already trained, stays)."""
    review = st.session_state[CLEANING]
    review.update(found=False, suspects=None, leakage=None, review=None, stale=True, editor=review["editor"] + 1)
