"""The Evaluate page's pieces: headline metrics against the baseline, the confusion matrix with drill-down,
per-class scores, misclassified examples and predictions on typed text, each explained by every method side by side
(components.panels.explain; computed by the inference server, a separate process holding TensorFlow, on a
background thread: the page never waits for it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st

from components.figures import data_setup, evaluation, training
from components.frame import downloads, state
from components.frame.safe import plain
from components.panels import explain
from core.data.builtin import source_title
from core.evidence.faithfulness import FaithfulnessReport
from core.runs.results import Prediction, RunMetrics
from core.runs.store import list_runs


def run_picker() -> Optional[str]:
    runs = list_runs()
    if not runs:
        st.info("No saved runs yet: train one on the Train page.")
        return None
    paths = [str(run.path) for run in runs]
    selected = state.selected_run()
    index = paths.index(selected) if selected in paths else 0
    labels = {str(run.path): f"{run.run_id} · {source_title(run.info.data)} · macro-F1 {run.info.test_macro_f1:.3f}"
              for run in runs}
    choice = st.selectbox("Run", paths, index=index, format_func=labels.get, key=state.run_picker_key())
    state.select_run(choice, from_picker=True)
    return choice


def attention_position_bias(run_dir: str) -> Optional[float]:
    """Attention's position bias (Spearman rho) from the run's faithfulness report, when it has been measured and
    kept beside the run (read from the file, so a failed measurement is not reported twice on the page)."""
    from core.evidence.faithfulness import FaithfulnessReport
    from core.evidence.inference import FAITHFULNESS_FILE

    path = Path(run_dir, FAITHFULNESS_FILE)
    try:
        bias = FaithfulnessReport.from_dict(json.loads(path.read_text(encoding="utf-8"))).bias("attention")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if bias is None else bias.spearman


def headline(metrics: RunMetrics) -> None:
    test, baseline = metrics.test, metrics.baseline
    order = (["macro_f1", "accuracy", "balanced_accuracy", "weighted_f1"] if metrics.imbalanced
             else ["accuracy", "macro_f1", "balanced_accuracy", "weighted_f1"])
    names = {"macro_f1": "Macro-F1", "accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy",
             "weighted_f1": "Weighted F1"}
    # A wrapping row of content-wide metrics: on a 1024-px projector four equal columns cut "vs baseline" short.
    with st.container(horizontal=True, gap="small", key="headline_metrics"):
        for key in order:
            delta = metrics.baseline_delta(key)
            st.metric(names[key], f"{getattr(test, key):.3f}",
                      delta=None if delta is None else f"{delta:+.3f} vs baseline", width="content")
    if baseline.available:
        st.caption(plain(f"Baseline: {baseline.description}, fitted on {baseline.fitted_on} "
                         "and scored on the same test rows "
                         f"— macro-F1 {baseline.macro_f1:.3f}, accuracy {baseline.accuracy:.3f}. Majority class "
                         f"'{metrics.majority.name}' alone scores accuracy {metrics.majority.accuracy:.3f}."))
    training = metrics.training
    st.caption(plain(f"{training.epochs_run} epoch(s), {training.status_words}" +
                     (f", best epoch {training.best_epoch}" if training.best_epoch else "") +
                     f"; {training.parameters:,} parameters; {training.train_seconds:.0f} s of training."))


def confusion(metrics: RunMetrics, predictions: list[Prediction]) -> None:
    """The confusion matrix with its drill-down, as a fragment: switching counts/percent or clicking a cell redraws
    this section only, not the whole page (bench/evaluate_open.py)."""
    st.fragment(_confusion)(metrics, predictions)


def _confusion(metrics: RunMetrics, predictions: list[Prediction]) -> None:
    matrix = metrics.test.confusion
    mode = st.segmented_control("Show", ["counts", "percent"], default="counts", key="cm_mode",
                                format_func={"counts": "Counts", "percent": "Row-normalized"}.get) or "counts"
    chart = evaluation.confusion_matrix(matrix.labels, matrix.counts, matrix.normalized, mode=mode)
    # Natural size: each cell is a fixed step, and stretching to a narrow column would squeeze the cells to nothing.
    event = st.altair_chart(chart, on_select="rerun", key="cm_chart", width="content")
    chosen = _chosen_cell(event)
    if chosen is None:
        st.caption("Click a cell to list its examples.")
        return
    true_label, predicted_label = chosen
    rows = [p for p in predictions if p.true == true_label and p.predicted == predicted_label]
    st.markdown(f"**{len(rows)}** test example(s) of class **{plain(true_label)}** "
                f"predicted as **{plain(predicted_label)}**")
    if rows:
        table = cell_table(predictions, true_label, predicted_label)
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "text": st.column_config.TextColumn(pinned=True, width=TABLE_WIDTH_AT_1024 - CONFIDENCE_WIDTH),
            "confidence": st.column_config.NumberColumn(pinned=True, width=CONFIDENCE_WIDTH, format="%.2f")})
        downloads.table_download(table, label="Download these examples (CSV)", key="download_cell_examples",
                                 file_name=f"test-examples-{_slug(true_label)}-as-{_slug(predicted_label)}.csv")


def cell_table(predictions: list[Prediction], true_label: str, predicted_label: str) -> pd.DataFrame:
    """The test examples of one confusion-matrix cell, most confident first."""
    rows = [{"text": p.text, "confidence": p.confidence} for p in predictions
            if p.true == true_label and p.predicted == predicted_label]
    table = pd.DataFrame(rows, columns=["text", "confidence"])
    return table.sort_values("confidence", ascending=False).reset_index(drop=True)


def _slug(name: str, limit: int = 24) -> str:
    """A class name as a file-name part: letters, digits and dashes only."""
    slug = "".join(c if c.isalnum() else "-" for c in str(name)).strip("-")
    return (slug[:limit] or "class").lower()


def _chosen_cell(event) -> Optional[tuple[str, str]]:
    selection = (event or {}).get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    points = (selection or {}).get("cell") or []
    if not points:
        return None
    point = points[0]
    if "true" in point and "predicted" in point:
        return point["true"], point["predicted"]
    return None


def per_class(metrics: RunMetrics) -> None:
    per_class_rows = [row.to_dict() for row in metrics.test.per_class]
    st.altair_chart(evaluation.per_class_scores(per_class_rows), width="stretch")
    st.dataframe(pd.DataFrame(per_class_rows).round(3), hide_index=True, width="stretch",
                 column_config={"class": st.column_config.TextColumn(pinned=True)})


def predictions_download(run_dir: str, predictions: list[Prediction], class_names: list[str]) -> None:
    from core.runs.export import predictions_csv

    downloads.csv_button(predictions_csv(predictions, class_names), label="Download test predictions (CSV)",
                         file_name=f"{os.path.basename(run_dir)}-predictions.csv", key="download_predictions",
                         help="Every test text with its true and predicted class and each class's probability; cells "
                              "that a spreadsheet would run as formulas are prefixed with an apostrophe.")


def misclassified_table(predictions: list[Prediction]) -> pd.DataFrame:
    """The misclassified test examples, most confident mistakes first; when there are none, the correct ones,
    least confident first."""
    wrong = [p for p in predictions if not p.correct]
    shown = wrong or predictions
    table = pd.DataFrame([{"text": p.text, "true": p.true, "predicted": p.predicted, "confidence": p.confidence}
                          for p in shown],
                         columns=["text", "true", "predicted", "confidence"])
    return table.sort_values("confidence", ascending=not wrong).reset_index(drop=True)


# Sized so all four deciding columns fit the ~520 px a 1024-px screen leaves a table beside the open sidebar (the
# row-selection column takes the rest); wider screens share the extra space out among them.
TABLE_WIDTH_AT_1024 = 520
CONFIDENCE_WIDTH = 88
CLASS_WIDTH = (70, 150)  # px, for the true / predicted columns; longer class names end in "…" (full name below)
TEXT_MIN_WIDTH = 120


def class_column_width(names) -> int:
    """Pixels for a column of class names: ~6.6 px a character at the table's font, plus padding."""
    longest = max((len(str(name)) for name in names), default=0)
    return int(min(CLASS_WIDTH[1], max(CLASS_WIDTH[0], 6.6 * longest + 18)))


