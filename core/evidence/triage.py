"""The triage report: what a dataset looks like before anyone trains on it.

Class balance, lengths, duplicates and conflicting labels, classes too small for the split or for SMOTE, and the
TF-IDF + logistic-regression baseline on the same split the LSTM will use. Everything is plain data (JSON-able).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from core.config import ExperimentConfig, PreprocessingConfig
from core.data.dataset import Dataset
from core.data.encoding import ENCODING_UNCERTAIN_BELOW
from core.data.memory import release_free_memory
from core.data.splitting import stratified_indices, stratified_split
from core.records import Record
from core.runs.results import CLASS, BaselineResult
from core.text.preprocessing import TextPreprocessor
from core.text.vectorizing import suggest_max_length
from core.text.word_vectors import VectorCoverage

PERCENTILES = (5, 25, 50, 75, 95, 99)
EXAMPLES_SHOWN = 20
# The TF-IDF baseline is fitted on at most this many training rows (a stratified sample beyond; `fitted_on` says so).
# Measured on 1M FAA-like rows (650k training rows): the full fit took 816 s and ~1.9 GB resident. With a 100,000-row
# sample the dashboard's path for an upload at the 50 MB limit peaked at 682 MB, over its target of 3x the file +
# 500 MB (649 MB); with 50,000 rows at 597 MB, for 0.017 less baseline macro-F1 there (bench/scale.py --inspect).
BASELINE_MAX_TRAIN_ROWS = 50_000
_CHUNK = 10_000  # texts preprocessed / tokenized at a time (their tokens as strings: ~8 MB)
_HASHES_MERGED_AT = 2_000_000


@dataclass(frozen=True)
class SourceFacts(Record):
    name: str
    text_column: str
    label_column: str
    rows_read: int
    rows_kept: int
    rows_missing_text: int
    rows_missing_label: int
    malformed_lines_skipped: int
    encoding: str
    delimiter: str
    encoding_confidence: Optional[float] = None  # None: certain (byte-order mark, valid UTF-8, built-in)
    encoding_note: str = ""  # e.g. "windows-1251 (detected, confidence 0.97)"
    sampled_from_rows: Optional[int] = None  # rows in the file when only a random sample was read


@dataclass(frozen=True)
class ClassShare(Record):
    name: str = field(metadata=CLASS)
    count: int
    share: float  # fraction of all rows


@dataclass(frozen=True)
class RepeatedText(Record):
    text: str
    count: int


@dataclass(frozen=True)
class DuplicateSummary(Record):
    exact_duplicate_rows: int  # rows repeating an earlier (text, label) pair
    repeated_texts: int
    rows_with_repeated_text: int
    examples: list[RepeatedText]


@dataclass(frozen=True)
class ConflictingText(Record):
    text: str
    labels: dict[str, int]


@dataclass(frozen=True)
class ConflictSummary(Record):
    texts: int
    rows: int
    examples: list[ConflictingText]


@dataclass(frozen=True)
class LengthProfile(Record):
    overall: dict[str, float]  # p5 … p99, min, max, mean
    per_class: dict[str, dict[str, float]]


@dataclass(frozen=True)
class SuggestedLength(Record):
    max_length: int
    percentile: float
    truncated_share: float


@dataclass(frozen=True)
class SmallClass(Record):
    name: str = field(metadata=CLASS)
    rows: int
    train_rows: int
    action: str


@dataclass(frozen=True)
class TriageReport(Record):
    source: SourceFacts
    classes: list[ClassShare]  # largest first
    imbalance_ratio: float  # largest class / smallest class
    majority_class: str
    majority_accuracy: float  # accuracy of always predicting the largest class
    duplicates: DuplicateSummary  # exact (text, label) duplicates and repeated texts
    conflicts: ConflictSummary  # identical texts carrying different labels
    lengths: LengthProfile  # token-length percentiles overall and per class, after preprocessing
    vocabulary_size: int  # distinct tokens after preprocessing
    suggested_max_length: SuggestedLength
    small_classes: list[SmallClass]
    baseline: Optional[BaselineResult]
    warnings: list[str] = field(default_factory=list)
    word_vectors: Optional[VectorCoverage] = None  # coverage of model.word_vectors on the training vocabulary, when set


def _percentiles(lengths: np.ndarray) -> dict:
    if lengths.size == 0:
        return {}
    values = {f"p{p}": float(np.percentile(lengths, p)) for p in PERCENTILES}
    values.update(min=int(lengths.min()), max=int(lengths.max()), mean=round(float(lengths.mean()), 2))
    return values


def _duplicates(texts: Sequence[str], labels: Sequence[str]) -> tuple[DuplicateSummary, ConflictSummary]:
    """Exact duplicates, repeated texts and texts with conflicting labels, counted on integer codes.

    Each distinct text and label gets a code in order of first appearance (``pd.factorize``: one hash table of
    references, no copies), so counting needs a few integer arrays instead of a Counter per text; the examples
    are then rebuilt, in the same order as a Counter-based count would give, from the rows of the texts shown.
    """
    import pandas as pd  # already loaded by core.data.dataset

    text_codes, distinct_texts = pd.factorize(np.asarray(texts, dtype=object))
    label_codes, _ = pd.factorize(np.asarray(labels, dtype=object))
    label_count = int(label_codes.max()) + 1 if len(label_codes) else 1
    pairs = np.unique(text_codes * label_count + label_codes)  # (text, label) codes, each once
    rows_per_text = np.bincount(text_codes, minlength=len(distinct_texts))
    labels_per_text = np.bincount(pairs // label_count, minlength=len(distinct_texts))

    repeated = np.flatnonzero(rows_per_text > 1)  # codes ascend in order of first appearance, as a dict's keys would
    conflicting = np.flatnonzero(labels_per_text > 1)
    shown_repeated = repeated[np.argsort(-rows_per_text[repeated], kind="stable")][:EXAMPLES_SHOWN]
    shown_conflicting = conflicting[np.argsort(-rows_per_text[conflicting], kind="stable")][:EXAMPLES_SHOWN]
    label_counts = _label_counts(text_codes, labels, shown_conflicting)
    duplicates = DuplicateSummary(
        exact_duplicate_rows=int(len(text_codes) - len(pairs)),
        repeated_texts=len(repeated),
        rows_with_repeated_text=int(rows_per_text[repeated].sum()),
        examples=[RepeatedText(str(distinct_texts[code]), int(rows_per_text[code])) for code in shown_repeated],
    )
    conflicts = ConflictSummary(
        texts=len(conflicting),
        rows=int(rows_per_text[conflicting].sum()),
        examples=[ConflictingText(str(distinct_texts[code]), label_counts[code]) for code in shown_conflicting],
    )
    return duplicates, conflicts


def _label_counts(text_codes: np.ndarray, labels: Sequence[str], codes: np.ndarray) -> dict[int, dict[str, int]]:
    """Label counts of a few texts, most common first (ties in order of appearance)."""
    counters: dict[int, Counter] = {int(code): Counter() for code in codes}
    for row in np.flatnonzero(np.isin(text_codes, codes)):
        counters[int(text_codes[row])][labels[row]] += 1
    return {code: dict(counter.most_common()) for code, counter in counters.items()}


def _token_lengths(processed: Sequence[str]) -> np.ndarray:
    """Tokens per preprocessed text; each text's token list is dropped as soon as it is counted."""
    return np.fromiter((len(text.split()) for text in processed), dtype=np.int64, count=len(processed))


