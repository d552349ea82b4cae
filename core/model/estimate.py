"""Pre-flight numbers for the Model page, computed from the config alone: parameter count, a layer summary, and an
estimate of seconds per epoch and peak memory for training.

Nothing here imports TensorFlow or Keras (importing Keras costs ~5 s; the page must stay instant). The parameter
count mirrors ``core.model.classifier.build_model`` layer by layer and equals Keras's ``count_params()`` exactly
(``tests/test_estimate.py`` checks a grid). The time and memory figures come from a cost model whose constants
were fitted to measured training on a 2-core CPU (``bench/calibrate_estimate.py``); they are estimates for that
kind of machine, not promises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

from core.choices.attention import ATTENTION_KINDS
from core.choices.ngrams import BAG_OF_WORDS_LAYER, BLEND_LAYER, BLENDS, NGRAM_LAYER, NGRAM_PATHS, PRESENCE, blend_parameters
from core.config import ExperimentConfig, ModelConfig
from core.choices.optimization import OPTIMIZERS
from core.choices.resampling import RESAMPLERS, preview_counts
from core.text.vectorizing import SUBWORD_SLOTS

FLOAT_BYTES = 4
MB = 1024 * 1024

# ---------------------------------------------------------------------------------------------------------------
# Calibration. Measured by `bench/calibrate_estimate.py` on 2026-12-06: this 2-core x86-64 server, shared (load
# average 12-17 throughout), Python 3.11, tensorflow-cpu 2.21, keras 3.15.1, training through core.training.fit.train
# (Adam, clipnorm, op determinism on, progress callback, length-bucketed batches), 13 configs; an epoch's figure is
# the median processor time of epochs 2 and 3 / CPU_SECONDS_PER_SECOND (epoch 1 includes graph tracing; processor
# time, unlike wall time, hardly grows with other work). Fit errors -24%..+14% (a held-out config +3%); -12%..+14% RSS.
# Seconds per epoch = sum over the terms of _time_terms() of coefficient x term (a non-negative least-squares fit
# on relative error), with the LSTM steps of each batch trimmed to its longest row (trimmed_steps). The memory
# constants come from the same runs' peak RSS (resource.getrusage ru_maxrss).
# ---------------------------------------------------------------------------------------------------------------
TIME_COEFFICIENTS: dict[str, float] = {
    "batches": 6.942e-4,  # seconds per batch (graph launch, callbacks, slicing the batch)
    "recurrent_steps": 1.265e-4,  # seconds per LSTM loop iteration (one step of one direction of one layer) per batch
    "recurrent_steps_dropout": 3.888e-4,  # the same with recurrent_dropout > 0 (Keras's per-gate LSTM step)
    "multiply_adds": 5.262e-11,  # seconds per multiply-add (per sample: forward pass x1, training x3)
    "optimizer_updates": 7.269e-9,  # seconds per trainable parameter per training step (Adam + gradient clipping)
}
# extra time of the first epoch (tracing and compiling the train and validation graphs); the fixed part from whole runs
# (bench/calibrate_estimate.py --runs: 2.7-4.1 CPU-s per model of 2 LSTM loops; the epoch bench alone fitted 0.68)
TRACING_FIXED_SECONDS = 0.8
TRACING_SECONDS_PER_LOOP = 1.2  # ... and per LSTM layer-direction
RUNTIME_BASELINE_MB = 670.0  # peak RSS after importing core.training.fit, core.model.classifier, core.choices.resampling (bare
#                              `import tensorflow`: 621 MB)
FIXED_OVERHEAD_MB = 91.0  # graphs, traced functions and allocator pools of a training process beyond the baseline
ACTIVATION_FACTOR = 0.886  # measured RSS growth per byte of _activation_bytes() (allocator reuse, gradient buffers)


@dataclass(frozen=True)
class LayerRow:
    name: str  # the Keras layer name used in core/model.py
    kind: str  # the Keras class name
    output_shape: str
    parameters: int


@dataclass(frozen=True)
class EpochEstimate:
    seconds_per_epoch: float  # training plus the validation pass (what a progress bar's epoch takes)
    samples_per_second: float  # training rows (after resampling) per second of epoch, as TrainingOutcome reports it
    memory_mb: float  # peak resident memory of the training process, *including* the TensorFlow runtime baseline
    memory_breakdown: dict[str, float]  # MB per part; the parts add up to memory_mb
    notes: list[str] = field(default_factory=list)  # plain sentences for the page
    rows_trained: int = 0  # training rows per epoch after resampling
    rows_kind: str = "exact"  # how rows_trained relates to the real count: "exact", "at most" or "about"
    first_epoch_extra_seconds: float = 0.0  # graph tracing in the first epoch
    parameters: int = 0  # of one model (the run's totals: RunEstimate)


# --- parameters and summary -------------------------------------------------------------------------------------


def _width(config: ModelConfig) -> int:
    return config.lstm_units * (2 if config.bidirectional else 1)


def _lstm_parameters(inputs: int, units: int) -> int:
    """One keras LSTM: kernel (inputs, 4u), recurrent kernel (u, 4u), bias (4u)."""
    return 4 * units * (inputs + units + 1)


def _shape(*dims: int) -> str:
    return "(" + ", ".join(["None", *(str(d) for d in dims)]) + ")"


def model_summary(config: ModelConfig, *, vocab_size: int, num_classes: int, max_length: int) -> list[LayerRow]:
    """The layers of ``core.model.classifier.build_model`` in order, with Keras's names, output shapes and parameter counts."""
    steps, width, directions = max_length, _width(config), 2 if config.bidirectional else 1
    dim = config.embedding_dim
    if config.subword_buckets:
        rows = [
            LayerRow("token_ids", "InputLayer", _shape(steps, 1 + SUBWORD_SLOTS), 0),
            LayerRow("word_ids", "WordIds", _shape(steps), 0),
            LayerRow("embedding", "Embedding", _shape(steps, dim), vocab_size * dim),
            LayerRow("subword_embedding", "SubwordEmbedding", _shape(steps, dim), (config.subword_buckets + 1) * dim),
            LayerRow("token_vectors", "Add", _shape(steps, dim), 0),
        ]
    else:
        rows = [
            LayerRow("token_ids", "InputLayer", _shape(steps), 0),
            LayerRow("embedding", "Embedding", _shape(steps, dim), vocab_size * dim),
        ]
    rows.append(LayerRow("embedding_dropout", "Dropout", _shape(steps, dim), 0))
    attention = ATTENTION_KINDS.get(config.attention)
    inputs = config.embedding_dim
    for depth in range(config.lstm_layers):
        sequences = depth < config.lstm_layers - 1 or attention.pools
        shape = _shape(steps, width) if sequences else _shape(width)
        name = f"lstm_{depth + 1}"
        rows.append(LayerRow(name, "LengthAwareLSTM", shape, directions * _lstm_parameters(inputs, config.lstm_units)))
        rows.append(LayerRow(f"{name}_dropout", "Dropout", shape, 0))
        inputs = width
    rows.extend(LayerRow(*row) for row in attention.summary(config, steps, width))
    rows.extend(_head_rows(config, vocab_size, num_classes, width))
    return rows


