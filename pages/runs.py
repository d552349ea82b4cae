"""Runs: every saved run; filter by dataset, compare several, rank them per dataset, download or reuse one."""

import streamlit as st

from components.frame.common import run_page
from components.panels import runs
from components.panels.study import reading as studies


def body() -> None:
    selected = runs.runs_table()
    if len(selected) == 1:
        runs.single_run_actions(selected[0])
    if selected:
        st.subheader("Comparison" if len(selected) > 1 else "Curves and scores")
        runs.compare(selected)
    st.subheader("Leaderboard")
    runs.leaderboard()
    runs.config_upload()
    st.subheader("Studies")
    studies.studies_table()


if __name__ == "__main__":
    run_page("Runs", body, caption="What changed, and did it help?")
