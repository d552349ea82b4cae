"""Evaluate: test-split metrics next to the baseline, the coach's diagnoses, the confusion matrix, per-class scores,
a replay of training epoch by epoch, and explanations ranked by how faithful they are for this model."""

import streamlit as st

from components.frame import cached
from components.frame.common import run_page
from components.panels import blend, coach, evaluate, explain, replay


def body() -> None:
    run_dir = evaluate.run_picker()
    if run_dir is None:
        return
    run = cached.run_for(run_dir)
    evaluate.headline(run.metrics)
    blend.blend_parts(run.metrics)
    st.subheader("Coach")
    coach_slot = st.container(key="coach")  # filled once the faithfulness report (attention's position bias) is known
    # Full width, one after the other: a projector at 1024 px leaves too little room for both side by side.
    st.subheader("Confusion matrix")
    evaluate.confusion(run.metrics, run.predictions)
    st.subheader("Per-class precision, recall, F1")
    evaluate.per_class(run.metrics)
    st.subheader("Replay training, epoch by epoch")
    replay.replay_section(run)
    st.subheader("Which explanation to trust")
    faithfulness = explain.faithfulness_section(run_dir, key="faithfulness")  # None while measured in the background
    with coach_slot:
        coach.after_run(run_dir, run, position_bias=evaluate.attention_position_bias(run_dir))
    st.subheader("Misclassified examples")
    evaluate.misclassified(run_dir, run.predictions, faithfulness)
    evaluate.predictions_download(run_dir, run.predictions, run.class_names)
    st.subheader("Try your own text")
    evaluate.typed_text(run_dir, faithfulness, run.predictions)
    with st.expander("Training curves, split and resampling audit"):
        evaluate.curves_and_audit(run)


if __name__ == "__main__":
    run_page("Evaluate", body,
             caption="Scores on the sealed test split; each explanation method is shown with how faithful "
                     "it is for this model, the most faithful (or the cheapest of those tied) first.")
