"""A sweep's results: the search trial by trial, each trial across the settings it tried, which settings mattered,
and the best settings found."""

from __future__ import annotations

import streamlit as st

from components.figures import study as study_figures
from components.frame.safe import plain
from components.panels.study.reading import StudyReport, load_settings
from core.config import config_differences, setting_label, setting_value_text


def config_changes(before: dict, after: dict) -> list[str]:
    """ "Dropout: 0.5 → 0.31" for each setting that differs, in the words of its widget."""
    return [f"{setting_label(key)}: {setting_value_text(key, old)} → {setting_value_text(key, new)}"
            for key, old, new in config_differences(before, after)]


def render(report: StudyReport) -> None:
    result = report.sweep
    st.subheader("Search")
    st.altair_chart(study_figures.sweep_history([{"trial": row.number, "value": row.value, "state": row.state}
                                                for row in result.trials]), width="stretch")
    best = result.best.number if result.best is not None else None
    st.altair_chart(study_figures.parallel_coordinates(result.axes, result.parallel, best_trial=best), width="stretch")
    st.subheader("Which settings mattered")
    if result.importances:
        st.altair_chart(study_figures.importance_bars(result.importances), width="stretch")
        st.caption(plain(f"{result.importance_note} Read it with care over few trials: it says which settings moved "
                         "the score in this search, not in general.", limit=None))
    else:
        st.info(plain(result.importance_note))
    st.subheader("Best settings")
    if result.best is None:
        st.caption("No trial has finished yet.")
        return
    changes = config_changes(report.plan.config, result.best_config)
    st.markdown(plain(f"Trial {result.best.number}: validation macro-F1 {result.best.value:.3f}. "
                      + ("Changed from your settings at the start: " + "; ".join(changes) + "." if changes
                         else "These are the settings the sweep started from."), limit=None))
    st.caption("Chosen on validation only; train it on the Train page to see its test-split score.")
    if st.button("Load the best settings into the widgets", key="study_load_best", icon=":material/download:"):
        load_settings(result.best_experiment_config, f"trial {result.best.number} of sweep {report.ref.name}")
