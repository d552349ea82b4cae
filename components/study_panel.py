"""The Study page's pieces: set up a lever study or a sweep, watch its trials arrive, stop and resume it, read it.

The engine is :mod:`core.evidence.study`. Here a study runs in a background *thread* of the Streamlit server: the thread only
drives Optuna and waits on the server's job scheduler, while every trial trains in a spawned process as an ordinary
training job (:func:`core.evidence.study.scheduler_executor`), so the Train page's own jobs and the study's trials share the
one-at-a-time queue. Running studies live in a server-wide :class:`StudyRegistry` (at most one thread per study,
each with its stop flag and latest progress); a page polls it with ``st.fragment(run_every=…)`` and never blocks.

What a study has done is read from its Optuna journal (``<runs>/studies/<name>.journal``), cached by the file's size
and time, so a reload, a second tab or a restarted server shows the same study; Resume is the engine's own resume
(``open_study`` + ``run_study`` again): finished trials are kept and the interrupted one runs again.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd
import streamlit as st

from components import cached, state
from components.figures import study as study_figures
from components.figures import training
from components.common import PAGES
from components.safe import plain
from core import lazy
from core.config import ExperimentConfig
from core.data.dataset import Dataset
from core.errors import ConfigError, UserError
from core.model.estimate import estimate_epoch, format_seconds
from core.evidence.levers import CATEGORIES, Lever, levers_for
from core.runs.store import runs_dir
from core.evidence.study import (
    ARM_COMBINED,
    ARM_REFERENCE,
    DEFAULT_SEARCH,
    DEFAULT_SEEDS,
    HELPS,
    HURTS,
    JOURNAL_SUFFIX,
    KIND_LEVERS,
    KIND_SWEEP,
    MIN_EFFECT,
    OBJECTIVE,
    PRUNERS,
    VERDICT_RULE,
    WITHIN_NOISE,
    CombinedPlan,
    CombinedResult,
    FunctionExecutor,
    LeverTable,
    StudyInfo,
    StudyPlan,
    StudyProgress,
    SweepResult,
    TrialRow,
    combine_helpers,
    combined_results,
    create_lever_study,
    create_sweep,
    data_source,
    lever_results,
    list_studies,
    load_source,
    open_study,
    parse_space,
    run_study,
    scheduler_executor,
    studies_folder,
    sweep_results,
    trial_rows,
)

log = logging.getLogger("lstm_text_lab")

# Session keys this module owns (cross-page: the Runs page opens a study here).
SELECTED = "lab_study_selected"
PICKER_VERSION = "lab_study_picker_version"
SEEN_RUNNING = "lab_study_seen_running"

POLL_SECONDS = 1.0
# Seconds a run costs beyond its epochs: spawning the process, importing TensorFlow, preprocessing, the TF-IDF
# baseline, scoring and saving. Measured 14-17 s per run on this 2-core server (built-in dataset, 2-epoch runs
# through the job scheduler, other work on the machine), against core.model.estimate's epochs-only figure.
RUN_OVERHEAD_S = 15.0
LONG_STUDY_S = 3600.0
# The levers preselected for a new lever study: each choice of these settings (the resampling registry's every
# strategy, each attention kind, reading direction, dropout a step either way). All 43 × 3 seeds takes hours here.
DEFAULT_LEVER_FIELDS = frozenset({"resampling.strategy", "model.attention", "model.bidirectional", "model.dropout"})
DEFAULT_SWEEP_TRIALS = 20
MAX_MESSAGES = 6
KIND_TITLES = {KIND_LEVERS: "Lever study", KIND_SWEEP: "Sweep"}
PRUNER_TITLES = {
    "median": "Median: stop a trial whose score falls below the median of earlier trials at the same epoch",
    "halving": "Successive halving: keep only the best share of trials at each rung",
    "none": "None: every trial runs all its epochs",
}
VERDICT_WORDS = {HELPS: "helps", HURTS: "hurts", WITHIN_NOISE: "within noise"}
STATE_WORDS = {"COMPLETE": "done", "PRUNED": "pruned (weak, stopped early)", "RUNNING": "running", "WAITING": "waiting"}


@dataclass(frozen=True)
class StudyRef:
    """Which study: its name and its journal file (absolute path)."""

    name: str
    location: str


# ------------------------------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class LiveView:
    """A snapshot of a study this server is running (or ran since it started), for drawing."""

    name: str
    alive: bool
    stopping: bool
    trial: Optional[int]
    label: str
    history: dict
    done: int
    planned: int
    messages: tuple[str, ...]
    reason: Optional[str]
    error: Optional[str]
    started_at: float


class _Live:
    """The mutable side of a :class:`LiveView`; only the registry touches it, under its lock."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stop = threading.Event()
        self.thread: Optional[threading.Thread] = None
        self.trial: Optional[int] = None
        self.label = ""
        self.history: dict[str, list[float]] = {}
        self.done = self.planned = 0
        self.messages: collections.deque[str] = collections.deque(maxlen=MAX_MESSAGES)
        self.reason: Optional[str] = None
        self.error: Optional[str] = None
        self.started_at = time.time()


