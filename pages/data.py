"""Data: pick a built-in dataset or upload a CSV, choose the columns, and triage it."""


import streamlit as st

from components.frame import cached, state
from components.frame.common import next_step, run_page
from components.panels import cleaning
from components.panels.data import column_pickers, render_triage, source_picker, trainability


def body() -> None:
    source_picker()
    data = column_pickers()
    if data is None:
        return
    key = cached.dataset_key(state.source(), data)
    config = state.config()
    trainability(data, config)
    report = cached.triage_for(key, data, config)
    render_triage(report, lambda: cached.vocabulary_for(key, data, config),
                  lambda: cached.baseline_for(key, data, config))
    st.subheader("Mislabelled rows and near-duplicates")
    cleaning.render(data, key, config)
    next_step("preprocess", "Next: preprocessing")


if __name__ == "__main__":
    run_page("Data", body, caption="Load a labelled text dataset and see what you are up against before training.")
