"""The Runs page's pieces: every saved run in a table, curves and metrics compared, downloads and config reuse."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from components import cached, charts, downloads, state
from components.common import PAGES
from components.safe import plain
from core.config import ExperimentConfig
from core.errors import ConfigError, UserError
from core.runs import delete_run, list_runs, zip_run


def runs_table() -> list[str]:
    """The table of runs; returns the folders of the selected rows."""
    runs = list_runs()
    if not runs:
        st.info("No saved runs yet: train one on the Train page.")
        return []
    rows = []
    for run in runs:
        info, settings = run.info, run.info.settings
        # Scores first, next to the run's name (which already holds its date and time): on a narrow screen they
        # are what stays in view.
        rows.append({
            "run": run.run_id, "macro-F1": info.test_macro_f1, "baseline macro-F1": info.baseline_macro_f1,
            "accuracy": info.test_accuracy, "data": info.data, "status": info.status,
            "resampling": settings.get("resampling"), "layers": settings.get("lstm_layers"),
            "units": settings.get("lstm_units"), "bidirectional": settings.get("bidirectional"),
            "attention": settings.get("attention"), "dropout": settings.get("dropout"), "optimizer": settings.get("optimizer"),
            "epochs": info.epochs_run, "seconds": info.duration_s, "created": info.created,
        })
    table = pd.DataFrame(rows)
    st.caption("Select one run to download or reuse it, several to compare them.")
    event = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                         key="runs_table", column_config={
                             "run": st.column_config.TextColumn(pinned=True),
                             "macro-F1": st.column_config.NumberColumn(format="%.3f"),
                             "accuracy": st.column_config.NumberColumn(format="%.3f"),
                             "baseline macro-F1": st.column_config.NumberColumn(format="%.3f"),
                         })
    downloads.table_download(table, label="Download the runs table (CSV)", file_name="runs.csv", key="download_runs_table")
    return [str(runs[i].path) for i in event.selection.rows]


def compare(run_dirs: list[str]) -> None:
    records = {Path(d).name: cached.run_for(d) for d in run_dirs}
    for metric in ("loss", "accuracy"):
        curves = [{"run": name, "history": r.history, "partial_epoch": r.metrics.training.partial_epoch}
                  for name, r in records.items()]
        st.altair_chart(charts.run_curves(curves, metric=metric), width="stretch")
    if any(r.metrics.training.partial_epoch for r in records.values()):
        st.caption("A hollow point marked “cut short” is an epoch that Stop ended early: it is shown, never scored "
                   "as the best epoch.")
    metric_rows = [{"run": name, "metric": label, "value": getattr(r.metrics.test, key)}
                   for name, r in records.items()
                   for key, label in (("macro_f1", "macro-F1"), ("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"))]
    st.altair_chart(charts.metric_comparison(metric_rows), width="stretch")
    st.markdown("**Settings that differ**")
    flat = {name: _flatten(r.config.to_dict()) for name, r in records.items()}
    keys = sorted({k for f in flat.values() for k in f})
    differing = [k for k in keys if len({json.dumps(f.get(k)) for f in flat.values()}) > 1]
    if differing:
        st.dataframe(pd.DataFrame({name: [str(f.get(k)) for k in differing] for name, f in flat.items()}, index=differing),
                     width="stretch")
    else:
        st.caption("The selected runs share every setting (they may differ in data or seed-independent noise).")


def _flatten(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _load_config(config: ExperimentConfig, source: str) -> None:
    """Load every setting; columns the current data does not have are left as they are."""
    current = state.config()
    note = ""
    try:
        columns = set(cached.table(state.source()).frame.columns)
    except UserError:
        columns = set()
    wanted = {config.data.text_column, config.data.label_column} - {None}
    if not wanted <= columns:
        config = dataclasses.replace(config, data=current.data)
        note = " The current data lacks its text/label columns, so the column choice was kept."
    state.set_config(config)
    state.notice(f"Loaded the settings of {source} into every page's widgets.{note}")


def _open_in_evaluate(run_dir: str) -> None:
    state.select_run(run_dir)


def single_run_actions(run_dir: str) -> None:
    name = Path(run_dir).name
    run = cached.run_for(run_dir)
    cols = st.columns(4)
    cols[0].download_button("Download run (.zip)", data=zip_run(run_dir), file_name=f"{name}.zip", mime="application/zip",
                            key="download_zip")
    cols[1].download_button("Download config (.json)", data=run.config.to_json(), file_name=f"{name}-config.json",
                            mime="application/json", key="download_config")
    if cols[2].button("Load config into widgets", key="load_run_config"):
        _load_config(run.config, f"run {name}")
        st.rerun()
    if cols[3].button("Open in Evaluate", key="open_evaluate", on_click=_open_in_evaluate, args=(run_dir,)):
        st.switch_page(PAGES["evaluate"])
    with st.expander("Delete this run"):
        if st.button("Delete permanently", key="delete_run", type="secondary"):
            try:
                delete_run(run_dir)
            except UserError as exc:
                st.error(plain(exc))
            else:
                state.notice(f"Deleted run {name}.")
                st.rerun()


def config_upload() -> None:
    with st.expander("Load a config file"):
        upload = st.file_uploader("Experiment config (JSON)", type=["json"], key="config_upload")
        if upload is not None and st.button("Load into widgets", key="load_config_file"):
            try:
                config = ExperimentConfig.from_json(upload.getvalue().decode("utf-8", errors="replace"))
            except ConfigError as exc:
                st.error(plain(exc))
                return
            _load_config(config, f"file {upload.name}")
            st.rerun()
