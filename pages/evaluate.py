"""Evaluate: test-split metrics next to the baseline, the confusion matrix, per-class scores, explanations."""

import streamlit as st

from components import cached, results
from components.common import run_page


def body() -> None:
    run_dir = results.run_picker()
    if run_dir is None:
        return
    record = cached.run_record_for(run_dir)
    metrics, config = record["metrics"], record["config"]
    counts = metrics["split"]["train"]
    imbalanced = max(counts) >= 1.5 * max(1, min(c for c in counts if c > 0))
    has_attention = config["model"]["attention"] != "none"
    results.headline(metrics, imbalanced)
    # Full width, one after the other: a projector at 1024 px leaves too little room for both side by side.
    st.subheader("Confusion matrix")
    results.confusion(metrics, record["predictions"])
    st.subheader("Per-class precision, recall, F1")
    results.per_class(metrics)
    st.subheader("Misclassified examples")
    results.misclassified(run_dir, record["predictions"], has_attention)
    results.predictions_download(run_dir, record["predictions"], record["class_names"])
    st.subheader("Try your own text")
    results.typed_text(run_dir, has_attention)
    with st.expander("Training curves, split and resampling audit"):
        results.curves_and_audit(record)


if __name__ == "__main__":
    run_page("Evaluate", body, caption="Scores on the sealed test split; heatmaps show which tokens drove each prediction.")