def _head_rows(config: ModelConfig, vocab_size: int, num_classes: int, width: int) -> list[LayerRow]:
    """The output layer, with an n-gram path beside it, and the blend's frozen bag-of-words model when there is one."""
    path = NGRAM_PATHS.get(config.ngram_path)
    units = path.units(config, num_classes)
    ngram = LayerRow(NGRAM_LAYER, "NgramPath", _shape(units), (vocab_size + config.ngram_buckets + 1) * units)
    blends = BLENDS.get(config.blend).blends
    rows = [LayerRow(PRESENCE, "TokenPresence", "(None, steps)", 0)] if units or blends else []
    if not units:
        rows += [LayerRow("probabilities", "Dense", _shape(num_classes), width * num_classes + num_classes)]
    elif path.added:
        rows += [LayerRow("sequence_scores", "Dense", _shape(num_classes), width * num_classes + num_classes), ngram,
                LayerRow("scores", "Add", _shape(num_classes), 0),
                LayerRow("probabilities", "Activation", _shape(num_classes), 0)]
    else:
        joined = width + units
        rows += [ngram, LayerRow("joined_features", "Concatenate", _shape(joined), 0),
                LayerRow("probabilities", "Dense", _shape(num_classes), joined * num_classes + num_classes)]
    if blends:
        rows += [LayerRow(BAG_OF_WORDS_LAYER, "BagOfWordsModel", _shape(num_classes),
                          blend_parameters(config, vocab_size, num_classes)),
                 LayerRow(BLEND_LAYER, "Blend", _shape(num_classes), 0)]
    return rows


def parameter_count(config: ModelConfig, *, vocab_size: int, num_classes: int, max_length: int) -> int:
    """Equals ``build_model(config, vocab_size, num_classes, max_length).count_params()``."""
    return sum(row.parameters for row in model_summary(config, vocab_size=vocab_size, num_classes=num_classes, max_length=max_length))


def ensemble_members(config: ExperimentConfig) -> int:
    """How many models the saved run holds: k (x seeds) for a k-fold ensemble, the seeds without k-fold, else one."""
    split = config.split
    if split.k_folds >= 2:
        return split.k_folds * split.ensemble_seeds if split.ensemble else 1
    return split.ensemble_seeds


# --- cost model -------------------------------------------------------------------------------------------------