def _vocabulary_size(chunks: Iterable[Sequence[str]]) -> int:
    """Distinct tokens in chunks of preprocessed texts, counted by their 64-bit string hashes.

    A set of a million token strings costs ~100 MB; the hashes cost 8 bytes a token. Two distinct tokens share a
    hash with probability ~n²/2⁶⁵ (about 3e-8 for a million tokens), so the count is exact in practice.
    """
    seen = np.empty(0, dtype=np.int64)
    pending: list[np.ndarray] = []
    pending_size = 0
    for chunk in chunks:
        tokens = " ".join(chunk).split()
        pending.append(np.unique(np.fromiter(map(hash, tokens), dtype=np.int64, count=len(tokens))))
        pending_size += len(pending[-1])
        del tokens  # before the next chunk is tokenized
        if pending_size > _HASHES_MERGED_AT:  # merge now and then: sorting everything per chunk would be slow
            seen, pending, pending_size = np.unique(np.concatenate([seen, *pending])), [], 0
    return int(np.unique(np.concatenate([seen, *pending])).size)


def _chunks(texts: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def _preprocessed_profile(
    texts: Sequence[str], preprocessing: PreprocessingConfig, keep: np.ndarray
) -> tuple[np.ndarray, int, dict[int, str]]:
    """Token lengths, vocabulary size and the preprocessed texts of the rows in ``keep``, one chunk at a time.

    The same as preprocessing every text first (one preprocessor, so one cache), without holding every
    preprocessed text: only the rows the baseline needs are kept.
    """
    preprocessor = TextPreprocessor(preprocessing)
    lengths = np.empty(len(texts), dtype=np.int64)
    kept: dict[int, str] = {}
    keep = np.sort(np.asarray(keep, dtype=np.int64))

    def processed_chunks() -> Iterator[list[str]]:
        for start in range(0, len(texts), _CHUNK):
            processed = preprocessor.transform(texts[start : start + _CHUNK])
            lengths[start : start + len(processed)] = _token_lengths(processed)
            wanted = keep[np.searchsorted(keep, start) : np.searchsorted(keep, start + len(processed))]
            kept.update((int(row), processed[row - start]) for row in wanted)
            yield processed
            del processed  # before the next chunk is preprocessed

    vocabulary_size = _vocabulary_size(processed_chunks())
    return lengths, vocabulary_size, kept


def baseline_training_rows(y: np.ndarray, split, *, max_train_rows: Optional[int] = None, seed: int = 0) -> np.ndarray:
    """The rows the TF-IDF baseline is fitted on — every row the LSTM may learn from (training and validation
    splits, as :func:`core.model.baseline.baseline_on_split`) — or a stratified sample of ``max_train_rows`` of them
    (default :data:`BASELINE_MAX_TRAIN_ROWS`)."""
    max_train_rows = BASELINE_MAX_TRAIN_ROWS if max_train_rows is None else max_train_rows
    development = np.concatenate([np.asarray(split.train), np.asarray(split.validation)])
    if len(development) <= max_train_rows:
        return development
    return development[stratified_indices(y[development], max_train_rows, np.random.default_rng(seed))]


def capped_baseline(
    processed: Sequence[str] | Mapping[int, str],
    y: np.ndarray,
    split,
    class_names: Sequence[str],
    *,
    max_train_rows: Optional[int] = None,
    seed: int = 0,
) -> BaselineResult:
    """The TF-IDF baseline on ``split`` (as :func:`core.model.baseline.baseline_on_split`), fitted on a stratified
    sample of at most ``max_train_rows`` (default :data:`BASELINE_MAX_TRAIN_ROWS`) training rows; ``fitted_on``
    says when it sampled.

    With fewer training rows it is exactly ``baseline_on_split``. ``processed`` needs only the rows fitted on and
    the test rows.
    """
    from core.model.baseline import (  # scikit-learn loads when the baseline is fitted
        FITTED_ON_DEVELOPMENT,
        tfidf_baseline,
    )

    rows = baseline_training_rows(y, split, max_train_rows=max_train_rows, seed=seed)
    available = len(split.train) + len(split.validation)
    fitted_on = FITTED_ON_DEVELOPMENT if len(rows) == available else (
        f"a {len(rows):,}-row stratified sample of the training and validation splits ({available:,} rows)")
    return tfidf_baseline([processed[i] for i in rows], y[rows], [processed[i] for i in split.test], y[split.test],
                          class_names, fitted_on=fitted_on)


def _small_classes(
    counts: np.ndarray, names: tuple[str, ...], train_counts: np.ndarray, k_neighbors: int
) -> list[SmallClass]:
    """Classes that the split or SMOTE cannot treat normally, and what the engine will do."""
    found = []
    for i, name in enumerate(names):
        total, train = int(counts[i]), int(train_counts[i])
        if total == 1:
            action = ("Too few to split: its one row goes to training only, so it is never evaluated; "
                      "SMOTE duplicates it.")
        elif total == 2:
            action = ("One row for training, one for test, none for validation; "
                      "SMOTE duplicates its single training row.")
        elif train <= k_neighbors:
            action = (
                f"Only {train} training rows: SMOTE-family methods lower k_neighbors to {max(1, train - 1)}"
                if train >= 2
                else "A single training row: SMOTE-family methods duplicate it instead of interpolating."
            )
        else:
            continue
        found.append(SmallClass(name=name, rows=total, train_rows=train, action=action))
    return found


def _warnings(report: TriageReport, rows: int) -> list[str]:
    notes = []
    source = report.source
    if source.sampled_from_rows:
        notes.append(
            f"This report describes a random sample of {source.rows_read:,} of the file's "
            f"{source.sampled_from_rows:,} rows."
        )
    if source.encoding_confidence is not None and source.encoding_confidence < ENCODING_UNCERTAIN_BELOW:
        notes.append(
            f"The file's encoding was guessed as {source.encoding_note or source.encoding}: if accented or non-Latin "
            "letters look wrong, re-save the file as UTF-8."
        )
    if report.imbalance_ratio >= 3:
        notes.append(
            f"Classes are imbalanced {report.imbalance_ratio:.0f}:1 — accuracy flatters the majority class, so compare "
            f"macro-F1, and try class weights or resampling."
        )
    if report.duplicates.exact_duplicate_rows:
        notes.append(
            f"{report.duplicates.exact_duplicate_rows} rows repeat an earlier row exactly; duplicates split across "
            "train and test inflate test scores."
        )
    if report.conflicts.texts:
        notes.append(
            f"{report.conflicts.texts} texts appear with different labels ({report.conflicts.rows} rows): no model "
            "can get them all right; check the labelling."
        )
    if report.small_classes:
        names = ", ".join(f"'{c.name}'" for c in report.small_classes[:5])
        notes.append(f"Very small classes ({names}) get special handling in the split and in SMOTE; see the table.")
    if rows < 500:
        notes.append(f"Only {rows} rows: an LSTM learns its word vectors from scratch, "
                     "so expect the bag-of-words baseline to be hard to beat.")
    truncated = report.suggested_max_length.truncated_share
    if truncated > 0.1:
        notes.append(f"The suggested length cuts {truncated:.0%} of texts; "
                     "raise vectorizing.max_length if endings matter.")
    return notes


def triage(
    dataset: Dataset,
    config: ExperimentConfig | None = None,
    *,
    include_baseline: bool = True,
    processed: list[str] | None = None,
) -> TriageReport:
    """Describe ``dataset``; the baseline uses ``config``'s preprocessing and split (defaults when omitted).

    ``processed`` may pass texts already preprocessed with ``config.preprocessing`` (the dashboard caches them);
    without it the texts are preprocessed a chunk at a time and only those the baseline needs are kept. The
    baseline is fitted on at most :data:`BASELINE_MAX_TRAIN_ROWS` training rows (see :func:`capped_baseline`).
    """
    config = config or ExperimentConfig()
    release_free_memory()  # what reading the file freed (the caller has usually dropped the table by now)
    y = dataset.y
    names = dataset.class_names
    counts = np.bincount(y, minlength=len(names))
    total = int(counts.sum())
    split = stratified_split(y, config.split, config.seed, names)
    # Lengths and vocabulary as the LSTM will see them: after the configured preprocessing.
    if processed is None:  # preprocess here, keeping only the texts the baseline needs
        needed = (np.concatenate([baseline_training_rows(y, split, seed=config.seed), split.test])
                  if include_baseline else np.empty(0, dtype=np.int64))
        if config.model.word_vectors:  # the vectors' coverage is counted on the whole training split
            needed = np.union1d(needed, split.train)
        lengths, vocabulary_size, processed = _preprocessed_profile(dataset.texts, config.preprocessing, needed)
        release_free_memory()  # the preprocessor's caches, before the baseline needs room
    else:
        lengths, vocabulary_size = _token_lengths(processed), _vocabulary_size(_chunks(processed))
    duplicates, conflicts = _duplicates(dataset.texts, dataset.labels)
    release_free_memory()  # the hash tables of the duplicate count
    train_counts = np.bincount(y[split.train], minlength=len(names))
    suggestion = suggest_max_length(lengths[split.train], config.vectorizing.length_percentile)
    baseline = capped_baseline(processed, y, split, names, seed=config.seed) if include_baseline else None
    coverage, coverage_problem = None, None
    if config.model.word_vectors:
        coverage, coverage_problem = vector_coverage(processed, split, config)
    present = counts[counts > 0]
    report = TriageReport(
        source=SourceFacts(
            name=dataset.source_name,
            text_column=dataset.text_column,
            label_column=dataset.label_column,
            rows_read=dataset.rows_total,
            rows_kept=len(dataset.texts),
            rows_missing_text=dataset.rows_missing_text,
            rows_missing_label=dataset.rows_missing_label,
            malformed_lines_skipped=dataset.skipped_lines,
            encoding=dataset.encoding,
            delimiter=dataset.delimiter,
            encoding_confidence=dataset.encoding_confidence,
            encoding_note=dataset.encoding_note,
            sampled_from_rows=dataset.sampled_from_rows,
        ),
        classes=[
            ClassShare(name=name, count=int(counts[i]), share=float(counts[i] / total))
            for i, name in sorted(enumerate(names), key=lambda item: -counts[item[0]])
        ],
        imbalance_ratio=float(present.max() / present.min()),
        majority_class=names[int(counts.argmax())],
        majority_accuracy=float(counts.max() / total),
        duplicates=duplicates,
        conflicts=conflicts,
        lengths=LengthProfile(
            overall=_percentiles(lengths),
            per_class={name: _percentiles(lengths[y == i]) for i, name in enumerate(names)},
        ),
        vocabulary_size=vocabulary_size,
        suggested_max_length=SuggestedLength(suggestion.max_length, suggestion.percentile, suggestion.truncated_share),
        small_classes=_small_classes(counts, names, train_counts, config.resampling.k_neighbors),
        baseline=baseline,
        word_vectors=coverage,
    )
    return replace(report, warnings=_warnings(report, total) + ([coverage_problem] if coverage_problem else []))


def vector_coverage(processed, split, config: ExperimentConfig) -> tuple[Optional[VectorCoverage], Optional[str]]:
    """How much of the training vocabulary the configured vectors cover (and how many pretrained words the extension
    appends), or the sentence saying why they cannot be used (a bad file is a warning here; training refuses it)."""
    from core.errors import DataError
    from core.text.vectorizing import build_vocabulary
    from core.text.word_vectors import load_word_vectors, vocabulary_extension

    model = config.model
    vocabulary = build_vocabulary([processed[i] for i in split.train], config.vectorizing.max_vocab_size,
                                  config.vectorizing.min_token_frequency)
    try:
        extension = vocabulary_extension(config)
        if extension is not None:
            vocabulary = extension(vocabulary)
        vectors = load_word_vectors(model.word_vectors, vocabulary,
                                    None if model.project_word_vectors else model.embedding_dim,
                                    lowercase=config.preprocessing.lowercase)
    except DataError as problem:
        return None, str(problem)
    return vectors.coverage, None

