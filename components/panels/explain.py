"""Evaluate's explanations: every method side by side on one text, and how faithful each is for this run.

Nothing here makes the page wait. Faithfulness is measured in the background (by the worker that trained the run,
right after saving it, or by a follow-up process for a run saved without a report: core.evidence.inference) and kept
beside the run; until it is there the section shows a progress line, polls the run folder and redraws the page when
the report is written. Predictions with explanations come from the inference server (a separate process holding
TensorFlow) on a background thread: a line says they are being computed, and the page redraws when they are ready.
The figures are built without Streamlit (components.figures.shading: escaped HTML; components.figures.explanations);
here they are drawn.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Optional, Sequence

import streamlit as st

from components.figures.explanations import deciding_columns, faithfulness_chart, faithfulness_table
from components.figures.shading import token_shading_html
from components.frame import cached
from components.frame.safe import plain
from components.services import BoundedLRU
from core.errors import UserError
from core.evidence.explain import EXPLANATION_METHODS
from core.evidence.faithfulness import FaithfulnessReport
from core.evidence.inference import FaithfulnessMeasurer, TextPrediction, faithfulness_sample

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0  # how often a waiting section looks again (a file read, or a finished-yet check)
GRACE_SECONDS = 0.3  # a started model server answers within this, so the answer is drawn in the same run
ATTENTION_WARNING = ("Attention weights are not an explanation by themselves: over LSTM states they often follow "
                     "token position (Jain & Wallace 2019). Trust the method the faithfulness table shows first.")
EXPLAINING = ("Explaining this text with every method: the model server is starting (once per server) or loading "
              "this run's model. The rest of the page works meanwhile; the shading appears here when it is ready.")
# Streamlit unpins every column of a grid whose pinned columns take more than 60 % of its width (its DataFrame
# component's rule). At 1024 px the grid beside the open sidebar measured 676 px (sidebar 300 px; 720 px beside a
# 256-px one), and a browser that draws classic scrollbars takes ~17 px more: the deciding columns stay within 390 px.
PINNED_SHARE_LIMIT = 0.6
GRID_WIDTH_AT_1024 = 676 - 17
PINNED_WIDTH_AT_1024 = int(PINNED_SHARE_LIMIT * GRID_WIDTH_AT_1024) - 5
MIN_VERDICT_WIDTH = 80
CHARACTER_PX, PADDING_PX = 6.6, 18  # the table's font: ~6.6 px a character, plus the cell's padding


@st.cache_resource(show_spinner=False)
def measurer() -> FaithfulnessMeasurer:
    """One follow-up measurer per server (a spawned process at a time, only while a run needs it)."""
    return FaithfulnessMeasurer()


@st.cache_resource(show_spinner=False)
def _background() -> tuple[ThreadPoolExecutor, BoundedLRU]:
    """Threads that wait on the inference server, and the answers (futures) by run, model file time and text."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="lstm-text-lab-explain"), BoundedLRU(256)


def render_token_shading(tokens: Sequence[str], scores: Sequence[float], *, kind: str, key: str,
                         caption: Optional[str] = None) -> None:
    """Draw one explained text; ``caption`` is plain text (escaped here)."""
    with st.container(key=key):
        st.html(token_shading_html(tokens, scores, kind))
        if caption:
            st.caption(plain(caption))


def column_width(values: Sequence[str], header: str, *, least: int = 70) -> int:
    """Pixels for a text column: its longest value or header at the table's font."""
    longest = max((len(str(value)) for value in (*values, header)), default=0)
    return int(max(least, CHARACTER_PX * longest + PADDING_PX))


def faithfulness_columns(report: FaithfulnessReport, table) -> dict:
    """Column config pinning the deciding columns (method, AOPC with its interval, verdict) so they stay in view at
    1024 px; the others scroll. Together they stay within :data:`PINNED_WIDTH_AT_1024`, or Streamlit would unpin
    them all: a verdict wider than what is left is cut with "…" (the full words are in the sentences around the
    table)."""
    method, aopc, verdict = deciding_columns(report)
    widths = {method: column_width(table[method], method), aopc: column_width(table[aopc], aopc)}
    room = PINNED_WIDTH_AT_1024 - sum(widths.values())
    widths[verdict] = max(MIN_VERDICT_WIDTH, min(column_width(table[verdict], verdict), room))
    return {name: st.column_config.TextColumn(pinned=True, width=width) for name, width in widths.items()}


