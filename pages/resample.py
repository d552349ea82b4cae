"""Resample: rebalance the training split, and see every split's class counts before and after."""

import streamlit as st

from components.frame.common import current_dataset, dataset_caption, next_step, run_page
from components.panels import resample


def body() -> None:
    data, key = current_dataset()
    dataset_caption(data)
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Strategy")
        resample.strategy_choice()
        resample.all_strategies_table()
        st.subheader("Split")
        resample.split_inputs()
    with right:
        st.subheader("Class counts per split")
        resample.counts_chart(data, key)
    next_step("model", "Next: the model")


if __name__ == "__main__":
    run_page("Resample", body, caption="Imbalanced classes: choose how the training split is rebalanced.")
