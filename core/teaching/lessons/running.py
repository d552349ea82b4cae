"""Running a lesson: its variants back to back, each measured on what the expect clauses need.

Heavy libraries (TensorFlow, the explanation methods) are imported inside the functions that train and measure.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from core.config import ExperimentConfig
from core.records import Record
from core.teaching.lessons.files import Lesson, Subsample, check_class_names
from core.teaching.lessons.metrics import (
    HISTORY_METRICS,
    POSITION_METRICS,
    STANDARD_METRICS,
    TEXT_METRICS,
    as_plain_dict,
    history_metric,
    resolve_metric,
    text_metric,
)

POSITION_ROWS = 200  # test texts explained per variant for the position-bias metrics (enough for a stable mean)
POSITION_MIN_TOKENS = 5  # shorter texts give a meaningless rank correlation


@dataclass(frozen=True)
class VariantOutcome(Record):
    name: str
    label: str
    status: str  # "completed" or "stopped" (core.training.experiment's statuses)
    run_dir: Optional[str] = None
    duration_s: float = 0.0
    values: dict = field(default_factory=dict)  # metric path → number (None when the run has no such value)
    metrics: dict = field(default_factory=dict)  # the run's metrics.json
    history: dict = field(default_factory=dict)  # the run's training curves


# The lesson travels in its file's shape (Lesson.to_dict) and is read back by the file parser, which validates it.
_LESSON_FILE = {"dump": Lesson.to_dict, "load": Lesson.from_dict}


@dataclass(frozen=True)
class LessonResult(Record):
    lesson: Lesson = field(metadata=_LESSON_FILE)
    source: str = field(default="", kw_only=True)  # the lesson's file name, kept beside it: the same as lesson.source
    variants: tuple[VariantOutcome, ...] = ()
    stopped: bool = False  # a stop request ended the lesson before every variant finished
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", self.lesson.source)
        elif self.lesson.source != self.source:  # read back: the parser does not see the file name
            object.__setattr__(self, "lesson", dataclasses.replace(self.lesson, source=self.source))

    def variant(self, name: str) -> Optional[VariantOutcome]:
        return next((outcome for outcome in self.variants if outcome.name == name), None)


def lesson_dataset(lesson: Lesson):
    """The lesson's built-in dataset, subsampled as the lesson says (core.data.dataset.Dataset)."""
    from core.data.builtin import BUILTIN_DATASETS, load_builtin
    from core.data.dataset import build_dataset

    spec = BUILTIN_DATASETS[lesson.dataset]
    dataset = build_dataset(load_builtin(lesson.dataset), spec.text_column, spec.label_column)
    return subsample(dataset, lesson.subsample) if lesson.subsample else dataset


def subsample(dataset, plan: Subsample):
    """A seeded, stratified subset that keeps every class (original row order, so splits stay deterministic)."""
    import numpy as np

    from core.data.dataset import data_hash

    rng = np.random.default_rng(plan.seed)
    y = dataset.y
    counts = np.bincount(y, minlength=len(dataset.class_names))
    if plan.per_class is not None:
        quota = np.minimum(counts, plan.per_class)
    else:
        quota = _proportional_quota(counts, min(plan.rows, len(y)))
    chosen = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: quota[c]] for c in range(len(counts))])
    chosen.sort()
    texts = tuple(dataset.texts[i] for i in chosen)
    labels = tuple(dataset.labels[i] for i in chosen)
    described = f"{plan.per_class} per class" if plan.per_class is not None else f"{len(chosen)} rows"
    return dataclasses.replace(
        dataset, texts=texts, labels=labels, rows_total=len(texts), rows_missing_text=0, rows_missing_label=0,
        source_name=f"{dataset.source_name} (subsample: {described}, seed {plan.seed})",
        data_hash=data_hash(texts, labels),
    )


def _proportional_quota(counts, total: int):
    """Largest-remainder allocation of ``total`` rows in the classes' proportions, at least 2 per class (or all it
    has)."""
    import numpy as np

    exact = counts / counts.sum() * total
    quota = np.floor(exact).astype(int)
    for c in np.argsort(-(exact - quota), kind="stable")[: total - quota.sum()]:
        quota[c] += 1
    return np.minimum(np.maximum(quota, np.minimum(counts, 2)), counts)