def _forward_multiply_adds(config: ModelConfig, num_classes: int, max_length: int, embedded: bool) -> float:
    """Multiply-adds (elementwise work counted as one each) of one sample's forward pass."""
    steps, width, units = max_length, _width(config), config.lstm_units
    directions = 2 if config.bidirectional else 1
    total = 0.0 if embedded else steps * config.embedding_dim  # embedding gather
    if config.subword_buckets and not embedded:
        total += steps * (SUBWORD_SLOTS + 2) * config.embedding_dim  # n-gram gather, masked mean, add
    total += steps * config.embedding_dim  # dropout
    inputs = config.embedding_dim
    for _ in range(config.lstm_layers):
        per_direction = steps * (4 * units * (inputs + units) + 12 * units)  # two matmuls + gate arithmetic
        reversal = (directions - 1) * steps * (inputs + units)  # reversing the backward direction within length
        total += directions * per_direction + reversal + steps * width  # + dropout
        inputs = width
    total += ATTENTION_KINDS.get(config.attention).multiply_adds(config, steps, width)
    units = NGRAM_PATHS.get(config.ngram_path).units(config, num_classes)
    if units:
        total += 2 * steps * (units + 3)  # each word's and pair's row gathered, gated and summed
    if BLENDS.get(config.blend).blends and not embedded:
        total += 2 * steps * (steps + num_classes + 4)  # the frozen model's term counts (a steps x steps compare)
    return total + width * num_classes


def _trainable_parameters(config: ModelConfig, vocab_size: int, num_classes: int, max_length: int, embedded: bool) -> int:
    total = parameter_count(config, vocab_size=vocab_size, num_classes=num_classes, max_length=max_length)
    frozen = embedded or (config.word_vectors and config.freeze_word_vectors)
    # the blend's bag-of-words model is fitted by scikit-learn and frozen: the optimizer never updates it
    total -= blend_parameters(config, vocab_size, num_classes)
    return total - vocab_size * config.embedding_dim if frozen else total


def _time_terms(
    config: ExperimentConfig, *, train_rows: int, validation_rows: int, vocab_size: int, num_classes: int, max_length: int,
    steps: Optional[float] = None,
) -> dict[str, float]:
    """The quantities whose weighted sum (``TIME_COEFFICIENTS``) is one epoch's seconds. ``steps``: the mean width
    of the length-bucketed batches (:func:`trimmed_steps`; default ``max_length``, every batch at full width)."""
    model, batch = config.model, config.training.batch_size
    steps = float(max_length if steps is None else min(steps, max_length))
    embedded = RESAMPLERS.get(config.resampling.strategy).embedded
    train_batches = math.ceil(train_rows / batch) if train_rows else 0
    forward = _forward_multiply_adds(model, num_classes, steps, embedded)
    evaluated_rows = validation_rows
    evaluated_batches = math.ceil(validation_rows / (4 * batch)) if validation_rows else 0  # one pass at 4x the batch
    loops = model.lstm_layers * (2 if model.bidirectional else 1)
    # Training runs each loop forward and again backward for the gradients; evaluation runs it forward only.
    recurrent = steps * loops * (2 * train_batches + evaluated_batches)
    dropout = model.recurrent_dropout > 0
    return {
        "batches": float(train_batches + evaluated_batches),
        "recurrent_steps": 0.0 if dropout else recurrent,
        "recurrent_steps_dropout": recurrent if dropout else 0.0,
        "multiply_adds": forward * (3 * train_rows + evaluated_rows),
        "optimizer_updates": float(train_batches) * _trainable_parameters(model, vocab_size, num_classes, max_length, embedded),
    }


def trimmed_steps(length_quantiles: Sequence[int], rows: int, batch_size: int) -> float:
    """The mean width of ``rows`` rows' length-bucketed batches (core.training.batching: rows sorted by length, cut
    into batches, each trimmed to its longest row), from the rows' lengths at the 0th, 1st, ... 100th percentile."""
    if not rows:
        return float(length_quantiles[-1])
    last = len(length_quantiles) - 1
    batches = math.ceil(rows / batch_size)
    widths = (length_quantiles[min(last, math.ceil(last * min(rows, (j + 1) * batch_size) / rows))] for j in range(batches))
    return sum(widths) / batches


def _seconds(terms: dict[str, float], coefficients: dict[str, float] = TIME_COEFFICIENTS) -> float:
    return sum(coefficients[name] * value for name, value in terms.items())


def _activation_bytes(config: ModelConfig, batch: int, max_length: int, embedded: bool) -> float:
    """Floats a training step keeps for backpropagation, times 2 for the gradients flowing back, in bytes."""
    steps, width, units = max_length, _width(config), config.lstm_units
    directions = 2 if config.bidirectional else 1
    floats = steps * config.embedding_dim * (2 if embedded else 3)  # embedding output, dropout mask and output
    if config.subword_buckets and not embedded:
        floats += steps * config.embedding_dim * (SUBWORD_SLOTS + 2)  # gathered n-gram vectors, their mean, the sum
    inputs = config.embedding_dim
    for _ in range(config.lstm_layers):
        # per step and direction: input, 4 pre-activations, 4 gates, carry, tanh(carry), output
        floats += directions * steps * (inputs + 11 * units)
        floats += (directions - 1) * steps * (inputs + 2 * units) + 3 * steps * width  # reversals, concat, dropout
        inputs = width
    floats += ATTENTION_KINDS.get(config.attention).activation_floats(config, steps, width)
    return 2.0 * batch * floats * FLOAT_BYTES


def resampled_rows(config: ExperimentConfig, train_counts: Sequence[int]) -> tuple[int, str]:
    """Training rows per epoch after the configured resampling, from the training split's rows per class (the
    resampler's own preview), and whether that is "exact", "at most" or "about" the real count."""
    counts, kind = preview_counts(train_counts, config.resampling)
    return int(sum(counts)), kind