def render_faithfulness(report: FaithfulnessReport, key: str) -> None:
    """The one-sentence verdict, notes (a method whose top tokens matter less than random ones), the table and the
    chart of one faithfulness report."""
    with st.container(key=key):
        st.markdown(plain(report.verdict))
        for note in report.notes():
            st.warning(plain(note))
        table = faithfulness_table(report)
        st.dataframe(table, hide_index=True, width="stretch", column_config=faithfulness_columns(report, table))
        st.altair_chart(faithfulness_chart(report), width="stretch")
        ks = ", ".join(f"{k:g}" for k in report.k_percents)
        interval = (f" In brackets and as whiskers: {report.interval_level:.0%} bootstrap intervals over the texts "
                    f"({report.resamples:,} resamples); methods whose AOPC intervals overlap the best one's are tied."
                    if report.intervals else "")
        st.caption(plain(
            f"Measured on {report.n_texts} texts, explaining the predicted class. Comprehensiveness: how much the "
            f"probability drops without the top-k% tokens; sufficiency: how much it drops with only them (k = {ks}%); "
            f"AOPC: the mean drop while deleting tokens most important first (up to {report.max_deletion_steps}). "
            f"Dashed lines and faded bars: random token order.{interval} Top token is last: the share of texts whose "
            f"highest-scored token is their last one. Position ρ: how strongly scores rise with token position."
        ))


def _status(run_dir: str, test_texts: int, sample: int):
    """Where the run's faithfulness stands; a measurement is started unless the worker that trained it is at it."""
    return measurer().status(run_dir, test_texts=test_texts, sample=sample,
                             elsewhere=cached.scheduler().following_up(run_dir))


def _measuring(run_dir: str, test_texts: int, sample: int) -> None:
    """The progress line while the report is measured; the whole page redraws once it is written (or failed).
    (The run's size comes as arguments: each progress write touches the run folder, which would reload the run.)"""
    try:
        status = _status(run_dir, test_texts, sample)
    except Exception:  # noqa: BLE001 - a fragment runs outside the page's error guard: one sentence, never a traceback
        log.exception("faithfulness status of %s", run_dir)
        st.warning("The faithfulness measurement cannot be followed right now; reload the page to look again.")
        return
    if status.ready or status.failed:
        st.rerun()
    elapsed = "" if status.seconds is None else f" ({status.seconds:.0f} s so far)"
    st.progress(status.fraction or 0.0, text=plain(status.words + elapsed))
    st.caption("The scores above are final. This table fills in when the measurement ends (a minute or two of CPU "
               "for 200 texts); the page redraws itself then.")


def faithfulness_section(run_dir: str, *, key: str) -> Optional[FaithfulnessReport]:
    """The verdict, table and chart when the report is ready (it is returned); otherwise a progress line that polls
    the run folder (None is returned, and the page is drawn again when the report is written)."""
    run = cached.run_for(run_dir)
    test_texts, sample = len(run.predictions), faithfulness_sample(run)
    status = _status(run_dir, test_texts, sample)
    if status.failed:
        st.warning(plain(status.words))
        return None
    if not status.ready:
        st.fragment(run_every=POLL_SECONDS)(_measuring)(run_dir, test_texts, sample)
        return None
    report = status.report
    render_faithfulness(report, key=key)
    with st.expander("How these numbers are computed"):
        interval = (f" Each score's {report.interval_level:.0%} interval comes from {report.resamples:,} resamples of "
                    "the texts (with replacement, the same resamples for every method), so it shows how much the "
                    "score would move on another sample of texts." if report.intervals else "")
        st.markdown(plain(
            f"On {report.n_texts} test texts, each method ranks the tokens; deleting its top k % of tokens "
            f"(k = {', '.join(f'{k:g}' for k in report.k_percents)}) should lower the predicted class's probability "
            "(comprehensiveness, higher is better), and keeping only them should keep it (sufficiency, lower is "
            "better); AOPC averages the drop along the whole deletion curve. A random token order is the reference."
            f"{interval} Rule: {report.rule}."
        ))
    return report


