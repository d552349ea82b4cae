"""The Study page's form for a new study: a lever study (which single change of the current settings helps) or a
sweep (a search of several settings), with an estimate of how long it takes on this server."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st

from components.figures import study as study_figures
from components.frame import cached, state
from components.frame.safe import plain
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
from core.model.estimate import estimate_epoch, format_seconds
from core.runs.store import runs_dir

# Seconds a run costs beyond its epochs: spawning the process, importing TensorFlow, preprocessing, the TF-IDF
# baseline, scoring and saving. Measured 14-17 s per run on this 2-core server (built-in dataset, 2-epoch runs
# through the job scheduler, other work on the machine), against core.model.estimate's epochs-only figure.
RUN_OVERHEAD_S = 15.0
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


def _shape(data: Dataset, key: str, config: ExperimentConfig) -> tuple[dict, list[int]]:
    vocabulary = cached.vocabulary_for(key, data, config)
    train_counts = cached.split_for(key, data, config).class_counts("train", data.y, len(data.class_names))
    shape = dict(vocab_size=vocabulary.vocabulary_size, num_classes=len(data.class_names), max_length=vocabulary.max_length)
    return shape, train_counts


def run_seconds(configs: list[ExperimentConfig], data: Dataset, key: str) -> Optional[float]:
    """At most how long these runs take here, one after another: core.model.estimate's epochs (all of them, as if early
    stopping never ends a run sooner) plus :data:`RUN_OVERHEAD_S` each; None when a config cannot be estimated.
    Every config is sized with the current vocabulary and split (a lever on them changes them a little)."""
    try:
        shape, train_counts = _shape(data, key, state.config())
        return sum(estimate_epoch(config, train_counts=train_counts, **shape).total_seconds + RUN_OVERHEAD_S
                   for config in configs)
    except (UserError, ValueError, KeyError):
        return None


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
        chosen += st.pills(heading, group, selection_mode="multi", default=default, key=f"study_levers_{category}_{version}",
                           format_func=lambda k: plain(by_key[k].title)) or []
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
        return f"A study named {name.strip()!r} already exists; choose another name, or open it with the Study picker above."
    return ""


def _name_input(key: str) -> tuple[Optional[str], bool]:
    """The typed study name (None: one is made from the date) and whether it can be used, checked as it is typed."""
    name = st.text_input("Study name (optional)", key=key, max_chars=80,
                         help=f"A study name is {NAME_RULE}. Left empty, one is made from the date.")
    problem = name_problem(name)
    if problem:
        st.error(plain(problem, limit=None))
    return (name.strip() or None), not problem


def rough_duration(seconds: float) -> str:
    """An estimate in the words it deserves: '45 s', '38 min', '2 h 10 min'."""
    if seconds < 60 or seconds >= 3600:
        return format_seconds(seconds)
    return f"{round(seconds / 60)} min"


def _estimate_line(what: str, seconds: Optional[float], *, sweep: bool = False) -> None:
    if seconds is None:
        st.caption(plain(f"{what}.", limit=None))
        return
    if sweep:  # trials differ in size: the current settings are the yardstick, not a bound
        line = (f"{what}: about {rough_duration(seconds)} on this server if each trial costs what your current settings "
                "cost (bigger models take longer; pruning ends weak trials early).")
    else:
        line = f"{what}: at most about {rough_duration(seconds)} on this server, one run after another."
    st.markdown(plain(line, limit=None))
    st.caption("Estimated from the model's size and this server's measured speed, plus about 15 s per run to start and "
               "score it; early stopping usually ends runs sooner, and other trainings on this server share the queue.")
    if seconds > LONG_STUDY_S:
        st.warning("That is more than an hour. Fewer levers, seeds or trials make it shorter; you can also stop it at "
                   "any time and resume it later, even after the server restarts.")


def _lever_setup(data: Dataset, key: str) -> None:
    config = state.config()
    st.markdown("**Levers to try** (each changes one setting of your current settings)")
    levers = choose_levers(config)
    seeds = int(st.number_input("Seeds per lever", min_value=1, max_value=10, value=DEFAULT_SEEDS, step=1, key="study_seeds",
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
    reference_s = run_seconds([config], data, key)
    levers_s = run_seconds([lever.apply(config) for lever in levers], data, key) if levers else 0.0
    seconds = None
    if reference_s is not None and levers_s is not None:  # the levers' mean cost for each lever run beyond the reference's
        seconds = reference_s * seeds + (levers_s / len(levers) * (runs - seeds) if levers else 0.0)
    if racing is None:
        what = f"{len(levers)} lever(s) + the reference × {seeds} seed(s) = {runs} runs"
    else:
        what = (f"{len(levers)} lever(s) racing over {seeds} seed(s) + the reference = at most {runs} runs "
                f"(every lever on every seed: {most_runs(len(levers), seeds, None)})")
    _estimate_line(what, seconds)
    if st.button("Start the lever study", key="study_start_levers", type="primary", disabled=not (levers and name_ok),
                 icon=":material/play_arrow:"):
        try:
            handle = create_lever_study(config, _source_of(data), levers=levers, seeds=seeds, name=name, runs_dir=runs_dir(),
                                        racing=racing)
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
        trials = int(st.number_input("Trials", min_value=2, max_value=500, value=DEFAULT_SWEEP_TRIALS, step=1, key="study_trials"))
    with right:
        pruner = st.selectbox("Stop weak trials early (pruning)", PRUNERS, key="study_pruner",
                              format_func=lambda p: PRUNER_TITLES[p].split(":")[0],
                              help=" · ".join(PRUNER_TITLES[p] for p in PRUNERS))
    st.caption(PRUNER_TITLES[pruner])
    name, name_ok = _name_input("study_sweep_name")
    seconds = run_seconds([config], data, key)
    _estimate_line(f"{trials} trials", seconds * trials if seconds is not None else None, sweep=True)
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
