"""The typed records of a run's results: what ``metrics.json``, ``run.json`` and ``predictions.json`` hold.

Pages, the CLI and the studies read attributes of these records instead of nested dicts by string keys (a typo is
then an AttributeError in a test, not a KeyError on one page). The JSON on disk keeps its shape: ``to_dict``
writes it and ``from_dict`` reads it back. This module is light (no scikit-learn, no Keras): the dashboard
process unpickles these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from core.records import Record
from core.text.preprocessing import PreprocessingReport
from core.text.word_vectors import VectorCoverage

CLASS = {"json": "class"}  # "class" is a Python keyword: the field is ``name``, its JSON key "class"
HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1")


@dataclass(frozen=True)
class ClassScore(Record):
    name: str = field(metadata=CLASS)
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Confusion(Record):
    labels: list[str]
    counts: list[list[int]]
    normalized: list[list[float]]  # each row divided by its total (0 for a class with no rows)


@dataclass(frozen=True)
class ClassificationMetrics(Record):
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    weighted_f1: float
    support: int
    per_class: list[ClassScore]
    confusion: Confusion

    def headline(self) -> dict[str, float]:
        return {key: getattr(self, key) for key in HEADLINE}


@dataclass(frozen=True)
class BaselineResult(Record):
    """The TF-IDF + logistic-regression yardstick on the LSTM's split; ``available`` is False when it cannot fit."""

    description: str
    available: bool
    fitted_on: str = "the training and validation splits"  # which rows it was fitted on, in words
    accuracy: Optional[float] = None
    balanced_accuracy: Optional[float] = None
    macro_f1: Optional[float] = None
    weighted_f1: Optional[float] = None
    per_class: list[ClassScore] = field(default_factory=list)
    seconds: Optional[float] = None


@dataclass(frozen=True)
class MajorityResult(Record):
    name: str = field(metadata=CLASS)
    accuracy: float
    balanced_accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class SplitCounts(Record):
    class_names: list[str]
    train: list[int]
    validation: list[int]
    test: list[int]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ResamplingAudit(Record):
    strategy: str
    method: str
    embedded: bool
    train_before: list[int]
    train_after: list[int]
    class_weight: Optional[dict[int, float]] = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrainingSummary(Record):
    epochs_run: int
    best_epoch: Optional[int]
    stopped_by_user: bool
    early_stopped: bool
    train_seconds: float
    samples_per_second: float
    parameters: int
    total_seconds: Optional[float] = None
    partial_epoch: Optional[int] = None  # an epoch cut short by Stop: shown, never scored as the best
    cpu_seconds: Optional[float] = None  # processor time of the whole run (all threads), what a shared machine pays

    @property
    def status_words(self) -> str:
        if self.stopped_by_user:
            return "stopped by request"
        return "early-stopped" if self.early_stopped else "completed"


@dataclass(frozen=True)
class VectorizingSummary(Record):
    vocabulary_size: int
    max_length: int
    suggested_max_length: int
    truncated_share: Optional[float] = None


@dataclass(frozen=True)
class DataSummary(Record):
    source: str
    text_column: str
    label_column: str
    rows: int
    hash: str


@dataclass(frozen=True)
class MeanSd(Record):
    mean: float
    sd: float


@dataclass(frozen=True)
class FoldScores(Record):
    fold: int
    epochs: int
    validation: Optional[dict[str, float]]
    test: dict[str, float]


@dataclass(frozen=True)
class FoldSummary(Record):
    k: int
    per_fold: list[FoldScores]
    validation: dict[str, MeanSd]
    test: dict[str, MeanSd]


@dataclass(frozen=True)
class EnsembleSummary(Record):
    """A run whose saved model averages several members' probabilities, and what that cost."""

    members: int
    method: str  # in words, e.g. "average of the 5 fold models' probabilities"
    parameters: int  # all members together (what memory holds)
    parameters_per_member: int
    train_seconds: float  # all members' training together
    member_test_macro_f1: list[float] = field(default_factory=list)  # each member alone, for comparison
    # how RunMetrics.validation was scored: each row by the member that never trained on it
    validation: str = "out-of-fold"


@dataclass(frozen=True)
class BlendSummary(Record):
    """A run whose probabilities blend the LSTM's with a TF-IDF + LR model's (core.training.blending)."""

    weight: float  # the LSTM's share; the bag-of-words model gets 1 - weight
    chosen_on: str  # in words: "the validation split (380 rows)" or "out of fold (1,520 rows, 5 folds)"
    candidates: dict[str, float]  # weight (as text) -> macro-F1 on those rows
    lstm_alone: ClassificationMetrics  # the LSTM (or its ensemble) on the test split, before blending
    bag_of_words_alone: ClassificationMetrics  # the bag-of-words model on the test split
    fitted_on: str = "the training and validation splits"
    words: Optional[int] = None  # the bag-of-words part's features: words and exact word pairs (None: older runs,
    word_pairs: Optional[int] = None  # whose part read the LSTM's vocabulary and hashed pairs)
    tokens_read: Optional[int] = None  # how many tokens of a text the part reads (the longest development text's)

    @property
    def label(self) -> str:
        return f"LSTM + bag-of-words blend (weight {self.weight:.1f})"


@dataclass(frozen=True)
class RunMetrics(Record):
    """Everything ``metrics.json`` holds."""

    status: str
    test: ClassificationMetrics
    validation: Optional[ClassificationMetrics]
    baseline: BaselineResult
    majority: MajorityResult
    split: SplitCounts
    resampling: ResamplingAudit
    training: TrainingSummary
    vectorizing: VectorizingSummary
    preprocessing: PreprocessingReport
    data: DataSummary
    folds: Optional[FoldSummary] = None
    ensemble: Optional[EnsembleSummary] = None
    word_vectors: Optional[VectorCoverage] = None
    blend: Optional[BlendSummary] = None

    @property
    def imbalanced(self) -> bool:
        present = [c for c in self.split.train if c > 0]
        return bool(present) and max(present) >= 1.5 * min(present)

    def baseline_delta(self, key: str) -> Optional[float]:
        """The LSTM's score minus the baseline's, when the baseline ran."""
        other = getattr(self.baseline, key, None) if self.baseline.available else None
        return None if other is None else getattr(self.test, key) - other


@dataclass(frozen=True)
class Prediction(Record):
    row: int
    text: str
    true: str
    predicted: str
    confidence: float
    probabilities: list[float]

    @property
    def correct(self) -> bool:
        return self.true == self.predicted


@dataclass(frozen=True)
class RunInfo(Record):
    """``run.json``: the one-line view of a run in the runs table (``id`` and ``created`` are set when saved)."""

    status: str
    data: str
    rows: int
    classes: int
    settings: dict[str, Any]
    test_accuracy: float
    test_macro_f1: float
    test_balanced_accuracy: float
    baseline_macro_f1: Optional[float]
    epochs_run: int
    duration_s: float
    id: str = ""
    created: str = ""
    data_hash: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
