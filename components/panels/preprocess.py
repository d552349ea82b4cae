"""The Preprocess page's pieces: toggles, a before/after preview, and vocabulary figures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.frame import cached, state
from components.frame.common import metric_columns
from components.frame.config_widgets import choice_with_settings, config_input, section_inputs
from components.frame.safe import plain
from core.data.dataset import Dataset
from core.text.preprocessing import PreprocessingReport
from core.text.vectorizing import VocabularyPreview

PREVIEW_ROWS = 8


def toggles() -> None:
    left, right = st.columns(2)
    with left:
        for name in ("lowercase", "strip_urls_html", "strip_punctuation", "strip_numbers"):
            config_input("preprocessing", name)
    with right:
        remove = config_input("preprocessing", "remove_stopwords")
        config_input("preprocessing", "keep_negations", disabled=not remove)
        normalizer = choice_with_settings("preprocessing", "normalizer")
        st.caption(plain(f"{normalizer.texts.what} Risk: {normalizer.texts.risk}"))


def vectorizing_inputs() -> None:
    section_inputs("vectorizing", ["max_vocab_size", "min_token_frequency", "max_length", "length_percentile"],
                   columns=4, overrides={"max_vocab_size": {"step": 1000}, "length_percentile": {"step": 1.0}})


def before_after(data: Dataset, processed: list[str]) -> None:
    """Sample rows as written and as the model will see them; reshuffle on demand."""
    seed = st.session_state.setdefault("preview_seed", 0)
    rows = pd.Series(range(len(data.texts))).sample(n=min(PREVIEW_ROWS, len(data.texts)), random_state=seed).tolist()
    table = pd.DataFrame({
        "label": [data.labels[i] for i in rows],
        "before": [data.texts[i] for i in rows],
        "after": [processed[i] for i in rows],
    })
    st.dataframe(table, hide_index=True, width="stretch",
                 # Medium, not large: at 1024 px two large columns pushed "after" off the page.
                 column_config={"label": st.column_config.TextColumn(pinned=True),
                                "before": st.column_config.TextColumn(width="medium"),
                                "after": st.column_config.TextColumn(width="medium")})
    if st.button("Show other rows", key="preview_shuffle"):
        st.session_state["preview_seed"] = seed + 1
        st.rerun()


def figures(report: PreprocessingReport, vocabulary: VocabularyPreview) -> None:
    cols = metric_columns(4)
    cols[0].metric("Vocabulary (training split)", f"{vocabulary.vocabulary_size:,}",
                   help=f"{vocabulary.distinct_train_tokens:,} distinct training tokens; "
                        "the vocabulary keeps the most frequent, plus padding and an out-of-vocabulary token.")
    cols[1].metric("Out-of-vocabulary rate", f"{vocabulary.oov_rate_validation:.1%}",
                   help="Share of validation-split tokens the training vocabulary does not know.")
    cols[2].metric("Max length", vocabulary.max_length,
                   help=f"Suggested {vocabulary.suggested_max_length} from the training lengths.")
    cols[3].metric("Texts truncated", f"{vocabulary.truncated_share:.1%}")
    stop_words = report.stopword_source or "off"
    st.caption(plain(f"Stop words: {stop_words}. Normalizer: {report.normalizer}. "
                     f"Negations {'kept' if report.negations_kept else 'removed'}."))


def render(data: Dataset, key: str) -> None:
    config = state.config()
    processed, report = cached.processed_for(key, data, config)
    vocabulary = cached.vocabulary_for(key, data, config)
    figures(report, vocabulary)
    st.subheader("Before and after")
    before_after(data, processed)
    if not any(processed):
        st.warning("Every text is empty after preprocessing: turn some options off.")
