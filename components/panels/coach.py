"""The training coach on the dashboard (core.teaching.coach): plain-language diagnoses with the evidence behind each,
and ONE "try this" button per diagnosis that queues the same experiment with that one setting changed; once the new
run is in, both runs are shown together (curves and scores, the baseline marked).

The re-run is an ordinary training job of this lab session (core.training.jobs), tagged ``{"coach", "change", "parent",
"note"}`` so the pair can be found again from the runs folder. The latest re-run of each lab session is also kept
server-wide (``cached.reruns()``, a components.services store), so a reloaded tab, or a re-run started live (before
the first run was saved), still shows the pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import pandas as pd
import streamlit as st

from components.figures import evaluation, training
from components.frame import cached, job_status, state
from components.frame.safe import plain
from components.panels.runs import run_name
from components.services import DataSource, Rerun
from core.config import ExperimentConfig, apply_overrides
from core.data.builtin import source_title
from core.errors import UserError
from core.runs.store import list_runs, runs_dir
from core.teaching.coach import WARNING, Diagnosis, diagnose, settings_in_words
from core.training.jobs import TrainingJob, spec_for
from core.training.recommend import RECOMMENDED_TAG

NOISE = 0.03  # seed-to-seed swings of macro-F1 measured here (DESIGN.md section 6)
BUSY = "Your training is still running: wait for it to end (or stop it) before trying a change."


# ------------------------------------------------------------------------------------------------ drawing


def change_words(diagnosis: Diagnosis, config: Optional[ExperimentConfig] = None) -> str:
    """The one change in the widgets' words a button can hold, e.g. "Dropout: 0.3" (the override itself,
    ``model.dropout=0.3``, stays in the run's tags)."""
    return "; ".join(settings_in_words(diagnosis.overrides, config))


def verdict_line(diagnoses: list[Diagnosis]) -> str:
    """One line (escaped Markdown) naming each diagnosis and its evidence, or saying there is nothing to flag."""
    if not diagnoses:
        return "nothing to flag (no overfitting, underfitting, learning-rate or class problems found)."
    return " · ".join(f"**{plain(d.title)}** — {plain(d.evidence)}" for d in diagnoses)


def render(diagnoses: list[Diagnosis], *, key: str, on_try: Optional[Callable[[Diagnosis], None]],
           config: Optional[ExperimentConfig] = None, try_label: str = "Try this",
           disabled_reason: Optional[str] = None) -> None:
    """Each diagnosis: title, evidence and suggestion in one box, then its one "try this" button (once per change:
    two diagnoses may point to the same setting). ``config`` is the run's: the change is named with its value."""
    offered: set[tuple[str, ...]] = set()
    for diagnosis in diagnoses:
        box = st.warning if diagnosis.severity == WARNING else st.info
        box(f"**{plain(diagnosis.title)}.** {plain(diagnosis.evidence[:1].upper() + diagnosis.evidence[1:])}\n\n"
            f"{plain(diagnosis.suggestion)}")
        if diagnosis.overrides in offered:
            st.caption(plain(f"The same change as above ({change_words(diagnosis, config)}) answers this one too."))
            continue
        offered.add(diagnosis.overrides)
        if on_try is not None and diagnosis.overrides:
            clicked = st.button(f"{try_label} ({plain(change_words(diagnosis, config))})",
                                key=f"{key}_try_{diagnosis.key}", on_click=on_try, args=(diagnosis,),
                                disabled=disabled_reason is not None,
                                help=disabled_reason or "Queues the same experiment with only this setting changed; "
                                                        "both runs are then shown together.")
            if clicked:
                # The whole app, not just the fragment the button may sit in: the pages' pollers are set up in a
                # full run, and a new job must be watched until it ends.
                st.rerun()
    if disabled_reason and any(d.overrides for d in diagnoses):
        st.caption(plain(disabled_reason))


# ---------------------------------------------------------------------------------------------- the data


def dataset_for_run(run):
    """The Dataset a saved run was trained on, when this server can rebuild it with the same content hash: the data
    loaded in this session, the lesson's data, or a built-in dataset. None when it is an upload not loaded now."""
    from core.data.builtin import BUILTIN_DATASETS

    wanted = run.info.data_hash
    columns = (run.config.data.text_column, run.config.data.label_column)

    def same(data) -> bool:
        return data is not None and (data.data_hash == wanted if wanted else data.source_name == run.info.data)

    try:
        current = cached.dataset(state.source(), *columns)
        if same(current):
            return current
    except UserError:
        pass
    lesson_id = (run.info.tags or {}).get("lesson")
    if lesson_id:
        lesson = next((item for item in cached.all_lessons() if item.id == lesson_id), None)
        if lesson is not None and same(data := cached.lesson_dataset(lesson)):
            return data
    for key in BUILTIN_DATASETS:
        if run.info.data.startswith(f"builtin:{key}"):
            try:
                data = cached.dataset(DataSource("builtin", key), *columns)
            except UserError:
                continue
            if same(data):
                return data
    return None


