"""Model: the LSTM's architecture and training settings, with the live size and a pre-flight estimate."""

import streamlit as st

from components import cached, model_panel
from components.common import current_dataset, dataset_caption, next_step, run_page


def body() -> None:
    data, key = current_dataset()
    dataset_caption(data)
    model_panel.recommended(data, key)
    model_panel.size_and_estimate(data, key)
    left, right = st.columns(2)
    with left:
        st.subheader("Architecture")
        model_panel.architecture_inputs()
        model_panel.word_vector_inputs(data, key)
    with right:
        st.subheader("Training")
        model_panel.training_inputs()
    model_panel.practice_notes()
    next_step("train", "Next: train")
    cached.warm_trainer()


if __name__ == "__main__":
    run_page("Model", body, caption="Embedding → LSTM layers → attention → softmax. Every lever, with what it costs.")
