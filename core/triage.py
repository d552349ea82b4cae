"""The triage report: what a dataset looks like before anyone trains on it.

Class balance, lengths, duplicates and conflicting labels, classes too small for the split or for SMOTE, and the
TF-IDF + logistic-regression baseline on the same split the LSTM will use. Everything is plain data (JSON-able).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from core.config import ExperimentConfig
from core.data import Dataset
from core.preprocessing import preprocess
from core.records import Record
from core.results import CLASS, BaselineResult, VectorCoverage
from core.splitting import stratified_split
from core.vectorizing import suggest_max_length

PERCENTILES = (5, 25, 50, 75, 95, 99)
EXAMPLES_SHOWN = 20


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


def _duplicates(texts: tuple[str, ...], labels: tuple[str, ...]) -> tuple[DuplicateSummary, ConflictSummary]:
    pair_counts = Counter(zip(texts, labels))
    labels_by_text: dict[str, Counter] = defaultdict(Counter)
    for text, label in zip(texts, labels):
        labels_by_text[text][label] += 1
    repeated = {text: sum(c.values()) for text, c in labels_by_text.items() if sum(c.values()) > 1}
    conflicting = {text: c for text, c in labels_by_text.items() if len(c) > 1}
    duplicates = DuplicateSummary(
        exact_duplicate_rows=int(sum(count - 1 for count in pair_counts.values())),
        repeated_texts=len(repeated),
        rows_with_repeated_text=int(sum(repeated.values())),
        examples=[RepeatedText(text, count) for text, count in sorted(repeated.items(), key=lambda item: -item[1])[:EXAMPLES_SHOWN]],
    )
    conflicts = ConflictSummary(
        texts=len(conflicting),
        rows=int(sum(sum(c.values()) for c in conflicting.values())),
        examples=[
            ConflictingText(text, dict(c.most_common()))
            for text, c in sorted(conflicting.items(), key=lambda item: -sum(item[1].values()))[:EXAMPLES_SHOWN]
        ],
    )
    return duplicates, conflicts


def _small_classes(counts: np.ndarray, names: tuple[str, ...], train_counts: np.ndarray, k_neighbors: int) -> list[SmallClass]:
    """Classes that the split or SMOTE cannot treat normally, and what the engine will do."""
    found = []
    for i, name in enumerate(names):
        total, train = int(counts[i]), int(train_counts[i])
        if total == 1:
            action = "Too few to split: its one row goes to training only, so it is never evaluated; SMOTE duplicates it."
        elif total == 2:
            action = "One row for training, one for test, none for validation; SMOTE duplicates its single training row."
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
        notes.append(f"Only {rows} rows: an LSTM learns its word vectors from scratch, so expect the bag-of-words baseline to be hard to beat.")
    truncated = report.suggested_max_length.truncated_share
    if truncated > 0.1:
        notes.append(f"The suggested length cuts {truncated:.0%} of texts; raise vectorizing.max_length if endings matter.")
    return notes


def triage(
    dataset: Dataset,
    config: ExperimentConfig | None = None,
    *,
    include_baseline: bool = True,
    processed: list[str] | None = None,
) -> TriageReport:
    """Describe ``dataset``; the baseline uses ``config``'s preprocessing and split (defaults when omitted).

    ``processed`` may pass texts already preprocessed with ``config.preprocessing`` (the dashboard caches them).
    """
    config = config or ExperimentConfig()
    y = dataset.y
    names = dataset.class_names
    counts = np.bincount(y, minlength=len(names))
    total = int(counts.sum())
    # Lengths and vocabulary as the LSTM will see them: after the configured preprocessing.
    if processed is None:
        processed, _ = preprocess(dataset.texts, config.preprocessing)
    tokenized = [text.split() for text in processed]
    lengths = np.fromiter((len(tokens) for tokens in tokenized), dtype=np.int64, count=len(tokenized))
    vocabulary = {token for tokens in tokenized for token in tokens}
    duplicates, conflicts = _duplicates(dataset.texts, dataset.labels)
    split = stratified_split(y, config.split, config.seed, names)
    train_counts = np.bincount(y[split.train], minlength=len(names))
    suggestion = suggest_max_length(lengths[split.train], config.vectorizing.length_percentile)

    baseline = None
    if include_baseline:
        from core.baseline import baseline_on_split  # the baseline's scikit-learn loads when it is fitted

        baseline = baseline_on_split(processed, y, split, names)
    coverage, coverage_problem = None, None
    if config.model.word_vectors:
        coverage, coverage_problem = _vector_coverage(processed, split, config)
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
        vocabulary_size=len(vocabulary),
        suggested_max_length=SuggestedLength(suggestion.max_length, suggestion.percentile, suggestion.truncated_share),
        small_classes=_small_classes(counts, names, train_counts, config.resampling.k_neighbors),
        baseline=baseline,
        word_vectors=coverage,
    )
    return replace(report, warnings=_warnings(report, total) + ([coverage_problem] if coverage_problem else []))


def _vector_coverage(processed, split, config: ExperimentConfig) -> tuple[Optional[VectorCoverage], Optional[str]]:
    """How much of the training vocabulary the configured vectors file covers, or the sentence saying why it cannot
    be used (a bad file is a warning here; training refuses it)."""
    from core.errors import DataError
    from core.vectorizing import build_vocabulary
    from core.word_vectors import load_word_vectors

    vocabulary = build_vocabulary([processed[i] for i in split.train], config.vectorizing.max_vocab_size,
                                  config.vectorizing.min_token_frequency)
    try:
        vectors = load_word_vectors(config.model.word_vectors, vocabulary, config.model.embedding_dim,
                                    lowercase=config.preprocessing.lowercase)
    except DataError as problem:
        return None, str(problem)
    return vectors.coverage, None

