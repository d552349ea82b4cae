"""The Runs page's pieces: every saved run in a table, curves and metrics compared, downloads and config reuse."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from components.figures import evaluation, training
from components.frame import cached, downloads, state
from components.frame.common import PAGES
from components.frame.safe import plain
from core.config import ExperimentConfig, config_differences, setting_in_words, setting_label, setting_value_text
from core.data.builtin import source_title
from core.errors import ConfigError, UserError
from core.runs.store import delete_run, list_runs, zip_run
from core.training.recommend import recommended_for_run

ALL_DATASETS = "all"
HIGHLIGHT = {"background-color": "#fde68a", "color": "#1a1a1a"}  # amber: readable on a projector, not a status colour
# Runs table column → the RunInfo.settings entry it shows (the other columns are scores and names).
SETTING_COLUMNS = {"resampling": "resampling", "layers": "lstm_layers", "units": "lstm_units",
                   "bidirectional": "bidirectional", "attention": "attention", "dropout": "dropout",
                   "optimizer": "optimizer", "learning rate": "learning_rate", "max length": "max_length",
                   "normalizer": "normalizer"}
# The settings whose values are choices or switches: the table shows them as their widgets do ("Class weights
# (balanced)", "on"), not as the keys the run record keeps.
SETTING_KEYS = {"resampling": "resampling.strategy", "bidirectional": "model.bidirectional",
                "attention": "model.attention", "optimizer": "training.optimizer",
                "normalizer": "preprocessing.normalizer"}


def run_name(info, run_id: str) -> str:
    """What a person calls the run: the name given when starting it, else the lesson variant, else its id."""
    tags = info.tags or {}
    if tags.get("name"):
        return str(tags["name"])
    if tags.get("lesson"):
        return f"{tags['lesson']} · {tags.get('variant', '')}"
    return run_id


def dataset_groups(runs) -> dict[str, str]:
    """Data hash → a label naming the data and how many runs used it (newest first)."""
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for run in runs:
        key = run.info.data_hash or run.info.data
        counts[key] = counts.get(key, 0) + 1
        names.setdefault(key, source_title(run.info.data))
    return {key: f"{names[key]} ({counts[key]} run{'s' if counts[key] != 1 else ''}, #{key[:6]})" for key in counts}


def _dataset_filter(runs) -> list:
    groups = dataset_groups(runs)
    options = [ALL_DATASETS, *groups]
    labels = {ALL_DATASETS: f"All datasets ({len(runs)} runs)", **groups}
    choice = st.selectbox("Dataset", options, format_func=labels.get, key="runs_dataset_filter",
                          help="Runs on the same data (same content hash) are listed together.")
    return runs if choice == ALL_DATASETS else [run for run in runs if (run.info.data_hash or run.info.data) == choice]


def table_rows(runs) -> pd.DataFrame:
    """One row per run: its name and deciding scores first (they stay in view on a projector), then the rest."""
    rows = []
    for run in runs:
        info, settings, tags = run.info, run.info.settings, run.info.tags or {}
        rows.append({
            "run": run_name(info, run.run_id), "macro-F1": info.test_macro_f1,
            "baseline macro-F1": info.baseline_macro_f1,
            "accuracy": info.test_accuracy, "note": str(tags.get("note", "")), "data": source_title(info.data),
            "status": info.status,
            **{column: _shown_setting(column, settings.get(key)) for column, key in SETTING_COLUMNS.items()},
            "epochs": info.epochs_run, "seconds": info.duration_s, "id": run.run_id, "created": info.created,
        })
    return pd.DataFrame(rows)


def _shown_setting(column: str, value):
    if column in SETTING_KEYS and value is not None:
        return setting_value_text(SETTING_KEYS[column], value)
    return value


def differing_columns(table: pd.DataFrame, rows: list[int]) -> list[str]:
    """The setting columns whose values differ between the given rows (none for fewer than two rows)."""
    if len(rows) < 2:
        return []
    chosen = table.iloc[rows]
    return [column for column in SETTING_COLUMNS if column in chosen and chosen[column].astype(str).nunique() > 1]


def _selected_rows(key: str) -> list[int]:
    """The rows selected in the table as of the last rerun (read before drawing it, to highlight them)."""
    state_of_table = st.session_state.get(key) or {}
    return [int(row) for row in (state_of_table.get("selection") or {}).get("rows") or []]


def runs_table() -> list[str]:
    """The table of runs (filtered by dataset); returns the folders of the selected rows. The settings that differ
    between the selected runs are highlighted."""
    runs = list_runs()
    if not runs:
        st.info("No saved runs yet: train one on the Train page.")
        return []
    shown = _dataset_filter(runs)
    table = table_rows(shown)
    key = f"runs_table_{st.session_state.get('runs_dataset_filter', ALL_DATASETS)}"  # a new filter, a new selection
    selected = [row for row in _selected_rows(key) if row < len(table)]
    differing = differing_columns(table, selected)
    data = table.style.set_properties(subset=pd.IndexSlice[selected, differing], **HIGHLIGHT) if differing else table
    st.caption("Select one run to download or reuse it, several to compare them." +
               (f" Highlighted, next to the scores: the settings that differ between the selected runs "
                f"({', '.join(differing)})."
                if differing else ""))
    # The differing settings move next to the scores, so they are in view on a narrow screen too.
    order = ["run", "macro-F1", *differing,
             *[column for column in table.columns if column not in ("run", "macro-F1", *differing)]]
    event = st.dataframe(data, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                         key=key, column_order=order, column_config={
                             "run": st.column_config.TextColumn(pinned=True, width="medium"),
                             "macro-F1": st.column_config.NumberColumn(format="%.3f", pinned=True, width="small"),
                             "accuracy": st.column_config.NumberColumn(format="%.3f"),
                             "baseline macro-F1": st.column_config.NumberColumn(format="%.3f"),
                             "learning rate": st.column_config.NumberColumn(format="%g"),
                         })
    downloads.table_download(table, label="Download the runs table (CSV)", file_name="runs.csv",
                             key="download_runs_table")
    return [str(shown[i].path) for i in event.selection.rows if i < len(shown)]


# ----------------------------------------------------------------------------------------------- leaderboard


SPLIT_KEY = ("seed", "split.validation_fraction", "split.test_fraction")  # what decides which rows are the test set
RECOMMENDED_FOR_DATA = "Recommended for this data"
DEFAULTS = "the defaults"
UNCHANGED = "nothing"


def comparable_key(run) -> tuple:
    """Runs with equal keys were scored on the same sealed test rows: same data, split fractions and seed."""
    flat = _flatten(run.config.to_dict())
    return (run.info.data_hash or run.info.data, *(flat.get(key) for key in SPLIT_KEY))


def reference_for(tags: dict | None) -> tuple[ExperimentConfig, str]:
    """What a run is compared with, and its name: the settings "Recommended for this data" chose for that run when
    the run recorded them (core.training.recommend), else the defaults."""
    recommended = recommended_for_run(tags)
    return (recommended, RECOMMENDED_FOR_DATA) if recommended is not None else (ExperimentConfig(), DEFAULTS)


def changes_from(config: ExperimentConfig, reference: ExperimentConfig) -> list[tuple[str, object, object]]:
    """(setting, reference value, run value) for every setting where ``config`` differs from ``reference``, leaving
    out the columns chosen and what every entry of a leaderboard shares (seed and split)."""
    return [(key, old, new) for key, old, new in config_differences(reference.to_dict(), config.to_dict())
            if not key.startswith("data.") and key not in SPLIT_KEY]


def changes_in_words(changes: list[tuple[str, object, object]]) -> str:
    """ "Dropout: 0.3 · LSTM units: 8": what a person reads (the run's config keeps the keys)."""
    return " · ".join(setting_in_words(key, new) for key, _, new in changes) or UNCHANGED


def leaderboard_groups(runs) -> dict[tuple, list]:
    """Completed runs grouped by comparable test split, each group best macro-F1 first."""
    groups: dict[tuple, list] = {}
    for summary in runs:
        if summary.info.status != "completed":
            continue
        try:
            loaded = cached.run_for(str(summary.path))
        except UserError:
            continue
        groups.setdefault(comparable_key(loaded), []).append((summary, loaded))
    return {key: sorted(items, key=lambda item: -item[0].info.test_macro_f1) for key, items in groups.items()}


def leaderboard_table(items) -> pd.DataFrame:
    rows = []
    for rank, (summary, loaded) in enumerate(items, start=1):
        info, tags = summary.info, summary.info.tags or {}
        reference, compared_with = reference_for(tags)
        rows.append({"rank": rank, "run": run_name(info, summary.run_id), "macro-F1": info.test_macro_f1,
                     "what it changed": changes_in_words(changes_from(loaded.config, reference)),
                     "compared with": compared_with, "baseline macro-F1": info.baseline_macro_f1,
                     "note": str(tags.get("note", "")), "id": summary.run_id})
    return pd.DataFrame(rows, columns=["rank", "run", "macro-F1", "what it changed", "compared with",
                                       "baseline macro-F1", "note", "id"])


def changed_sentence(row) -> str:
    """The selected leaderboard entry in a sentence that wraps at words (Markdown; user text escaped)."""
    head = f"**{plain(row['run'])}** ({row['macro-F1']:.3f})"
    if row["compared with"] == RECOMMENDED_FOR_DATA:
        where = "compared with what Recommended for this data chose for it"
    else:
        where = "compared with the defaults (no recommendation was recorded for this run)"
    if row["what it changed"] == UNCHANGED:
        return f"{head}, {where}: no setting changed."
    return f"{head}, {where}, changed: {plain(row['what it changed'])}"


def _group_label(key: tuple, items) -> str:
    data = source_title(items[0][0].info.data)
    seed, validation, test = key[1:]
    return (f"{data} · test {test:.0%}, validation {validation:.0%}, seed {seed} · {len(items)} "
            f"run{'s' if len(items) != 1 else ''}")


def leaderboard() -> None:
    """Per dataset and sealed test split, the completed runs ranked by test macro-F1, each with what it changed."""
    runs = list_runs()
    groups = leaderboard_groups(runs)
    if not groups:
        st.caption("The leaderboard lists completed runs; none yet.")
        return
    keys = sorted(groups, key=lambda key: -len(groups[key]))
    labels = {index: _group_label(key, groups[key]) for index, key in enumerate(keys)}
    index = st.selectbox("Leaderboard for", list(labels), format_func=labels.get, key="runs_leaderboard_group",
                         help="Only runs scored on the same test rows are ranked together: same data, same split "
                              "fractions, same seed.")
    items = groups[keys[index]]
    table = leaderboard_table(items)
    event = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key=f"runs_leaderboard_{index}", column_config={
                             "rank": st.column_config.NumberColumn(pinned=True, width=48),
                             "run": st.column_config.TextColumn(pinned=True, width="medium"),
                             "macro-F1": st.column_config.NumberColumn(format="%.3f", pinned=True, width="small"),
                             "what it changed": st.column_config.TextColumn(width="large"),
                             "baseline macro-F1": st.column_config.NumberColumn(format="%.3f"),
                         })
    chosen = event.selection.rows[0] if event is not None and event.selection.rows else 0
    if len(table):
        row = table.iloc[chosen]
        # Wrapped at words below the table: on a projector the long settings column is cut off.
        st.markdown(changed_sentence(row))
    stopped = sum(1 for run in runs if run.info.status != "completed")
    left_out = f" {stopped} stopped run(s) are left out." if stopped else ""
    st.caption(plain("Same data, split and seed, so the macro-F1 scores are comparable (seed-to-seed swings of 0.03 "
                     f"are common). Select a row to read what that run changed.{left_out}"))