def estimate_epoch(
    config: ExperimentConfig,
    *,
    train_counts: Sequence[int],
    vocab_size: int,
    num_classes: int,
    max_length: int,
    rows_after_resampling: Optional[int] = None,
    validation_rows: Optional[int] = None,
    steps: Optional[float] = None,
) -> EpochEstimate:
    """Seconds per epoch and peak training memory on a 2-core CPU like the one the constants were measured on.

    ``memory_mb`` is the whole training process's peak RSS, the TensorFlow runtime baseline included (its own row
    of ``memory_breakdown``); the dataset's texts and the dashboard process are not counted.

    ``train_counts`` are the training split's rows per class before resampling; the resampler's own preview turns
    them into the rows trained per epoch (``rows_after_resampling`` overrides it when the real count is known).
    ``validation_rows`` defaults to what the split fractions (or k folds) leave. ``steps`` is the mean width of the
    length-bucketed batches (:func:`trimmed_steps`); without it every batch counts at full ``max_length``.
    """
    model, training = config.model, config.training
    resampler = RESAMPLERS.get(config.resampling.strategy)
    embedded = resampler.embedded
    notes: list[str] = []
    train_rows = int(sum(train_counts))
    rows, rows_kind = rows_after_resampling, "exact"
    if rows is None:
        rows, rows_kind = resampled_rows(config, train_counts)
        if rows_kind != "exact":
            notes.append(f"{resampler.title} decides while training how many rows to create: the figures assume "
                         f"{rows_kind} {rows:,} rows per epoch.")
    folds = config.split.k_folds if config.split.k_folds >= 2 else 1
    if validation_rows is None:
        if folds > 1:
            validation_rows = math.ceil(train_rows / (folds - 1))
        else:
            split = config.split
            validation_rows = round(train_rows * split.validation_fraction / (1 - split.validation_fraction - split.test_fraction))
    test_rows = round((train_rows + validation_rows) * config.split.test_fraction / (1 - config.split.test_fraction))

    terms = _time_terms(config, train_rows=rows, validation_rows=validation_rows, vocab_size=vocab_size,
                        num_classes=num_classes, max_length=max_length, steps=steps)
    seconds = _seconds(terms)
    loops = model.lstm_layers * (2 if model.bidirectional else 1)
    tracing = TRACING_FIXED_SECONDS + TRACING_SECONDS_PER_LOOP * loops

    # memory
    total_parameters = parameter_count(model, vocab_size=vocab_size, num_classes=num_classes, max_length=max_length)
    trainable = _trainable_parameters(model, vocab_size, num_classes, max_length, embedded)
    # weights; per trainable weight: optimizer slots, the gradient and its clipped copy
    slots = OPTIMIZERS.get(training.optimizer).slots(training)
    weight_bytes = FLOAT_BYTES * (total_parameters + trainable * (slots + 2))
    activation_bytes = ACTIVATION_FACTOR * _activation_bytes(model, training.batch_size, max_length, embedded)
    id_columns = 1 + SUBWORD_SLOTS if model.subword_buckets else 1  # with subwords, each position carries its n-gram IDs
    id_bytes = 4 * max_length * id_columns * (train_rows + validation_rows + test_rows)  # int32 token IDs of every split
    if embedded:
        sequence_bytes = FLOAT_BYTES * max_length * model.embedding_dim
        # resampling holds the embedded rows, their flattened copy, SMOTE's output and its reshaped copy at once;
        # training then keeps the resampled rows (plus TensorFlow's copy of them) and the embedded validation rows
        data_bytes = id_bytes + sequence_bytes * max(2 * train_rows + 2 * rows, 2 * rows + validation_rows)
    else:
        data_bytes = id_bytes + 4 * max_length * id_columns * rows  # TensorFlow's copy of the training matrix
    members = ensemble_members(config)
    breakdown = {
        "TensorFlow runtime": RUNTIME_BASELINE_MB + FIXED_OVERHEAD_MB,
        "weights and optimizer": weight_bytes / MB,
        # the members trained so far stay in memory until they are averaged into one model
        "finished ensemble members": FLOAT_BYTES * total_parameters * (members - 1) / MB,
        "activations": activation_bytes / MB,
        "training data": data_bytes / MB,
    }
    memory = sum(breakdown.values())

    notes.append(
        "Estimated for a 2-core CPU with TensorFlow (the machine the constants were measured on); more cores or a GPU "
        "train faster, and other work on the machine slows it down."
    )
    if model.recurrent_dropout > 0:
        without = dict(terms, recurrent_steps=terms["recurrent_steps_dropout"], recurrent_steps_dropout=0.0)
        notes.append(
            f"Recurrent dropout switches Keras to its slower per-gate LSTM step: expect about "
            f"{seconds / _seconds(without):.1f}x the epoch time here; on a GPU it also disables the fused cuDNN kernel "
            "(far slower still)."
        )
    if embedded:
        notes.append(
            f"{resampler.title} trains on "
            f"embedded sequences: {rows:,} x {max_length} x {model.embedding_dim} floats = "
            f"{rows * max_length * model.embedding_dim * FLOAT_BYTES / MB:,.0f} MB, instead of token IDs."
        )
        notes.append(
            f"Before training, a small embedding model trains for {config.resampling.embedding_warmup_epochs} epoch(s) "
            "and the nearest-neighbour search runs once; neither is in the per-epoch figure."
        )
    if training.batch_size < 32:
        notes.append(f"Batch size {training.batch_size} spends much of each epoch on per-step overhead; 64-128 is faster on a CPU.")
    if tracing >= 1:
        notes.append(f"The first epoch also spends about {tracing:.0f} s building the graph.")
    return EpochEstimate(
        seconds_per_epoch=seconds,
        samples_per_second=rows / seconds if seconds > 0 else 0.0,
        memory_mb=memory,
        memory_breakdown=breakdown,
        notes=notes,
        rows_trained=rows,
        rows_kind=rows_kind,
        first_epoch_extra_seconds=tracing,
        parameters=total_parameters,
    )


