"""Runs: every saved run; filter by dataset, compare several, rank them per dataset, download or reuse one."""

import streamlit as st

from components import runs_panel, study_panel
from components.common import run_page


def body() -> None:
    selected = runs_panel.runs_table()
    if len(selected) == 1:
        runs_panel.single_run_actions(selected[0])
    if selected:
        st.subheader("Comparison" if len(selected) > 1 else "Curves and scores")
        runs_panel.compare(selected)
    st.subheader("Leaderboard")
    runs_panel.leaderboard()
    runs_panel.config_upload()
    st.subheader("Studies")
    study_panel.studies_table()


if __name__ == "__main__":
    run_page("Runs", body, caption="What changed, and did it help?")