Work = Callable[[Callable[[StudyProgress], None], Callable[[dict], None], threading.Event], None]


class StudyRegistry:
    """The studies this server runs, by journal location: thread-safe, at most one worker thread per study.

    ``work(progress, on_epoch, stop)`` runs in the thread; its progress events and the running trial's epoch logs
    land here, and a page reads them with :meth:`view`. A study stays listed after its thread ends (its last words:
    why it ended, or its error) until it is started again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._studies: dict[str, _Live] = {}

    def start(self, location: str, name: str, work: Work) -> bool:
        """Start ``work`` for this study; False when a thread already runs it."""
        with self._lock:
            current = self._studies.get(location)
            if current is not None and current.thread is not None and current.thread.is_alive():
                return False
            live = _Live(name)
            live.thread = threading.Thread(target=self._run, args=(live, work), name=f"study-{name}", daemon=True)
            self._studies[location] = live
        live.thread.start()
        return True

    def _run(self, live: _Live, work: Work) -> None:
        try:
            work(lambda event: self._progress(live, event), lambda logs: self._epoch(live, logs), live.stop)
        except UserError as exc:
            with self._lock:
                live.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the page shows one sentence; the log keeps the traceback
            log.exception("study %s failed", live.name)
            with self._lock:
                live.error = f"The study stopped on an unexpected error ({type(exc).__name__}: {exc})."
        finally:
            with self._lock:
                live.trial, live.label = None, ""

    def _progress(self, live: _Live, event: StudyProgress) -> None:
        with self._lock:
            if event.planned:
                live.done, live.planned = event.done, event.planned
            if event.kind == "trial_started":
                live.trial, live.label, live.history = event.trial, event.label, {}
            elif event.kind == "finished":
                live.reason = event.message
            line = progress_line(event)
            if line:
                live.messages.append(line)

    def _epoch(self, live: _Live, logs: dict) -> None:
        with self._lock:
            for key, value in logs.items():
                live.history.setdefault(key, []).append(value)

    def stop(self, location: str) -> None:
        with self._lock:
            live = self._studies.get(location)
        if live is not None:
            live.stop.set()

    def is_running(self, location: str) -> bool:
        with self._lock:
            live = self._studies.get(location)
            return live is not None and live.thread is not None and live.thread.is_alive()

    def view(self, location: str) -> Optional[LiveView]:
        with self._lock:
            live = self._studies.get(location)
            if live is None:
                return None
            return LiveView(
                name=live.name, alive=live.thread is not None and live.thread.is_alive(), stopping=live.stop.is_set(),
                trial=live.trial, label=live.label, history={k: list(v) for k, v in live.history.items()},
                done=live.done, planned=live.planned, messages=tuple(live.messages), reason=live.reason,
                error=live.error, started_at=live.started_at,
            )

    def wait(self, location: str, timeout: float) -> bool:
        """Block until the study's thread ends (tests, shutdown); True when it did."""
        with self._lock:
            live = self._studies.get(location)
        if live is None or live.thread is None:
            return True
        live.thread.join(timeout)
        return not live.thread.is_alive()

    def running(self) -> list[str]:
        with self._lock:
            return [location for location, live in self._studies.items() if live.thread is not None and live.thread.is_alive()]


@st.cache_resource(show_spinner=False)
def registry() -> StudyRegistry:
    """One per server, like the job scheduler: a service every session sees, not anyone's cached result."""
    return StudyRegistry()


