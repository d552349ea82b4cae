"""The Train page's pieces: start and stop a job, and watch it live.

The job trains in its own process (core.jobs); this page only polls it, so clicking, switching pages or opening a
second tab never touches the training. While a job is active the live view reruns every half second.
"""

from __future__ import annotations

import os

import streamlit as st

from components import cached, charts, job_status, state
from components.common import PAGES
from components.safe import plain
from core.data import Dataset
from core.estimate import format_seconds
from core.jobs import TrainingJob, describe, spec_for
from core.runs import runs_dir

POLL_SECONDS = 0.5


def settings_summary(data: Dataset) -> None:
    config = state.config()
    model, training = config.model, config.training
    layers = f"{model.lstm_layers} × {'bidirectional ' if model.bidirectional else ''}LSTM {model.lstm_units}"
    st.caption(plain(
        f"{len(data.texts):,} rows, {len(data.class_names)} classes · embedding {model.embedding_dim} → {layers} → "
        f"attention {model.attention} · dropout {model.dropout} · {training.optimizer} lr {training.learning_rate:g} "
        f"({training.lr_schedule}) · batch {training.batch_size} · up to {training.epochs} epochs · "
        f"resampling {config.resampling.strategy}" + (f" · {config.split.k_folds}-fold" if config.split.k_folds >= 2 else "")
    ))


def _start(data: Dataset) -> None:
    job = TrainingJob(spec_for(data, state.config(), runs_dir()))
    cached.scheduler().submit(job)
    state.set_job(job)
    job_status.mark_started(job.status)


def _stop() -> None:
    job = state.job()
    if job is not None:
        job.request_stop()


def controls(data: Dataset) -> None:
    job = state.job()
    active = job is not None and job.is_active()
    left, right = st.columns([1, 4])
    with left:
        if active:
            st.button("Stop", key="train_stop", on_click=_stop, type="secondary",
                      disabled=job.view().stop_requested, help="Ends after the current batch; finished epochs and the model are kept.")
        else:
            st.button("Start training", key="train_start", on_click=_start, args=(data,), type="primary")
    with right:
        settings_summary(data)


def _status_line(view, progress: dict) -> str:
    if view.status == "queued":
        return f"Queued: position {view.queue_position}. Another training is using the CPU; yours starts when it ends."
    if view.status == "starting":
        return "Starting the training process…"
    if view.warmup_message:
        return view.warmup_message
    parts = []
    if view.folds:
        parts.append(f"fold {view.fold}/{view.folds}")
    if progress["epoch"]:
        parts.append(f"epoch {progress['epoch']}/{progress['epochs']}")
    parts.append(f"elapsed {format_seconds(progress['elapsed_s'])}")
    if progress["eta_s"] is not None:
        parts.append(f"at most {format_seconds(progress['eta_s'])} left")
    if view.stop_requested and view.active:
        parts.append("stopping after this batch")
    return " · ".join(parts)


def _early_stopping_line(progress: dict) -> str:
    if not progress["patience"] or not progress["best_epoch"]:
        return ""
    return (f"Early stopping: best epoch so far {progress['best_epoch']}; "
            f"{progress['epochs_without_improvement']} of {progress['patience']} epochs without improvement.")


def _live() -> None:
    view = job_status.poll()
    if view is None:
        st.info("No training in this session yet. Press Start training: the curves appear here as epochs finish.")
        return
    progress = describe(view)
    st.progress(progress["fraction"], text=plain(_status_line(view, progress)))
    early = _early_stopping_line(progress)
    if early:
        st.caption(early)
    best = progress["best_epoch"]
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.training_curves(view.history, metric="loss", best_epoch=best, batch_points=view.batch_points),
                        width="stretch")
    with right:
        st.altair_chart(charts.training_curves(view.history, metric="accuracy", best_epoch=best, batch_points=view.batch_points),
                        width="stretch")
    _outcome(view)


def _outcome(view) -> None:
    if view.status == "failed":
        st.error(plain(view.error or "Training failed."))
    elif view.status in ("finished", "stopped") and view.run_dir:
        verb = "stopped early by request" if view.status == "stopped" else "finished"
        st.success(plain(f"Training {verb}; the run is saved as {os.path.basename(view.run_dir)}."))
        st.page_link(PAGES["evaluate"], label="See the results", icon=":material/target:")
    elif view.status == "stopped":
        st.info("The queued training was cancelled before it started.")


def live_view() -> None:
    job = state.job()
    active = job is not None and job.is_active()
    st.fragment(run_every=POLL_SECONDS if active else None)(_live)()
