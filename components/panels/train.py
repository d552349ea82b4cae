"""The Train page's pieces: start and stop a job, and watch it live.

The job trains in its own process (core.training.jobs); this page only polls it, so clicking, switching pages, reloading
or opening a second tab on the same URL never touches the training: a reloaded tab finds its job again through the
lab session (components.frame.job_status). While a job is active the live view reruns every half second.
"""

from __future__ import annotations

import os
from typing import Optional

import streamlit as st

from components.figures import training
from components.frame import cached, job_status, state
from components.frame.common import PAGES
from components.frame.safe import plain
from components.panels import coach
from components.panels import model as model_panel
from components.services import DataSource
from core.config import ExperimentConfig, apply_overrides, setting_value_text
from core.data.dataset import Dataset
from core.errors import ConfigError, UserError
from core.model.estimate import format_seconds
from core.runs.store import runs_dir
from core.training.jobs import TrainingJob, describe, spec_for
from core.training.recommend import RECOMMENDED_TAG

POLL_SECONDS = 0.5
SHOWN_EPOCH_TIMES = 12  # a projector line holds about this many "12: 3.1 s" entries
NAME_LIMIT, NOTE_LIMIT = 60, 200
NAME, NOTE = "train_run_name_value", "train_run_note_value"  # copies of the widgets' values: they outlive the page
ALREADY_RUNNING = ("Your training is still running (started from another tab of this session), so no second one was "
                   "queued: stop it first, or wait until it ends.")


def settings_summary(data: Dataset) -> None:
    st.caption(plain(settings_line(data, state.config())))


def settings_line(data: Dataset, config: ExperimentConfig) -> str:
    """The run about to start in one line, each choice named as its widget shows it ("Class weights (balanced)",
    not the key the config keeps)."""
    model, training = config.model, config.training
    layers = f"{model.lstm_layers} × {'bidirectional ' if model.bidirectional else ''}LSTM {model.lstm_units}"
    shown = {key: setting_value_text(key, value) for key, value in (
        ("model.attention", model.attention), ("training.optimizer", training.optimizer),
        ("training.lr_schedule", training.lr_schedule), ("resampling.strategy", config.resampling.strategy))}
    return (
        f"{len(data.texts):,} rows, {len(data.class_names)} classes · embedding {model.embedding_dim} → {layers} "
        f"→ attention: {shown['model.attention']} · dropout {model.dropout:g} · {shown['training.optimizer']}, "
        f"learning rate {training.learning_rate:g} ({shown['training.lr_schedule']}) · batch {training.batch_size} "
        f"· up to {training.epochs} epochs · resampling: {shown['resampling.strategy']}" + _averaging(config)
    )


def _averaging(config: ExperimentConfig) -> str:
    """' · 5-fold, averaged' and the like: what the run trains besides one model (its cost multiplies)."""
    split = config.split
    folds = (f" · {split.k_folds}-fold" + (", averaged" if split.ensemble else ", best fold kept")
             if split.k_folds >= 2 else "")
    seeds = f" · {split.ensemble_seeds} seeds averaged" if split.ensemble_seeds > 1 else ""
    return folds + seeds


def job_label(source: DataSource, config: ExperimentConfig) -> str:
    """One line naming a job in the server's queue, e.g. "faa-bird-strikes-effect · BiLSTM 64 · 15 epochs".

    Every session sees the queue, so an upload is named only as such: its file name is its owner's business."""
    model = config.model
    layers = f"{model.lstm_layers}×" if model.lstm_layers > 1 else ""
    data = source.name if source.kind == "builtin" else "uploaded CSV"
    return (f"{data} · {layers}{'Bi' if model.bidirectional else ''}LSTM {model.lstm_units} · "
            f"{config.training.epochs} epochs")


def _baseline(data: Dataset, config: ExperimentConfig):
    """The Data page's cached TF-IDF baseline for this data, preprocessing and split (saves the worker ~2 s), or
    None to let the worker fit it."""
    try:
        return cached.baseline_for(cached.dataset_key(state.source(), data), data, config)
    except (UserError, ValueError):
        return None


def run_tags(config: Optional[ExperimentConfig] = None) -> dict:
    """The student's name and note for the next run, as run tags (empty ones are left out), and what "Recommended
    for this data" chose when these settings came from it (see :func:`recommended_overrides`)."""
    tags = {"name": str(st.session_state.get(NAME, "")).strip()[:NAME_LIMIT],
            "note": str(st.session_state.get(NOTE, "")).strip()[:NOTE_LIMIT]}
    recommended = recommended_overrides(config) if config is not None else None
    return {key: value for key, value in {**tags, RECOMMENDED_TAG: recommended}.items() if value}


