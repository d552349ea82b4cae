"""Drawing the explanation figures on a page: a text's token shading, and a run's faithfulness report.

The figures themselves are built without Streamlit (components.figures.shading, components.figures.explanations).
"""

from __future__ import annotations

from typing import Optional, Sequence

import streamlit as st

from components.figures.explanations import faithfulness_chart, faithfulness_table
from components.figures.shading import token_shading_html
from components.safe import plain
from core.evidence.explain import FaithfulnessReport


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
