"""The Data page's pieces: choosing the source, picking columns, and drawing the triage report."""

from __future__ import annotations

import dataclasses
from typing import Callable

import pandas as pd
import streamlit as st

from components.frame import cached, state
from components.frame.common import metric_columns
from components.frame.safe import plain
from components.services import DataSource
from core import lazy
from core.config import DataConfig
from core.data.builtin import BUILTIN_DATASETS
from core.data.columns import ColumnGuess
from core.data.dataset import Dataset
from core.errors import TooBigError, UserError
from core.evidence.triage import TriageReport
from core.runs.results import BaselineResult
from core.text.vectorizing import VocabularyPreview

MAX_UPLOAD_NOTE = "CSV, TSV or TXT; comma, semicolon, tab or pipe separated; any common encoding."


def _use_source(new: DataSource) -> None:
    """Switch to a new source and let the engine guess its columns again."""
    state.set_source(new)
    config = state.config()
    state.set_config(dataclasses.replace(config, data=DataConfig()))


def source_picker() -> None:
    """Built-in dataset or upload. A file that cannot be read leaves the current data in place."""
    current = state.source()
    choice = st.segmented_control(
        "Data source", ["Built-in dataset", "Upload a CSV"], key="data_source_choice",
        default="Upload a CSV" if current.kind == "upload" else "Built-in dataset",
    )
    if choice == "Upload a CSV":
        upload = st.file_uploader("Upload a CSV", type=["csv", "tsv", "txt"], key="data_upload", help=MAX_UPLOAD_NOTE)
        if upload is not None:
            candidate = DataSource("upload", upload.name, upload.getvalue())
            if current.kind == "upload" and current.raw == candidate.raw and current.sample_rows:
                candidate = current  # the sample chosen below stays chosen on every rerun
            if candidate.source_id != current.source_id:
                try:
                    cached.table(candidate)
                except TooBigError as exc:
                    st.error(plain(exc))
                    if exc.fitting_rows:
                        sampled = dataclasses.replace(candidate, sample_rows=exc.fitting_rows)
                        st.button(f"Use a random sample of {exc.fitting_rows:,} rows", key="data_use_sample",
                                  on_click=_use_source, args=(sampled,), type="primary")
                    st.caption("The data below is unchanged.")
                    return
                except UserError as exc:
                    st.error(plain(exc))
                    st.caption("The data below is unchanged.")
                    return
                _use_source(candidate)
        elif current.kind == "upload":
            st.caption(plain(f"Using the uploaded file {current.name}."))
        if current.kind == "upload" and current.sample_rows:
            st.caption(plain(f"A seeded random sample of {current.sample_rows:,} rows of {current.name} is in use: "
                             "the whole file does not fit in this server's free memory."))
    else:
        keys = list(BUILTIN_DATASETS)
        index = keys.index(current.name) if current.kind == "builtin" and current.name in keys else 0
        key = st.selectbox("Built-in dataset", keys, index=index, key="data_builtin",
                           format_func=lambda k: BUILTIN_DATASETS[k].title)
        st.caption(BUILTIN_DATASETS[key].description)
        if current.kind != "builtin" or current.name != key:
            _use_source(DataSource("builtin", key))


def _set_column(field: str, widget_key: str) -> None:
    state.update_field("data", field, st.session_state[widget_key])


def column_pickers() -> Dataset | None:
    """Text and label column pickers, prefilled with the engine's guess; returns the dataset or None on error."""
    source = state.source()
    table = cached.table(source)
    columns = list(table.frame.columns)
    config = state.config()
    try:
        guess = cached.column_guess(source.source_id, table)
    except UserError as exc:
        guess = ColumnGuess(columns[0], columns[-1], "")
        guess_error = str(exc)
    else:
        guess_error = ""
    text_column = config.data.text_column or guess.text_column
    label_column = config.data.label_column or guess.label_column
    left, right = st.columns(2)
    version = state.widget_version()
    with left:
        key = f"data_text_col_{version}"
        st.selectbox("Text column", columns, index=columns.index(text_column) if text_column in columns else 0,
                     key=key, on_change=_set_column, args=("text_column", key))
    with right:
        key = f"data_label_col_{version}"
        st.selectbox("Label column", columns, index=columns.index(label_column) if label_column in columns else 0,
                     key=key, on_change=_set_column, args=("label_column", key))
    if guess.reason and not (config.data.text_column or config.data.label_column):
        st.caption(plain("Guessed: " + guess.reason))
    if guess_error and not (config.data.text_column and config.data.label_column):
        st.warning(plain(f"The columns could not be guessed ({guess_error.rstrip('.')}), so the first and last columns "
                         "are selected: check them."))
    try:
        data = cached.dataset(source, config.data.text_column or text_column, config.data.label_column or label_column)
    except UserError as exc:
        st.error(plain(exc))
        if guess_error:
            st.caption(plain(guess_error))
        return None
    if not config.data.text_column or not config.data.label_column:
        # Record the columns in use so every later page and the run record agree.
        state.set_config(dataclasses.replace(config, data=DataConfig(data.text_column, data.label_column)),
                         refresh_widgets=False)
    return data


def trainability(data: Dataset, config) -> None:
    """Whether this data can be trained and scored with the current split settings, said before anyone presses
    Start (the Train page disables Start with the same sentence)."""
    from core.data.trainability import assess

    verdict = assess(data.y, data.class_names, config)
    if not verdict.trainable:
        st.error(plain(f"This data cannot be trained as it is: {verdict.reason[0].lower()}{verdict.reason[1:]}"))
    for warning in verdict.warnings:
        st.warning(plain(warning))