def compare_names(run_dirs: list[str]) -> dict[str, str]:
    """Run folder → the name a person gave it (or its lesson variant), with the id added where names repeat."""
    names = {d: run_name(cached.run_for(d).info, Path(d).name) for d in run_dirs}
    repeated = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {d: f"{name} ({Path(d).name})" if name in repeated else name for d, name in names.items()}


def compare(run_dirs: list[str]) -> None:
    names = compare_names(run_dirs)
    records = {names[d]: cached.run_for(d) for d in run_dirs}
    for metric in ("loss", "accuracy"):
        curves = [{"run": name, "history": r.history, "partial_epoch": r.metrics.training.partial_epoch}
                  for name, r in records.items()]
        st.altair_chart(training.run_curves(curves, metric=metric), width="stretch")
    if any(r.metrics.training.partial_epoch for r in records.values()):
        st.caption("A hollow point marked “cut short” is an epoch that Stop ended early: it is shown, never scored "
                   "as the best epoch.")
    scores = (("macro_f1", "macro-F1"), ("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"))
    metric_rows = [{"run": name, "metric": label, "value": getattr(r.metrics.test, key)}
                   for name, r in records.items() for key, label in scores]
    baselines = [{"run": name, "metric": label, "value": getattr(r.metrics.baseline, key)}
                 for name, r in records.items() for key, label in scores if r.metrics.baseline.available]
    st.altair_chart(evaluation.metric_comparison(metric_rows, baselines=baselines), width="stretch")
    st.caption("The black tick on each bar is that run's TF-IDF + logistic-regression baseline on the same split.")
    st.markdown("**Settings that differ**")
    flat = {name: _flatten(r.config.to_dict()) for name, r in records.items()}
    keys = sorted({k for f in flat.values() for k in f})
    differing = [k for k in keys if len({json.dumps(f.get(k)) for f in flat.values()}) > 1]
    if differing:
        frame = pd.DataFrame({"setting": [setting_label(k) for k in differing],
                              **{name: [setting_value_text(k, f.get(k)) for k in differing]
                                 for name, f in flat.items()}})
        st.dataframe(frame, hide_index=True, width="stretch",
                     column_config={"setting": st.column_config.TextColumn(pinned=True)})
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
    cols[0].download_button("Download run (.zip)", data=zip_run(run_dir), file_name=f"{name}.zip",
                            mime="application/zip", key="download_zip")
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