# --- a whole run: the one estimate every page and the CLI show ----------------------------------------------------
# Wording, everywhere: a time or CPU figure is "about" (an estimate for this server when nothing else runs on it);
# "at most" is kept for counts that are bounds (epochs, rows after undersampling, the largest fold).

# Early stopping (patience 3) ended the recommended runs on the built-in corpora after 4-7 epochs
# (bench/learning_quality.py): the top end is what the "about" figure assumes; "if all N epochs run" is the ceiling.
EXPECTED_EPOCHS = 7
# A whole run beyond its epochs: CPU seconds / CPU_SECONDS_PER_SECOND measured by `bench/calibrate_estimate.py --runs`
# (2026-12-06, this 2-core server, the two built-in corpora, single and 5-fold blended runs; see the bench's table).
# a fresh training process (a dashboard job, a study trial, the CLI): Python, TensorFlow and the engine imported, and
# its exit (measured 4.4-4.9 CPU-s to the imports, 1.3-1.6 after the run)
PROCESS_START_SECONDS = 5.8
# per dataset row and class: preprocessing, the split, the vocabulary and the one-vs-rest TF-IDF + LR baseline
# (measured 2.6e-5 CPU-s on 1,900 rows x 4 classes, 1.9e-5 on 996 x 21)
DATA_SECONDS_PER_ROW_CLASS = 2.1e-5
MODEL_SECONDS = 0.5  # per trained model: building and compiling it (its graph tracing: TRACING_*)
SAVE_SECONDS = 0.1  # the run record's files; and per member, averaging it in and writing it:
SAVE_SECONDS_PER_MEMBER = 0.05
# the blend's bag-of-words fits (each fold's training part, then every development row; SAGA, whose passes grow with
# the rows): seconds per class x rows^1.5 of each fit (measured 5.5e-7-6.9e-7 CPU-s on FAA effect, NACE, FAA phase)
BLEND_SECONDS_PER_CLASS_ROWS15 = 5.9e-7
# Processor seconds per wall second of a run on an idle server: whole recommended runs measured 1.02-1.06 on a quiet
# day (bench/learning_quality.py). The server was never idle on 2026-12-06, so the wall figures rest on this ratio.
CPU_SECONDS_PER_SECOND = 1.05
# a study trial beyond its run: the job's spawn, pickled data and progress queue, Optuna's ask/tell and journal
# (measured 2.1-5.6 CPU-s per trial beyond the trials' run estimates, a SMOTE trial among them)
TRIAL_SECONDS = 3.0


@dataclass(frozen=True)
class PartShape:
    """What one training part gives its models: a fold's training rows, or the training split."""

    train_counts: tuple[int, ...]  # training rows per class, before resampling
    validation_rows: int  # the held-out rows scored each epoch (the fold's, or the validation split)
    vocabulary_size: int
    max_length: int
    # the training rows' lengths (tokens, cut at max_length, at least 1) at the 0th, 1st, ... 100th percentile; empty:
    # unknown, every batch counts at full width
    length_quantiles: tuple[int, ...] = ()

    def steps(self, rows: int, batch_size: int) -> Optional[float]:
        """The mean width of ``rows`` rows' length-bucketed batches, or None when the lengths are unknown."""
        return trimmed_steps(self.length_quantiles, rows, batch_size) if self.length_quantiles else None


@dataclass(frozen=True)
class RunShape:
    """The data facts a run's estimate needs, built exactly as core.training.experiment builds them."""

    rows: int  # the dataset's rows
    classes: int
    test_rows: int
    development_rows: int  # training + validation rows (what k folds divide)
    parts: tuple[PartShape, ...]  # one per fold with k-fold, else the training split
    shared_vocabulary: bool  # the members of an average share one vocabulary (built on every row they may learn from)