def progress_line(event: StudyProgress) -> str:
    """One plain sentence per progress event worth reading ("" for per-epoch events)."""
    if event.kind == "trial_started":
        return f"Trial {event.trial} started: {event.label}."
    if event.kind == "trial_finished":
        value = f", validation macro-F1 {event.value:.3f}" if event.value is not None else ""
        state_words = STATE_WORDS.get(event.state or "", "stopped or failed")
        detail = f" ({event.message})" if event.message else ""
        return f"Trial {event.trial} {state_words}{value}{detail}."
    if event.kind in ("waiting", "retry"):
        return (f"Trial {event.trial}: " if event.trial is not None else "") + event.message[:1].upper() + event.message[1:] + "."
    if event.kind == "finished":
        return {"stopped": "Stopped; Resume carries on where it stopped.", "finished": "Every planned trial has run.",
                "budget": "The time budget ran out."}.get(event.message, event.message)
    return ""


def _drive(ref: StudyRef, dataset: Dataset, scheduler, folder: Path, *, combine: bool) -> Work:
    """The work of a study thread: open the study (the thread's own Optuna handle) and run what it has left."""

    def work(progress: Callable[[StudyProgress], None], on_epoch: Callable[[dict], None], stop: threading.Event) -> None:
        # Optuna's importance and SciPy pull in scikit-learn: import it whole, under the dashboard's one import lock.
        lazy.load("sklearn")
        handle = open_study(ref.name, storage=ref.location)
        if handle.kind == KIND_SWEEP:  # the sampler seeded as when it was created (what the CLI does on resume too)
            handle = open_study(ref.name, storage=ref.location, sampler_seed=handle.plan.base_config.seed)
        inner = scheduler_executor(scheduler, dataset, folder)

        def run(request, report, flag):
            def both(logs: dict) -> None:
                on_epoch(logs)
                report(logs)
            return inner.run(request, on_epoch=both, stop=flag)

        executor = FunctionExecutor(run, data_hash=inner.data_hash)
        if handle.kind == KIND_LEVERS and (combine or handle.combined_plan() is not None):
            combine_helpers(handle, executor, progress=progress, stop=stop)
        else:
            run_study(handle, executor, progress=progress, stop=stop)

    return work


def _launch(ref: StudyRef, dataset: Dataset, *, combine: bool = False) -> None:
    registry().start(ref.location, ref.name, _drive(ref, dataset, cached.scheduler(), runs_dir(), combine=combine))
    select(ref)


# ------------------------------------------------------------------------------------------------ reading studies


@dataclass(frozen=True)
class StudyReport:
    """Everything the page shows about one study, read from its journal."""

    ref: StudyRef
    info: StudyInfo
    plan: StudyPlan
    trials: tuple[TrialRow, ...]
    levers: Optional[LeverTable] = None
    combined_plan: Optional[CombinedPlan] = None
    combined: Optional[CombinedResult] = None
    sweep: Optional[SweepResult] = None

    @property
    def work_left(self) -> bool:
        return self.info.done < self.info.planned or self.info.waiting > 0


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


@st.cache_data(max_entries=32, show_spinner=False)
def _report(name: str, location: str, stamp: tuple[int, int], minute_slot: int) -> StudyReport:
    lazy.load("sklearn")  # see _drive
    handle = open_study(name, storage=location)
    info = next(i for i in list_studies(location) if i.name == name)
    rows = tuple(trial_rows(handle))
    if handle.kind == KIND_SWEEP:
        return StudyReport(StudyRef(name, location), info, handle.plan, rows, sweep=sweep_results(handle))
    plan = handle.combined_plan()
    return StudyReport(StudyRef(name, location), info, handle.plan, rows, levers=lever_results(handle), combined_plan=plan,
                       combined=combined_results(handle) if plan is not None else None)


