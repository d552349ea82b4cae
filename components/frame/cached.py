"""Engine calls wrapped in Streamlit caches, keyed by content and config so reruns are instant; and the server-wide
services, one per server.

Only wrappers live here: every computation is a core function. Read-only shared things (parsed tables, datasets,
lessons) use ``cache_resource`` keyed by plain strings (content hashes); results that depend on settings use
``cache_data`` keyed by the settings' JSON. Nothing per-user (jobs, models being trained) lives in a global cache; the
job scheduler, the inference server and the stores of components.services (lab sessions, coach re-runs, lesson
attempts, running studies) are shared *services*, not anyone's cached result.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
import streamlit as st

from components.services import SESSIONS_KEPT, BoundedLRU, DataSource, LabStore, LessonAttempt, Rerun, StudyRegistry
from core.config import ExperimentConfig, PreprocessingConfig, SplitConfig, VectorizingConfig
from core.data.builtin import load_builtin
from core.data.columns import ColumnGuess, guess_columns
from core.data.dataset import Dataset, build_dataset
from core.data.reading import Table, read_csv_bytes
from core.data.splitting import Split
from core.errors import UserError
from core.evidence.triage import TriageReport
from core.runs.results import BaselineResult
from core.text.preprocessing import PreprocessingReport
from core.text.vectorizing import VocabularyPreview

if TYPE_CHECKING:
    from core.teaching.lessons import Lesson


def _json(section) -> str:
    return json.dumps(asdict(section), sort_keys=True)


@st.cache_resource(max_entries=8, show_spinner="Reading the data…")
def _table(source_id: str, kind: str, name: str, sample_rows: Optional[int], _raw: Optional[bytes]) -> Table:
    if kind == "builtin":
        return load_builtin(name)
    return read_csv_bytes(_raw or b"", source_name=name, max_rows=sample_rows)


def table(source: DataSource) -> Table:
    """The parsed table of a data source (raises DataError for files that cannot be read, TooBigError for files
    that would not fit in memory)."""
    return _table(source.source_id, source.kind, source.name, source.sample_rows, source.raw)


@st.cache_resource(max_entries=16, show_spinner=False)
def _dataset(source_id: str, text_column: Optional[str], label_column: Optional[str], _table: Table) -> Dataset:
    return build_dataset(_table, text_column, label_column)


def dataset(source: DataSource, text_column: Optional[str], label_column: Optional[str]) -> Dataset:
    return _dataset(source.source_id, text_column, label_column, table(source))


def dataset_key(source: DataSource, data: Dataset) -> str:
    return f"{source.source_id}|{data.text_column}|{data.label_column}"


@st.cache_data(max_entries=16, show_spinner=False)
def column_guess(source_id: str, _table: Table) -> ColumnGuess:
    return guess_columns(_table.frame)


@st.cache_data(max_entries=32, show_spinner="Preprocessing…")
def _processed(key: str, preprocessing_json: str, _data: Dataset) -> tuple[list[str], PreprocessingReport]:
    from core.text.preprocessing import preprocess

    return preprocess(_data.texts, PreprocessingConfig(**json.loads(preprocessing_json)))


def processed_for(key: str, data: Dataset, config: ExperimentConfig) -> tuple[list[str], PreprocessingReport]:
    """Preprocessed texts and the report of what ran (stop-word list, lemmatizer)."""
    return _processed(key, _json(config.preprocessing), data)


@st.cache_data(max_entries=32, show_spinner=False)
def _split(key: str, split_json: str, seed: int, _data: Dataset) -> Split:
    from core.data.splitting import stratified_split

    return stratified_split(_data.y, SplitConfig(**json.loads(split_json)), seed, _data.class_names)


def split_for(key: str, data: Dataset, config: ExperimentConfig) -> Split:
    return _split(key, _json(config.split), config.seed, data)


def _relevant(config: ExperimentConfig) -> str:
    """Only the settings triage and the baseline depend on, as the cache key."""
    return ExperimentConfig(seed=config.seed, preprocessing=config.preprocessing, split=config.split,
                            vectorizing=config.vectorizing, resampling=config.resampling).to_json()


@st.cache_data(max_entries=16, show_spinner="Triaging the data…")
def _triage(key: str, config_json: str, _data: Dataset) -> TriageReport:
    from core.evidence.triage import triage

    # The baseline is fitted separately (baseline_for) so the report can be drawn before it is ready.
    config = ExperimentConfig.from_json(config_json)
    return triage(_data, config, include_baseline=False, processed=processed_for(key, _data, config)[0])


def triage_for(key: str, data: Dataset, config: ExperimentConfig) -> TriageReport:
    return _triage(key, _relevant(config), data)


@st.cache_data(max_entries=16, show_spinner=False)
def _baseline(key: str, config_json: str, _data: Dataset) -> BaselineResult:
    from core.model.baseline import baseline_on_split

    config = ExperimentConfig.from_json(config_json)
    return baseline_on_split(processed_for(key, _data, config)[0], _data.y, split_for(key, _data, config),
                             _data.class_names)


def baseline_for(key: str, data: Dataset, config: ExperimentConfig) -> BaselineResult:
    """TF-IDF + logistic regression on the split and preprocessing the LSTM will use."""
    return _baseline(key, _relevant(config), data)


@st.cache_data(max_entries=32, show_spinner=False)
def _vocabulary(key: str, preprocessing_json: str, vectorizing_json: str, split_json: str, seed: int,
                _data: Dataset) -> VocabularyPreview:
    from core.text.vectorizing import preview_vocabulary

    config = ExperimentConfig(seed=seed, preprocessing=PreprocessingConfig(**json.loads(preprocessing_json)),
                              vectorizing=VectorizingConfig(**json.loads(vectorizing_json)),
                              split=SplitConfig(**json.loads(split_json)))
    texts = processed_for(key, _data, config)[0]
    split = split_for(key, _data, config)
    return preview_vocabulary([texts[i] for i in split.train], [texts[i] for i in split.validation], config.vectorizing)


def vocabulary_for(key: str, data: Dataset, config: ExperimentConfig) -> VocabularyPreview:
    """Vocabulary built on the training split, its out-of-vocabulary rate on validation, and the length suggestion."""
    return _vocabulary(key, _json(config.preprocessing), _json(config.vectorizing), _json(config.split), config.seed,
                       data)


@st.cache_data(max_entries=64, show_spinner=False)
def _run(run_dir: str, modified: float):
    from core.runs.store import load_run

    run = load_run(run_dir)
    run.predictions  # read now, so the cached copy holds them  # noqa: B018
    return run


def run_for(run_dir: str):
    """A saved run's records (the model itself loads only in the inference server), keyed by folder and time."""
    return _run(run_dir, Path(run_dir).stat().st_mtime)


