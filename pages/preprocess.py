"""Preprocess: normalization toggles with a live before/after preview and vocabulary figures."""

import streamlit as st

from components.frame.common import current_dataset, dataset_caption, next_step, run_page
from components.panels import preprocess


def body() -> None:
    data, key = current_dataset()
    dataset_caption(data)
    st.subheader("Text normalization")
    preprocess.toggles()
    st.subheader("Vocabulary and length")
    preprocess.vectorizing_inputs()
    preprocess.render(data, key)
    next_step("resample", "Next: resampling")


if __name__ == "__main__":
    run_page("Preprocess", body, caption="What the LSTM reads: toggle each step and watch the sample rows change.")
