"""Model: the LSTM's architecture and training settings, with the live size and a pre-flight estimate."""

import streamlit as st

from components.frame import cached
from components.frame.common import current_dataset, dataset_caption, next_step, run_page
from components.panels import model


def body() -> None:
    data, key = current_dataset()
    dataset_caption(data)
    model.recommended(data, key)
    model.size_and_estimate(data, key)
    # One section under the other, each a grid that fits as many columns as the screen allows: side by side, a
    # projector left each widget ~107 px and cut values ("0.0020") and labels ("Bidirecti…").
    st.subheader("Architecture")
    model.architecture_inputs()
    model.bag_of_words_inputs()
    model.word_vector_inputs(data, key)
    st.subheader("Training")
    model.training_inputs()
    model.practice_notes()
    next_step("train", "Next: train")
    cached.warm_trainer()


if __name__ == "__main__":
    run_page("Model", body, caption="Embedding → LSTM layers → attention → softmax. Every lever, with what it costs.")
