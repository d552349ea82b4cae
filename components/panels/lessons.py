"""The Lessons page's pieces: the lesson list, one lesson's card, its variants run back to back through the job
scheduler, and the variants side by side as they finish (curves, the lesson's metrics, the check, the coach).

A lesson's variants are ordinary training jobs (core.training.jobs), one per variant, queued together so they run back
to back: the server's queue shows them, Stop cancels the ones still waiting and ends the running one after its batch,
and each run is saved and tagged ``{"lesson", "variant", "attempt"}``. A reloaded tab finds its lesson again
through the lab session's owner (``cached.lesson_attempts()``, a server-wide service like the scheduler).

The lesson's numbers are read back from the saved runs (:func:`outcome_of`), the same numbers
``core.teaching.lessons.run_lesson`` measures in memory, so ``core.teaching.lessons.check`` judges them the same way.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st

from components.figures import evaluation, training
from components.frame import cached, job_status, state
from components.frame.common import PAGES
from components.frame.safe import plain
from components.panels import coach
from components.services import LessonAttempt
from core.config import setting_label
from core.model.estimate import format_seconds
from core.runs.store import list_runs, runs_dir
from core.teaching import lessons as lessons_module
from core.teaching.coach import diagnose, settings_in_words
from core.teaching.lessons import (
    HISTORY_METRICS,
    POSITION_METRICS,
    STANDARD_METRICS,
    TEXT_METRICS,
    Lesson,
    LessonResult,
    VariantOutcome,
    as_plain_dict,
    check,
    history_metric,
    resolve_metric,
    text_metric,
)
from core.training.jobs import TrainingJob, describe, spec_for

POLL_SECONDS = 0.5
CHOSEN = "lessons_chosen"  # the lesson picked, copied out of its widget so it survives page switches
_WATCHING = "lessons_watching"  # the results fragment polled while jobs ran: rerun once when they end
BUSY = ("Your training is still running, so the lesson was not started: stop it (Train page) or wait until it "
        "ends; lessons queue their runs like any training.")
POSITION_NOTE = ("Position bias is measured like the lesson engine does: Spearman ρ between token position and "
                 "score over the first 200 test texts of at least 5 tokens, explaining the predicted class.")


# ------------------------------------------------------------------------------------------------- loading


def overview(lessons: list[Lesson]) -> str:
    """The lessons as a numbered Markdown list (wraps at words on a projector, unlike a table's cut cells)."""
    return "\n".join(f"{index}. **{plain(lesson.title)}** — lever {plain(lever_words(lesson))}; "
                     f"{len(lesson.variants)} variants" for index, lesson in enumerate(lessons, start=1))


def lever_words(lesson: Lesson) -> str:
    """The settings a lesson changes, by their widgets' labels ("Dropout, Early stopping")."""
    return ", ".join(setting_label(key) for key in lesson.lever)


def variant_words(lesson: Lesson) -> dict[str, str]:
    """Variant name → what it sets, as the widgets show it ("Resampling strategy: No resampling"); the lesson file
    keeps the overrides themselves."""
    configs = lesson.configs()
    return {variant.name: "; ".join(settings_in_words(variant.overrides, configs[variant.name])) or "the base settings"
            for variant in lesson.variants}


def picker(lessons: list[Lesson]) -> Lesson:
    ids = [lesson.id for lesson in lessons]
    chosen = st.session_state.get(CHOSEN)
    titles = {lesson.id: f"{index}. {lesson.title}" for index, lesson in enumerate(lessons, start=1)}
    choice = st.selectbox("Lesson", ids, index=ids.index(chosen) if chosen in ids else 0, format_func=titles.get,
                          key="lessons_picker")
    st.session_state[CHOSEN] = choice
    return lessons[ids.index(choice)]


def card(lesson: Lesson) -> None:
    """The question, the variants, where to look, what the fast preset traded, and (folded) what to expect."""
    st.markdown(f"**Question.** {plain(lesson.question)}")
    words = variant_words(lesson)
    lines = [f"- **{plain(variant.label)}**: {plain(words[variant.name])}" for variant in lesson.variants]
    changes = "changes" if len(lesson.lever) == 1 else "change"
    st.markdown(f"**Variants** (only {plain(lever_words(lesson))} {changes}):\n" + "\n".join(lines))
    st.markdown(f"**What to look at.** {plain(lesson.look_at)}")
    st.markdown(f"**What the fast preset trades.** {plain(lesson.traded)}")
    with st.expander("Expected observation (predict it first, then open)"):
        st.markdown(plain(lesson.expected))
    subsample = f"; {plain(subsample_words(lesson.subsample))}" if lesson.subsample else ""
    st.caption(f"Data: the built-in {plain(lesson.dataset)} dataset{subsample}; seed {lesson.seed}; file "
               f"{plain(lesson.source)}.")


def subsample_words(subsample) -> str:
    """ "a seeded subsample of 12 rows per class (seed 0)" or "... of 500 rows in the data's proportions"."""
    size = (f"{subsample.per_class:,} rows per class" if subsample.per_class is not None
            else f"{subsample.rows:,} rows in the data's proportions")
    return f"a seeded subsample of {size} (seed {subsample.seed})"


def how_to_write() -> None:
    """The documented lesson format and its fully commented example (lessons/README.md, shipped with the app)."""
    folder = cached.lessons_folder()
    own = folder / "README.md"
    readme = own if own.is_file() else Path(lessons_module.LESSONS_DIR) / "README.md"
    with st.expander("Write your own lesson"):
        st.caption(plain(f"Lessons are TOML files in {folder}; each file there appears on this page (set "
                         f"${cached.LESSONS_VARIABLE} to use another folder). "
                         "The format, with a fully commented example:"))
        if readme.is_file():
            st.markdown(readme.read_text(encoding="utf-8"))  # the app's own documentation, not user data
        else:
            st.caption("The format's documentation (README.md) is missing from the lessons folder.")


# ------------------------------------------------------------------------------------------- running a lesson


@st.cache_data(max_entries=16, show_spinner="Fitting the TF-IDF baseline once for the lesson…")
def _baseline(lesson_id: str, relevant_json: str, _data):
    from core.config import ExperimentConfig
    from core.data.splitting import stratified_split
    from core.model.baseline import baseline_on_split
    from core.text.preprocessing import preprocess

    config = ExperimentConfig.from_json(relevant_json)
    processed = preprocess(_data.texts, config.preprocessing)[0]
    split = stratified_split(_data.y, config.split, config.seed, _data.class_names)
    return baseline_on_split(processed, _data.y, split, _data.class_names)


def _shared_baseline(lesson: Lesson, data, config):
    """Variants that share preprocessing, split and seed share one baseline, fitted here once instead of in every
    variant's process (it depends on nothing else)."""
    from core.config import ExperimentConfig

    relevant = ExperimentConfig(seed=config.seed, preprocessing=config.preprocessing, split=config.split).to_json()
    try:
        return _baseline(lesson.id, relevant, data)
    except ValueError:
        return None  # the worker fits it (and says why it cannot)


def start(lesson: Lesson) -> None:
    """Queue every variant, in order, as this lab session's jobs (the scheduler runs them one after another)."""
    owner = state.owner()
    mine = cached.scheduler().latest_for(owner)
    if mine is not None and mine.is_active():
        state.refuse_start(BUSY)
        return
    data = cached.lesson_dataset(lesson)
    attempt = secrets.token_hex(3)
    jobs = []
    for variant, config in zip(lesson.variants, lesson.configs().values()):
        tags = {"lesson": lesson.id, "variant": variant.name, "attempt": attempt}
        spec = spec_for(data, config, runs_dir(), tags, owner=owner, label=f"lesson {lesson.id} · {variant.name}",
                        baseline=_shared_baseline(lesson, data, config))
        jobs.append((variant.name, TrainingJob(spec)))
    for _, job in jobs:
        cached.scheduler().submit(job)
    cached.lesson_attempts().put(owner, LessonAttempt(lesson, attempt, tuple(jobs)))
    state.set_job(jobs[-1][1])  # the sidebar and the Train page follow the lesson's last run
    job_status.mark_started(jobs[-1][1].status)


def stop(lesson_id: str) -> None:
    current = cached.lesson_attempts().get(state.owner())
    if current is not None and current.lesson.id == lesson_id:
        for _, job in current.jobs:
            job.request_stop()


def current_attempt(lesson: Lesson) -> Optional[LessonAttempt]:
    current = cached.lesson_attempts().get(state.owner())
    return current if current is not None and current.lesson.id == lesson.id else None


def controls(lesson: Lesson) -> None:
    other = cached.lesson_attempts().get(state.owner())
    if other is not None and other.lesson.id != lesson.id and other.active():
        st.info(plain(f"Your lesson “{other.lesson.title}” is still running: choose it above to watch or stop it."))
    current = current_attempt(lesson)
    if current is not None and current.active():
        st.button("Stop the lesson", key="lessons_stop", on_click=stop, args=(lesson.id,),
                  help="Cancels the variants still waiting and ends the running one after its batch.")
    else:
        st.button("Start the lesson", key="lessons_start", type="primary", on_click=start, args=(lesson,),
                  help=f"Trains its {len(lesson.variants)} variants one after another (about a minute in all).")
    refused = state.refuse_start()
    if refused:
        st.warning(refused)


# ---------------------------------------------------------------------------------------- reading the runs


def metrics_wanted(lesson: Lesson, variant: str) -> list[str]:
    """What the lesson engine measures on a variant: the standard set, the clauses' metrics for it, and the
    position metrics on every variant when any clause needs them."""
    needed = [metric for clause in lesson.expect for _, metric in clause.metrics_needed()]
    extra = list(POSITION_METRICS) if any(metric in POSITION_METRICS for metric in needed) else []
    own = [metric for clause in lesson.expect for name, metric in clause.metrics_needed() if name == variant]
    return list(dict.fromkeys([*STANDARD_METRICS, *own, *extra]))


def lesson_metrics(lesson: Lesson) -> list[str]:
    """The metrics the lesson is about, in clause order, then test macro-F1."""
    named = [metric for clause in lesson.expect for _, metric in clause.metrics_needed()]
    return list(dict.fromkeys([*named, "test.macro_f1"]))


@st.cache_data(max_entries=64, show_spinner="Measuring position bias (attention and occlusion)…")
def _position_biases(run_dir: str, modified: float) -> dict[str, Optional[float]]:
    from core.evidence.faithfulness import position_bias

    run = cached.run_for(run_dir)
    texts = [prediction.text for prediction in run.predictions]
    if not texts:
        return {}
    explained = cached.inference_server().predict(run_dir, texts, methods=["attention", "occlusion"])
    long_enough = [item for item in explained if len(item.tokens) >= lessons_module.POSITION_MIN_TOKENS]
    chosen = long_enough[:lessons_module.POSITION_ROWS]
    biases = {}
    for method in ("attention", "occlusion"):
        scores = [item.explanation(method).scores for item in chosen if item.explanation(method) is not None]
        biases[method] = position_bias(scores, method).spearman if scores else None
    return biases


def _test_texts(run) -> list[str]:
    from core.text.preprocessing import preprocess

    return preprocess([prediction.text for prediction in run.predictions], run.config.preprocessing)[0]


def saved_value(path: str, run_dir: str) -> Optional[float]:
    """One lesson metric of a saved run: as ``core.teaching.lessons`` measures it in memory, read from the run's
    record."""
    run = cached.run_for(run_dir)
    metrics, history = as_plain_dict(run.metrics), run.history
    if path in HISTORY_METRICS:
        return history_metric(path, metrics, history)
    if path in TEXT_METRICS:
        return text_metric(path, _test_texts(run), run.vocabulary, metrics["vectorizing"]["max_length"])
    if path in POSITION_METRICS:
        method = path.split("_", 1)[0]
        bias = _position_biases(run_dir, Path(run_dir, "model.keras").stat().st_mtime).get(method)
        return None if bias is None else (abs(bias) if path.endswith("_strength") else bias)
    return resolve_metric(path, metrics, history)


@st.cache_data(max_entries=128, show_spinner=False)
def _saved_values(run_dir: str, modified: float, paths: tuple[str, ...]) -> dict[str, Optional[float]]:
    return {path: saved_value(path, run_dir) for path in paths}


def outcome_of(lesson: Lesson, variant: str, run_dir: str) -> VariantOutcome:
    """A finished variant as ``core.teaching.lessons`` describes it, read from its saved run (measured once per run)."""
    run = cached.run_for(run_dir)
    modified = Path(run_dir, "run.json").stat().st_mtime
    return VariantOutcome(
        name=variant, label=lesson.variant(variant).label, status=run.metrics.status, run_dir=run_dir,
        duration_s=float(run.info.duration_s),
        values=_saved_values(run_dir, modified, tuple(metrics_wanted(lesson, variant))),
        metrics=as_plain_dict(run.metrics), history=run.history,
    )


def latest_saved(lesson: Lesson) -> dict[str, str]:
    """variant name → the newest saved run of this lesson's variant on this server (for a page opened later)."""
    found: dict[str, str] = {}
    for run in list_runs():  # newest first
        tags = run.info.tags or {}
        if tags.get("lesson") == lesson.id and tags.get("variant") not in found:
            if any(variant.name == tags.get("variant") for variant in lesson.variants):
                found[tags["variant"]] = str(run.path)
    return found


# ----------------------------------------------------------------------------------------------- results


def results(lesson: Lesson) -> None:
    current = current_attempt(lesson)
    polling = current is not None and current.active()
    st.fragment(run_every=POLL_SECONDS if polling else None)(_results)(lesson.id)


def _results(lesson_id: str) -> None:
    lessons = {lesson.id: lesson for lesson in cached.all_lessons()}
    lesson = lessons.get(lesson_id)
    if lesson is None:
        return
    current = current_attempt(lesson)
    if current is None:
        saved = latest_saved(lesson)
        if not saved:
            st.info("Press Start the lesson: its variants train one after another and appear here side by side "
                    "as each one finishes.")
            return
        st.caption("The latest saved runs of this lesson on this server (press Start the lesson to run it again).")
        _side_by_side(lesson, {name: outcome_of(lesson, name, path) for name, path in saved.items()}, {}, None,
                      still_running=False)
        return
    views = {name: cached.scheduler().view(job) for name, job in current.jobs}
    active = any(view.active for view in views.values())
    if st.session_state.get(_WATCHING) and not active:
        st.session_state[_WATCHING] = False
        st.rerun()  # the whole page: the buttons swap back and the fragment stops polling
    st.session_state[_WATCHING] = active
    _progress(lesson, views)
    finished = {name: outcome_of(lesson, name, view.run_dir) for name, view in views.items()
                if not view.active and view.run_dir}
    running = {name: view.history for name, view in views.items() if view.active and view.history.get("loss")}
    started = [view.started_at for view in views.values() if view.started_at]
    ended = [view.finished_at for view in views.values() if view.finished_at]
    duration = (max(ended) - min(started)) if started and ended and not active else None
    _side_by_side(lesson, finished, running, duration, still_running=active)


def progress_line(index: int, count: int, label: str, view) -> str:
    """One variant's state, e.g. "2 of 3 · Class weights: training, epoch 3/6 · at most 9.0 s left"."""
    head = f"{index} of {count} · {label}"
    if view.status == "queued":
        return f"{head}: waiting" + (f" (queue position {view.queue_position})" if view.queue_position else "")
    progress = describe(view)
    if view.active:
        parts = [job_status.phase_words(progress["phase"]).lower()]
        stage = job_status.stage_words(view.fold, view.folds,
                                       progress["epoch"] if progress["phase"] == "train" else None,
                                       progress["epochs"] if progress["phase"] == "train" else None)
        if stage:
            parts.append(stage)
        if progress["eta_s"] is not None:
            parts.append(f"at most {format_seconds(progress['eta_s'])} left")
        return f"{head}: " + " · ".join(parts)
    if view.status == "failed":
        return f"{head}: failed — {view.error or 'no reason given'}"
    if view.status == "stopped" and not view.run_dir:
        return f"{head}: cancelled before it started"
    words = "stopped early by request" if view.status == "stopped" else "finished"
    return f"{head}: {words} after {format_seconds(progress['elapsed_s'])}"


def _progress(lesson: Lesson, views: dict) -> None:
    count = len(views)
    done = sum(not view.active for view in views.values())
    st.progress(done / max(1, count), text=plain(f"{done} of {count} variants done"))
    for index, (name, view) in enumerate(views.items(), start=1):
        st.caption(plain(progress_line(index, count, lesson.variant(name).label, view)))


def values_table(lesson: Lesson, outcomes: dict[str, VariantOutcome]) -> pd.DataFrame:
    """Rows: the lesson's metrics in words; columns: the variants in the lesson's order ("…" while training)."""
    rows = []
    for metric in lesson_metrics(lesson):
        row = {"metric": lessons_module.describe_metric(metric)}
        for variant in lesson.variants:
            outcome = outcomes.get(variant.name)
            row[variant.label] = evaluation.value_label(outcome.values.get(metric) if outcome else None)
        rows.append(row)
    return pd.DataFrame(rows, columns=["metric", *[variant.label for variant in lesson.variants]])


def _side_by_side(lesson: Lesson, outcomes: dict[str, VariantOutcome], running: dict[str, dict],
                  duration: Optional[float], *, still_running: bool) -> None:
    if not outcomes and not running:
        return
    order = [variant.name for variant in lesson.variants]
    curves = [{"run": lesson.variant(name).label + ("" if name in outcomes else " (training)"),
               "history": outcomes[name].history if name in outcomes else running[name]}
              for name in order if name in outcomes or name in running]
    st.markdown("**Training curves, one colour per variant**")
    st.altair_chart(training.run_curves(curves, metric="loss"), width="stretch")
    st.markdown("**The lesson's numbers**")
    with st.container(key="lessons_values"):
        # A static table wraps at words: a projector at 1024 px shows every value and every metric's name whole,
        # where a data grid cut them to "…".
        st.table(values_table(lesson, outcomes), hide_index=True)
    first = lesson_metrics(lesson)[0]
    st.caption(plain(f"Bars: {lessons_module.describe_metric(first)}, per variant."))
    st.altair_chart(evaluation.variant_values([{"variant": lesson.variant(name).label,
                                            "value": outcomes[name].values.get(first) if name in outcomes else None}
                                           for name in order]), width="stretch")
    if any(metric in POSITION_METRICS for metric in lesson_metrics(lesson)):
        st.caption(POSITION_NOTE)
    _verdict(lesson, outcomes, duration, still_running=still_running)
    _coach(lesson, outcomes)
    _open_buttons(lesson, outcomes)


def _verdict(lesson: Lesson, outcomes: dict[str, VariantOutcome], duration: Optional[float], *,
             still_running: bool) -> None:
    missing = [variant.label for variant in lesson.variants if variant.name not in outcomes]
    if missing:
        if still_running:
            st.info(plain(f"The check runs when every variant has finished; waiting for {', '.join(missing)}."))
        else:
            st.warning(plain(f"The lesson cannot be checked: {', '.join(missing)} did not run to the end (stopped or "
                             "failed). Start the lesson again to see the whole comparison."))
        return
    cut = [outcome.label for outcome in outcomes.values() if outcome.status != "completed"]
    if cut:
        st.info(plain(f"{', '.join(cut)} stopped before its last epoch, so its numbers describe a shorter training."))
    result = LessonResult(lesson, tuple(outcomes[variant.name] for variant in lesson.variants),
                          stopped=any(outcome.status != "completed" for outcome in outcomes.values()),
                          duration_s=duration or 0.0)
    holds, sentence = check(result)
    if holds:
        st.success(plain(f"The expected effect appeared. {sentence}"))
    else:
        st.warning(plain(f"The expected effect did not appear this time. {sentence}"))
    if duration is not None:
        st.caption(plain(f"The lesson took {format_seconds(duration)} from its first run's start to its last run's "
                         f"end ({len(outcomes)} runs, each trained in its own process)."))


def _coach(lesson: Lesson, outcomes: dict[str, VariantOutcome]) -> None:
    st.markdown("**The coach's verdict on each variant**")
    for variant in lesson.variants:
        outcome = outcomes.get(variant.name)
        if outcome is None:
            continue
        run = cached.run_for(outcome.run_dir)
        found = diagnose(run.history, metrics=run.metrics, config=run.config)
        st.markdown(f"*{plain(variant.label)}*: " + coach.verdict_line(found))


def _open(run_dir: str) -> None:
    state.select_run(run_dir)


def _open_buttons(lesson: Lesson, outcomes: dict[str, VariantOutcome]) -> None:
    shown = [variant for variant in lesson.variants if variant.name in outcomes]
    if not shown:
        return
    # A wrapping row of buttons as wide as their words: equal columns cut "Open 0.005 (about right) in Evaluate".
    with st.container(horizontal=True, gap="small"):
        for variant in shown:
            if st.button(f"Open {plain(variant.label)} in Evaluate", key=f"lessons_open_{variant.name}",
                         on_click=_open, args=(outcomes[variant.name].run_dir,)):
                st.switch_page(PAGES["evaluate"])

