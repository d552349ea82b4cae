"""A study's trials as a table: what each ran, how it ended, its score and its run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from components.figures import study as study_figures
from components.panels.study.reading import StudyReport
from components.services import STATE_WORDS
from core.evidence.study import ARM_COMBINED, ARM_REFERENCE, KIND_LEVERS, OBJECTIVE, StudyPlan, TrialRow


def _what(row: TrialRow, plan: StudyPlan) -> str:
    if plan.kind == KIND_LEVERS:
        titles = {lever.key: lever.title for lever in plan.levers}
        titles.update({ARM_REFERENCE: "reference (your settings)", ARM_COMBINED: "combined levers"})
        return titles.get(row.arm or "", row.arm or "")
    return ", ".join(f"{study_figures.short_setting(name)} {study_figures.short_value(value)}"
                     for name, value in row.params.items())


def _state_words(row: TrialRow) -> str:
    if row.state == "FAIL":
        return f"failed: {row.error}" if row.error else "interrupted (queued again)"
    return STATE_WORDS.get(row.state, row.state.lower())


def trial_frame(report: StudyReport) -> pd.DataFrame:
    """Every trial that has started, newest first: what it ran, how it ended, its score and run folder."""
    rows = []
    for row in sorted(report.trials, key=lambda r: r.number, reverse=True):
        if row.state == "WAITING":
            continue
        entry: dict[str, Any] = {"trial": row.number}
        if report.plan.kind == KIND_LEVERS:
            entry.update({"settings": _what(row, report.plan), "seed": row.seed})
        else:
            entry.update({study_figures.short_setting(name): study_figures.short_value(value)
                          for name, value in row.params.items()})
        entry.update({"state": _state_words(row), OBJECTIVE: row.value, "seconds": row.duration_s,
                      "run": Path(row.run_dir).name if row.run_dir else None})
        rows.append(entry)
    return pd.DataFrame(rows)


def render(report: StudyReport) -> None:
    st.subheader("Trials")
    frame = trial_frame(report)
    waiting = sum(row.state == "WAITING" for row in report.trials)
    if frame.empty:
        st.caption(f"No trial has started yet; {waiting} waiting.")
        return
    st.dataframe(frame, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(frame)),
                 column_config={OBJECTIVE: st.column_config.NumberColumn(format="%.3f"),
                                "seconds": st.column_config.NumberColumn(format="%.0f")})
    if waiting:
        st.caption(f"{waiting} more trial(s) waiting. "
                   "Each trial is also an ordinary run on the Runs and Evaluate pages.")
