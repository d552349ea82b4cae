"""The Resample page's pieces: the strategies explained, and class counts per split before and after.

Every strategy's title, texts, settings and preview come from its record in ``core.choices.resampling.RESAMPLERS``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.figures import data_setup
from components.frame import cached, state
from components.frame.config_widgets import choice_with_settings, config_input, section_inputs
from components.frame.safe import plain
from core.choices.resampling import EMBEDDING_SPACE, EXACT, RESAMPLERS, preview_counts
from core.data.dataset import Dataset


def strategy_choice() -> None:
    resampler = choice_with_settings("resampling", "strategy", label="Strategy", columns=2)
    st.markdown(f"**{plain(resampler.title)}** — {plain(resampler.texts.what)}")
    st.markdown(f"*When it helps:* {plain(resampler.texts.when)}  \n*Risk:* {plain(resampler.texts.risk)}")
    if resampler.embedded:
        st.info(plain(EMBEDDING_SPACE))


def all_strategies_table() -> None:
    with st.expander("Compare all strategies"):
        rows = [{"strategy": r.title, "what it does": r.texts.what, "when it helps": r.texts.when, "risk": r.texts.risk}
                for r in RESAMPLERS]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def split_inputs() -> None:
    section_inputs("split", ["validation_fraction", "test_fraction", "k_folds"], columns=3)
    if state.config().split.k_folds >= 2:
        config_input("split", "ensemble")
    config_input("split", "ensemble_seeds")
    config_input("", "seed")


def counts_chart(data: Dataset, key: str) -> None:
    config = state.config()
    split = cached.split_for(key, data, config)
    n = len(data.class_names)
    counts = {name: split.class_counts(name, data.y, n) for name in ("train", "validation", "test")}
    after, kind = preview_counts(counts["train"], config.resampling)
    stages = {"train (before)": counts["train"], "train (after)": after, "validation": counts["validation"],
              "test": counts["test"]}
    st.altair_chart(data_setup.split_counts(data.class_names, stages), width="stretch")
    resampler = RESAMPLERS.get(config.resampling.strategy)
    if kind != EXACT:
        st.caption(plain(f"{resampler.title} chooses how many rows to create while training: the 'after' bars show "
                         f"{kind} what it makes. The run record shows the actual counts."))
    table = pd.DataFrame(stages, index=list(data.class_names))
    table.index.name = "class"
    st.dataframe(table.reset_index(), hide_index=True, width="stretch",
                 column_config={"class": st.column_config.TextColumn(pinned=True)})  # in view when scrolled at 1024 px
    st.caption(plain("Validation and test keep their natural class balance: "
                     "resampling touches the training split only, "
                     "so the scores you read later describe the data as it really is."))
    if resampler.weights is not None:
        weights = resampler.weights(counts["train"])
        st.dataframe(pd.DataFrame({"class": list(data.class_names),
                                   "weight": [weights.get(i, 0.0) for i in range(n)]}).round(3),
                     hide_index=True)
    for note in split.notes:
        st.caption(plain(note))
    if config.split.k_folds >= 2:
        st.caption(plain(f"{config.split.k_folds}-fold cross-validation runs on the training and validation rows "
                         "together; each fold resamples its own training part, and the test split stays sealed."))