def _ratio(value: float) -> str:
    """'8.1:1', or '60:1' from 10 up (a metric tile holds about six characters on a 1024-px screen)."""
    return f"{value:.1f}:1" if value < 10 else f"{value:,.0f}:1"


def render_triage(report: TriageReport, vocabulary_fn: Callable[[], VocabularyPreview],
                  baseline_fn: Callable[[], BaselineResult]) -> None:
    """The report, headline figures first; the length chart's training-split figures and the baseline (a model fit,
    the slow part) are computed only once the figures above them are on screen."""
    source = report.source
    cols = metric_columns(5, min_width=165)
    cols[0].metric("Rows kept", f"{source.rows_kept:,}", help="Rows with both a text and a label.")
    cols[1].metric("Classes", len(report.classes))
    cols[2].metric("Imbalance", _ratio(report.imbalance_ratio), help="Largest class ÷ smallest class.")
    cols[3].metric("Majority-class accuracy", f"{report.majority_accuracy:.1%}",
                   help="What always predicting the largest class scores: any model must beat this.")
    baseline_slot = cols[4].empty()
    baseline_slot.metric("Baseline macro-F1", "…", help="Fitting the TF-IDF + logistic-regression baseline…")
    dropped = source.rows_missing_text + source.rows_missing_label
    details = [f"{source.rows_read:,} rows read"]
    if dropped:
        details.append(f"{source.rows_missing_text:,} dropped without text, "
                       f"{source.rows_missing_label:,} without label")
    if source.malformed_lines_skipped:
        details.append(f"{source.malformed_lines_skipped:,} malformed lines skipped")
    if source.encoding not in ("builtin", ""):
        details.append(f"encoding {source.encoding_note or source.encoding}, delimiter {source.delimiter!r}")
    st.caption(plain("; ".join(details)))
    for warning in report.warnings:
        st.warning(plain(warning))

    lazy.load("altair")  # Altair loads after the figures above are on screen, one session at a time
    from components.figures import data_setup

    vocabulary = vocabulary_fn()
    left, right = st.columns(2)
    with left:
        st.subheader("Class distribution")
        st.altair_chart(data_setup.class_distribution([c.to_dict() for c in report.classes]), width="stretch")
    with right:
        st.subheader("Text length")
        st.altair_chart(
            data_setup.length_histogram(vocabulary.train_lengths, max_length=vocabulary.max_length,
                                    truncated_share=vocabulary.truncated_share),
            width="stretch",
        )
        overall = report.lengths.overall
        st.caption(plain(f"Tokens per text after preprocessing (training split): median {overall.get('p50', 0):.0f}, "
                         f"95th percentile {overall.get('p95', 0):.0f}, longest {overall.get('max', 0)}. "
                         f"Vocabulary: {report.vocabulary_size:,} distinct tokens."))
    _per_class_lengths(report)
    _duplicates_and_conflicts(report)
    if report.small_classes:
        st.subheader("Small classes")
        st.dataframe(pd.DataFrame([c.to_dict() for c in report.small_classes]), hide_index=True, width="stretch")
    baseline_expander = st.empty()
    baseline = baseline_fn()
    if baseline.available:
        baseline_slot.metric("Baseline macro-F1", f"{baseline.macro_f1:.3f}",
                             help=f"{baseline.description}, fitted on {baseline.fitted_on} "
                                  "and scored on the test split the LSTM will use.")
        with baseline_expander.expander("Baseline per class"):
            st.dataframe(pd.DataFrame([c.to_dict() for c in baseline.per_class]).round(3), hide_index=True,
                         width="stretch")
    else:
        baseline_slot.metric("Baseline macro-F1", "n/a",
                             help="No baseline: the training texts are empty after preprocessing.")


def _per_class_lengths(report: TriageReport) -> None:
    rows = [{"class": name, **stats} for name, stats in report.lengths.per_class.items()]
    with st.expander("Length percentiles per class"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


# A long text no wider than a medium column, so the count and the conflicting labels (the columns that say something)
# stay in view at 1024 px.
_MEDIUM_TEXT = {"text": st.column_config.TextColumn(width="medium")}


def _duplicates_and_conflicts(report: TriageReport) -> None:
    """One table under the other, each the page's width: a conflict's labels ("Precautionary Landing × 22, None ×
    3, ...") need more room than half a 1024-px page leaves beside a readable text column."""
    duplicates, conflicts = report.duplicates, report.conflicts
    st.subheader("Duplicates")
    st.caption(plain(f"{duplicates.exact_duplicate_rows:,} rows repeat an earlier row exactly; "
                     f"{duplicates.repeated_texts:,} texts occur more than once."))
    if duplicates.examples:
        st.dataframe(pd.DataFrame([e.to_dict() for e in duplicates.examples]), hide_index=True, width="stretch",
                     column_config=_MEDIUM_TEXT)
    st.subheader("Conflicting labels")
    st.caption(plain(f"{conflicts.texts:,} identical texts carry different labels ({conflicts.rows:,} rows)."))
    if conflicts.examples:
        rows = [{"text": c.text, "labels": ", ".join(f"{name} × {n}" for name, n in c.labels.items())}
                for c in conflicts.examples]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=_MEDIUM_TEXT)

