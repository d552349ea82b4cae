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
from core.choices.ngrams import (
    BAG_OF_WORDS_LAYER,
    BLEND_LAYER,
    BLENDS,
    NGRAM_LAYER,
    NGRAM_PATHS,
    PRESENCE,
    blend_parameters,
)
from core.choices.optimization import OPTIMIZERS
from core.choices.resampling import RESAMPLERS, preview_counts
from core.choices.vectors import VECTOR_SETS
from core.config import ExperimentConfig, ModelConfig
from core.text.vectorizing import SUBWORD_SLOTS

FLOAT_BYTES = 4
MB = 1024 * 1024

# ---------------------------------------------------------------------------------------------------------------
# Calibration. Measured by `bench/calibrate_estimate.py` on 2026-12-06: this 2-core x86-64 server, shared (load
# average 12-17 throughout), Python 3.11, tensorflow-cpu 2.21, keras 3.15.1, training through core.training.fit.train
# (Adam, clipnorm, op determinism on, progress callback, length-bucketed batches), 13 configs; an epoch's figure is
# the median processor time of epochs 2 and 3 / CPU_SECONDS_PER_SECOND (epoch 1 includes graph tracing; processor
# time, unlike wall time, hardly grows with other work). Fit errors -24%..+14% (a held-out config +3%); -12%..+14% RSS.
# Seconds per epoch = sum over the terms of time_terms() of coefficient x term (a non-negative least-squares fit
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
# peak RSS after importing core.training.fit, core.model.classifier, core.choices.resampling (bare
# `import tensorflow`: 621 MB)
RUNTIME_BASELINE_MB = 670.0
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


def vector_width(config: ModelConfig, vector_dim: Optional[int] = None) -> Optional[int]:
    """The pretrained vectors' own dimension when a projection maps them to embedding_dim, else None. ``vector_dim``:
    their dimension when known (a user's file, read elsewhere); a built-in set's comes from its record, and an unread
    file is assumed to match embedding_dim."""
    if not config.word_vectors or not config.project_word_vectors:
        return None
    if vector_dim is None:
        record = VECTOR_SETS.get(config.word_vectors) if config.word_vectors in VECTOR_SETS else None
        vector_dim = record.dim if record is not None else config.embedding_dim
    return vector_dim if vector_dim != config.embedding_dim else None


def _word_rows(config: ModelConfig, steps: int, vocab_size: int, extension_size: int,
               vector_dim: Optional[int]) -> list[LayerRow]:
    """The embedding (a PretrainedEmbedding with an extension: ``extension_size`` of the ``vocab_size`` rows are
    fixed pretrained words) and, for vectors of another size, the projection to embedding_dim."""
    dim = config.embedding_dim
    projected = vector_width(config, vector_dim)
    width = projected or dim
    kind = "PretrainedEmbedding" if extension_size else "Embedding"
    rows = [LayerRow("embedding", kind, _shape(steps, width), vocab_size * width)]
    if projected:
        rows.append(LayerRow("vector_projection", "Dense", _shape(steps, dim), width * dim))
    return rows


def model_summary(config: ModelConfig, *, vocab_size: int, num_classes: int, max_length: int, extension_size: int = 0,
                  vector_dim: Optional[int] = None, bag_of_words: tuple[int, int] = (0, 0)) -> list[LayerRow]:
    """The layers of ``core.model.classifier.build_model`` in order, with Keras's names, output shapes and parameter
    counts. ``vocab_size`` counts every token ID, ``extension_size`` of them pretrained words appended to the training
    vocabulary (fixed rows); ``vector_dim`` is the pretrained vectors' dimension (see :func:`vector_width`). With a
    blend, ``bag_of_words`` is (the vocabulary rows its bag-of-words part reads, the word pairs it keeps)."""
    steps, width, directions = max_length, _width(config), 2 if config.bidirectional else 1
    dim = config.embedding_dim
    words = _word_rows(config, steps, vocab_size, extension_size, vector_dim)
    if config.subword_buckets:
        rows = [
            LayerRow("token_ids", "InputLayer", _shape(steps, 1 + SUBWORD_SLOTS), 0),
            LayerRow("word_ids", "WordIds", _shape(steps), 0),
            *words,
            LayerRow("subword_embedding", "SubwordEmbedding", _shape(steps, dim), (config.subword_buckets + 1) * dim),
            LayerRow("token_vectors", "Add", _shape(steps, dim), 0),
        ]
    else:
        rows = [LayerRow("token_ids", "InputLayer", _shape(steps), 0), *words]
    if BLENDS.get(config.blend).blends:  # the LSTM reads its own words; the others are OOV to it
        rows.insert(1, LayerRow("lstm_word_ids", "KnownWordIds", rows[0].output_shape, 0))
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
    rows.extend(_head_rows(config, vocab_size, num_classes, width, bag_of_words))
    return rows