@st.cache_data(max_entries=8, show_spinner="Looking for mislabelled rows (out-of-fold baseline + cleanlab)…")
def _label_suspects(key: str, config_json: str, _data: Dataset):
    from core.evidence.label_issues import find_label_suspects

    config = ExperimentConfig.from_json(config_json)
    split = split_for(key, _data, config)
    non_test = np.sort(np.concatenate([split.train, split.validation]))  # the sealed test split is never looked at
    return find_label_suspects(processed_for(key, _data, config)[0], _data.y, _data.class_names, non_test,
                               seed=config.seed, display_texts=_data.texts,
                               extra_pred_probs=_lstm_out_of_fold(_data, config, non_test))


def _lstm_out_of_fold(data: Dataset, config: ExperimentConfig, non_test: np.ndarray):
    """The newest k-fold run on this very data and split whose held-out probabilities can join the baseline's."""
    from core.evidence.label_issues import lstm_out_of_fold
    from core.runs.store import list_runs, load_run

    for summary in list_runs():
        if summary.info.data_hash != data.data_hash or not summary.info.settings.get("k_folds", 0) >= 2:
            continue
        try:
            run = load_run(summary.path)
            out_of_fold = run.attachment("out_of_fold")
        except UserError:
            continue
        same_split = run.config.split == config.split and run.config.seed == config.seed
        if out_of_fold and same_split and list(run.class_names) == list(data.class_names):
            return lstm_out_of_fold(non_test, out_of_fold, len(data.class_names))
    return None


def label_suspects_for(key: str, data: Dataset, config: ExperimentConfig):
    """Suspected label errors among the non-test rows (core.evidence.label_issues), with a k-fold LSTM run's out-of-fold
    probabilities when one was trained on this data and split."""
    return _label_suspects(key, _relevant(config), data)


@st.cache_data(max_entries=8, show_spinner="Looking for near-duplicates across the train/test split…")
def _leakage(key: str, config_json: str, _data: Dataset):
    from core.evidence.near_duplicates import straddling_pairs, test_inflation
    from core.model.baseline import baseline_test_predictions

    config = ExperimentConfig.from_json(config_json)
    split = split_for(key, _data, config)
    texts = processed_for(key, _data, config)[0]
    non_test = np.sort(np.concatenate([split.train, split.validation]))
    straddling = straddling_pairs(texts, non_test, split.test, seed=config.seed)
    predicted = baseline_test_predictions(texts, _data.y, split)
    inflation = None
    if len(predicted):
        inflation = test_inflation(_data.y[split.test], predicted, split.test, straddling.leaked_test_rows,
                                   _data.class_names)
    return straddling, inflation