def run_shape(processed: Sequence[str], y, class_names: Sequence[str], config: ExperimentConfig, split=None) -> RunShape:
    """Rows, vocabulary and length of each model of a run with ``config`` on preprocessed ``processed`` texts.

    Mirrors ``core.training.experiment.run_experiment``: the same split and folds; an average's members (k-fold with
    ``split.ensemble``, or several seeds) share a vocabulary built on the development rows (k-fold) or the training
    split; a k-fold run that keeps one model builds each fold's vocabulary from that fold's training rows."""
    import numpy as np

    from core.data.splitting import stratified_folds, stratified_split
    from core.text.vectorizing import build_vocabulary, suggest_max_length, token_lengths

    y = np.asarray(y)
    split = split if split is not None else stratified_split(y, config.split, config.seed, tuple(class_names))
    vectorizing, classes = config.vectorizing, len(class_names)

    def vocabulary_and_length(rows) -> tuple[int, int]:
        texts = [processed[i] for i in rows]
        size = build_vocabulary(texts, vectorizing.max_vocab_size, vectorizing.min_token_frequency).size
        return size, vectorizing.max_length or suggest_max_length(token_lengths(texts), vectorizing.length_percentile).max_length

    def part(train, held, vocabulary: tuple[int, int]) -> PartShape:
        lengths = np.clip(token_lengths(processed[i] for i in train), 1, vocabulary[1])
        quantiles = tuple(int(q) for q in np.percentile(lengths, np.arange(101), method="higher")) if len(lengths) else ()
        counts = tuple(int(c) for c in np.bincount(y[train], minlength=classes))
        return PartShape(counts, len(held), *vocabulary, length_quantiles=quantiles)

    development = np.concatenate([split.train, split.validation])
    if config.split.k_folds >= 2:
        parts = [(development[train], development[held]) for train, held in stratified_folds(y[development], config.split.k_folds, config.seed)]
        learned_from = development
    else:
        parts, learned_from = [(split.train, split.validation)], split.train
    shared = config.split.ensemble or config.split.ensemble_seeds > 1
    common = vocabulary_and_length(learned_from) if shared or len(parts) == 1 else None
    shapes = tuple(part(train, held, common or vocabulary_and_length(train)) for train, held in parts)
    return RunShape(rows=len(y), classes=classes, test_rows=len(split.test), development_rows=len(development),
                    parts=shapes, shared_vocabulary=shared)


@dataclass(frozen=True)
class RunEstimate:
    """Everything a page or the CLI says about a run before it starts, for single models, k-fold and seed ensembles
    and blends alike. Times are seconds of this server when otherwise idle; ``cpu_seconds`` is the processor time."""

    members: int  # models the saved run averages (1 for a single model, or a k-fold run that keeps its best fold)
    trained_models: int  # models trained: folds x seeds
    parameters: int  # of the saved model: members x per member (a blend's frozen bag-of-words table included)
    parameters_per_member: int
    parameters_kind: str  # "exact", or "at most" (a k-fold run keeps the best fold's model, whose vocabulary differs)
    rows_per_epoch: int  # each model's training rows per epoch, after resampling (the largest fold's)
    rows_kind: str  # "exact", "at most" or "about"
    rows_basis: str  # which rows those are, in words
    vocabulary_size: int  # of the largest part
    max_length: int
    epochs: int  # the configured most per model
    expected_epochs: int  # what the "about" figure assumes (EXPECTED_EPOCHS with early stopping)
    epoch_seconds: float  # one epoch of one model (training plus the validation pass)
    seconds: float  # the whole run at expected_epochs: start, data, every model, scoring, blend, saving
    seconds_all_epochs: float  # the same if every model trains all its epochs
    cpu_seconds: float
    cpu_seconds_all_epochs: float
    memory_mb: float
    epoch: EpochEstimate  # the largest part's per-epoch figures: memory breakdown, notes
    parts: dict[str, float]  # seconds of each part of the run at expected_epochs (they add up to ``seconds``)
    notes: tuple[str, ...]

    def time_text(self) -> str:
        """The one sentence of how long the run takes, shown alike on the Model page, in the recommendation and on
        the Study page."""
        models = f"{self.trained_models} models" if self.trained_models > 1 else "one model"
        text = (f"about {format_seconds(self.seconds)} on this server when nothing else runs "
                f"(≈ {self.cpu_seconds:,.0f} CPU-seconds) for {models} × {self.expected_epochs} epochs")
        if self.expected_epochs < self.epochs:
            text += (f" (early stopping ended measured runs after 4-{EXPECTED_EPOCHS}); about "
                     f"{format_seconds(self.seconds_all_epochs)} (≈ {self.cpu_seconds_all_epochs:,.0f} CPU-seconds) "
                     f"if all {self.epochs} run")
        return text + ", start, baseline, scoring and saving included"


def _scoring_terms(config: ExperimentConfig, part: PartShape, classes: int, test_rows: int) -> dict[str, float]:
    """One model's final forward pass over the test rows (its held-out rows were scored in the last epoch, which the
    epoch figure covers)."""
    return _time_terms(config, train_rows=0, validation_rows=test_rows, vocab_size=part.vocabulary_size, num_classes=classes,
                       max_length=part.max_length, steps=part.steps(test_rows, 4 * config.training.batch_size))