def _head_rows(config: ModelConfig, vocab_size: int, num_classes: int, width: int,
               bag_of_words: tuple[int, int]) -> list[LayerRow]:
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
        words, pairs = max(vocab_size, bag_of_words[0]), bag_of_words[1]
        rows += [LayerRow(BAG_OF_WORDS_LAYER, "FairBagOfWords", _shape(num_classes),
                          blend_parameters(config, num_classes, words, pairs)),
                 LayerRow(BLEND_LAYER, "Blend", _shape(num_classes), 0)]
    return rows


def parameter_count(config: ModelConfig, *, vocab_size: int, num_classes: int, max_length: int, extension_size: int = 0,
                    vector_dim: Optional[int] = None, bag_of_words: tuple[int, int] = (0, 0)) -> int:
    """Equals ``build_model(config, vocab_size, num_classes, max_length, vector_dim=..., frozen_rows=extension_size)
    .count_params()`` (trainable and fixed weights together; with a blend, of the blended model)."""
    return sum(row.parameters for row in model_summary(config, vocab_size=vocab_size, num_classes=num_classes,
                                                       max_length=max_length, extension_size=extension_size,
                                                       vector_dim=vector_dim, bag_of_words=bag_of_words))


def ensemble_members(config: ExperimentConfig) -> int:
    """How many models the saved run holds: k (x seeds) for a k-fold ensemble, the seeds without k-fold, else one."""
    split = config.split
    if split.k_folds >= 2:
        return split.k_folds * split.ensemble_seeds if split.ensemble else 1
    return split.ensemble_seeds


# --- cost model -------------------------------------------------------------------------------------------------


def _forward_multiply_adds(config: ModelConfig, num_classes: int, max_length: int, embedded: bool,
                           vector_dim: Optional[int] = None) -> float:
    """Multiply-adds (elementwise work counted as one each) of one sample's forward pass."""
    steps, width, units = max_length, _width(config), config.lstm_units
    directions = 2 if config.bidirectional else 1
    projected = None if embedded else vector_width(config, vector_dim)
    total = 0.0 if embedded else steps * (projected or config.embedding_dim)  # embedding gather
    if projected:
        total += steps * projected * config.embedding_dim  # the projection's matmul
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


def _trainable_parameters(config: ModelConfig, vocab_size: int, num_classes: int, max_length: int, embedded: bool,
                          extension_size: int = 0, vector_dim: Optional[int] = None) -> int:
    """Weights the optimizer updates: all but a frozen embedding (SMOTE's warm-up, frozen word vectors) or, short of
    that, the fixed rows of appended pretrained words."""
    total = parameter_count(config, vocab_size=vocab_size, num_classes=num_classes, max_length=max_length,
                            extension_size=extension_size, vector_dim=vector_dim)
    width = vector_width(config, vector_dim) or config.embedding_dim
    frozen = embedded or (config.word_vectors and config.freeze_word_vectors)
    # the blend's bag-of-words model is fitted by scikit-learn and frozen: the optimizer never updates it
    total -= blend_parameters(config, num_classes, vocab_size, 0)
    return total - (vocab_size if frozen else extension_size) * width


def time_terms(
    config: ExperimentConfig, *, train_rows: int, validation_rows: int, vocab_size: int, num_classes: int,
    max_length: int, extension_size: int = 0, vector_dim: Optional[int] = None, steps: Optional[float] = None,
) -> dict[str, float]:
    """The quantities whose weighted sum (``TIME_COEFFICIENTS``) is one epoch's seconds. ``steps``: the mean width
    of the length-bucketed batches (:func:`trimmed_steps`; default ``max_length``, every batch at full width)."""
    model, batch = config.model, config.training.batch_size
    steps = float(max_length if steps is None else min(steps, max_length))
    embedded = RESAMPLERS.get(config.resampling.strategy).embedded
    train_batches = math.ceil(train_rows / batch) if train_rows else 0
    forward = _forward_multiply_adds(model, num_classes, steps, embedded, vector_dim)
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
        "optimizer_updates": float(train_batches) * _trainable_parameters(
            model, vocab_size, num_classes, max_length, embedded, extension_size, vector_dim),
    }