# ------------------------------------------------------------------------------------------- queueing a change


def _queue(data, config: ExperimentConfig, diagnosis: Diagnosis, parent_id: str, parent_tags: dict) -> TrainingJob:
    change = ", ".join(diagnosis.overrides)  # the overrides themselves: the run record keeps keys
    words = change_words(diagnosis, config)  # what people read: the run's note and name, the queue's line
    tags = {"coach": diagnosis.key, "change": change, "parent": parent_id,
            "note": f"Coach: {diagnosis.title.lower()}, tried {words}"}
    if parent_tags.get("name"):
        tags["name"] = f"{parent_tags['name']} + {words}"
    for kept in ("lesson", "variant"):
        if kept in parent_tags:
            tags[f"parent_{kept}"] = parent_tags[kept]
    if RECOMMENDED_TAG in parent_tags:  # the re-run keeps the parent's recommendation: it differs in one change
        tags[RECOMMENDED_TAG] = parent_tags[RECOMMENDED_TAG]
    job = TrainingJob(spec_for(data, apply_overrides(config, list(diagnosis.overrides)), runs_dir(), tags,
                               owner=state.owner(), label=f"coach re-run · {words}"))
    cached.scheduler().submit(job)
    state.set_job(job)
    job_status.mark_started(job.status)
    return job


def try_saved(run_dir: str, diagnosis: Diagnosis) -> None:
    """Re-run a saved run with the diagnosis's one change (its own config and data)."""
    if job_status.is_active():
        state.refuse_start(BUSY)
        return
    run = cached.run_for(run_dir)
    data = dataset_for_run(run)
    if data is None:
        state.refuse_start(f"This run's data ({source_title(run.info.data)}) is not loaded: "
                           "open it on the Data page, then try again.")
        return
    job = _queue(data, run.config, diagnosis, Path(run_dir).name, run.info.tags or {})
    cached.reruns().put(state.owner(), Rerun(job=job, change=change_words(diagnosis, run.config), title=diagnosis.title,
                                             parent_run=run_dir))


def try_live(job: TrainingJob, diagnosis: Diagnosis) -> None:
    """From the Train page: stop the job being watched (its finished epochs are saved) and queue the change."""
    view = job.view()
    if view.active:
        job.request_stop()
    parent_run = None if view.active else view.run_dir
    parent_id = Path(parent_run).name if parent_run else ""
    tags = dict(job.spec.tags or {})
    child = _queue(job.spec.dataset, job.spec.config, diagnosis, parent_id, tags)
    cached.reruns().put(state.owner(), Rerun(job=child, change=change_words(diagnosis, job.spec.config),
                                             title=diagnosis.title, parent_run=parent_run,
                                             parent_job=None if parent_run else job))


# ------------------------------------------------------------------------------------------------ sections


def after_run(run_dir: str, run, *, position_bias: Optional[float], key: str = "coach") -> None:
    """Evaluate: the coach's diagnoses of a saved run, the try buttons, and the pair once a re-run exists."""
    found = diagnose(run.history, metrics=run.metrics, config=run.config, position_bias=position_bias)
    if not found:
        st.success("The coach has nothing to flag: no overfitting, underfitting, learning-rate, class or truncation "
                   "problem shows in this run's curves and scores.")
    else:
        reason = BUSY if job_status.is_active() else None
        if reason is None and dataset_for_run(run) is None:
            reason = (f"This run's data ({source_title(run.info.data)}) is not loaded, so it cannot be re-run from "
                      "here: open it on the Data page first.")
        render(found, key=key, on_try=lambda diagnosis: try_saved(run_dir, diagnosis), config=run.config,
               disabled_reason=reason)
    refused = state.refuse_start()
    if refused:
        st.warning(plain(refused))
    pair_for(run_dir)


def live(view, job: Optional[TrainingJob], *, key: str = "coach_live") -> None:
    """Train: the coach reads the curves after every epoch (curves only; the full verdict comes on Evaluate), and
    once the run has ended it speaks of the run as done. Always one block (empty before the first epoch), so the
    page's other blocks keep their places."""
    with st.container(key=key):
        if job is None or not view.history.get("loss"):
            return
        found = diagnose(view.history, config=job.spec.config, live=True)
        st.markdown("**Coach**")
        if not found:
            st.caption(live_verdict(view))
        label = "Stop and try this" if view.active else "Try this"
        render(found, key=key, on_try=lambda diagnosis: try_live(job, diagnosis), config=job.spec.config,
               try_label=label)
        rerun = cached.reruns().get(state.owner())
        if rerun is not None and rerun.job.job_id == job.job_id and not view.active and view.run_dir:
            parent = rerun.parent_dir()  # this job is the coach's re-run: show it next to the run it changed
            if parent:
                side_by_side(parent, view.run_dir)