def _warmup_seconds(config: ExperimentConfig, part: PartShape) -> float:
    """An embedding-space resampler's warm-up: a bag-of-embeddings model trained for a few epochs, and its tracing."""
    if not RESAMPLERS.get(config.resampling.strategy).embedded:
        return 0.0
    batches = math.ceil(sum(part.train_counts) / config.training.batch_size)
    per_epoch = batches * (TIME_COEFFICIENTS["batches"]
                           + TIME_COEFFICIENTS["optimizer_updates"] * part.vocabulary_size * config.model.embedding_dim)
    return config.resampling.embedding_warmup_epochs * per_epoch + TRACING_FIXED_SECONDS


def estimate_run(config: ExperimentConfig, shape: RunShape, *, process_start: bool = True) -> RunEstimate:
    """The whole run of ``config`` on data of ``shape``: every model, and what a run does besides training.

    ``process_start``: the run starts a fresh process (a dashboard job, a study trial, ``python -m core train``)."""
    seeds, epochs = config.split.ensemble_seeds, config.training.epochs
    expected = min(EXPECTED_EPOCHS, epochs) if config.training.early_stopping else epochs
    per_part = [estimate_epoch(config, train_counts=part.train_counts, vocab_size=part.vocabulary_size,
                               num_classes=shape.classes, max_length=part.max_length, validation_rows=part.validation_rows,
                               steps=part.steps(sum(part.train_counts), config.training.batch_size))
                for part in shape.parts]
    models = len(shape.parts) * seeds
    epoch_cost = seeds * sum(e.seconds_per_epoch for e in per_part)
    blend = 0.0
    if BLENDS.get(config.model.blend).blends:  # a bag-of-words model per part (held-out scores), then one on all
        fitted = sum(sum(part.train_counts) ** 1.5 for part in shape.parts) + shape.development_rows ** 1.5
        blend = BLEND_SECONDS_PER_CLASS_ROWS15 * fitted * shape.classes
    parts = {
        "process start and exit": PROCESS_START_SECONDS if process_start else 0.0,
        "data and baseline": DATA_SECONDS_PER_ROW_CLASS * shape.rows * shape.classes,
        "building": seeds * sum(MODEL_SECONDS + _warmup_seconds(config, part) for part in shape.parts),
        "tracing": seeds * sum(e.first_epoch_extra_seconds for e in per_part),
        "epochs": epoch_cost * expected,
        "scoring": seeds * sum(_seconds(_scoring_terms(config, part, shape.classes, shape.test_rows)) for part in shape.parts),
        "blend": blend,
        "saving": SAVE_SECONDS + SAVE_SECONDS_PER_MEMBER * ensemble_members(config),
    }
    seconds = sum(parts.values())
    all_epochs = seconds + epoch_cost * (epochs - expected)
    largest = max(range(len(per_part)), key=lambda i: (per_part[i].rows_trained, per_part[i].parameters))
    epoch, part = per_part[largest], shape.parts[largest]
    members = ensemble_members(config)
    per_member = {parameter_count(config.model, vocab_size=p.vocabulary_size, num_classes=shape.classes,
                                  max_length=p.max_length) for p in shape.parts}
    rows = {e.rows_trained for e in per_part}
    rows_kind = epoch.rows_kind if epoch.rows_kind != "exact" else ("at most" if len(rows) > 1 else "exact")
    folds = len(shape.parts)
    basis = (f"each fold's training rows: {shape.development_rows:,} development rows × {folds - 1}/{folds}"
             if folds > 1 else "the training split")
    if epoch.rows_trained != sum(part.train_counts):
        basis += f", after {RESAMPLERS.get(config.resampling.strategy).title.lower()}"
    notes = [note for note in epoch.notes if "building the graph" not in note]
    if folds > 1:
        notes.append(f"{folds}-fold cross-validation trains {models} models on {shape.development_rows:,} development "
                     "rows; the times cover all of them.")
    elif models > 1:
        notes.append(f"{models} models train on the same split from different seeds; the times cover all of them.")
    if members > 1:
        notes.append(f"The saved model averages {members} models that share one vocabulary: it holds {members}x the "
                     f"parameters and every prediction and explanation takes about {members}x as long.")
    elif folds > 1:
        notes.append("Each fold builds its vocabulary from its own training rows and the run keeps the best fold's "
                     "model: its parameters are at most the largest fold's.")
    return RunEstimate(
        members=members, trained_models=models, parameters=members * max(per_member),
        parameters_per_member=max(per_member), parameters_kind="exact" if len(per_member) == 1 else "at most",
        rows_per_epoch=epoch.rows_trained, rows_kind=rows_kind, rows_basis=basis,
        vocabulary_size=part.vocabulary_size, max_length=part.max_length, epochs=epochs, expected_epochs=expected,
        epoch_seconds=epoch.seconds_per_epoch, seconds=seconds, seconds_all_epochs=all_epochs,
        cpu_seconds=CPU_SECONDS_PER_SECOND * seconds, cpu_seconds_all_epochs=CPU_SECONDS_PER_SECOND * all_epochs,
        memory_mb=max(e.memory_mb for e in per_part), epoch=epoch, parts=parts, notes=tuple(notes),
    )