def leakage_for(key: str, data: Dataset, config: ExperimentConfig):
    """Test rows with a near-duplicate outside the test split, and how much they flatter the baseline's score."""
    return _leakage(key, _relevant(config), data)


@st.cache_data(max_entries=8, show_spinner="Reading the word vectors…")
def _word_vectors(key: str, path: str, stamp: float, relevant_json: str, _data: Dataset, _config: ExperimentConfig):
    from core.evidence.triage import vector_coverage

    processed, _ = processed_for(key, _data, _config)
    return vector_coverage(processed, split_for(key, _data, _config), _config)


def word_vector_coverage(key: str, data: Dataset, config: ExperimentConfig):
    """(coverage of the training vocabulary, None) for the configured vectors (a built-in set or a file), or (None,
    the sentence saying why they cannot be used). Read again when the file or a setting that shapes the vocabulary
    changes."""
    path = config.model.word_vectors or ""
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        stamp = -1.0  # missing: the reader says so in one sentence
    model = config.model
    relevant = json.dumps([asdict(config.preprocessing), asdict(config.vectorizing), asdict(config.split), config.seed,
                           model.embedding_dim, model.extend_vocabulary, model.pretrained_words,
                           model.project_word_vectors], sort_keys=True)
    return _word_vectors(key, path, stamp, relevant, data, config)


# ------------------------------------------------------------------------------------------------------- lessons

LESSONS_VARIABLE = "LSTM_TEXT_LAB_LESSONS"


def lessons_folder() -> Path:
    """$LSTM_TEXT_LAB_LESSONS when set (a teacher's own folder of lesson files), else the lessons shipped with the
    app."""
    from core.teaching.lessons import LESSONS_DIR

    return Path(os.environ.get(LESSONS_VARIABLE) or LESSONS_DIR)


@st.cache_data(max_entries=4, show_spinner=False)
def _lessons(folder: str, stamp: tuple) -> list[Lesson]:
    from core.teaching.lessons import load_lessons

    return load_lessons(folder)


def all_lessons() -> list[Lesson]:
    """Every lesson file, validated (a broken file raises LessonError, a one-sentence UserError)."""
    folder = lessons_folder()
    stamp = tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob("*.toml"))) if folder.is_dir() else ()
    return _lessons(str(folder), stamp)


@st.cache_resource(max_entries=8, show_spinner="Loading the lesson's data…")
def _lesson_dataset(lesson_id: str, dataset: str, subsample_json: str, _lesson: Lesson) -> Dataset:
    from core.teaching import lessons

    return lessons.lesson_dataset(_lesson)


def lesson_dataset(lesson: Lesson) -> Dataset:
    """The lesson's data: its built-in dataset, or the seeded subsample the lesson file asks for."""
    subsample = json.dumps(lesson.subsample.to_dict() if lesson.subsample else None)
    return _lesson_dataset(lesson.id, lesson.dataset, subsample, lesson)


# ------------------------------------------------------------------------------------------ server-wide services


@st.cache_resource(show_spinner=False)
def scheduler():
    """One job scheduler per server: two CPU cores train one model at a time; others queue. Each worker measures its
    run's faithfulness once the run is saved (the model still in memory), until the next job starts."""
    from core.evidence.inference import measure_after_training
    from core.training.jobs import JobScheduler

    return JobScheduler(max_running=1, after_saving=measure_after_training)


def warm_trainer() -> None:
    """Have a training process warmed up (TensorFlow imported) before Start is clicked: pages that train call this
    after drawing, so the first page of a visit never pays for it."""
    scheduler().warm_up()


@st.cache_resource(show_spinner=False)
def inference_server():
    """One process per server holds TensorFlow and the loaded models, so the Streamlit process never imports it."""
    from core.evidence.inference import InferenceServer

    return InferenceServer()


@st.cache_resource(show_spinner=False)
def lab_store() -> LabStore:
    """The lab sessions of this server, so a reloaded tab carries on (bounded: components.services.LabStore)."""
    return LabStore()


@st.cache_resource(show_spinner=False)
def study_registry() -> StudyRegistry:
    """The lever studies and sweeps this server runs in background threads."""
    return StudyRegistry()


@st.cache_resource(show_spinner=False)
def reruns() -> BoundedLRU[str, Rerun]:
    """The latest coach re-run of each lab session (by owner), for every tab of it."""
    return BoundedLRU(SESSIONS_KEPT)


@st.cache_resource(show_spinner=False)
def lesson_attempts() -> BoundedLRU[str, LessonAttempt]:
    """The latest lesson attempt of each lab session (by owner), for every tab of it."""
    return BoundedLRU(SESSIONS_KEPT)
