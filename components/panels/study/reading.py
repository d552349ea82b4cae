"""The Study page's studies: each read from its Optuna journal, the picker and the Runs page's table of them, and
starting a study's thread.

The engine is :mod:`core.evidence.study`. Here a study runs in a background *thread* of the Streamlit server: the
thread only drives Optuna and waits on the server's job scheduler, while every trial trains in a spawned process as an
ordinary training job (:func:`core.evidence.study.scheduler_executor`), so the Train page's own jobs and the study's
trials share one queue; a study runs two trials at once while no other job runs or waits (the scheduler's study
slot, :func:`core.evidence.study.run_in_threads`). Running studies live in the server-wide
:class:`components.services.StudyRegistry` (``cached.study_registry()``: at most one thread per study, each with its
stop flag and latest progress); a page polls it with ``st.fragment(run_every=…)`` and never blocks.

What a study has done is read from its Optuna journal (``<runs>/studies/<name>.journal``), cached by the file's size
and time, so a reload, a second tab or a restarted server shows the same study; Resume is the engine's own resume
(``open_study`` + ``run_study`` again): finished trials are kept and the interrupted one runs again.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pandas as pd
import streamlit as st

from components.frame import cached, state
from components.frame.common import PAGES
from components.services import Work
from core import lazy
from core.config import ExperimentConfig
from core.data.dataset import Dataset
from core.evidence.study import (
    JOURNAL_SUFFIX,
    KIND_LEVERS,
    KIND_SWEEP,
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
    lever_results,
    list_studies,
    open_study,
    run_in_threads,
    scheduler_executor,
    studies_folder,
    sweep_results,
    trial_rows,
)
from core.runs.store import runs_dir

# Session keys this module owns (cross-page: the Runs page opens a study here).
SELECTED = "lab_study_selected"
PICKER_VERSION = "lab_study_picker_version"
KIND_TITLES = {KIND_LEVERS: "Lever study", KIND_SWEEP: "Sweep"}
LISTING_POLL_S = 2.0


@dataclass(frozen=True)
class StudyRef:
    """Which study: its name and its journal file (absolute path)."""

    name: str
    location: str


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
        """Runs left to run: queued ones, or (racing) a round the race has still to queue."""
        lever_phase_open = self.levers is not None and not self.levers.complete
        return self.info.done < self.info.planned or self.info.waiting > 0 or lever_phase_open


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
    return StudyReport(StudyRef(name, location), info, handle.plan, rows, levers=lever_results(handle),
                       combined_plan=plan, combined=combined_results(handle) if plan is not None else None)


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


def picker_lines() -> dict[StudyRef, str]:
    """The picker's line for each study in the runs folder, newest first, as the registry and the journals say now."""
    infos = studies()
    running = set(cached.study_registry().running())
    return {ref_of(info): _info_line(info, running_here=ref_of(info).location in running) for info in infos}


def picker() -> Optional[StudyRef]:
    """A new study, or one of the studies in the runs folder; returns the chosen one (None for a new one). While a
    study runs (here or in another process) a watcher reruns the page when any study's line changes, so a study that
    finishes stops saying "running" without a reload."""
    lines = picker_lines()
    refs = list(lines)
    options: list[Optional[StudyRef]] = [None, *refs]
    selected = st.session_state.get(SELECTED)
    index = options.index(selected) if selected in options else 0
    choice = st.selectbox("Study", options, index=index, key=f"study_picker_{st.session_state.get(PICKER_VERSION, 0)}",
                          format_func=lambda ref: "New study…" if ref is None else lines[ref])
    st.session_state[SELECTED] = choice
    shown = tuple(lines.items())
    active = any(line.endswith(", running") for line in lines.values())
    st.fragment(run_every=LISTING_POLL_S if active else None)(_rerun_when_changed)(shown)
    return choice


def _rerun_when_changed(shown: tuple) -> None:
    """The picker's watcher (a fragment, polled while a study runs): the whole page again once the lines change."""
    if tuple(picker_lines().items()) != shown:
        st.rerun()


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
    # A study with no finished run has no best score: an empty cell, never the word "None".
    frame["best validation macro-F1"] = pd.to_numeric(frame["best validation macro-F1"],
                                                      errors="coerce").astype("float64")
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key=f"{key}_table", column_config={
                             "study": st.column_config.TextColumn(pinned=True),
                             "best validation macro-F1": st.column_config.NumberColumn(
                                 format="%.3f", help="A sweep's best trial; a lever study's best mean over the seeds "
                                                     "an arm ran (the reference, a lever or the combination).")})
    st.caption("A study's trials are also ordinary runs in the table above, tagged with the study's name.")
    if event.selection.rows and st.button("Open in the Study page", key=f"{key}_open", icon=":material/experiment:"):
        select(ref_of(infos[event.selection.rows[0]]))
        st.switch_page(PAGES["study"])


# ------------------------------------------------------------------------------------------------ running a study


def _drive(ref: StudyRef, dataset: Dataset, scheduler, folder: Path, *, combine: bool) -> Work:
    """The work of a study thread: open the study (the thread's own Optuna handle) and run what it has left."""

    def work(progress: Callable[[StudyProgress], None], on_epoch: Callable[[dict], None],
             stop: threading.Event) -> None:
        # Optuna's importance and SciPy pull in scikit-learn: import it whole, under the dashboard's one import lock.
        lazy.load("sklearn")
        handle = open_study(ref.name, storage=ref.location)
        if handle.kind == KIND_SWEEP:  # the sampler seeded as when it was created (what the CLI does on resume too)
            handle = open_study(ref.name, storage=ref.location, sampler_seed=handle.plan.base_config.seed)
        inner = scheduler_executor(scheduler, dataset, folder)
        shown = [None]  # the trial whose curves the page draws: the one that started last (two may run at once)

        def announce(event: StudyProgress) -> None:
            if event.kind == "trial_started":
                shown[0] = event.trial
            progress(event)

        def run(request, report, flag):
            def both(logs: dict) -> None:
                if shown[0] == request.number:
                    on_epoch(logs)
                report(logs)
            return inner.run(request, on_epoch=both, stop=flag)

        executor = FunctionExecutor(run, data_hash=inner.data_hash)
        if handle.kind == KIND_LEVERS and (combine or handle.combined_plan() is not None):
            combine_helpers(handle, executor, progress=announce, stop=stop)
        else:  # a study trial may take the scheduler's second slot while nothing else waits
            loops = itertools.count()

            def open_handle():  # each loop its own handle; a sweep's samplers seeded apart, or both would ask the same
                seed = handle.plan.base_config.seed + next(loops) if handle.kind == KIND_SWEEP else None
                return open_study(ref.name, storage=ref.location, sampler_seed=seed)

            run_in_threads(open_handle, executor, slots=1 + getattr(scheduler, "study_slots", 0), progress=announce,
                           stop=stop)

    return work


def launch(ref: StudyRef, dataset: Dataset, *, combine: bool = False) -> None:
    """Start the study's thread (unless one already runs it) and show the study."""
    work = _drive(ref, dataset, cached.scheduler(), runs_dir(), combine=combine)
    cached.study_registry().start(ref.location, ref.name, work)
    select(ref)


def load_settings(config: ExperimentConfig, what: str) -> None:
    """Every setting of ``config``; the data choice stays the current one (the study may have run on other data)."""
    state.set_config(dataclasses.replace(config, data=state.config().data))
    state.notice(f"Loaded the settings of {what} into every page's widgets (the data choice is unchanged).")
    st.rerun()