def trimmed_steps(length_quantiles: Sequence[int], rows: int, batch_size: int) -> float:
    """The mean width of ``rows`` rows' length-bucketed batches (core.training.batching: rows sorted by length, cut
    into batches, each trimmed to its longest row), from the rows' lengths at the 0th, 1st, ... 100th percentile."""
    if not rows:
        return float(length_quantiles[-1])
    last = len(length_quantiles) - 1
    batches = math.ceil(rows / batch_size)
    widths = (length_quantiles[min(last, math.ceil(last * min(rows, (j + 1) * batch_size) / rows))]
              for j in range(batches))
    return sum(widths) / batches


def seconds_of(terms: dict[str, float], coefficients: dict[str, float] = TIME_COEFFICIENTS) -> float:
    return sum(coefficients[name] * value for name, value in terms.items())


def _activation_bytes(config: ModelConfig, batch: int, max_length: int, embedded: bool,
                     vector_dim: Optional[int] = None) -> float:
    """Floats a training step keeps for backpropagation, times 2 for the gradients flowing back, in bytes."""
    steps, width, units = max_length, _width(config), config.lstm_units
    directions = 2 if config.bidirectional else 1
    floats = steps * config.embedding_dim * (2 if embedded else 3)  # embedding output, dropout mask and output
    projected = None if embedded else vector_width(config, vector_dim)
    if projected:
        floats += steps * projected  # the pretrained vectors before their projection
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
    extension_size: int = 0,
    vector_dim: Optional[int] = None,
    steps: Optional[float] = None,
) -> EpochEstimate:
    """Seconds per epoch and peak training memory on a 2-core CPU like the one the constants were measured on.

    ``memory_mb`` is the whole training process's peak RSS, the TensorFlow runtime baseline included (its own row
    of ``memory_breakdown``); the dataset's texts and the dashboard process are not counted.

    ``train_counts`` are the training split's rows per class before resampling; the resampler's own preview turns
    them into the rows trained per epoch (``rows_after_resampling`` overrides it when the real count is known).
    ``validation_rows`` defaults to what the split fractions (or k folds) leave. ``vocab_size`` counts every token
    ID; ``extension_size`` of them are appended pretrained words (fixed weights: stored, never updated), and
    ``vector_dim`` is the pretrained vectors' dimension when known (see :func:`vector_width`). ``steps`` is the mean
    width of the length-bucketed batches (:func:`trimmed_steps`); without it every batch counts at full ``max_length``.
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
            validation_rows = round(train_rows * split.validation_fraction
                                    / (1 - split.validation_fraction - split.test_fraction))
    test_rows = round((train_rows + validation_rows) * config.split.test_fraction / (1 - config.split.test_fraction))

    words = dict(extension_size=extension_size, vector_dim=vector_dim)
    terms = time_terms(config, train_rows=rows, validation_rows=validation_rows, vocab_size=vocab_size,
                        num_classes=num_classes, max_length=max_length, steps=steps, **words)
    seconds = seconds_of(terms)
    loops = model.lstm_layers * (2 if model.bidirectional else 1)
    tracing = TRACING_FIXED_SECONDS + TRACING_SECONDS_PER_LOOP * loops

    # memory
    total_parameters = parameter_count(model, vocab_size=vocab_size, num_classes=num_classes, max_length=max_length,
                                       **words)
    trainable = _trainable_parameters(model, vocab_size, num_classes, max_length, embedded, **words)
    # weights; per trainable weight: optimizer slots, the gradient and its clipped copy
    slots = OPTIMIZERS.get(training.optimizer).slots(training)
    weight_bytes = FLOAT_BYTES * (total_parameters + trainable * (slots + 2))
    activation_bytes = ACTIVATION_FACTOR * _activation_bytes(model, training.batch_size, max_length, embedded,
                                                             vector_dim)
    # with subwords, each position carries its n-gram IDs
    id_columns = 1 + SUBWORD_SLOTS if model.subword_buckets else 1
    # int32 token IDs of every split
    id_bytes = 4 * max_length * id_columns * (train_rows + validation_rows + test_rows)
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
            f"{seconds / seconds_of(without):.1f}x the epoch time here; "
            "on a GPU it also disables the fused cuDNN kernel (far slower still)."
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
    if extension_size:
        width = vector_width(model, vector_dim) or model.embedding_dim
        notes.append(f"{extension_size:,} pretrained words join the vocabulary with fixed vectors: "
                     f"{extension_size * width:,} weights stored with the model, none of them trained.")
    if training.batch_size < 32:
        notes.append(f"Batch size {training.batch_size} spends much of each epoch on per-step overhead; "
                     "64-128 is faster on a CPU.")
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
