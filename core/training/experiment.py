"""One experiment, end to end: preprocessing → split → vectorizing → resampling → model → training → evaluation →
run record. The dashboard and the CLI both drive this module; each stage also has its own entry point so pages can
preview a stage without training.

The test split is sealed at :func:`split_rows`: vocabulary, resampling, training and early stopping only ever see
training (and validation) rows; the test rows are encoded with the training vocabulary and scored once at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from core.choices import resampling as resampling_module
from core.choices.ngrams import BLENDS
from core.config import DataConfig, ExperimentConfig, VectorizingConfig
from core.data.dataset import Dataset
from core.data.splitting import Split, class_counts, stratified_folds, stratified_split
from core.data.trainability import assess
from core.model.baseline import baseline_on_split
from core.model.evaluation import classification_metrics, majority_class_metrics, prediction_records
from core.progress import BUILDING, EVALUATING, PREPARING, SAVING, WARMUP, phase_event
from core.runs.results import (
    BaselineResult,
    ClassificationMetrics,
    DataSummary,
    EnsembleSummary,
    FoldScores,
    FoldSummary,
    MeanSd,
    Prediction,
    ResamplingAudit,
    RunInfo,
    RunMetrics,
    SplitCounts,
    TrainingSummary,
    VectorCoverage,
    VectorizingSummary,
)
from core.runs.store import ensure_writable, save_run
from core.runs.store import runs_dir as default_runs_dir
from core.text.preprocessing import PreprocessingReport, preprocess
from core.text.vectorizing import (
    LengthSuggestion,
    Vocabulary,
    build_vocabulary,
    decode_tokens,
    encode,
    encode_subwords,
    suggest_max_length,
    token_lengths,
)
from core.text.word_vectors import vocabulary_extension

STATUS_COMPLETED = "completed"
STATUS_STOPPED = "stopped"


@dataclass
class Vectorized:
    vocabulary: Vocabulary
    max_length: int
    suggestion: LengthSuggestion  # computed on the training rows, whether or not max_length was set by hand
    x: dict[str, np.ndarray]  # split name → token IDs


def split_rows(dataset: Dataset, config: ExperimentConfig) -> Split:
    return stratified_split(dataset.y, config.split, config.seed, dataset.class_names)


def vectorize(processed: Sequence[str], rows: dict[str, np.ndarray], config: VectorizingConfig,
              subword_buckets: int = 0,
              extension: Optional[Callable[[Vocabulary], Vocabulary]] = None) -> Vectorized:
    """Vocabulary and suggested length from ``rows['train']`` only; every named split encoded with them (with
    ``subword_buckets``, each position also carries its token's hashed character n-grams). ``extension``
    (:func:`core.text.word_vectors.vocabulary_extension`) appends pretrained words to the training vocabulary: it
    sees that vocabulary and the vectors, never the validation or test texts."""
    train_texts = [processed[i] for i in rows["train"]]
    vocabulary = build_vocabulary(train_texts, config.max_vocab_size, config.min_token_frequency)
    if extension is not None:
        vocabulary = extension(vocabulary)
    suggestion = suggest_max_length(token_lengths(train_texts), config.length_percentile)
    max_length = config.max_length or suggestion.max_length
    if subword_buckets:
        x = {name: encode_subwords([processed[i] for i in indices], vocabulary, max_length, subword_buckets)
             for name, indices in rows.items()}
    else:
        x = {name: encode([processed[i] for i in indices], vocabulary, max_length) for name, indices in rows.items()}
    return Vectorized(vocabulary, max_length, suggestion, x)


@dataclass
class TrainedModel:
    """One fitted model and everything needed to describe and reuse it."""

    models: object  # core.model.classifier.ClassifierModels
    vectorized: Vectorized
    resampled: resampling_module.ResampledTraining
    outcome: object  # core.training.fit.TrainingOutcome
    validation_metrics: Optional[ClassificationMetrics]
    test_probabilities: np.ndarray
    test_metrics: ClassificationMetrics
    replay: dict = field(default_factory=dict)  # per-epoch validation predictions and example token weights
    validation_probabilities: Optional[np.ndarray] = None  # of the rows in ``validation_rows``
    validation_rows: Optional[np.ndarray] = None  # dataset row indices the validation probabilities belong to
    word_vectors: Optional[VectorCoverage] = None  # coverage of the user's vectors file, when one started the embedding


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    class_names: tuple[str, ...]
    metrics: RunMetrics  # what metrics.json holds
    history: dict
    predictions: list[Prediction]
    trained: TrainedModel
    status: str
    summary: RunInfo
    run_dir: Optional[Path] = None
    duration_s: float = 0.0


REPLAY_EXAMPLES = 6  # validation examples whose token weights are kept for every epoch


def _announce(listener, phase: str, message: str, fold: Optional[int] = None, folds: Optional[int] = None) -> None:
    if listener is not None:
        listener(phase_event(phase, message, fold=fold, folds=folds))


def _replay_rows(y_val: np.ndarray, limit: int = REPLAY_EXAMPLES) -> np.ndarray:
    """Positions (within the validation rows) of a few fixed examples: one per class first, then the next rows."""
    first_of_class = [int(np.flatnonzero(y_val == c)[0]) for c in np.unique(y_val)]
    rest = [i for i in range(len(y_val)) if i not in set(first_of_class)]
    return np.array(sorted((first_of_class + rest)[:limit]), dtype=np.int64)


def _fit_one(
    processed: Sequence[str],
    y: np.ndarray,
    rows: dict[str, np.ndarray],
    class_names: Sequence[str],
    config: ExperimentConfig,
    listener,
    stop,
    fold: Optional[int] = None,
    folds: Optional[int] = None,
    vectorized: Optional[Vectorized] = None,
    name: str = "lstm_classifier",
    vector_cache: Optional[dict] = None,
    seed: Optional[int] = None,
    extension: Optional[Callable[[Vocabulary], Vocabulary]] = None,
) -> TrainedModel:
    """Vectorize (unless ``vectorized`` already holds these rows' IDs), resample the training rows, build, train and
    score one model. ``extension`` appends pretrained words to a fold's own training vocabulary."""
    from core.model.classifier import build_classifier, set_word_vectors
    from core.training.batching import predict_trimmed
    from core.training.fit import ExampleReplay, embedder, freeze_embedding, seed_everything, train, warm_up_embedding

    seed = config.seed + (fold or 0) if seed is None else seed
    seed_everything(seed)
    num_classes = len(class_names)
    if vectorized is None:
        vectorized = vectorize(processed, rows, config.vectorizing, config.model.subword_buckets, extension)
    x_train, y_train = vectorized.x["train"], y[rows["train"]]
    x_val, y_val = vectorized.x["validation"], y[rows["validation"]]

    embed = None
    warm_weights = None
    if resampling_module.RESAMPLERS.get(config.resampling.strategy).embedded:
        _announce(listener, WARMUP, "Training the embedding that gives SMOTE-family resampling its space", fold, folds)
        warm_weights = warm_up_embedding(
            x_train, y_train, vectorized.vocabulary.size, num_classes, config.model,
            config.resampling.embedding_warmup_epochs, config.training.batch_size, seed, listener,
        )
        embed = embedder(warm_weights)
    resampled = resampling_module.resample_training(x_train, y_train, num_classes, config.resampling, seed, embed)

    vectors = None
    if config.model.word_vectors:  # read before building: their dimension decides whether a projection is needed
        vectors = _word_vectors(vectorized.vocabulary, config, vector_cache if vector_cache is not None else {})
    _announce(listener, BUILDING, "Building the model", fold, folds)
    models = build_classifier(config.model, vectorized.vocabulary.size, num_classes, vectorized.max_length, seed,
                              name=name, vector_dim=None if vectors is None else vectors.coverage.dim,
                              frozen_rows=vectorized.vocabulary.extension_size)
    if warm_weights is not None:
        freeze_embedding(models, warm_weights)
        x_val = embed(x_val)
    coverage = None
    if vectors is not None:
        set_word_vectors(models.model, vectors.matrix, trainable=not config.model.freeze_word_vectors)
        coverage = replace(vectors.coverage, frozen=config.model.freeze_word_vectors)
    example_rows = _replay_rows(y_val)
    replay = ExampleReplay(models, vectorized.x["validation"][example_rows])
    outcome = train(
        models, resampled.x, resampled.y, x_val, y_val, config.training,
        embedded=resampled.embedded, class_weight=resampled.class_weight,
        listener=listener, stop=stop, fold=fold, folds=folds, scored_rows=len(y_val) + len(rows["test"]), replay=replay,
        seed=seed,
    )
    _announce(listener, EVALUATING, "Scoring the validation and test splits", fold, folds)
    batch = config.training.batch_size * 4
    validation_metrics = probabilities = None
    if len(y_val):
        probabilities = outcome.validation_probabilities
        if probabilities is None:  # the final weights were never scored during training (an epoch cut short)
            network = models.embedded_model if resampled.embedded else models.model
            probabilities = predict_trimmed(network, x_val, batch)
        validation_metrics = classification_metrics(y_val, probabilities, class_names)
    test_probabilities = predict_trimmed(models.model, vectorized.x["test"], batch)
    test_metrics = classification_metrics(y[rows["test"]], test_probabilities, class_names)
    replay_record = _replay_record(rows["validation"], y_val, outcome, example_rows, vectorized, replay)
    return TrainedModel(models, vectorized, resampled, outcome, validation_metrics, test_probabilities, test_metrics,
                        replay_record, probabilities, rows["validation"], coverage)


def _word_vectors(vocabulary: Vocabulary, config: ExperimentConfig, cache: dict):
    """The configured vectors for ``vocabulary``, read once per vocabulary (the members of an average share one). At
    their own dimension when a projection may map them to embedding_dim; otherwise it must equal embedding_dim."""
    from core.text.word_vectors import load_word_vectors

    model = config.model
    key = (vocabulary.tokens, vocabulary.trained)
    if key not in cache:
        cache[key] = load_word_vectors(model.word_vectors, vocabulary,
                                       None if model.project_word_vectors else model.embedding_dim,
                                       lowercase=config.preprocessing.lowercase, seed=config.seed)
    return cache[key]


def _fold_vectorized(
    shared: Vectorized, development: np.ndarray, train_part: np.ndarray, held_out: np.ndarray
) -> Vectorized:
    """One fold's view of IDs encoded once for every development row (an ensemble's members share one vocabulary)."""
    x_development = shared.x["train"]
    x = {"train": x_development[train_part], "validation": x_development[held_out], "test": shared.x["test"]}
    return Vectorized(shared.vocabulary, shared.max_length, shared.suggestion, x)


def _ensemble(members: list[TrainedModel], representative: TrainedModel, y: np.ndarray, test_rows: np.ndarray,
              class_names: Sequence[str], folds: int, seeds: int) -> tuple[TrainedModel, EnsembleSummary]:
    """One model averaging the members, scored on the test split. Validation: members that early-stopped on the same
    rows (seed members) are averaged there; different folds' held-out parts are joined, so with k-fold every
    development row is scored by the members that never trained on it (out of fold)."""
    from core.model.classifier import ClassifierModels, build_ensemble

    model = build_ensemble([m.models.model for m in members])
    test_probabilities = np.mean([m.test_probabilities for m in members], axis=0)
    test_metrics = classification_metrics(y[test_rows], test_probabilities, class_names)
    by_rows: dict[bytes, tuple[np.ndarray, list[np.ndarray]]] = {}
    for member in members:
        if member.validation_probabilities is not None and len(member.validation_rows):
            key = np.asarray(member.validation_rows).tobytes()
            by_rows.setdefault(key, (member.validation_rows, []))[1].append(member.validation_probabilities)
    validation_metrics = validation_probabilities = validation_rows = None
    if by_rows:
        validation_rows = np.concatenate([rows for rows, _ in by_rows.values()])
        validation_probabilities = np.concatenate([np.mean(parts, axis=0) for _, parts in by_rows.values()])
        validation_metrics = classification_metrics(y[validation_rows], validation_probabilities, class_names)
    if folds > 1:
        method = f"average of the {folds} fold models' probabilities" if seeds == 1 else \
            f"average of {len(members)} models' probabilities ({folds} folds x {seeds} seeds)"
        validation = "out-of-fold"
    else:
        method = f"average of {len(members)} models' probabilities (same split, different seeds)"
        validation = "the shared validation split"
    summary = EnsembleSummary(
        members=len(members), method=method,
        parameters=int(model.count_params()), parameters_per_member=int(members[0].models.model.count_params()),
        train_seconds=round(sum(m.outcome.duration_s for m in members), 2),
        member_test_macro_f1=[round(m.test_metrics.macro_f1, 4) for m in members], validation=validation,
    )
    models = ClassifierModels(model=model, embedded_model=representative.models.embedded_model, explainer=None)
    trained = replace(representative, models=models, validation_metrics=validation_metrics,
                      test_probabilities=test_probabilities, test_metrics=test_metrics,
                      validation_probabilities=validation_probabilities, validation_rows=validation_rows)
    return trained, summary


def _replay_record(validation_rows, y_val, outcome, example_rows, vectorized, replay) -> dict:
    """What Evaluate's epoch slider replays: each epoch's validation predictions and a few examples' token weights."""
    example_ids = vectorized.x["validation"][example_rows]
    return {
        "validation_rows": [int(r) for r in validation_rows],
        "labels": [int(v) for v in y_val],
        "predictions_by_epoch": outcome.validation_predictions_by_epoch,
        "partial_epoch": outcome.partial_epoch,
        "examples": {
            "positions": example_rows.tolist(),
            "tokens": [decode_tokens(row, vectorized.vocabulary) for row in example_ids],
            "method": replay.method,
            "by_epoch": replay.by_epoch,
        },
    }


def _fold_summary(fold_models: list[TrainedModel]) -> FoldSummary:
    keys = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1")
    per_fold = [
        FoldScores(
            fold=i + 1, epochs=fold.outcome.epochs_run,
            validation={k: getattr(fold.validation_metrics, k) for k in keys} if fold.validation_metrics else None,
            test={k: getattr(fold.test_metrics, k) for k in keys},
        )
        for i, fold in enumerate(fold_models)
    ]

    def spread(part: str) -> dict[str, MeanSd]:
        values = {k: [getattr(f, part)[k] for f in per_fold if getattr(f, part)] for k in keys}
        return {
            k: MeanSd(float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
            for k, v in values.items() if v
        }

    return FoldSummary(k=len(fold_models), per_fold=per_fold, validation=spread("validation"), test=spread("test"))


def run_experiment(
    dataset: Dataset,
    config: ExperimentConfig,
    *,
    listener=None,
    stop=None,
    runs_dir: str | Path | None = "",
    preprocessed: Optional[tuple[list[str], PreprocessingReport]] = None,
    tags: Optional[dict] = None,
    baseline: Optional[BaselineResult] = None,
    split: Optional[Split] = None,
    attachments: Optional[dict[str, object]] = None,
) -> ExperimentResult:
    """Run the whole path and (unless ``runs_dir`` is None) save a run record (in ``runs_dir``, or by default the
    lab's runs folder, :func:`core.runs.store.runs_dir`).

    ``tags`` (plain JSON values, e.g. ``{"study": "levers-1", "trial": 3}``) are stored in the run's summary.
    ``baseline`` may pass the TF-IDF baseline already fitted on this data, preprocessing and split (the dashboard
    has it from the Data page); otherwise it is fitted before training, so nothing slow waits after the last epoch.
    Data that cannot be trained and scored with these settings is refused before anything runs.
    ``split`` fixes the rows of each split (a cleaned dataset is scored on the original test rows this way);
    ``attachments`` are extra JSON records saved with the run (e.g. ``{"edits": ...}`` for a cleaned dataset).
    """
    started = time.perf_counter()
    cpu_started = time.process_time()
    # The record names the columns actually used, so the config alone reproduces the run.
    config = replace(config, data=DataConfig(text_column=dataset.text_column, label_column=dataset.label_column))
    assess(dataset.y, dataset.class_names, config, split).raise_if_not()
    folder = None if runs_dir is None else (Path(runs_dir) if runs_dir else default_runs_dir())
    if folder is not None:
        ensure_writable(folder)  # before training, not after: a long run must not be lost to a read-only folder
    _announce(listener, PREPARING, "Preparing the data: preprocessing, split and vocabulary")
    processed, preprocessing_report = preprocessed or preprocess(dataset.texts, config.preprocessing)
    y = dataset.y
    class_names = dataset.class_names
    split = split if split is not None else split_rows(dataset, config)
    if baseline is None:
        _announce(listener, PREPARING, "Fitting the TF-IDF + logistic-regression baseline")
        baseline = baseline_on_split(processed, y, split, class_names)

    fold_models: list[TrainedModel] = []
    ensemble = None
    vector_cache: dict = {}  # word vectors read once per vocabulary
    extension = vocabulary_extension(config)  # pretrained words appended to each training vocabulary, if asked
    seeds = config.split.ensemble_seeds
    averaging = config.split.ensemble or seeds > 1
    # Members of an average share one vocabulary and length (they become one model with one input), built from every
    # row they may learn from; the test split stays sealed. A kept-best fold model keeps its own fold's vocabulary.
    if config.split.k_folds >= 2:
        development = np.concatenate([split.train, split.validation])
        folds = stratified_folds(y[development], config.split.k_folds, config.seed)
        parts = [
            (development[train_part], development[held_out], train_part, held_out) for train_part, held_out in folds
        ]
        shared = vectorize(processed, {"train": development, "test": split.test}, config.vectorizing,
                           config.model.subword_buckets, extension) if averaging else None
    else:
        parts = [(split.train, split.validation, None, None)]
        shared = vectorize(processed, {"train": split.train, "validation": split.validation, "test": split.test},
                           config.vectorizing, config.model.subword_buckets, extension) if averaging else None
    members = len(parts) * seeds
    for number, (train_rows, held_out_rows, train_part, held_out) in enumerate(parts, start=1):
        for repeat in range(seeds):
            member = len(fold_models) + 1
            rows = {"train": train_rows, "validation": held_out_rows, "test": split.test}
            vectors = None
            if shared is not None:
                vectors = shared if train_part is None else _fold_vectorized(shared, development, train_part, held_out)
            fold, fold_count = (
                (number, len(parts)) if len(parts) > 1 else ((member, members) if members > 1 else (None, None))
            )
            fold_models.append(_fit_one(
                processed, y, rows, class_names, config, listener, stop, fold, fold_count, vectorized=vectors,
                name=f"member_{member}" if averaging else "lstm_classifier", vector_cache=vector_cache,
                seed=config.seed + number - 1 + 1000 * repeat + (1 if len(parts) > 1 else 0), extension=extension,
            ))
            if fold_models[-1].outcome.stopped_by_user:
                break
        if fold_models[-1].outcome.stopped_by_user:
            break
    # The model that did best on its own held-out rows (never chosen on the test split): the run's model for a plain
    # k-fold run, or, for an average, whose curves and replay the run shows.
    trained = max(fold_models, key=lambda m: m.validation_metrics.macro_f1 if m.validation_metrics else -1.0)
    if averaging and len(fold_models) >= 2:
        _announce(listener, EVALUATING, f"Averaging the {len(fold_models)} models")
        trained, ensemble = _ensemble(fold_models, trained, y, split.test, class_names, len(parts), seeds)
    stopped = any(m.outcome.stopped_by_user for m in fold_models)
    blend_summary = None
    if BLENDS.get(config.model.blend).blends:
        from core.training.blending import blend

        _announce(listener, EVALUATING, "Blending with the bag-of-words model (weight chosen on held-out rows)")
        trained, blend_summary = blend(trained, processed, y, [(train, held) for train, held, _, _ in parts],
                                       split.test, class_names)
    if config.split.k_folds < 2:
        fold_models = []  # seed members are not folds: no fold table
    status = STATUS_STOPPED if stopped else STATUS_COMPLETED
    metrics = _metrics_record(
        dataset, config, split, trained, baseline, preprocessing_report, fold_models, status, ensemble
    )
    metrics = replace(metrics, blend=blend_summary)
    predictions = prediction_records(
        [dataset.texts[i] for i in split.test], y[split.test], trained.test_probabilities, class_names, split.test
    )
    history = trained.outcome.history
    duration = time.perf_counter() - started
    metrics = replace(metrics, training=replace(metrics.training, total_seconds=round(duration, 2),
                                                cpu_seconds=round(time.process_time() - cpu_started, 2)))
    summary = _summary(dataset, config, metrics, status, duration, tags)
    result = ExperimentResult(
        config, class_names, metrics, history, predictions, trained, status, summary, duration_s=duration
    )
    if fold_models:  # each non-test row scored by the fold model that never trained on it: label-noise triage uses it
        attachments = {**(attachments or {}), "out_of_fold": _out_of_fold(fold_models)}
    if folder is not None:
        _announce(listener, SAVING, "Saving the run")
        result.run_dir = save_run(
            folder, summary=result.summary, config=config, history=history, metrics=metrics, predictions=predictions,
            vocabulary=trained.vectorized.vocabulary, class_names=class_names, model=trained.models.model,
            replay=trained.replay, attachments=attachments,
        )
    return result


def _out_of_fold(fold_models: list[TrainedModel]) -> dict:
    """Every held-out row's class probabilities from the fold models that did not train on it (seed members of one
    fold averaged)."""
    by_rows: dict[bytes, tuple[np.ndarray, list[np.ndarray]]] = {}
    for model in fold_models:
        if (model.validation_probabilities is not None and model.validation_rows is not None
                and len(model.validation_rows)):
            key = np.asarray(model.validation_rows).tobytes()
            by_rows.setdefault(key, (np.asarray(model.validation_rows), []))[1].append(model.validation_probabilities)
    rows, probabilities = [], []
    for held_out, parts in by_rows.values():
        rows.extend(int(r) for r in held_out)
        probabilities.extend(np.round(np.mean(parts, axis=0).astype(float), 5).tolist())
    return {"rows": rows, "probabilities": probabilities}


def _metrics_record(dataset, config, split, trained: TrainedModel, baseline, preprocessing_report, fold_models, status,
                    ensemble: Optional[EnsembleSummary] = None) -> RunMetrics:
    names = dataset.class_names
    n = len(names)
    y = dataset.y
    outcome = trained.outcome
    vectorized = trained.vectorized
    return RunMetrics(
        status=status,
        test=trained.test_metrics,
        validation=trained.validation_metrics,
        baseline=baseline,
        majority=majority_class_metrics(y[split.train], y[split.test], names),
        split=SplitCounts(class_names=list(names), train=class_counts(y[split.train], n),
                          validation=class_counts(y[split.validation], n), test=class_counts(y[split.test], n),
                          notes=list(split.notes)),
        resampling=ResamplingAudit(
            strategy=config.resampling.strategy, method=trained.resampled.method, embedded=trained.resampled.embedded,
            train_before=trained.resampled.counts_before, train_after=trained.resampled.counts_after,
            class_weight=trained.resampled.class_weight, notes=list(trained.resampled.notes),
        ),
        training=TrainingSummary(
            epochs_run=outcome.epochs_run, best_epoch=outcome.best_epoch, stopped_by_user=outcome.stopped_by_user,
            early_stopped=outcome.early_stopped,
            train_seconds=ensemble.train_seconds if ensemble else round(outcome.duration_s, 2),
            samples_per_second=round(outcome.samples_per_second, 1),
            parameters=int(trained.models.model.count_params()),
        ),
        vectorizing=VectorizingSummary(
            vocabulary_size=vectorized.vocabulary.lstm_size, max_length=vectorized.max_length,
            suggested_max_length=vectorized.suggestion.max_length,
            truncated_share=(
                vectorized.suggestion.truncated_share
                if vectorized.max_length == vectorized.suggestion.max_length else None
            ),
        ),
        preprocessing=preprocessing_report,
        data=DataSummary(source=dataset.source_name, text_column=dataset.text_column, label_column=dataset.label_column,
                         rows=len(dataset.texts), hash=dataset.data_hash),
        folds=_fold_summary(fold_models) if fold_models else None,
        ensemble=ensemble,
        word_vectors=trained.word_vectors,
    )


def _summary(dataset: Dataset, config: ExperimentConfig, metrics: RunMetrics, status: str, duration: float,
             tags: Optional[dict]) -> RunInfo:
    """The one-line view of a run shown in the runs table."""
    model = config.model
    return RunInfo(
        status=status,
        data=dataset.source_name,
        rows=len(dataset.texts),
        classes=len(dataset.class_names),
        settings={
            "resampling": config.resampling.strategy,
            "embedding_dim": model.embedding_dim,
            "lstm_units": model.lstm_units,
            "lstm_layers": model.lstm_layers,
            "bidirectional": model.bidirectional,
            "attention": model.attention,
            "dropout": model.dropout,
            "optimizer": config.training.optimizer,
            "learning_rate": config.training.learning_rate,
            "lr_schedule": config.training.lr_schedule,
            "batch_size": config.training.batch_size,
            "k_folds": config.split.k_folds,
            "ensemble": config.split.ensemble,
            "ensemble_seeds": config.split.ensemble_seeds,
            "subword_buckets": model.subword_buckets,
            "ngram_path": model.ngram_path,
            "blend": model.blend,
            "word_vectors": Path(model.word_vectors).name if model.word_vectors else None,
            "normalizer": config.preprocessing.normalizer,
            "max_length": metrics.vectorizing.max_length,
        },
        test_accuracy=metrics.test.accuracy,
        test_macro_f1=metrics.test.macro_f1,
        test_balanced_accuracy=metrics.test.balanced_accuracy,
        baseline_macro_f1=metrics.baseline.macro_f1,
        epochs_run=metrics.training.epochs_run,
        duration_s=round(duration, 1),
        data_hash=dataset.data_hash,
        tags=dict(tags or {}),
    )