def recommended_overrides(config: ExperimentConfig) -> Optional[list[str]]:
    """What "Recommended for this data" chose (the Model page keeps its last choice in this session), when the run
    about to start still holds every one of those choices; None when the settings came from elsewhere (or were
    reset, or changed one of the choices since), so the run is then compared with the defaults."""
    note = st.session_state.get(model_panel.RECOMMENDATION_NOTE)
    overrides = [str(item) for item in (note[0] if note else [])]
    if not overrides:  # never clicked, or the recommendation failed (its note then holds only the reason)
        return None
    try:
        return overrides if apply_overrides(config, overrides) == config else None
    except ConfigError:
        return None


def _copy(widget_key: str, target: str) -> None:
    st.session_state[target] = st.session_state.get(widget_key, "")


def name_inputs() -> None:
    """Who this run is and why: shown on the Runs page's table and leaderboard (a classroom's runs share a folder)."""
    left, right = st.columns([2, 3])
    with left:
        st.text_input("Run name", value=st.session_state.get(NAME, ""), max_chars=NAME_LIMIT, key="train_name",
                      on_change=_copy, args=("train_name", NAME), placeholder="e.g. Ana, dropout 0.3",
                      help="Your name or the run's: the leaderboard on the Runs page lists runs by it.")
    with right:
        st.text_input("Note", value=st.session_state.get(NOTE, ""), max_chars=NOTE_LIMIT, key="train_note",
                      on_change=_copy, args=("train_note", NOTE), placeholder="e.g. more dropout against overfitting",
                      help="What you changed and why; kept with the run.")


def _start(data: Dataset) -> None:
    mine = cached.scheduler().latest_for(state.owner())
    if mine is not None and mine.is_active():
        # Another tab of this lab session started one meanwhile: show that one instead of queueing a duplicate.
        state.set_job(mine)
        job_status.mark_started(mine.view().status)
        state.refuse_start(ALREADY_RUNNING)
        return
    config = state.config()
    spec = spec_for(data, config, runs_dir(), run_tags(config) or None, owner=state.owner(),
                    label=job_label(state.source(), config), baseline=_baseline(data, config))
    job = TrainingJob(spec)
    cached.scheduler().submit(job)
    state.set_job(job)
    job_status.mark_started(job.status)


def _stop() -> None:
    job = job_status.job()
    if job is not None:
        job.request_stop()


def untrainable_reason(data: Dataset, config: ExperimentConfig) -> Optional[str]:
    """The one sentence that says why this data cannot be trained with these settings (the Data page says the same),
    or None: Start stays disabled rather than failing minutes later."""
    from core.data.trainability import assess

    try:
        verdict = assess(data.y, data.class_names, config)
    except UserError as exc:
        return str(exc)
    return None if verdict.trainable else f"Start is disabled: {verdict.reason[0].lower()}{verdict.reason[1:]}"


def controls(data: Dataset) -> None:
    """Start or Stop, what the run will be, and why Start is refused; one block, whatever it holds (see
    :data:`LIVE_BLOCKS`)."""
    with st.container(key="train_controls"):
        _controls(data)


def _controls(data: Dataset) -> None:
    job = job_status.job()
    active = job is not None and job.is_active()
    blocked = None if active else untrainable_reason(data, state.config())
    if not active:
        name_inputs()
    left, right = st.columns([1, 4])
    with left:
        if active:
            st.button("Stop", key="train_stop", on_click=_stop, type="secondary",
                      disabled=job.view().stop_requested,
                      help="Ends after the current batch; finished epochs and the model are kept.")
        else:
            st.button("Start training", key="train_start", on_click=_start, args=(data,), type="primary",
                      disabled=blocked is not None, help=blocked)
    with right:
        settings_summary(data)
    if blocked and not active:
        st.error(plain(blocked))
    refused = state.refuse_start()
    if refused:
        st.warning(refused)


def status_line(view, progress: dict, *, cross_validation: bool = True) -> str:
    """Where the run is: its phase (and what it is doing), epoch, elapsed time and time left."""
    if view.status == "queued":
        return f"Queued: position {view.queue_position}. Another training is using the CPU; yours starts when it ends."
    if not view.active:
        words = {"finished": "Finished", "stopped": "Stopped", "failed": "Failed"}.get(view.status,
                                                                                       view.status.capitalize())
        return f"{words} after {format_seconds(progress['elapsed_s'])}"
    phase = job_status.phase_words(progress["phase"])
    parts = [f"{phase}: {progress['phase_message']}" if progress["phase_message"] else phase]
    training = progress["phase"] == "train"
    stage = job_status.stage_words(view.fold, view.folds, progress["epoch"] if training else None,
                                   progress["epochs"] if training else None, cross_validation=cross_validation)
    if stage:
        parts.append(stage)
    parts.append(f"elapsed {format_seconds(progress['elapsed_s'])}")
    if progress["eta_s"] is not None:
        left = format_seconds(progress["eta_s"])
        # Early stopping can end training sooner than planned, never later; scoring and saving are counted in.
        parts.append(f"at most {left} left" if progress["phase"] == "train" else f"about {left} left")
    if view.stop_requested:
        parts.append("stopping after this batch")
    return " · ".join(parts)