def deciding_columns(table: pd.DataFrame) -> dict:
    """Column config that keeps text, true, predicted and confidence first, pinned and in view at 1024 px."""
    width = class_column_width([*table["true"], *table["predicted"]])
    text = max(TEXT_MIN_WIDTH, TABLE_WIDTH_AT_1024 - 2 * width - CONFIDENCE_WIDTH)
    return {
        "text": st.column_config.TextColumn(pinned=True, width=text),
        "true": st.column_config.TextColumn(pinned=True, width=width),
        "predicted": st.column_config.TextColumn(pinned=True, width=width),
        "confidence": st.column_config.NumberColumn(pinned=True, width=CONFIDENCE_WIDTH, format="%.2f"),
    }


def misclassified(run_dir: str, predictions: list[Prediction], faithfulness: Optional[FaithfulnessReport]) -> None:
    if not predictions:
        st.info("The test split of this run is empty.")
        return
    wrong = [p for p in predictions if not p.correct]
    if wrong:
        st.caption(plain(f"{len(wrong)} of {len(predictions)} test examples are misclassified; "
                         "the most confident mistakes come first. "
                         "Select a row to see which tokens drove the prediction."))
    else:
        st.success("No test example is misclassified; here are the correct ones, least confident first.")
    table = misclassified_table(predictions)
    event = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-row", key="wrong_table", column_config=deciding_columns(table))
    downloads.table_download(table, label="Download this table (CSV)", key="download_misclassified",
                             file_name=f"{os.path.basename(run_dir)}-"
                                       f"{'misclassified' if wrong else 'least-confident'}.csv")
    chosen_rows = event.selection.rows if event is not None else []
    row = table.iloc[chosen_rows[0] if chosen_rows else 0]
    st.markdown(f"True **{plain(row['true'])}**, predicted **{plain(row['predicted'])}** ({row['confidence']:.0%})")
    result = explain.explained(run_dir, row["text"], key="example_explained")
    if result is not None:
        explain.side_by_side(result, faithfulness=faithfulness, key="token_heatmap_example")