def live_verdict(view) -> str:
    """What the coach says when the curves show nothing: in the present while the run trains, in the past once it
    has ended (and where the full verdict is)."""
    if view.active:
        return "Nothing to flag in the curves so far; the coach reads them again after every epoch."
    fold = f" of the last fold ({view.fold} of {view.folds})" if view.folds else ""
    return (f"Nothing to flag in this run's curves{fold}: no overfitting, underfitting or learning-rate problem "
            "showed. The coach's full verdict, with the test scores, is on the Evaluate page.")


def _partner(run_dir: str) -> tuple[Optional[str], Optional[str], Optional[Rerun]]:
    """(parent run, child run, the session's re-run when it is the link) for a run shown on a page."""
    rerun = cached.reruns().get(state.owner())
    if rerun is not None:
        child_dir = rerun.job.view().run_dir
        if rerun.parent_dir() == run_dir:
            return run_dir, child_dir, rerun
        if child_dir == run_dir:
            return rerun.parent_dir(), run_dir, rerun
    name = Path(run_dir).name
    runs = list_runs()
    child = next((str(r.path) for r in runs if (r.info.tags or {}).get("parent") == name), None)
    if child is not None:
        return run_dir, child, None
    own = cached.run_for(run_dir).info.tags or {}
    parent = next((str(r.path) for r in runs if own.get("parent") and r.path.name == own.get("parent")), None)
    return (parent, run_dir, None) if parent else (None, None, None)


def pair_for(run_dir: str) -> None:
    """The run next to its coach re-run (or its parent), once both are saved; progress while the re-run trains."""
    parent, child, rerun = _partner(run_dir)
    if parent is None and child is None:
        return
    if child is None and rerun is not None:
        view = cached.scheduler().view(rerun.job)
        if view.active:
            where = f"queued (position {view.queue_position})" if view.status == "queued" else "training"
            st.info(plain(f"The re-run ({rerun.change}) is {where}; both runs appear here together when it is saved."))
        elif view.status == "failed":
            st.error(plain(f"The re-run ({rerun.change}) failed: {view.error or 'no reason given'}"))
        return
    if parent is None or child is None:
        return
    side_by_side(parent, child)


def side_by_side(parent_dir: str, child_dir: str) -> None:
    before, after = cached.run_for(parent_dir), cached.run_for(child_dir)
    overrides = [item.strip() for item in str((after.info.tags or {}).get("change") or "").split(",") if item.strip()]
    change = "; ".join(settings_in_words(overrides, before.config)) or "the coach's change"
    names = {parent_dir: f"before: {run_name(before.info, Path(parent_dir).name)}", child_dir: f"after: {change}"}
    st.markdown("**Before and after the coach's change**")
    curves = [{"run": names[path], "history": run.history, "partial_epoch": run.metrics.training.partial_epoch}
              for path, run in ((parent_dir, before), (child_dir, after))]
    st.altair_chart(training.run_curves(curves, metric="loss"), width="stretch")
    rows, baselines = [], []
    for path, run in ((parent_dir, before), (child_dir, after)):
        for field, label in (("macro_f1", "macro-F1"), ("accuracy", "accuracy"),
                             ("balanced_accuracy", "balanced accuracy")):
            rows.append({"run": names[path], "metric": label, "value": getattr(run.metrics.test, field)})
            baselines.append({"run": names[path], "metric": label, "value": getattr(run.metrics.baseline, field)})
    st.altair_chart(evaluation.metric_comparison(rows, baselines=baselines), width="stretch")
    st.markdown(plain(change_sentence(before.metrics.test.macro_f1, after.metrics.test.macro_f1, change)))
    st.dataframe(pd.DataFrame([{"run": names[path], "test macro-F1": round(run.metrics.test.macro_f1, 3),
                                "epochs": run.metrics.training.epochs_run, "status": run.metrics.status}
                               for path, run in ((parent_dir, before), (child_dir, after))]),
                 hide_index=True, width="stretch", column_config={"run": st.column_config.TextColumn(pinned=True)})


def change_sentence(before: float, after: float, change: str) -> str:
    """What the change did to test macro-F1, weighed against the seed-to-seed noise."""
    delta = after - before
    if abs(delta) <= NOISE:
        judged = f"within the ±{NOISE:.2f} that a different seed alone can cause, so it is no clear effect"
    elif delta > 0:
        judged = "more than a different seed alone usually causes: the change helped on this split"
    else:
        judged = "more than a different seed alone usually causes: the change hurt on this split"
    return (f"With {change}, test macro-F1 went from {before:.3f} to {after:.3f} ({delta:+.3f}), {judged}.")
