"""Engine calls wrapped in Streamlit caches, keyed by content and config so reruns are instant.

Read-only shared things (parsed tables, datasets) use ``cache_resource`` keyed by plain strings (content hashes);
results that depend on settings use ``cache_data`` keyed by the settings' JSON. Nothing per-user (jobs, models being
trained) lives in a global cache; the job scheduler and the inference server are shared *services*, not state.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import numpy as np
import streamlit as st

from core.config import ExperimentConfig, PreprocessingConfig, SplitConfig, VectorizingConfig
from core.data import Dataset, Table, build_dataset, guess_columns, read_csv_bytes
from core.datasets import load_builtin
from components.state import DataSource


@st.cache_resource(max_entries=8, show_spinner="Reading the data…")
def _table(source_id: str, kind: str, name: str, _raw: Optional[bytes]) -> Table:
    if kind == "builtin":
        return load_builtin(name)
    return read_csv_bytes(_raw or b"", source_name=name)


def table(source: DataSource) -> Table:
    """The parsed table of a data source (raises DataError for files that cannot be read)."""
    return _table(source.source_id, source.kind, source.name, source.raw)


@st.cache_resource(max_entries=16, show_spinner=False)
def _dataset(source_id: str, text_column: Optional[str], label_column: Optional[str], _table: Table) -> Dataset:
    return build_dataset(_table, text_column, label_column)


def dataset(source: DataSource, text_column: Optional[str], label_column: Optional[str]) -> Dataset:
    return _dataset(source.source_id, text_column, label_column, table(source))


def dataset_key(source: DataSource, data: Dataset) -> str:
    return f"{source.source_id}|{data.text_column}|{data.label_column}"


@st.cache_data(max_entries=16, show_spinner=False)
def column_guess(source_id: str, _table: Table) -> dict:
    guess = guess_columns(_table.frame)
    return {"text_column": guess.text_column, "label_column": guess.label_column, "reason": guess.reason}


@st.cache_data(max_entries=32, show_spinner="Preprocessing…")
def processed(key: str, preprocessing_json: str, _data: Dataset) -> tuple[list[str], dict]:
    """Preprocessed texts and the report of what ran (stop-word list, lemmatizer)."""
    from core.preprocessing import preprocess

    texts, report = preprocess(_data.texts, PreprocessingConfig(**json.loads(preprocessing_json)))
    return texts, asdict(report)


def processed_for(key: str, data: Dataset, config: ExperimentConfig) -> tuple[list[str], dict]:
    return processed(key, json.dumps(asdict(config.preprocessing), sort_keys=True), data)


@st.cache_data(max_entries=16, show_spinner="Triaging the data…")
def triage_report(key: str, config_json: str, _data: Dataset) -> dict:
    from core.triage import triage

    # The baseline is fitted separately (baseline_for) so the report can be drawn before it is ready.
    config = ExperimentConfig.from_json(config_json)
    texts, _ = processed_for(key, _data, config)
    return triage(_data, config, include_baseline=False, processed=texts).to_dict()


def _relevant(config: ExperimentConfig) -> str:
    """Only the settings triage and the baseline depend on, as the cache key."""
    return ExperimentConfig(seed=config.seed, preprocessing=config.preprocessing, split=config.split,
                            vectorizing=config.vectorizing, resampling=config.resampling).to_json()


def triage_for(key: str, data: Dataset, config: ExperimentConfig) -> dict:
    return triage_report(key, _relevant(config), data)


@st.cache_data(max_entries=16, show_spinner=False)
def baseline_report(key: str, config_json: str, _data: Dataset) -> dict:
    from core.baseline import tfidf_baseline

    config = ExperimentConfig.from_json(config_json)
    texts, _ = processed_for(key, _data, config)
    rows = split_for(key, _data, config)
    y = _data.y
    return tfidf_baseline([texts[i] for i in rows["train"]], y[rows["train"]], [texts[i] for i in rows["test"]],
                          y[rows["test"]], _data.class_names)


def baseline_for(key: str, data: Dataset, config: ExperimentConfig) -> dict:
    """TF-IDF + logistic regression on the split and preprocessing the LSTM will use."""
    return baseline_report(key, _relevant(config), data)


@st.cache_data(max_entries=32, show_spinner=False)
def split_indices(key: str, split_json: str, seed: int, _data: Dataset) -> dict[str, np.ndarray]:
    from core.splitting import stratified_split

    split = stratified_split(_data.y, SplitConfig(**json.loads(split_json)), seed, _data.class_names)
    return {"train": split.train, "validation": split.validation, "test": split.test, "notes": list(split.notes)}


def split_for(key: str, data: Dataset, config: ExperimentConfig) -> dict:
    return split_indices(key, json.dumps(asdict(config.split), sort_keys=True), config.seed, data)


@st.cache_data(max_entries=32, show_spinner=False)
def vocabulary_stats(key: str, preprocessing_json: str, vectorizing_json: str, split_json: str, seed: int, _data: Dataset) -> dict:
    """Vocabulary built on the training split, its out-of-vocabulary rate on validation, and the length suggestion."""
    from core.vectorizing import build_vocabulary, oov_rate, suggest_max_length, token_lengths, truncated_share

    config = ExperimentConfig(seed=seed, preprocessing=PreprocessingConfig(**json.loads(preprocessing_json)),
                              vectorizing=VectorizingConfig(**json.loads(vectorizing_json)), split=SplitConfig(**json.loads(split_json)))
    texts, _ = processed_for(key, _data, config)
    rows = split_for(key, _data, config)
    train = [texts[i] for i in rows["train"]]
    held_out = [texts[i] for i in rows["validation"]]
    vocabulary = build_vocabulary(train, config.vectorizing.max_vocab_size, config.vectorizing.min_token_frequency)
    lengths = token_lengths(train)
    suggestion = suggest_max_length(lengths, config.vectorizing.length_percentile)
    max_length = config.vectorizing.max_length or suggestion.max_length
    return {
        "vocabulary_size": vocabulary.size,
        "distinct_train_tokens": len({t for text in train for t in text.split()}),
        "oov_rate_validation": oov_rate(held_out, vocabulary),
        "suggested_max_length": suggestion.max_length,
        "max_length": max_length,
        "truncated_share": truncated_share(lengths, max_length),
        "train_lengths": lengths,
        "train_rows": len(train),
    }


def vocabulary_for(key: str, data: Dataset, config: ExperimentConfig) -> dict:
    dump = lambda section: json.dumps(asdict(section), sort_keys=True)  # noqa: E731
    return vocabulary_stats(key, dump(config.preprocessing), dump(config.vectorizing), dump(config.split), config.seed, data)


@st.cache_resource(show_spinner=False)
def scheduler():
    """One job scheduler per server: two CPU cores train one model at a time; others queue."""
    from core.jobs import JobScheduler

    return JobScheduler(max_running=1)


@st.cache_resource(show_spinner=False)
def inference_server():
    """One process per server holds TensorFlow and the loaded models, so the Streamlit process never imports it."""
    from core.inference import InferenceServer

    return InferenceServer()


@st.cache_data(max_entries=64, show_spinner=False)
def run_record(run_dir: str, modified: float) -> dict:
    """A saved run's JSON files (not the model), keyed by folder and modification time."""
    from core.runs import load_run

    run = load_run(run_dir)
    return {"info": run.info, "config": run.config.to_dict(), "history": run.history, "metrics": run.metrics,
            "class_names": run.class_names, "predictions": run.predictions}


def run_record_for(run_dir: str) -> dict:
    return run_record(run_dir, Path(run_dir).stat().st_mtime)
