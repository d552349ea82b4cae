"""The Resample page's pieces: the strategies explained, and class counts per split before and after."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cached, charts, state
from components.config_widgets import config_input, section_inputs
from components.safe import plain
from core.data import Dataset
from core.resampling import EXPLANATIONS, SYNTHETIC, SYNTHETIC_SPACE, preview_counts


def strategy_choice() -> str:
    strategy = config_input("resampling", "strategy", label="Strategy")
    explanation = EXPLANATIONS[strategy]
    st.markdown(f"**{explanation['title']}** — {explanation['what']}")
    st.markdown(f"*When it helps:* {explanation['when']}  \n*Risk:* {explanation['risk']}")
    if strategy in SYNTHETIC:
        st.info(SYNTHETIC_SPACE)
        section_inputs("resampling", ["k_neighbors", "embedding_warmup_epochs"], columns=2)
    return strategy


def all_strategies_table() -> None:
    with st.expander("Compare all strategies"):
        rows = [{"strategy": e["title"], "what it does": e["what"], "when it helps": e["when"], "risk": e["risk"]}
                for e in EXPLANATIONS.values()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def split_inputs() -> None:
    section_inputs("split", ["validation_fraction", "test_fraction", "k_folds"], columns=3,
                   overrides={"validation_fraction": {"step": 0.05, "format": "%.2f"}, "test_fraction": {"step": 0.05, "format": "%.2f"}})
    config_input("", "seed", label="Seed")


def counts_chart(data: Dataset, key: str) -> None:
    config = state.config()
    rows = cached.split_for(key, data, config)
    y = data.y
    n = len(data.class_names)
    counts = {name: pd.Series(y[rows[name]]).value_counts().reindex(range(n), fill_value=0).tolist()
              for name in ("train", "validation", "test")}
    after, exact = preview_counts(y[rows["train"]], n, config.resampling, config.seed)
    stages = {"train (before)": counts["train"], "train (after)": after, "validation": counts["validation"], "test": counts["test"]}
    st.altair_chart(charts.split_counts(data.class_names, stages), width="stretch")
    if not exact:
        st.caption("Borderline-SMOTE and ADASYN choose how many rows to create while training: the 'after' bars show the "
                   "most they can add. The run record shows the actual counts.")
    table = pd.DataFrame(stages, index=list(data.class_names))
    table.index.name = "class"
    st.dataframe(table.reset_index(), hide_index=True, width="stretch")
    st.caption(plain("Validation and test keep their natural class balance: resampling touches the training split only, "
                     "so the scores you read later describe the data as it really is."))
    if config.resampling.strategy == "class_weights":
        present = [c for c in counts["train"] if c > 0]
        weights = [len(rows["train"]) / (len(present) * c) if c else 0.0 for c in counts["train"]]
        st.dataframe(pd.DataFrame({"class": list(data.class_names), "weight": weights}).round(3), hide_index=True)
    for note in rows["notes"]:
        st.caption(plain(note))
    if config.split.k_folds >= 2:
        st.caption(plain(f"{config.split.k_folds}-fold cross-validation runs on the training and validation rows together; "
                         "each fold resamples its own training part, and the test split stays sealed."))
