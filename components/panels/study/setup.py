"""The Study page's form for a new study: a lever study (which single change of the current settings helps) or a
sweep (a search of several settings), with an estimate of how long it takes on this server."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st

from components.figures import study as study_figures
from components.frame import state
from components.frame.safe import plain
from components.panels.model import run_shape_for, server_load
from components.panels.study.reading import KIND_TITLES, StudyRef, launch
from core.config import ExperimentConfig
from core.data.dataset import Dataset
from core.errors import ConfigError, UserError
from core.evidence.levers import CATEGORIES, Lever, levers_for
from core.evidence.study import (
    DEFAULT_SEARCH,
    DEFAULT_SEEDS,
    KIND_LEVERS,
    KIND_SWEEP,
    NAME_RULE,
    PRUNERS,
    Racing,
    check_name,
    create_lever_study,
    create_sweep,
    data_source,
    most_runs,
    parse_space,
    storage_location,
)
from core.model.run_estimate import StudyEstimate, busy_note, estimate_run, estimate_study, random_settings
from core.runs.store import runs_dir

LONG_STUDY_S = 3600.0
# The levers preselected for a new lever study: each choice of these settings (the resampling registry's every
# strategy, each attention kind, reading direction, dropout a step either way). All 43 × 3 seeds takes hours here.
DEFAULT_LEVER_FIELDS = frozenset({"resampling.strategy", "model.attention", "model.bidirectional", "model.dropout"})
DEFAULT_SWEEP_TRIALS = 20
PRUNER_TITLES = {
    "median": "Median: stop a trial whose score falls below the median of earlier trials at the same epoch",
    "halving": "Successive halving: keep only the best share of trials at each rung",
    "none": "None: every trial runs all its epochs",
}


SWEEP_DRAWS = 16  # settings drawn from a sweep's space to size its trials after the first (the current settings)


def study_estimate(configs: list[ExperimentConfig], data: Dataset, key: str, *, runs: Optional[int] = None,
                   sampled: bool = False, repeat: int = 1) -> Optional[StudyEstimate]:
    """core.model.estimate.estimate_study of these configs' runs (each ``repeat`` times), each in its own training
    process as the job queue runs them; with ``runs``, the first config runs once and the others' average fills the
    remaining runs (``sampled``: they were drawn from a sweep's space). A config that cannot be estimated is left
    out; None when the first cannot."""
    estimates, known = [], {}  # a config listed again (a racing plan repeats the reference) is estimated once
    for config in configs:
        if id(config) not in known:
            try:
                known[id(config)] = estimate_run(config, run_shape_for(key, data, config))
            except (UserError, ValueError, KeyError):
                known[id(config)] = None
        if known[id(config)] is not None:
            estimates.append(known[id(config)])
        elif not estimates:
            return None
    return estimate_study(estimates * repeat, runs, sampled=len(estimates) - 1 if sampled else 0)


def sweep_configs(config: ExperimentConfig, names: list[str]) -> list[ExperimentConfig]:
    """The current settings, then :data:`SWEEP_DRAWS` settings drawn at random from the searched ones (as a sweep's
    first trials are drawn), those the config accepts."""
    space = parse_space({name: spec for name, spec in DEFAULT_SEARCH if name in names})
    configs = [config]
    for draw in random_settings(space.params, SWEEP_DRAWS, config.seed):
        try:
            configs.append(space.config_for(config, draw))
        except UserError:
            continue
    return configs


def _fingerprint(items) -> str:
    return hashlib.sha1("|".join(map(str, items)).encode("utf-8")).hexdigest()[:8]


def new_study(data: Dataset, key: str) -> None:
    """The form for a new lever study or sweep, on the current settings and data."""
    kind = st.segmented_control("Kind of study", [KIND_LEVERS, KIND_SWEEP], default=KIND_LEVERS, required=True,
                                format_func=KIND_TITLES.get, key="study_kind")
    if kind == KIND_SWEEP:
        st.caption("A sweep searches several settings at once (Optuna's TPE sampler) for the best validation macro-F1. "
                   "Its first trial is your current settings.")
        _sweep_setup(data, key)
    else:
        st.caption("A lever study answers “which single change of my settings helps?”: your current settings (the "
                   "reference) and each lever train with the same seeds, and each lever is judged by its paired "
                   "difference in validation macro-F1. The test split stays sealed until the final comparison.")
        _lever_setup(data, key)


def choose_levers(config: ExperimentConfig) -> list[Lever]:
    """Pills per category (the default set preselected); returns the chosen levers in table order."""
    levers = levers_for(config)
    by_key = {lever.key: lever for lever in levers}
    version = _fingerprint(by_key)  # other settings, other levers: fresh pills
    chosen: list[str] = []
    for category, heading in CATEGORIES.items():
        group = [lever.key for lever in levers if lever.category == category]
        if not group:
            continue
        default = [k for k in group if by_key[k].fields[0] in DEFAULT_LEVER_FIELDS]
        chosen += st.pills(heading, group, selection_mode="multi", default=default,
                           key=f"study_levers_{category}_{version}", format_func=lambda k: plain(by_key[k].title)) or []
    return [by_key[k] for k in by_key if k in chosen]


def name_problem(name: str) -> str:
    """Why a typed study name cannot be used ("" when it can): the study-name rule, or a study of that name exists."""
    if not name.strip():
        return ""
    try:
        location = storage_location(check_name(name), None, runs_dir())
    except ConfigError as exc:
        return str(exc)
    if Path(location).is_file():
        return (f"A study named {name.strip()!r} already exists; "
                "choose another name, or open it with the Study picker above.")
    return ""


def _name_input(key: str) -> tuple[Optional[str], bool]:
    """The typed study name (None: one is made from the date) and whether it can be used, checked as it is typed."""
    name = st.text_input("Study name (optional)", key=key, max_chars=80,
                         help=f"A study name is {NAME_RULE}. Left empty, one is made from the date.")
    problem = name_problem(name)
    if problem:
        st.error(plain(problem, limit=None))
    return (name.strip() or None), not problem


def _estimate_line(what: str, estimate: Optional[StudyEstimate]) -> None:
    if estimate is None:
        st.caption(plain(f"{what}.", limit=None))
        return
    st.markdown(plain(f"{what}: {estimate.time_text()}.", limit=None))
    st.caption("Estimated from each run's model and data sizes and this server's measured speed: every run starts its "
               "own training process, prepares the data, fits the baseline, trains, scores and saves. Early stopping "
               "ends runs sooner, pruning stops weak sweep trials early, "
               "and other trainings on this server share the queue.")
    busy = busy_note(*server_load())
    if busy:
        st.caption(plain(busy))
    if estimate.seconds > LONG_STUDY_S:
        st.warning("That is more than an hour. Fewer levers, seeds or trials make it shorter; you can also stop it at "
                   "any time and resume it later, even after the server restarts.")


def _lever_setup(data: Dataset, key: str) -> None:
    config = state.config()
    st.markdown("**Levers to try** (each changes one setting of your current settings)")
    levers = choose_levers(config)
    seeds = int(st.number_input("Seeds per lever", min_value=1, max_value=10, value=DEFAULT_SEEDS, step=1,
                                key="study_seeds",
                                help="Each seed is its own split and initialisation; the reference runs with the same "
                                     "seeds, so each lever is compared seed by seed. One seed cannot tell a lever from "
                                     "noise; three is a good start."))
    exhaustive = st.checkbox(
        "Run every lever on every seed", value=False, key="study_exhaustive",
        help="Off (racing): every lever starts on one seed and only levers whose verdict is still open get more seeds, "
             "by successive halving; levers whose interval already clears zero stop early. On: every lever runs every "
             "seed. The verdict rule is the same either way.")
    name, name_ok = _name_input("study_lever_name")
    racing = None if exhaustive else Racing()
    runs = most_runs(len(levers), seeds, racing)
    lever_configs = [lever.apply(config) for lever in levers]
    # The reference runs every seed; the levers' runs (at most runs - seeds when racing) cost their average.
    planned = ([config] * seeds + [lever_configs[i % len(lever_configs)] for i in range(runs - seeds)] if levers
               else [config] * seeds)
    estimate = study_estimate(planned, data, key)
    if racing is None:
        what = f"{len(levers)} lever(s) + the reference × {seeds} seed(s) = {runs} runs"
    else:
        what = (f"{len(levers)} lever(s) racing over {seeds} seed(s) + the reference = at most {runs} runs "
                f"(every lever on every seed: {most_runs(len(levers), seeds, None)})")
    _estimate_line(what, estimate)
    if st.button("Start the lever study", key="study_start_levers", type="primary", disabled=not (levers and name_ok),
                 icon=":material/play_arrow:"):
        try:
            handle = create_lever_study(config, _source_of(data), levers=levers, seeds=seeds, name=name,
                                        runs_dir=runs_dir(), racing=racing)
        except UserError as exc:
            st.error(plain(exc))
            return
        launch(StudyRef(handle.name, str(Path(handle.location).resolve())), data)
        st.rerun()


def _space_rows(names: list[str]) -> pd.DataFrame:
    space = parse_space({name: spec for name, spec in DEFAULT_SEARCH if name in names})
    rows = []
    for spec in space.params:
        if spec.kind == "categorical":
            searched = ", ".join(study_figures.short_value(choice) for choice in spec.choices)
        else:
            searched = f"{spec.low:g} to {spec.high:g}" + (" (log scale)" if spec.log else "")
        rows.append({"setting": study_figures.short_setting(spec.name), "searched": searched})
    return pd.DataFrame(rows)


def _sweep_setup(data: Dataset, key: str) -> None:
    config = state.config()
    names = [name for name, _ in DEFAULT_SEARCH]
    chosen = st.pills("Settings to search", names, selection_mode="multi", default=names, key="study_space",
                      format_func=lambda name: plain(study_figures.short_setting(name))) or []
    if chosen:
        st.dataframe(_space_rows(chosen), hide_index=True, width="stretch")
    left, right = st.columns(2)
    with left:
        trials = int(st.number_input("Trials", min_value=2, max_value=500, value=DEFAULT_SWEEP_TRIALS, step=1,
                                     key="study_trials"))
    with right:
        pruner = st.selectbox("Stop weak trials early (pruning)", PRUNERS, key="study_pruner",
                              format_func=lambda p: PRUNER_TITLES[p].split(":")[0],
                              help=" · ".join(PRUNER_TITLES[p] for p in PRUNERS))
    st.caption(PRUNER_TITLES[pruner])
    name, name_ok = _name_input("study_sweep_name")
    configs = sweep_configs(config, chosen) if chosen else [config]
    _estimate_line(f"{trials} trials", study_estimate(configs, data, key, runs=trials, sampled=True))
    if st.button("Start the sweep", key="study_start_sweep", type="primary", disabled=not (chosen and name_ok),
                 icon=":material/play_arrow:"):
        try:
            space = parse_space({n: spec for n, spec in DEFAULT_SEARCH if n in chosen})
            handle = create_sweep(config, _source_of(data), trials=trials, space=space, pruner=pruner, name=name,
                                  runs_dir=runs_dir(), sampler_seed=config.seed)
        except UserError as exc:
            st.error(plain(exc))
            return
        launch(StudyRef(handle.name, str(Path(handle.location).resolve())), data)
        st.rerun()


def _source_of(data: Dataset):
    source = state.source()
    return data_source(data, builtin=source.name) if source.kind == "builtin" else data_source(data)
