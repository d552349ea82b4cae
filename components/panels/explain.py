"""Evaluate's explanations: every method side by side on one text, and how faithful each is for this run.

The inference server (a separate process holding TensorFlow) computes both. Faithfulness is measured once per
run on its test texts and kept beside the run, so the page can say which method to trust and show that one first.
The figures are built without Streamlit (components.figures.shading: escaped HTML; components.figures.explanations);
here they are drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import streamlit as st

from components.figures.explanations import faithfulness_chart, faithfulness_table
from components.figures.shading import token_shading_html
from components.frame import cached
from components.frame.safe import plain
from core.errors import UserError
from core.evidence.explain import EXPLANATION_METHODS, RANDOM
from core.evidence.faithfulness import FaithfulnessReport
from core.evidence.inference import TextPrediction, saved_faithfulness

ATTENTION_WARNING = ("Attention weights are not an explanation by themselves: over LSTM states they often follow "
                     "token position (Jain & Wallace 2019). Trust the method the faithfulness table ranks first.")


def render_token_shading(tokens: Sequence[str], scores: Sequence[float], *, kind: str, key: str,
                         caption: Optional[str] = None) -> None:
    """Draw one explained text; ``caption`` is plain text (escaped here)."""
    with st.container(key=key):
        st.html(token_shading_html(tokens, scores, kind))
        if caption:
            st.caption(plain(caption))


def render_faithfulness(report: FaithfulnessReport, key: str) -> None:
    """The one-sentence verdict, the table and the chart of one faithfulness report."""
    with st.container(key=key):
        st.markdown(plain(report.verdict))
        st.dataframe(faithfulness_table(report), hide_index=True, width="stretch")
        st.altair_chart(faithfulness_chart(report), width="stretch")
        ks = ", ".join(f"{k:g}" for k in report.k_percents)
        st.caption(plain(
            f"Measured on {report.n_texts} texts, explaining the predicted class. Comprehensiveness: how much the "
            f"probability drops without the top-k% tokens; sufficiency: how much it drops with only them (k = {ks}%); "
            f"AOPC: the mean drop while deleting tokens most important first (up to {report.max_deletion_steps}). "
            f"Dashed lines and faded bars: random token order. Position ρ: how strongly scores rise with token "
            f"position. Most faithful = {report.rule}."
        ))


@st.cache_data(max_entries=64, show_spinner="Measuring how faithful each explanation is (once per run)…")
def _faithfulness(run_dir: str, modified: float):
    """The report saved beside the run when there is one (no model needed), else measured by the inference server."""
    from core.runs.store import load_run

    saved = saved_faithfulness(run_dir, len(load_run(run_dir).predictions))
    return saved if saved is not None else cached.inference_server().faithfulness(run_dir)


def faithfulness(run_dir: str):
    """The run's faithfulness report, or None (with one sentence on the page) when it cannot be measured."""
    try:
        return _faithfulness(run_dir, Path(run_dir, "model.keras").stat().st_mtime)
    except UserError as exc:
        st.warning(plain(exc))
        return None


def faithfulness_section(run_dir: str, *, key: str) -> Optional[str]:
    """The verdict, table and chart; returns the most faithful method (None when no method beats random order)."""
    report = faithfulness(run_dir)
    if report is None:
        return None
    render_faithfulness(report, key=key)
    with st.expander("How these numbers are computed"):
        st.markdown(plain(
            f"On {report.n_texts} test texts, each method ranks the tokens; deleting its top k % of tokens "
            f"(k = {', '.join(f'{k:g}' for k in report.k_percents)}) should lower the predicted class's probability "
            "(comprehensiveness, higher is better), and keeping only them should keep it (sufficiency, lower is "
            "better); AOPC averages the drop along the whole deletion curve. A random token order is the reference. "
            f"Rule: {report.rule}."
        ))
    return report.most_faithful


@st.cache_data(max_entries=256, show_spinner="Loading the model and explaining…")
def predict_explained(run_dir: str, text: str) -> TextPrediction:
    """One text's prediction with every explanation method the model supports."""
    return cached.inference_server().predict(run_dir, [text], methods=None)[0]


def _ordered(prediction: TextPrediction, most_faithful: Optional[str]) -> list:
    """The most faithful method first, then the registry's order."""
    order = [m.key for m in EXPLANATION_METHODS]
    return sorted(prediction.explanations, key=lambda e: (e.method != most_faithful, order.index(e.method)))


def side_by_side(prediction: TextPrediction, *, most_faithful: Optional[str], key: str) -> None:
    """Every method's shading of the same text, one under the other (readable at 1024 px), the most faithful first."""
    for explanation in _ordered(prediction, most_faithful):
        method = EXPLANATION_METHODS.get(explanation.method)
        badge = " — most faithful for this model" if explanation.method == most_faithful else ""
        st.markdown(f"**{plain(method.title)}**{plain(badge)}")
        render_token_shading(prediction.tokens, explanation.scores, kind=explanation.kind, key=f"{key}_{explanation.method}",
                             caption=f"{method.shows} (explains '{prediction.label}')")
        if explanation.method == "attention" and most_faithful not in (None, "attention"):
            st.caption(plain(ATTENTION_WARNING))
    for method, reason in prediction.unavailable.items():
        st.caption(plain(f"{EXPLANATION_METHODS.title(method)}: {reason}"))


def most_faithful_of(run_dir: str) -> Optional[str]:
    """Without drawing anything: the run's most faithful method, if measured and one beats random order."""
    report = faithfulness(run_dir)
    if report is None or report.most_faithful in (None, RANDOM):
        return None
    return report.most_faithful