def _model_stamp(run_dir: str) -> float:
    from pathlib import Path

    try:
        return Path(run_dir, "model.keras").stat().st_mtime
    except OSError:
        return 0.0


def _explained_later(run_dir: str, text: str, *, again: bool = False) -> tuple[Future, bool]:
    """The inference server's answer for one text, computed on a background thread (asked once per run and text),
    and whether it is worth waiting a moment for: not while the server process is still to be started."""
    executor, answers = _background()
    key = (run_dir, _model_stamp(run_dir), text)
    future = answers.get(key)
    server = cached.inference_server()
    warm = getattr(server, "started", True)
    if future is None or again:
        future = executor.submit(server.predict, run_dir, [text], methods=None)
        answers.put(key, future)
    return future, warm


def _waiting(run_dir: str, text: str, started: float) -> None:
    """The line shown while a text is explained; the whole page redraws once the answer is there."""
    if _explained_later(run_dir, text)[0].done():
        st.rerun()
    st.caption(plain(f"{EXPLAINING} ({time.time() - started:.0f} s so far)"))


def _ask_again(key: str) -> None:
    st.session_state[f"{key}_again"] = True


def _try_again_button(key: str) -> None:
    st.button("Try again", key=f"{key}_retry", on_click=_ask_again, args=(key,))


def explained(run_dir: str, text: str, *, key: str) -> Optional[TextPrediction]:
    """One text's prediction with every explanation method the model supports, when it is ready (waiting a moment
    at most); otherwise None, with a line saying it is being computed, or the one sentence of what went wrong (and a
    button to ask again)."""
    if st.session_state.pop(f"{key}_again", False):
        _explained_later(run_dir, text, again=True)
    future, warm = _explained_later(run_dir, text)
    try:
        return future.result(timeout=GRACE_SECONDS if warm or future.done() else 0)[0]
    except FutureTimeout:
        st.fragment(run_every=POLL_SECONDS)(_waiting)(run_dir, text, time.time())
    except UserError as exc:
        st.error(plain(exc))
        _try_again_button(key)
    except Exception as exc:  # noqa: BLE001 - whatever the thread raised: one sentence, never a traceback
        log.error("explaining a text of %s failed: %r", run_dir, exc)
        st.error(plain(f"The model server could not explain this text ({type(exc).__name__})."))
        _try_again_button(key)
    return None


def _ordered(prediction: TextPrediction, first: Optional[str]) -> list:
    """The method shown first (the most faithful, or the cheapest of those tied for best), then the registry's order."""
    order = [m.key for m in EXPLANATION_METHODS]
    return sorted(prediction.explanations, key=lambda e: (e.method != first, order.index(e.method)))


def _badge(method: str, report: Optional[FaithfulnessReport]) -> str:
    if report is None:
        return ""
    if method == report.most_faithful:
        return " — most faithful for this model"
    if method in (report.tied or ()):
        cheapest = ", the cheapest, shown first" if method == report.first else ""
        return f" — tied for most faithful within noise{cheapest}"
    return ""


def side_by_side(prediction: TextPrediction, *, faithfulness: Optional[FaithfulnessReport], key: str) -> None:
    """Every method's shading of the same text, one under the other (readable at 1024 px); the method the
    faithfulness report shows first comes first (registry order while it is measured)."""
    first = faithfulness.first if faithfulness is not None else None
    for explanation in _ordered(prediction, first):
        method = EXPLANATION_METHODS.get(explanation.method)
        st.markdown(f"**{plain(method.title)}**{plain(_badge(explanation.method, faithfulness))}")
        render_token_shading(prediction.tokens, explanation.scores, kind=explanation.kind,
                             key=f"{key}_{explanation.method}",
                             caption=f"{method.shows} (explains '{prediction.label}')")
        if explanation.method == "attention" and first not in (None, "attention"):
            st.caption(plain(ATTENTION_WARNING))
    for method, reason in prediction.unavailable.items():
        st.caption(plain(f"{EXPLANATION_METHODS.title(method)}: {reason}"))