@dataclass(frozen=True)
class StudyEstimate:
    """A lever study's or a sweep's runs, one after another, each in its own process (the dashboard's job queue)."""

    runs: int
    seconds: float  # every run at its expected epochs, plus TRIAL_SECONDS each
    seconds_all_epochs: float
    cpu_seconds: float
    cheapest: float  # one run's seconds (expected epochs), the cheapest and the dearest of those estimated
    dearest: float
    sampled: int  # sweep trials drawn from the search space to size the trials after the first (0: none drawn)

    def time_text(self) -> str:
        """The one sentence of how long the study takes."""
        each = (f"each about {format_seconds(self.cheapest)}" if round(self.cheapest) == round(self.dearest)
                else f"each about {format_seconds(self.cheapest)} to {format_seconds(self.dearest)}")
        text = (f"about {rough_duration(self.seconds)} on this server when nothing else runs "
                f"(≈ {self.cpu_seconds / 60:,.0f} CPU-minutes) for {self.runs} runs one after another, {each}")
        if self.sampled:
            text += f" ({self.sampled} settings drawn at random from the search space, as a sweep's first trials are)"
        if self.seconds_all_epochs > self.seconds * 1.05:
            text += f"; about {rough_duration(self.seconds_all_epochs)} if every run trains all its epochs"
        return text


def estimate_study(estimates: Sequence[RunEstimate], runs: Optional[int] = None, *, sampled: int = 0) -> StudyEstimate:
    """``runs`` runs (default: one per estimate) each in a fresh process: the first is ``estimates[0]``, the others
    cost what ``estimates[1:]`` cost on average (all of ``estimates`` when there is one per run)."""
    if not estimates:
        raise ValueError("a study estimate needs at least one run's estimate")
    runs = len(estimates) if runs is None else runs
    rest = list(estimates[1:]) or [estimates[0]]

    def total(value) -> float:
        if runs == len(estimates):
            return sum(value(e) + TRIAL_SECONDS for e in estimates)
        return value(estimates[0]) + TRIAL_SECONDS + (runs - 1) * (sum(map(value, rest)) / len(rest) + TRIAL_SECONDS)

    seconds = total(lambda e: e.seconds)
    return StudyEstimate(runs=runs, seconds=seconds, seconds_all_epochs=total(lambda e: e.seconds_all_epochs),
                         cpu_seconds=CPU_SECONDS_PER_SECOND * seconds, cheapest=min(e.seconds for e in estimates),
                         dearest=max(e.seconds for e in estimates), sampled=sampled)


class _RandomDraws:
    """Stands in for an Optuna trial so that a searched setting's ``suggest(trial)`` draws uniformly at random (on a
    log scale where the setting has one), as a sweep's first trials do before TPE takes over."""

    def __init__(self, seed: int) -> None:
        import random

        self._random = random.Random(seed)

    def suggest_categorical(self, name: str, choices: Sequence):
        return choices[self._random.randrange(len(choices))]

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        return math.exp(self._random.uniform(math.log(low), math.log(high))) if log else self._random.uniform(low, high)

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        return min(high, max(low, round(self.suggest_float(name, low - 0.5 * (not log), high + 0.5 * (not log), log))))


def random_settings(params: Sequence, count: int, seed: int = 0) -> list[dict]:
    """``count`` random draws of a sweep's searched settings (objects with ``name`` and ``suggest(trial)``, such as
    core.evidence.study.ParamSpec), each a ``{name: value}`` dict, reproducible from ``seed``."""
    draws = _RandomDraws(seed)
    return [{spec.name: spec.suggest(draws) for spec in params} for _ in range(count)]


def slowdown(load_average: float, cores: int) -> float:
    """How many times longer than the estimate a run takes while ``load_average`` other runnable threads compete for
    ``cores`` cores: sqrt((load + cores) / cores), an empirical form (bench/calibrate_estimate.py --runs on 2026-12-06:
    wall / estimate 2.0-3.9 at loads 7.7-20.1 on 2 cores; this form within 0.68-1.19 of each run, with no fitted
    constant; the simple share cores / (load + cores) of the processors overstated it at high loads)."""
    cores = max(1, cores)
    return max(1.0, math.sqrt((max(0.0, load_average) + cores) / cores))


def busy_note(load_average: float, cores: int) -> str:
    """A sentence when other work slows this server down by a quarter or more (empty otherwise)."""
    factor = slowdown(load_average, cores)
    if factor < 1.25:
        return ""
    return (f"This server is busy now (load average {load_average:.1f} on {cores} cores): expect about {factor:.1f}x "
            "these times; the CPU-seconds change far less.")


def format_seconds(seconds: float) -> str:
    """'0.8 s', '42 s', '3 min 5 s', '2 h 7 min'."""
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"seconds must be a non-negative number, got {seconds}")
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def rough_duration(seconds: float) -> str:
    """A long estimate in the words it deserves: '45 s', '38 min', '2 h 10 min'."""
    if seconds < 60 or seconds >= 3600:
        return format_seconds(seconds)
    return f"{round(seconds / 60)} min"