def read_report(ref: StudyRef) -> StudyReport:
    """The study as its journal has it now (cached until the journal changes; a study's "running" state also
    depends on the clock, hence the 15-second slot)."""
    return _report(ref.name, ref.location, _stamp(Path(ref.location)), int(time.time() // 15))


@st.cache_data(max_entries=8, show_spinner=False)
def _studies(folder: str, stamps: tuple, slot: int) -> list[StudyInfo]:
    return list_studies(folder)


def studies() -> list[StudyInfo]:
    """The studies in the runs folder, newest first."""
    folder = studies_folder(runs_dir())
    journals = sorted(folder.glob(f"*{JOURNAL_SUFFIX}")) if folder.is_dir() else []
    return _studies(str(runs_dir()), tuple((p.name, *_stamp(p)) for p in journals), int(time.time() // 15))


def ref_of(info: StudyInfo) -> StudyRef:
    return StudyRef(info.name, str(Path(info.location).resolve()))


# ------------------------------------------------------------------------------------------------ choosing a study


def select(ref: Optional[StudyRef]) -> None:
    """Show ``ref`` (None: the new-study form) and make the picker follow."""
    if st.session_state.get(SELECTED) != ref:
        st.session_state[PICKER_VERSION] = st.session_state.get(PICKER_VERSION, 0) + 1
    st.session_state[SELECTED] = ref


def _info_line(info: StudyInfo, *, running_here: bool) -> str:
    kind = KIND_TITLES.get(info.kind, info.kind).lower()
    if running_here:  # the list is read at most every 15 s; the registry knows now
        return f"{info.name} — {kind}, running"
    state_words = {"running": "running", "finished": "finished", "interrupted": "paused"}.get(info.state, info.state)
    return f"{info.name} — {kind}, {info.done}/{info.planned} runs, {state_words}"


def picker() -> Optional[StudyRef]:
    """A new study, or one of the studies in the runs folder; returns the chosen one (None for a new one)."""
    infos = studies()
    refs = [ref_of(info) for info in infos]
    running = set(registry().running())
    lines = {ref: _info_line(info, running_here=ref.location in running) for ref, info in zip(refs, infos)}
    options: list[Optional[StudyRef]] = [None, *refs]
    selected = st.session_state.get(SELECTED)
    index = options.index(selected) if selected in options else 0
    choice = st.selectbox("Study", options, index=index, key=f"study_picker_{st.session_state.get(PICKER_VERSION, 0)}",
                          format_func=lambda ref: "New study…" if ref is None else lines[ref])
    st.session_state[SELECTED] = choice
    return choice


def studies_table(*, key: str = "runs_studies") -> None:
    """The studies in the runs folder as a table (for the Runs page); one selected row opens on the Study page."""
    infos = studies()
    if not infos:
        st.caption("No studies yet: start one on the Study page.")
        return
    frame = pd.DataFrame([{
        "study": info.name, "kind": KIND_TITLES.get(info.kind, info.kind), "state": info.state,
        "runs done": f"{info.done}/{info.planned}", "best validation macro-F1": info.best_value, "data": info.data,
        "failed": info.failed, "created": info.created,
    } for info in infos])
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key=f"{key}_table", column_config={
                             "study": st.column_config.TextColumn(pinned=True),
                             "best validation macro-F1": st.column_config.NumberColumn(format="%.3f")})
    st.caption("A study's trials are also ordinary runs in the table above, tagged with the study's name.")
    if event.selection.rows and st.button("Open in the Study page", key=f"{key}_open", icon=":material/experiment:"):
        select(ref_of(infos[event.selection.rows[0]]))
        st.switch_page(PAGES["study"])


# ------------------------------------------------------------------------------------------------ a new study


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


def _name_input(key: str) -> Optional[str]:
    name = st.text_input("Study name (optional)", key=key, max_chars=80,
                         help="Letters, digits, dots, dashes and underscores; left empty, one is made from the date.")
    return name.strip() or None


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
    name = _name_input("study_lever_name")
    runs = (len(levers) + 1) * seeds
    seconds = run_seconds([config] + [lever.apply(config) for lever in levers], data, key)
    _estimate_line(f"{len(levers)} lever(s) + the reference × {seeds} seed(s) = {runs} runs",
                   seconds * seeds if seconds is not None else None)
    if st.button("Start the lever study", key="study_start_levers", type="primary", disabled=not levers,
                 icon=":material/play_arrow:"):
        try:
            handle = create_lever_study(config, _source_of(data), levers=levers, seeds=seeds, name=name, runs_dir=runs_dir())
        except UserError as exc:
            st.error(plain(exc))
            return
        _launch(StudyRef(handle.name, str(Path(handle.location).resolve())), data)
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
    name = _name_input("study_sweep_name")
    seconds = run_seconds([config], data, key)
    _estimate_line(f"{trials} trials", seconds * trials if seconds is not None else None, sweep=True)
    if st.button("Start the sweep", key="study_start_sweep", type="primary", disabled=not chosen, icon=":material/play_arrow:"):
        try:
            space = parse_space({n: spec for n, spec in DEFAULT_SEARCH if n in chosen})
            handle = create_sweep(config, _source_of(data), trials=trials, space=space, pruner=pruner, name=name,
                                  runs_dir=runs_dir(), sampler_seed=config.seed)
        except UserError as exc:
            st.error(plain(exc))
            return
        _launch(StudyRef(handle.name, str(Path(handle.location).resolve())), data)
        st.rerun()


def _source_of(data: Dataset):
    source = state.source()
    return data_source(data, builtin=source.name) if source.kind == "builtin" else data_source(data)


# ------------------------------------------------------------------------------------------------ one study


def resume_data(plan: StudyPlan, data: Optional[Dataset]) -> tuple[Optional[Callable[[], Dataset]], str]:
    """How to load the study's data to resume it (a loader), or why it cannot be loaded here (one sentence)."""
    source = plan.data
    if data is not None and data.data_hash == source.data_hash:
        return (lambda: data), ""
    if source.kind == "builtin":
        return (lambda: cached.dataset(state.DataSource("builtin", source.location), source.text_column, source.label_column)), ""
    if source.kind == "csv" and Path(source.location).is_file():
        return (lambda: load_source(source)), ""
    return None, (f"This study ran on the uploaded file {source.source_name} ({source.rows:,} rows; text column "
                  f"{source.text_column!r}, label column {source.label_column!r}): upload that file on the Data page "
                  "and choose those columns to resume it.")


def _resume(ref: StudyRef, plan: StudyPlan, loader: Callable[[], Dataset], *, combine: bool = False) -> None:
    dataset = loader()
    if dataset.data_hash != plan.data.data_hash:
        raise ConfigError("The data found is not the data this study was started with (its hash differs); "
                          "load the same file on the Data page.")
    _launch(ref, dataset, combine=combine)


def study_view(ref: StudyRef, data: Optional[Dataset]) -> None:
    """One study: where it stands, Stop/Resume/Combine, the running trial and the results; polls while it runs."""
    running = registry().is_running(ref.location)
    if running:
        st.session_state.setdefault(SEEN_RUNNING, set()).add(ref.location)
    st.fragment(run_every=POLL_SECONDS if running else None)(_guarded_body)(ref, data)


def _guarded_body(ref: StudyRef, data: Optional[Dataset]) -> None:
    """The fragment's body: a fragment rerun runs outside the page's own error guard (run_page), so it needs its own."""
    try:
        _study_body(ref, data)
    except UserError as exc:
        st.error(plain(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not show Streamlit's exception box
        log.exception("study view %s failed", ref.name)
        st.error(plain(f"Something went wrong showing this study ({type(exc).__name__}); reload the page."))


def _study_body(ref: StudyRef, data: Optional[Dataset]) -> None:
    if not Path(ref.location).is_file():
        st.warning(plain(f"The study {ref.name} is no longer in the runs folder."))
        return
    live = registry().view(ref.location)
    alive = live is not None and live.alive
    seen = st.session_state.setdefault(SEEN_RUNNING, set())
    if not alive and ref.location in seen:
        seen.discard(ref.location)
        st.rerun()  # the whole page, once: the final results, and polling stops
    report = read_report(ref)
    _status(report, live)
    _controls(report, live, data)
    if alive:  # while it runs: the running trial and the trials as they arrive, then the partial answer
        _running_trial(live)
        _trials_table(report)
    _results(report)
    if not alive:
        _trials_table(report)


def _results(report: StudyReport) -> None:
    if report.levers is not None:
        _lever_results(report)
        if report.combined_plan is not None:
            _combined(report)
    elif report.sweep is not None:
        _sweep_results(report)


def _status(report: StudyReport, live: Optional[LiveView]) -> None:
    info, plan = report.info, report.plan
    alive = live is not None and live.alive
    if alive and live.stopping:
        words = "Stopping: the running trial ends after its current batch and runs again on Resume."
    elif alive:
        words = "Running on this server."
    elif info.state == "running":
        words = ("Running in another process (a command-line worker), or the server restarted less than a minute "
                 "ago: Resume joins it.")
    elif info.state == "finished":
        words = "Finished."
    else:
        words = f"Paused with {info.planned - info.done} run(s) left: Resume carries on where it stopped."
    fraction = info.done / info.planned if info.planned else 0.0
    st.progress(min(1.0, fraction), text=plain(f"{KIND_TITLES.get(plan.kind, plan.kind)} {report.ref.name}: "
                                               f"{info.done} of {info.planned} runs done. {words}", limit=None))
    where = f"the built-in {plan.data.location}" if plan.data.kind == "builtin" else plan.data.source_name
    details = [f"data {where} ({plan.data.rows:,} rows)", f"created {plan.created[:16].replace('T', ' ')} UTC"]
    if plan.kind == KIND_LEVERS:
        details.append(f"{len(plan.levers)} lever(s) × seeds {', '.join(map(str, plan.seeds))}")
    else:
        details.append(f"pruner {plan.pruner}")
    if info.failed:
        details.append(f"{info.failed} failed or interrupted trial(s), each queued again once")
    st.caption(plain(" · ".join(details), limit=None))
    if live is not None and live.error:
        st.error(plain(live.error))


def _stop(location: str) -> None:
    registry().stop(location)


def _controls(report: StudyReport, live: Optional[LiveView], data: Optional[Dataset]) -> None:
    ref, alive = report.ref, live is not None and live.alive
    if alive:
        st.button("Stop", key="study_stop", on_click=_stop, args=(ref.location,), disabled=live.stopping,
                  icon=":material/stop:", help="The running trial ends after its current batch and is queued again; "
                                               "finished trials are kept.")
        return
    combine = not report.work_left and report.levers is not None and report.levers.complete and report.combined_plan is None
    if not (report.work_left or combine):
        return
    loader, why = resume_data(report.plan, data)
    if combine:
        helpers = sum(row.verdict == HELPS for row in report.levers.rows)
        label = (f"Combine the {helpers} lever(s) that helped and run them with the same seeds" if helpers
                 else "No lever helped: keep the reference and score it on the test split")
        clicked = st.button(label, key="study_combine", type="primary", disabled=loader is None, icon=":material/merge:")
    else:
        clicked = st.button("Resume", key="study_resume", type="primary", disabled=loader is None, icon=":material/play_arrow:",
                            help="Finished trials are kept; the interrupted one runs again.")
    if why:
        st.warning(plain(why))
        st.page_link(PAGES["data"], label="Load the data on the Data page", icon=":material/table_view:")
    if clicked and loader is not None:
        _resume(ref, report.plan, loader, combine=combine)
        st.rerun()


def _running_trial(live: LiveView) -> None:
    if live.trial is None:
        st.caption("Waiting for the next trial…")
    else:
        st.markdown(f"**Running: trial {live.trial}** · {plain(live.label, limit=160)}")
        if not live.history:
            st.caption("Waiting for its first epoch (it may be queued behind another training: see the sidebar).")
        left, right = st.columns(2)
        with left:
            st.altair_chart(training.training_curves(live.history, metric="loss"), width="stretch")
        with right:
            st.altair_chart(training.training_curves(live.history, metric="macro_f1"), width="stretch")
    if live.messages:
        st.caption(plain(" · ".join(live.messages[-3:]), limit=None))


# ------------------------------------------------------------------------------------------------ trials


def _what(row: TrialRow, plan: StudyPlan) -> str:
    if plan.kind == KIND_LEVERS:
        titles = {lever.key: lever.title for lever in plan.levers}
        titles.update({ARM_REFERENCE: "reference (your settings)", ARM_COMBINED: "combined levers"})
        return titles.get(row.arm or "", row.arm or "")
    return ", ".join(f"{study_figures.short_setting(name)} {study_figures.short_value(value)}" for name, value in row.params.items())


def _state_words(row: TrialRow) -> str:
    if row.state == "FAIL":
        return f"failed: {row.error}" if row.error else "interrupted (queued again)"
    return STATE_WORDS.get(row.state, row.state.lower())


def trial_frame(report: StudyReport) -> pd.DataFrame:
    """Every trial that has started, newest first: what it ran, how it ended, its score and run folder."""
    rows = []
    for row in sorted(report.trials, key=lambda r: r.number, reverse=True):
        if row.state == "WAITING":
            continue
        entry: dict[str, Any] = {"trial": row.number}
        if report.plan.kind == KIND_LEVERS:
            entry.update({"settings": _what(row, report.plan), "seed": row.seed})
        else:
            entry.update({study_figures.short_setting(name): study_figures.short_value(value) for name, value in row.params.items()})
        entry.update({"state": _state_words(row), OBJECTIVE: row.value, "seconds": row.duration_s,
                      "run": Path(row.run_dir).name if row.run_dir else None})
        rows.append(entry)
    return pd.DataFrame(rows)


def _trials_table(report: StudyReport) -> None:
    st.subheader("Trials")
    frame = trial_frame(report)
    waiting = sum(row.state == "WAITING" for row in report.trials)
    if frame.empty:
        st.caption(f"No trial has started yet; {waiting} waiting.")
        return
    st.dataframe(frame, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(frame)),
                 column_config={OBJECTIVE: st.column_config.NumberColumn(format="%.3f"),
                                "seconds": st.column_config.NumberColumn(format="%.0f")})
    if waiting:
        st.caption(f"{waiting} more trial(s) waiting. Each trial is also an ordinary run on the Runs and Evaluate pages.")


# ------------------------------------------------------------------------------------------------ lever results


def lever_rows(table: LeverTable) -> list[dict]:
    """The chart's rows (the table's order: best mean difference first)."""
    return [{"lever": row.title, "mean": row.mean_delta, "sd": row.sd_delta, "low": row.interval[0] if row.interval else None,
             "high": row.interval[1] if row.interval else None, "verdict": row.verdict, "n": row.n} for row in table.rows]


def lever_frame(table: LeverTable) -> pd.DataFrame:
    return pd.DataFrame([{
        "lever": row.title, "verdict": VERDICT_WORDS.get(row.verdict, row.verdict), "Δ mean": row.mean_delta, "± sd": row.sd_delta,
        "90% interval": f"{row.interval[0]:+.3f} to {row.interval[1]:+.3f}" if row.interval else "—",
        "seeds": row.n, "mean validation macro-F1": row.mean_value, "group": CATEGORIES.get(row.category, row.category),
    } for row in table.rows])


def verdict_summary(table: LeverTable) -> str:
    """One sentence: which levers helped, which hurt, how many are within noise."""
    helped = [row.title for row in table.rows if row.verdict == HELPS]
    hurt = [row.title for row in table.rows if row.verdict == HURTS]
    noise = sum(row.verdict == WITHIN_NOISE for row in table.rows)
    parts = [f"Helped: {'; '.join(helped)}." if helped else "No lever helped beyond noise."]
    if hurt:
        parts.append(f"Hurt: {'; '.join(hurt)}.")
    if noise:
        parts.append(f"{noise} within noise.")
    return " ".join(parts)


def _lever_results(report: StudyReport) -> None:
    table = report.levers
    st.subheader("Which levers helped")
    if not table.complete:
        st.caption(f"Partial: {table.done} of {table.planned} runs of the lever phase are done; verdicts settle as seeds finish.")
    if table.reference_mean is not None:
        spread = f" ± {table.reference_sd:.3f}" if table.reference_sd is not None else ""
        st.markdown(plain(f"Reference (your settings): validation macro-F1 {table.reference_mean:.3f}{spread} over "
                          f"{table.reference_n} seed(s). {verdict_summary(table)}", limit=None))
    rows = lever_rows(table)
    if any(row["mean"] is not None for row in rows):
        st.altair_chart(study_figures.lever_effects(rows, min_effect=MIN_EFFECT), width="stretch")
    st.dataframe(lever_frame(table), hide_index=True, width="stretch", column_config={
        "Δ mean": st.column_config.NumberColumn(format="%+.3f"), "± sd": st.column_config.NumberColumn(format="%.3f"),
        "mean validation macro-F1": st.column_config.NumberColumn(format="%.3f")})
    st.caption(plain(f"How the verdict is decided: {VERDICT_RULE} Δ is the lever's validation macro-F1 minus the "
                     "reference's on the same seed; the test split is not used here.", limit=None))


def _arm_words(score) -> str:
    if score is None or score.mean is None:
        return "—"
    return f"{score.mean:.3f}" + (f" ± {score.sd:.3f}" if score.sd is not None else "")


def _combined(report: StudyReport) -> None:
    result, plan = report.combined, report.combined_plan
    st.subheader("The combination on the sealed test split")
    titles = {lever.key: lever.title for lever in report.plan.levers}
    if plan.applied:
        st.markdown(plain("Combined: " + "; ".join(titles.get(key, key) for key in plan.applied) + ".", limit=None))
    for key, why in plan.skipped:
        st.caption(plain(f"Left out {titles.get(key, key)}: {why}.", limit=None))
    if result is None:
        return
    if result.validation is not None and result.validation.n:
        row = result.validation
        st.caption(plain(f"On validation, the combination vs the reference: Δ {row.mean_delta:+.3f} over {row.n} seed(s), "
                         f"{VERDICT_WORDS.get(row.verdict, row.verdict)}.", limit=None))
    fitted = f" (fitted on {result.baseline_fitted_on})" if result.baseline_fitted_on else ""
    columns = st.columns(3 if result.test_combined is not None else 2)
    scores = ([("Combined", result.test_combined)] if result.test_combined is not None else []) + [
        ("Reference", result.test_reference), ("TF-IDF baseline", result.test_baseline)]
    for column, (label, score) in zip(columns, scores):
        about = f"Mean ± sd over {score.n} seed(s)." + (f" TF-IDF + logistic regression{fitted}, on each seed's split."
                                                       if label == "TF-IDF baseline" else "")
        column.metric(f"{label}: test macro-F1", _arm_words(score), help=plain(about, limit=None))
    kinds = {"Combined": "combined", "Reference": "reference", "TF-IDF baseline": "baseline"}
    arms = [{"arm": label.lower(), "kind": kinds[label], "mean": score.mean, "sd": score.sd, "n": score.n} for label, score in scores]
    st.altair_chart(study_figures.final_comparison(arms), width="stretch")
    st.dataframe(pd.DataFrame([{"seed": row["seed"], "combined": row["combined"], "reference": row["reference"],
                                "TF-IDF baseline": row["baseline"]} for row in result.per_seed]),
                 hide_index=True, width="stretch",
                 column_config={name: st.column_config.NumberColumn(format="%.3f") for name in ("combined", "reference", "TF-IDF baseline")})
    st.caption(plain(result.note, limit=None))
    if plan.applied and st.button("Load the combined settings into the widgets", key="study_load_combined",
                                  icon=":material/download:"):
        _load_settings(ExperimentConfig.from_dict(plan.config), f"the combination of study {report.ref.name}")


def _load_settings(config: ExperimentConfig, what: str) -> None:
    """Every setting of ``config``; the data choice stays the current one (the study may have run on other data)."""
    state.set_config(dataclasses.replace(config, data=state.config().data))
    state.notice(f"Loaded the settings of {what} into every page's widgets (the data choice is unchanged).")
    st.rerun()


# ------------------------------------------------------------------------------------------------ sweep results


def config_changes(before: dict, after: dict, prefix: str = "") -> list[str]:
    """ "dropout 0.5 → 0.31" for each setting that differs."""
    changes = []
    for name, value in after.items():
        old = before.get(name)
        if isinstance(value, dict):
            changes += config_changes(old or {}, value, f"{prefix}{name}.")
        elif value != old:
            setting = study_figures.short_setting(f"{prefix}{name}")
            changes.append(f"{setting} {study_figures.short_value(old)} → {study_figures.short_value(value)}")
    return changes


def _sweep_results(report: StudyReport) -> None:
    result = report.sweep
    st.subheader("Search")
    st.altair_chart(study_figures.sweep_history([{"trial": row.number, "value": row.value, "state": row.state}
                                                for row in result.trials]), width="stretch")
    best = result.best.number if result.best is not None else None
    st.altair_chart(study_figures.parallel_coordinates(result.axes, result.parallel, best_trial=best), width="stretch")
    st.subheader("Which settings mattered")
    if result.importances:
        st.altair_chart(study_figures.importance_bars(result.importances), width="stretch")
        st.caption(plain(f"{result.importance_note} Read it with care over few trials: it says which settings moved "
                         "the score in this search, not in general.", limit=None))
    else:
        st.info(plain(result.importance_note))
    st.subheader("Best settings")
    if result.best is None:
        st.caption("No trial has finished yet.")
        return
    changes = config_changes(report.plan.config, result.best_config)
    st.markdown(plain(f"Trial {result.best.number}: validation macro-F1 {result.best.value:.3f}. "
                      + ("Changed from your settings at the start: " + "; ".join(changes) + "." if changes
                         else "These are the settings the sweep started from."), limit=None))
    st.caption("Chosen on validation only; train it on the Train page to see its test-split score.")
    if st.button("Load the best settings into the widgets", key="study_load_best", icon=":material/download:"):
        _load_settings(result.best_experiment_config, f"trial {result.best.number} of sweep {report.ref.name}")
