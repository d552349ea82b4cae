"""One study on the Study page: where it stands, Stop / Resume / Combine, the running trial, its trials and results;
polled while it runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Optional

import streamlit as st

from components.figures import training
from components.frame import cached
from components.frame.common import PAGES
from components.frame.safe import plain
from components.panels.study import levers, sweep, trials
from components.panels.study.reading import KIND_TITLES, StudyRef, StudyReport, launch, read_report
from components.services import DataSource, LiveView
from core.data.dataset import Dataset
from core.errors import ConfigError, UserError
from core.evidence.study import HELPS, KIND_LEVERS, StudyPlan, load_source, most_runs

log = logging.getLogger("lstm_text_lab")

SEEN_RUNNING = "lab_study_seen_running"
POLL_SECONDS = 1.0


def resume_data(plan: StudyPlan, data: Optional[Dataset]) -> tuple[Optional[Callable[[], Dataset]], str]:
    """How to load the study's data to resume it (a loader), or why it cannot be loaded here (one sentence)."""
    source = plan.data
    if data is not None and data.data_hash == source.data_hash:
        return (lambda: data), ""
    if source.kind == "builtin":
        return (lambda: cached.dataset(DataSource("builtin", source.location), source.text_column,
                                       source.label_column)), ""
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
    launch(ref, dataset, combine=combine)


def study_view(ref: StudyRef, data: Optional[Dataset]) -> None:
    """One study: where it stands, Stop/Resume/Combine, the running trial and the results; polls while it runs."""
    running = cached.study_registry().is_running(ref.location)
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
    live = cached.study_registry().view(ref.location)
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
        trials.render(report)
    _results(report)
    if not alive:
        trials.render(report)


def _results(report: StudyReport) -> None:
    if report.levers is not None:
        levers.render(report)
        if report.combined_plan is not None:
            levers.render_combined(report)
    elif report.sweep is not None:
        sweep.render(report)


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
    elif info.planned > info.done:
        words = f"Paused with {info.planned - info.done} run(s) left: Resume carries on where it stopped."
    else:
        words = "Paused between rounds of the race: Resume queues the next seeds where verdicts are still open."
    racing = plan.kind == KIND_LEVERS and plan.racing is not None
    most = most_runs(len(plan.levers), len(plan.seeds), plan.racing) if racing else info.planned
    fraction = (info.done / most if racing and info.state != "finished"
                else (info.done / info.planned if info.planned else 0.0))
    counted = (f"{info.done} runs done, at most {most}" if racing and info.state != "finished"
               else f"{info.done} of {info.planned} runs done")
    st.progress(min(1.0, fraction), text=plain(f"{KIND_TITLES.get(plan.kind, plan.kind)} {report.ref.name}: "
                                               f"{counted}. {words}", limit=None))
    where = f"the built-in {plan.data.location}" if plan.data.kind == "builtin" else plan.data.source_name
    details = [f"data {where} ({plan.data.rows:,} rows)", f"created {plan.created[:16].replace('T', ' ')} UTC"]
    if plan.kind == KIND_LEVERS:
        details.append(f"{len(plan.levers)} lever(s) × seeds {', '.join(map(str, plan.seeds))}")
        details.append("racing: seeds go to levers whose verdict is still open" if racing
                       else "every lever on every seed")
    else:
        details.append(f"pruner {plan.pruner}")
    if info.failed:
        details.append(f"{info.failed} failed or interrupted trial(s), each queued again once")
    st.caption(plain(" · ".join(details), limit=None))
    if live is not None and live.error:
        st.error(plain(live.error))


def _stop(location: str) -> None:
    cached.study_registry().stop(location)


def _controls(report: StudyReport, live: Optional[LiveView], data: Optional[Dataset]) -> None:
    ref, alive = report.ref, live is not None and live.alive
    if alive:
        st.button("Stop", key="study_stop", on_click=_stop, args=(ref.location,), disabled=live.stopping,
                  icon=":material/stop:", help="The running trial ends after its current batch and is queued again; "
                                               "finished trials are kept.")
        return
    combine = (not report.work_left and report.levers is not None and report.levers.complete
               and report.combined_plan is None)
    if not (report.work_left or combine):
        return
    loader, why = resume_data(report.plan, data)
    if combine:
        helpers = sum(row.verdict == HELPS for row in report.levers.rows)
        label = (f"Combine the {helpers} lever(s) that helped and run them with the same seeds" if helpers
                 else "No lever helped: keep the reference and score it on the test split")
        clicked = st.button(label, key="study_combine", type="primary", disabled=loader is None,
                            icon=":material/merge:")
    else:
        clicked = st.button("Resume", key="study_resume", type="primary", disabled=loader is None,
                            icon=":material/play_arrow:",
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