def run_lesson(
    lesson: Lesson,
    *,
    runs_dir: str | Path | None,
    listener=None,
    stop=None,
    on_variant_done: Optional[Callable[[VariantOutcome], None]] = None,
    base: ExperimentConfig | None = None,
) -> LessonResult:
    """Run the variants back to back (in the lesson's order) and measure what the expect clauses need.

    ``listener`` hears every variant's progress events (the n-th ``"start"`` event begins the n-th variant);
    ``stop`` (anything with ``is_set()``) ends the running variant after its current batch and skips the rest;
    ``on_variant_done`` is called with each finished variant's outcome. Runs are tagged ``{"lesson", "variant"}``.
    """
    from core.text.preprocessing import preprocess
    from core.training.experiment import run_experiment

    started = time.perf_counter()
    dataset = lesson_dataset(lesson)
    check_class_names(lesson, dataset.class_names)
    wanted = _metrics_wanted(lesson)
    preprocessed: dict = {}  # variants that share preprocessing settings share its output
    outcomes: list[VariantOutcome] = []
    for variant in lesson.variants:
        if stop is not None and stop.is_set():
            break
        config = lesson.configs(base)[variant.name]
        if config.preprocessing not in preprocessed:
            preprocessed[config.preprocessing] = preprocess(dataset.texts, config.preprocessing)
        variant_started = time.perf_counter()
        result = run_experiment(
            dataset, config, listener=listener, stop=stop, runs_dir=runs_dir,
            preprocessed=preprocessed[config.preprocessing], tags={"lesson": lesson.id, "variant": variant.name},
        )
        processed = preprocessed[config.preprocessing][0]
        metrics = as_plain_dict(result.metrics)
        cache: dict = {}
        values = {path: _measure(path, result, metrics, processed, cache) for path in wanted[variant.name]}
        outcome = VariantOutcome(
            name=variant.name, label=variant.label, status=result.status,
            run_dir=str(result.run_dir) if result.run_dir is not None else None,
            duration_s=round(time.perf_counter() - variant_started, 2), values=values,
            metrics=metrics, history=as_plain_dict(result.history),
        )
        outcomes.append(outcome)
        if on_variant_done is not None:
            on_variant_done(outcome)
        if result.status != "completed":
            break
    stopped = len(outcomes) < len(lesson.variants) or any(o.status != "completed" for o in outcomes)
    return LessonResult(lesson, tuple(outcomes), stopped, round(time.perf_counter() - started, 2))


def _metrics_wanted(lesson: Lesson) -> dict[str, list[str]]:
    """What to measure on each variant: the standard set, every metric a clause names, and (when any clause needs
    position bias) the position metrics on every variant, so the variants can be compared on screen."""
    needed = [metric for clause in lesson.expect for _, metric in clause.metrics_needed()]
    extra = list(POSITION_METRICS) if any(metric in POSITION_METRICS for metric in needed) else []
    wanted = {}
    for variant in lesson.variants:
        own = [metric for clause in lesson.expect for name, metric in clause.metrics_needed() if name == variant.name]
        wanted[variant.name] = list(dict.fromkeys([*STANDARD_METRICS, *own, *extra]))
    return wanted



def _measure(path: str, result, metrics: dict, processed_texts: Sequence[str], cache: dict) -> Optional[float]:
    """The value of one metric path for one finished run (None when the run has no such value); ``cache`` keeps
    the explanation work of one run so a bias and its strength are computed once."""
    history = result.history
    if path in HISTORY_METRICS:
        return history_metric(path, metrics, history)
    if path in TEXT_METRICS:
        test_texts = [processed_texts[_row(record)] for record in result.predictions]
        vectorized = result.trained.vectorized
        return text_metric(path, test_texts, vectorized.vocabulary, vectorized.max_length)
    if path in POSITION_METRICS:
        method = path.split("_", 1)[0]
        if method not in cache:
            cache[method] = position_bias(result, method=method)
        bias = cache[method]
        return None if bias is None else (abs(bias) if path.endswith("_strength") else bias)
    return resolve_metric(path, metrics, history)


def _row(prediction: Any) -> int:
    """The dataset row of one test prediction (a dict in older records, a core.runs.results.Prediction in newer)."""
    return int(prediction["row"] if isinstance(prediction, dict) else prediction.row)




def position_bias(result, *, method: str, rows: int = POSITION_ROWS) -> Optional[float]:
    """Mean Spearman rho between token position and per-token score over the run's first ``rows`` test texts.

    ``method`` is a :mod:`core.evidence.explain` method ("attention", "occlusion", ...), explaining the predicted class.
    Near +1: scores grow toward the end of the text whatever the words; near 0: no trend. None when the model
    lacks the method (no attention layer) or no test text is long enough.
    """
    import numpy as np

    from core.evidence.explain import Explainer
    from core.evidence.faithfulness import position_bias as measured_bias
    from core.text.vectorizing import PAD_ID

    trained = result.trained
    explainer = Explainer(trained.models.model)
    if explainer.available().reason(method):
        return None
    ids = trained.vectorized.x["test"]
    chosen = np.flatnonzero((ids != PAD_ID).sum(axis=1) >= POSITION_MIN_TOKENS)[:rows]
    if not len(chosen):
        return None
    scores = explainer.explain(ids[chosen], None, method)
    return measured_bias(scores, method).spearman