EXAMPLE_WORDS, EXAMPLE_CHARACTERS = 25, 90


def example_text(predictions: list[Prediction]) -> str:
    """An example for the typed-text box from the run's own test texts (a tweet set gets a tweet, not a bird strike):
    the one the model got right most confidently among the shorter ones, on one line, cut at a word boundary."""
    if not predictions:
        return ""
    right = [p for p in predictions if p.correct] or predictions
    short = [p for p in right if 0 < len(p.text.split()) <= EXAMPLE_WORDS] or right
    text = " ".join(max(short, key=lambda p: p.confidence).text.split())
    if len(text) > EXAMPLE_CHARACTERS:
        text = (text[:EXAMPLE_CHARACTERS].rsplit(" ", 1)[0] or text[:EXAMPLE_CHARACTERS]) + "…"
    return text


def typed_text(run_dir: str, faithfulness: Optional[FaithfulnessReport], predictions: list[Prediction]) -> None:
    example = example_text(predictions)
    with st.form("typed_text_form"):
        text = st.text_area("Type any text", key="typed_text", placeholder=f"e.g. {example}" if example else None,
                            help="The example is one of this run's own test texts.")
        submitted = st.form_submit_button("Predict")
    if submitted:
        if not text.strip():
            st.error("Type some text first.")
            return
        st.session_state["typed_request"] = (run_dir, text)
    request = st.session_state.get("typed_request")
    if not request or request[0] != run_dir:
        return
    result = explain.explained(run_dir, request[1], key="typed_explained")
    if result is None:
        return
    st.markdown(f"Predicted **{plain(result.label)}** ({result.confidence:.0%})")
    st.altair_chart(evaluation.probability_bars(result.probabilities), width="stretch")
    explain.side_by_side(result, faithfulness=faithfulness, key="token_heatmap_typed")


def curves_and_audit(run) -> None:
    metrics, history = run.metrics, run.history
    best, partial = metrics.training.best_epoch, metrics.training.partial_epoch
    left, right = st.columns(2)
    with left:
        st.altair_chart(training.training_curves(history, metric="loss", best_epoch=best, partial_epoch=partial),
                        width="stretch")
    with right:
        st.altair_chart(training.training_curves(history, metric="accuracy", best_epoch=best, partial_epoch=partial),
                        width="stretch")
    split, resampling = metrics.split, metrics.resampling
    stages = {"train (before)": resampling.train_before, "train (after)": resampling.train_after,
              "validation": split.validation, "test": split.test}
    st.altair_chart(data_setup.split_counts(split.class_names, stages), width="stretch")
    st.caption(plain(f"Resampling: {resampling.method}."
                     + (" " + " ".join(resampling.notes) if resampling.notes else "")))
    folds = metrics.folds
    if folds is not None:
        rows = [{"fold": f.fold, "epochs": f.epochs, **{f"test {k}": v for k, v in f.test.items()}}
                for f in folds.per_fold]
        st.dataframe(pd.DataFrame(rows).round(3), hide_index=True, width="stretch")
        summary = folds.test["macro_f1"]
        kept = ("the run's model is the " + metrics.ensemble.method if metrics.ensemble is not None
                else "the run keeps the fold model with the best held-out macro-F1")
        st.caption(plain(f"{folds.k}-fold test macro-F1: {summary.mean:.3f} ± {summary.sd:.3f} (mean ± sd); {kept}."))
    ensemble = metrics.ensemble
    if ensemble is not None:
        members = ", ".join(f"{f1:.3f}" for f1 in ensemble.member_test_macro_f1)
        st.caption(plain(
            f"Ensemble: {ensemble.method}: {ensemble.members} members, {ensemble.parameters:,} parameters in all, "
            f"{ensemble.train_seconds:.0f} s of training together; each member alone scored test macro-F1 {members}."))