def epoch_times_line(epoch_seconds: list[float], partial_epoch: Optional[int]) -> str:
    """ "Epoch times: 1: 3.1 s · 2: 2.9 s · 3: 0.4 s (cut short)", the latest ones when there are many."""
    if not epoch_seconds:
        return ""
    entries = [f"{epoch}: {format_seconds(seconds)}" + (" (cut short)" if epoch == partial_epoch else "")
               for epoch, seconds in enumerate(epoch_seconds, start=1)]
    shown = entries[-SHOWN_EPOCH_TIMES:]
    return "Epoch times: " + ("… " if len(shown) < len(entries) else "") + " · ".join(shown)


def _early_stopping_line(progress: dict, active: bool) -> str:
    if not progress["patience"] or not progress["best_epoch"]:
        return ""
    if not active:
        return f"Best epoch {progress['best_epoch']}: early stopping kept its weights."
    return (f"Early stopping: best epoch so far {progress['best_epoch']}; "
            f"{progress['epochs_without_improvement']} of {progress['patience']} epochs without improvement.")


# The live view's blocks, always drawn in this order (an empty one when it has nothing to say), after the controls'
# one block: the browser matches a rerun's elements to the last run's by position, and elements that came and went
# (the name inputs when a run ends, the curves, the outcome) shifted the coach's heading, so that while the run
# ended it showed twice (the last run's, stale, above the progress bar) and the curves drew in the wrong column.
LIVE_BLOCKS = ("train_live_status", "train_live_curves", "train_live_outcome", "coach_live")


def _live() -> None:
    view = job_status.poll()
    if view is None:
        st.info("No training in this session yet. Press Start training: the curves appear here as epochs finish.")
        return
    progress = describe(view)
    current = job_status.job()
    cross_validation = job_status.trains_folds(current)
    with st.container(key=LIVE_BLOCKS[0]):
        st.progress(progress["fraction"], text=plain(status_line(view, progress, cross_validation=cross_validation)))
        for line in (epoch_times_line(progress["epoch_seconds"], progress["partial_epoch"]),
                     _early_stopping_line(progress, view.active)):
            if line:
                st.caption(line)
    with st.container(key=LIVE_BLOCKS[1]):
        if view.status != "queued":  # nothing to draw until it starts; the line above says where it stands
            _curves(view, progress, "fold" if cross_validation else "model")
    with st.container(key=LIVE_BLOCKS[2]):
        _outcome(view, progress["partial_epoch"])
    coach.live(view, current, key=LIVE_BLOCKS[3])


def _curves(view, progress: dict, word: str) -> None:
    """Loss and accuracy of the model training now; with k-fold, the folds already trained stay drawn, faded."""
    earlier = [(f"{word} {index}", curves) for index, curves in enumerate(view.earlier_folds, start=1)]
    current = f"{word} {view.fold or len(earlier) + 1} of {view.folds}" if view.folds else None
    left, right = st.columns(2)
    for column, metric in ((left, "loss"), (right, "accuracy")):
        with column:
            st.altair_chart(training.training_curves(view.history, metric=metric, best_epoch=progress["best_epoch"],
                                                   batch_points=view.batch_points,
                                                   partial_epoch=progress["partial_epoch"], earlier=earlier,
                                                   current=current),
                            width="stretch")
    if earlier:
        st.caption(plain(f"Faded: the curves of {_listed([label for label, _ in earlier])}, already trained; "
                         f"the solid ones are {current}'s."))


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def _outcome(view, partial_epoch: Optional[int]) -> None:
    if view.status == "failed":
        st.error(plain(view.error or "Training failed."))
    elif view.status in ("finished", "stopped") and view.run_dir:
        verb = "stopped early by request" if view.status == "stopped" else "finished"
        cut = (f" Epoch {partial_epoch} was cut short: it is drawn hollow and never counts as the best epoch."
               if partial_epoch else "")
        st.success(plain(f"Training {verb}; the run is saved as {os.path.basename(view.run_dir)}.{cut}"))
        st.page_link(PAGES["evaluate"], label="See the results", icon=":material/target:")
    elif view.status == "stopped":
        st.info("The queued training was cancelled before it started.")


def live_view() -> None:
    with st.container(key="train_live"):
        st.fragment(run_every=POLL_SECONDS if job_status.is_active() else None)(_live)()
