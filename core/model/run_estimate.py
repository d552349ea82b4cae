"""The one estimate of a whole run, and of a study or sweep: every model a run trains, and what a run does besides
training (process start, data and baseline, building, tracing, scoring, the blend, saving), computed from the data's
shape exactly as core.training.experiment builds it. The Model page, the recommendation's reasons, the Study page and
the CLI all show :meth:`RunEstimate.time_text`. Per-epoch costs come from :mod:`core.model.estimate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from core.choices.ngrams import BLENDS
from core.choices.resampling import RESAMPLERS
from core.config import ExperimentConfig
from core.model.estimate import (
    TIME_COEFFICIENTS,
    TRACING_FIXED_SECONDS,
    EpochEstimate,
    ensemble_members,
    estimate_epoch,
    format_seconds,
    parameter_count,
    rough_duration,
    seconds_of,
    time_terms,
    trimmed_steps,
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
    # with a blend: (vocabulary rows its bag-of-words part reads, distinct word pairs) of the development rows
    bag_of_words: tuple[int, int] = (0, 0)


def run_shape(processed: Sequence[str], y, class_names: Sequence[str], config: ExperimentConfig,
              split=None) -> RunShape:
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
        return size, (vectorizing.max_length
                      or suggest_max_length(token_lengths(texts), vectorizing.length_percentile).max_length)

    def part(train, held, vocabulary: tuple[int, int]) -> PartShape:
        lengths = np.clip(token_lengths(processed[i] for i in train), 1, vocabulary[1])
        quantiles = (tuple(int(q) for q in np.percentile(lengths, np.arange(101), method="higher")) if len(lengths)
                     else ())
        counts = tuple(int(c) for c in np.bincount(y[train], minlength=classes))
        return PartShape(counts, len(held), *vocabulary, length_quantiles=quantiles)

    development = np.concatenate([split.train, split.validation])
    if config.split.k_folds >= 2:
        parts = [(development[train], development[held])
                 for train, held in stratified_folds(y[development], config.split.k_folds, config.seed)]
        learned_from = development
    else:
        parts, learned_from = [(split.train, split.validation)], split.train
    shared = config.split.ensemble or config.split.ensemble_seeds > 1
    common = vocabulary_and_length(learned_from) if shared or len(parts) == 1 else None
    shapes = tuple(part(train, held, common or vocabulary_and_length(train)) for train, held in parts)
    bag_of_words = (0, 0)
    if BLENDS.get(config.model.blend).blends:
        bag_of_words = bag_of_words_features([processed[i] for i in development])
    return RunShape(rows=len(y), classes=classes, test_rows=len(split.test), development_rows=len(development),
                    parts=shapes, shared_vocabulary=shared, bag_of_words=bag_of_words)


def bag_of_words_features(texts: Sequence[str]) -> tuple[int, int]:
    """The blend's bag-of-words part on these texts (core.training.blending): the vocabulary rows it reads (every
    word, with padding and OOV) and the distinct pairs of adjacent words in the tokens it reads (whole texts, up to
    core.model.bag_of_words.MAX_TOKENS)."""
    from core.model.bag_of_words import MAX_TOKENS

    words: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for text in texts:
        tokens = text.split()
        words.update(tokens)
        kept = tokens[:MAX_TOKENS]
        pairs.update(zip(kept, kept[1:]))
    return 2 + len(words), len(pairs)


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
    return time_terms(config, train_rows=0, validation_rows=test_rows, vocab_size=part.vocabulary_size,
                      num_classes=classes, max_length=part.max_length,
                      steps=part.steps(test_rows, 4 * config.training.batch_size))


def _warmup_seconds(config: ExperimentConfig, part: PartShape) -> float:
    """An embedding-space resampler's warm-up: a bag-of-embeddings model trained for a few epochs, and its tracing."""
    if not RESAMPLERS.get(config.resampling.strategy).embedded:
        return 0.0
    batches = math.ceil(sum(part.train_counts) / config.training.batch_size)
    per_epoch = batches * (TIME_COEFFICIENTS["batches"]
                           + TIME_COEFFICIENTS["optimizer_updates"] * part.vocabulary_size * config.model.embedding_dim)
    return config.resampling.embedding_warmup_epochs * per_epoch + TRACING_FIXED_SECONDS


def estimate_run(config: ExperimentConfig, shape: RunShape, *, process_start: bool = True, extension_size: int = 0,
                 vector_dim: Optional[int] = None) -> RunEstimate:
    """The whole run of ``config`` on data of ``shape``: every model, and what a run does besides training.

    ``process_start``: the run starts a fresh process (a dashboard job, a study trial, ``python -m core train``).
    ``extension_size`` and ``vector_dim``: pretrained words appended to each vocabulary and the vectors' own size
    (known once the vectors are read: core.text.word_vectors coverage), as for :func:`estimate_epoch`."""
    words = dict(extension_size=extension_size, vector_dim=vector_dim)
    seeds, epochs = config.split.ensemble_seeds, config.training.epochs
    expected = min(EXPECTED_EPOCHS, epochs) if config.training.early_stopping else epochs
    per_part = [estimate_epoch(config, train_counts=part.train_counts, vocab_size=part.vocabulary_size + extension_size,
                               num_classes=shape.classes, max_length=part.max_length,
                               validation_rows=part.validation_rows,
                               steps=part.steps(sum(part.train_counts), config.training.batch_size), **words)
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
        "scoring": seeds * sum(seconds_of(_scoring_terms(config, part, shape.classes, shape.test_rows))
                               for part in shape.parts),
        "blend": blend,
        "saving": SAVE_SECONDS + SAVE_SECONDS_PER_MEMBER * ensemble_members(config),
    }
    seconds = sum(parts.values())
    all_epochs = seconds + epoch_cost * (epochs - expected)
    largest = max(range(len(per_part)), key=lambda i: (per_part[i].rows_trained, per_part[i].parameters))
    epoch, part = per_part[largest], shape.parts[largest]
    members = ensemble_members(config)
    bag_of_words = (shape.bag_of_words[0] + extension_size, shape.bag_of_words[1])
    per_member = {parameter_count(config.model, vocab_size=p.vocabulary_size + extension_size,
                                  num_classes=shape.classes, max_length=p.max_length, bag_of_words=bag_of_words,
                                  **words)
                  for p in shape.parts}
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
        vocabulary_size=part.vocabulary_size + extension_size, max_length=part.max_length, epochs=epochs,
        expected_epochs=expected, epoch_seconds=epoch.seconds_per_epoch, seconds=seconds, seconds_all_epochs=all_epochs,
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
