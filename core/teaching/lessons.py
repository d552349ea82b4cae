"""Teaching mode: lessons are data files that run two or more variants of one experiment and check what happened.

A lesson (one TOML file in ``lessons/``, format documented in ``lessons/README.md``; TOML because a teacher can
comment it and Python reads it with the standard library's ``tomllib``) names a built-in dataset and an
optional seeded, stratified subsample, a shared fast ``base`` (config overrides), a ``lever`` (the settings the
variants may change) and two or more ``variants`` that set only those settings. Its ``[[expect]]`` clauses compare
one metric across variants, e.g. ``metric = "test.macro_f1"``, ``compare = ["about_right", ">", "too_low"]``,
``margin = 0.1``, so :func:`check` can say in one sentence per clause whether the promised effect appeared.

Metric paths (see :data:`DERIVED_METRICS` for the computed ones):

* any path into a run's metrics.json: ``test.macro_f1``, ``baseline.macro_f1``, ``training.epochs_run`` ...; a
  ``[name]`` segment picks a per-class entry by its class (``test.per_class[Other].recall``), ``[2]`` a list item;
* ``history.<key>[i]``: one epoch of a training curve, Python indexing (``history.loss[-1]`` is the last epoch);
* the derived names below, computed from the run's history, vocabulary, test texts and (for the position-bias
  ones) its trained model while it is still in memory.

Heavy libraries are imported inside the functions that run training; loading and validating lessons is plain Python.
"""

from __future__ import annotations

import json
import math
import re
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from core.config import ExperimentConfig, apply_overrides
from core.errors import ConfigError

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"

DERIVED_METRICS: dict[str, str] = {
    "train_val_gap": "training accuracy minus validation accuracy at the epoch whose weights the run kept",
    "loss_drop": "training loss of the first epoch minus that of the last epoch",
    "val_loss_rise": "validation loss of the last epoch minus its lowest value",
    "vocabulary_size": "tokens in the vocabulary, padding and out-of-vocabulary included",
    "oov_rate": "share of the test texts' token occurrences that the training vocabulary does not know",
    "truncated_share": "share of the test texts longer than the max_length kept",
    "attention_position_bias": "mean Spearman rho between token position and attention weight over test texts",
    "occlusion_position_bias": "mean Spearman rho between token position and leave-one-token-out importance",
    "attention_position_strength": "how strongly attention follows position in either direction: |attention_position_bias|",
    "occlusion_position_strength": "how strongly occlusion follows position in either direction: |occlusion_position_bias|",
}
# Computed on every variant because they cost nothing; the position-bias ones only when a clause asks for them.
STANDARD_METRICS = ("test.macro_f1", "baseline.macro_f1", "train_val_gap", "loss_drop", "vocabulary_size", "oov_rate", "truncated_share")
HISTORY_METRICS = ("train_val_gap", "loss_drop", "val_loss_rise", "vocabulary_size")  # read from metrics + history
TEXT_METRICS = ("oov_rate", "truncated_share")  # computed over the run's preprocessed test texts
POSITION_METRICS = ("attention_position_bias", "occlusion_position_bias", "attention_position_strength", "occlusion_position_strength")
METRIC_ROOTS = ("test", "validation", "baseline", "majority", "split", "resampling", "training", "vectorizing", "preprocessing", "folds")
OPERATORS: dict[str, Callable[[float, float, float], bool]] = {
    ">": lambda left, right, margin: left > right + margin,
    ">=": lambda left, right, margin: left >= right + margin,
    "<": lambda left, right, margin: left < right - margin,
    "<=": lambda left, right, margin: left <= right - margin,
}
POSITION_ROWS = 200  # test texts explained per variant for the position-bias metrics (enough for a stable mean)
POSITION_MIN_TOKENS = 5  # shorter texts give a meaningless rank correlation

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_REQUIRED = ("id", "title", "question", "dataset", "seed", "base", "traded", "lever", "variants", "look_at", "expected", "expect")
_OPTIONAL = ("subsample",)


class LessonError(ConfigError):
    """A lesson file is unreadable or names something that does not exist."""


@dataclass(frozen=True)
class Subsample:
    """Seeded, stratified: either at most ``per_class`` rows of each class, or ``rows`` rows in all in the data's proportions."""

    per_class: Optional[int] = None
    rows: Optional[int] = None
    seed: int = 0

    def to_dict(self) -> dict:
        raw: dict[str, Any] = {"per_class": self.per_class} if self.per_class is not None else {"rows": self.rows}
        return {**raw, "seed": self.seed}


@dataclass(frozen=True)
class Variant:
    name: str  # short id used in expect clauses and run tags
    label: str  # what the learner reads
    overrides: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "overrides": list(self.overrides)}


@dataclass(frozen=True)
class Operand:
    """One side of a comparison: a metric of a variant, or a fixed number."""

    variant: Optional[str] = None
    metric: Optional[str] = None
    value: Optional[float] = None

    def to_raw(self, default_metric: str) -> Any:
        if self.value is not None:
            return self.value
        return self.variant if self.metric == default_metric else f"{self.variant}:{self.metric}"


@dataclass(frozen=True)
class Expectation:
    metric: str
    left: Operand
    operator: str
    right: Operand
    margin: float = 0.0

    def metrics_needed(self) -> set[tuple[str, str]]:
        return {(side.variant, side.metric) for side in (self.left, self.right) if side.variant is not None}

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "compare": [self.left.to_raw(self.metric), self.operator, self.right.to_raw(self.metric)],
            "margin": self.margin,
        }


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    question: str
    dataset: str
    seed: int
    base: tuple[str, ...]
    traded: str  # what the fast preset gives up, in words
    lever: tuple[str, ...]  # the settings the variants may change
    variants: tuple[Variant, ...]
    look_at: str
    expected: str  # the expected observation in words
    expect: tuple[Expectation, ...]
    subsample: Optional[Subsample] = None
    source: str = ""  # the file it came from, for error messages

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(name)

    def configs(self, base: ExperimentConfig | None = None) -> dict[str, ExperimentConfig]:
        """Each variant's config: ``base`` + the lesson's fast preset + its seed + the variant's overrides."""
        start = apply_overrides(base or ExperimentConfig(), [*self.base, f"seed={self.seed}"])
        return {variant.name: apply_overrides(start, list(variant.overrides)) for variant in self.variants}

    def to_dict(self) -> dict:
        raw = {
            "id": self.id,
            "title": self.title,
            "question": self.question,
            "dataset": self.dataset,
            "seed": self.seed,
            "base": list(self.base),
            "traded": self.traded,
            "lever": list(self.lever),
            "variants": [variant.to_dict() for variant in self.variants],
            "look_at": self.look_at,
            "expected": self.expected,
            "expect": [clause.to_dict() for clause in self.expect],
        }
        if self.subsample is not None:
            raw["subsample"] = self.subsample.to_dict()
        return raw

    @classmethod
    def from_dict(cls, raw: Any, source: str = "lesson") -> "Lesson":
        return _parse_lesson(raw, source)


# ------------------------------------------------------------------------------------------------ loading


def load_lessons(folder: str | Path = LESSONS_DIR) -> list[Lesson]:
    """Every ``*.toml`` lesson in ``folder``, in file-name order, each validated; ids must be unique."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LessonError(f"There is no lessons folder at {folder}: create it or point to the folder that holds the lesson files.")
    lessons: list[Lesson] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        lesson = load_lesson(path)
        if lesson.id in seen:
            raise LessonError(f"{path.name}: id {lesson.id!r} is already used by {seen[lesson.id]}; give each lesson its own id.")
        seen[lesson.id] = path.name
        lessons.append(lesson)
    return lessons


def load_lesson(path: str | Path) -> Lesson:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{path.name} is not valid TOML ({exc}); fix the file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"{path.name} cannot be read ({exc.__class__.__name__}); check the file is UTF-8 text.") from None
    return _parse_lesson(raw, path.name)


def _fail(source: str, field_name: str, problem: str) -> LessonError:
    return LessonError(f"{source}, field '{field_name}': {problem}")


def _text(raw: dict, key: str, source: str, where: str = "") -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, f"{where}.{key}" if where else key, "must be a non-empty text.")
    return value.strip()


def _texts(raw: Any, key: str, source: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _fail(source, key, "must be a list of texts.")
    if not raw and not allow_empty:
        raise _fail(source, key, "must name at least one entry.")
    return tuple(raw)


def _whole(value: Any, key: str, source: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(source, key, f"must be a whole number of at least {minimum}, not {value!r}.")
    return value


def _parse_lesson(raw: Any, source: str) -> Lesson:
    from core.data.builtin import BUILTIN_DATASETS  # light: pandas only, and only when lessons are loaded

    if not isinstance(raw, dict):
        raise LessonError(f"{source} must hold one table of the lesson's fields, not {type(raw).__name__}.")
    for key in _REQUIRED:
        if key not in raw:
            raise _fail(source, key, "is missing; every lesson needs it (see lessons/README.md).")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise _fail(source, unknown[0], f"is not a lesson field; the fields are {', '.join(_REQUIRED + _OPTIONAL)}.")
    lesson_id = _text(raw, "id", source)
    if not _ID.match(lesson_id):
        raise _fail(source, "id", "must use only lower-case letters, digits, '-' and '_'.")
    dataset = _text(raw, "dataset", source)
    if dataset not in BUILTIN_DATASETS:
        raise _fail(source, "dataset", f"{dataset!r} is not a built-in dataset; choose one of {', '.join(BUILTIN_DATASETS)}.")
    seed = _whole(raw["seed"], "seed", source, 0)
    base = _texts(raw["base"], "base", source)
    lever = _texts(raw["lever"], "lever", source, allow_empty=False)
    for setting in lever:
        if not _is_setting(setting):
            raise _fail(source, "lever", f"{setting!r} is not a config setting; write section.field, e.g. model.dropout.")
    variants = _parse_variants(raw["variants"], lever, source)
    lesson = Lesson(
        id=lesson_id,
        title=_text(raw, "title", source),
        question=_text(raw, "question", source),
        dataset=dataset,
        seed=seed,
        base=base,
        traded=_text(raw, "traded", source),
        lever=lever,
        variants=variants,
        look_at=_text(raw, "look_at", source),
        expected=_text(raw, "expected", source),
        expect=_parse_expect(raw["expect"], {v.name for v in variants}, source),
        subsample=_parse_subsample(raw.get("subsample"), source),
        source=source,
    )
    _check_configs(lesson, source)
    return lesson


def _is_setting(path: str) -> bool:
    import dataclasses

    from core.config import SECTIONS

    section, _, name = path.partition(".")
    if not name:
        return path == "seed"
    return section in SECTIONS and name in {f.name for f in dataclasses.fields(SECTIONS[section])}


def _parse_variants(raw: Any, lever: tuple[str, ...], source: str) -> tuple[Variant, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(source, "variants", "must be a list of at least two variants to compare.")
    variants = []
    for number, item in enumerate(raw, start=1):
        where = f"variants[{number}]"
        if not isinstance(item, dict):
            raise _fail(source, where, "must be a table with name, label and overrides.")
        unknown = sorted(set(item) - {"name", "label", "overrides"})
        if unknown:
            raise _fail(source, f"{where}.{unknown[0]}", "is not a variant field; use name, label and overrides.")
        name = _text(item, "name", source, where)
        if not _ID.match(name):
            raise _fail(source, f"{where}.name", "must use only lower-case letters, digits, '-' and '_'.")
        overrides = _texts(item.get("overrides"), f"{where}.overrides", source)
        for assignment in overrides:
            key = assignment.partition("=")[0].strip()
            if key not in lever:
                raise _fail(source, f"{where}.overrides", f"sets {key!r}, which is not in the lesson's lever ({', '.join(lever)}); a variant may change only the lever.")
        variants.append(Variant(name, _text(item, "label", source, where), overrides))
    names = [variant.name for variant in variants]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate:
        raise _fail(source, "variants", f"two variants are named {duplicate!r}; give each its own name.")
    return tuple(variants)


def _parse_subsample(raw: Any, source: str) -> Optional[Subsample]:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"per_class", "rows", "seed"} or ("per_class" in raw) == ("rows" in raw):
        raise _fail(source, "subsample", "must be { per_class = N } or { rows = N }, optionally with seed = S.")
    seed = _whole(raw.get("seed", 0), "subsample.seed", source, 0)
    if "per_class" in raw:
        return Subsample(per_class=_whole(raw["per_class"], "subsample.per_class", source, 2), seed=seed)
    return Subsample(rows=_whole(raw["rows"], "subsample.rows", source, 10), seed=seed)


def _parse_expect(raw: Any, variant_names: set[str], source: str) -> tuple[Expectation, ...]:
    clauses = [raw] if isinstance(raw, dict) else raw
    if not isinstance(clauses, list) or not clauses:
        raise _fail(source, "expect", "must be one or more [[expect]] tables, each with metric, compare and (optionally) margin.")
    parsed = []
    for number, clause in enumerate(clauses, start=1):
        where = f"expect[{number}]"
        if not isinstance(clause, dict) or set(clause) - {"metric", "compare", "margin"}:
            raise _fail(source, where, "must be a table with metric, compare and (optionally) margin.")
        metric = _text(clause, "metric", source, where)
        problem = metric_path_problem(metric)
        if problem:
            raise _fail(source, f"{where}.metric", problem)
        compare = clause.get("compare")
        if not isinstance(compare, list) or len(compare) != 3 or compare[1] not in OPERATORS:
            raise _fail(source, f"{where}.compare", f"must be [left, operator, right] with an operator among {' '.join(OPERATORS)}.")
        margin = clause.get("margin", 0.0)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 0:
            raise _fail(source, f"{where}.margin", f"must be a number of at least 0, not {margin!r}.")
        left = _operand(compare[0], metric, variant_names, source, f"{where}.compare")
        right = _operand(compare[2], metric, variant_names, source, f"{where}.compare")
        if left.value is not None and right.value is not None:
            raise _fail(source, f"{where}.compare", "compares two numbers; at least one side must name a variant.")
        parsed.append(Expectation(metric, left, compare[1], right, float(margin)))
    return tuple(parsed)


def _operand(raw: Any, metric: str, variant_names: set[str], source: str, where: str) -> Operand:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Operand(value=float(raw))
    if not isinstance(raw, str):
        raise _fail(source, where, f"each side must be a variant name, 'variant:metric' or a number, not {raw!r}.")
    name, sep, own_metric = raw.partition(":")
    if name not in variant_names:
        raise _fail(source, where, f"names variant {name!r}, which the lesson does not have ({', '.join(sorted(variant_names))}).")
    if sep:
        problem = metric_path_problem(own_metric)
        if problem:
            raise _fail(source, where, problem)
        return Operand(variant=name, metric=own_metric)
    return Operand(variant=name, metric=metric)


def metric_path_problem(path: str) -> Optional[str]:
    """None when ``path`` is a metric path this module can resolve, else one sentence saying what is wrong."""
    if path in DERIVED_METRICS:
        return None
    segments = _split_path(path)
    if segments is None:
        return f"{path!r} is not a metric path; write e.g. test.macro_f1, test.per_class[<class>].recall or history.loss[-1]."
    root = segments[0][0]
    if root == "history":
        if len(segments) != 2 or segments[1][1] is None or not _is_int(segments[1][1]):
            return f"{path!r}: history paths look like history.<curve>[<epoch index>], e.g. history.val_loss[-1]."
        return None
    if root not in METRIC_ROOTS:
        return f"{path!r} starts with {root!r}; use one of {', '.join(METRIC_ROOTS)}, history, or a derived metric ({', '.join(DERIVED_METRICS)})."
    return None


def _split_path(path: str) -> Optional[list[tuple[str, Optional[str]]]]:
    """'test.per_class[Other].recall' → [('test', None), ('per_class', 'Other'), ('recall', None)].

    Class names may hold dots and spaces, so brackets are split off before the dots."""
    segments: list[tuple[str, Optional[str]]] = []
    rest = path.strip()
    while rest:
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\[\]]+)\])?(?:\.|$)", rest)
        if not match:
            return None
        segments.append((match.group(1), match.group(2)))
        rest = rest[match.end():]
    return segments or None


def _is_int(text: str) -> bool:
    return re.fullmatch(r"-?\d+", text.strip()) is not None


def _check_configs(lesson: Lesson, source: str) -> None:
    """Base and every variant must give a valid config, and no two variants the same one."""
    try:
        start = apply_overrides(ExperimentConfig(), [*lesson.base, f"seed={lesson.seed}"])
    except ConfigError as exc:
        raise _fail(source, "base", f"gives an invalid config: {exc.message}") from None
    seen: dict[str, str] = {}
    for number, variant in enumerate(lesson.variants, start=1):
        try:
            config = apply_overrides(start, list(variant.overrides))
        except ConfigError as exc:
            raise _fail(source, f"variants[{number}].overrides", f"gives an invalid config: {exc.message}") from None
        key = json.dumps(config.to_dict(), sort_keys=True)
        if key in seen:
            raise _fail(source, "variants", f"'{variant.name}' ends up with the same config as '{seen[key]}'; each variant must set the lever differently.")
        seen[key] = variant.name


# ------------------------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class VariantOutcome:
    name: str
    label: str
    status: str  # "completed" or "stopped" (core.training.experiment's statuses)
    run_dir: Optional[str]
    duration_s: float
    values: dict  # metric path → number (None when the run has no such value)
    metrics: dict  # the run's metrics.json
    history: dict  # the run's training curves

    def to_dict(self) -> dict:
        return {
            "name": self.name, "label": self.label, "status": self.status, "run_dir": self.run_dir,
            "duration_s": self.duration_s, "values": dict(self.values), "metrics": self.metrics, "history": self.history,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> "VariantOutcome":
        return cls(
            name=raw["name"], label=raw["label"], status=raw["status"], run_dir=raw.get("run_dir"),
            duration_s=float(raw.get("duration_s", 0.0)), values=dict(raw.get("values", {})),
            metrics=dict(raw.get("metrics", {})), history=dict(raw.get("history", {})),
        )


@dataclass(frozen=True)
class LessonResult:
    lesson: Lesson
    variants: tuple[VariantOutcome, ...]
    stopped: bool  # a stop request ended the lesson before every variant finished
    duration_s: float

    def variant(self, name: str) -> Optional[VariantOutcome]:
        return next((outcome for outcome in self.variants if outcome.name == name), None)

    def to_dict(self) -> dict:
        return {
            "lesson": self.lesson.to_dict(),
            "source": self.lesson.source,
            "variants": [outcome.to_dict() for outcome in self.variants],
            "stopped": self.stopped,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> "LessonResult":
        return cls(
            lesson=Lesson.from_dict(raw["lesson"], source=raw.get("source") or "lesson"),
            variants=tuple(VariantOutcome.from_dict(item) for item in raw.get("variants", [])),
            stopped=bool(raw.get("stopped", False)),
            duration_s=float(raw.get("duration_s", 0.0)),
        )


def lesson_dataset(lesson: Lesson):
    """The lesson's built-in dataset, subsampled as the lesson says (core.data.dataset.Dataset)."""
    from core.data.dataset import build_dataset
    from core.data.builtin import BUILTIN_DATASETS, load_builtin

    spec = BUILTIN_DATASETS[lesson.dataset]
    dataset = build_dataset(load_builtin(lesson.dataset), spec.text_column, spec.label_column)
    return subsample(dataset, lesson.subsample) if lesson.subsample else dataset


def subsample(dataset, plan: Subsample):
    """A seeded, stratified subset that keeps every class (original row order, so splits stay deterministic)."""
    import dataclasses

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
        source_name=f"{dataset.source_name} (subsample: {described}, seed {plan.seed})", data_hash=data_hash(texts, labels),
    )


def _proportional_quota(counts, total: int):
    """Largest-remainder allocation of ``total`` rows in the classes' proportions, at least 2 per class (or all it has)."""
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
    from core.training.experiment import run_experiment
    from core.text.preprocessing import preprocess

    started = time.perf_counter()
    dataset = lesson_dataset(lesson)
    _check_class_names(lesson, dataset.class_names)
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


def _check_class_names(lesson: Lesson, class_names: Sequence[str]) -> None:
    for clause in lesson.expect:
        for _, metric in clause.metrics_needed():
            for key, index in _split_path(metric) or []:
                if key == "per_class" and index is not None and index not in class_names:
                    raise _fail(lesson.source or lesson.id, "expect", f"names class {index!r}, which {lesson.dataset} does not have ({', '.join(class_names)}).")


# ------------------------------------------------------------------------------------------------ measuring


def history_metric(path: str, metrics: dict, history: dict) -> Optional[float]:
    """A metric of :data:`HISTORY_METRICS`, from a run's metrics record and history alone (the same whether the run
    is in memory or read back from disk); None when the run has no such value."""
    if path == "train_val_gap":
        accuracy, val_accuracy = history.get("accuracy") or [], history.get("val_accuracy") or []
        if not accuracy or not val_accuracy:
            return None
        best = metrics["training"].get("best_epoch")
        kept = (best - 1) if best else min(len(accuracy), len(val_accuracy)) - 1
        return float(accuracy[kept] - val_accuracy[kept])
    if path == "loss_drop":
        loss = history.get("loss") or []
        return float(loss[0] - loss[-1]) if loss else None
    if path == "val_loss_rise":
        val_loss = history.get("val_loss") or []
        return float(val_loss[-1] - min(val_loss)) if val_loss else None
    if path == "vocabulary_size":
        return float(metrics["vectorizing"]["vocabulary_size"])
    raise ValueError(f"{path!r} is not one of {HISTORY_METRICS}")


def text_metric(path: str, test_texts: Sequence[str], vocabulary, max_length: int) -> Optional[float]:
    """A metric of :data:`TEXT_METRICS` over the run's preprocessed test texts; None when there are none."""
    from core.text.vectorizing import oov_rate

    if not test_texts:
        return None
    if path == "oov_rate":
        return float(oov_rate(test_texts, vocabulary))
    if path == "truncated_share":
        return sum(len(text.split()) > max_length for text in test_texts) / len(test_texts)
    raise ValueError(f"{path!r} is not one of {TEXT_METRICS}")


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


def as_plain_dict(value: Any) -> dict:
    """A metrics record as the plain dict metrics.json holds (records have ``to_dict``; dicts pass through)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return json.loads(json.dumps(value, default=float))


def resolve_metric(path: str, metrics: dict, history: dict) -> Optional[float]:
    """A metrics.json or history path (not the derived names) → its number, or None when absent."""
    segments = _split_path(path)
    if segments is None:
        raise ValueError(f"not a metric path: {path!r}")
    if segments[0][0] == "history":
        curve = history.get(segments[1][0]) or []
        index = int(segments[1][1])
        return float(curve[index]) if -len(curve) <= index < len(curve) else None
    node: Any = metrics
    for key, index in segments:
        node = node.get(key) if isinstance(node, dict) else None
        if node is not None and index is not None:
            node = _pick(node, index)
        if node is None:
            return None
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    return float(node)


def _pick(node: Any, index: str) -> Any:
    if not isinstance(node, list):
        return None
    if _is_int(index):
        position = int(index)
        return node[position] if -len(node) <= position < len(node) else None
    return next((item for item in node if isinstance(item, dict) and item.get("class") == index), None)


def position_bias(result, *, method: str, rows: int = POSITION_ROWS) -> Optional[float]:
    """Mean Spearman rho between token position and per-token score over the run's first ``rows`` test texts.

    ``method`` is a :mod:`core.evidence.explain` method ("attention", "occlusion", ...), explaining the predicted class.
    Near +1: scores grow toward the end of the text whatever the words; near 0: no trend. None when the model
    lacks the method (no attention layer) or no test text is long enough.
    """
    import numpy as np

    from core.evidence.explain import Explainer
    from core.evidence.explain import position_bias as measured_bias
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


# ------------------------------------------------------------------------------------------------ checking


def check(result: LessonResult) -> tuple[bool, str]:
    """Whether every expect clause held, and one sentence (per clause) that says what was measured."""
    sentences, holds = [], True
    for clause in result.lesson.expect:
        clause_holds, sentence = _check_clause(clause, result)
        holds = holds and clause_holds
        sentences.append(sentence)
    return holds, " ".join(sentences)


def _value(operand: Operand, result: LessonResult) -> tuple[Optional[float], str, str]:
    """The operand's number, the metric's name and the variant's, for the sentence (the number's own for a constant)."""
    if operand.value is not None:
        return operand.value, "", "the fixed threshold"
    label = f"'{result.lesson.variant(operand.variant).label}'"
    outcome = result.variant(operand.variant)
    if outcome is None:
        return None, describe_metric(operand.metric), f"{label} (not run)"
    value = outcome.values.get(operand.metric)
    if value is None and operand.metric not in DERIVED_METRICS:
        value = resolve_metric(operand.metric, outcome.metrics, outcome.history)
    return value, describe_metric(operand.metric), label


def _check_clause(clause: Expectation, result: LessonResult) -> tuple[bool, str]:
    """E.g. "Test recall of 'Engine Shut Down' was 0.391 with 'Class weights' and 0.000 with 'No rebalancing'
    (expected higher by 0.15 or more: holds)." """
    left, left_metric, left_name = _value(clause.left, result)
    right, right_metric, right_name = _value(clause.right, result)
    direction = {">": "higher", ">=": "at least as high", "<": "lower", "<=": "at most as high"}[clause.operator]
    wanted = f"expected {direction} by {clause.margin:g} or more" if clause.margin else f"expected {direction}"
    if left is None or right is None:
        metric, name = (left_metric, left_name) if left is None else (right_metric, right_name)
        sentence = f"{metric} has no value for {name}, so the expectation cannot be checked."
        return False, sentence[0].upper() + sentence[1:]
    holds = math.isfinite(left) and math.isfinite(right) and OPERATORS[clause.operator](left, right, clause.margin)
    verdict = "holds" if holds else "does not hold"
    metric = left_metric or right_metric
    if clause.right.value is not None or clause.left.value is not None:
        measured, threshold, name = (left, right, left_name) if clause.right.value is not None else (right, left, right_name)
        sentence = f"{metric} was {measured:.3f} with {name} against the fixed threshold {threshold:g} ({wanted}: {verdict})."
    elif left_metric == right_metric:
        sentence = f"{metric} was {left:.3f} with {left_name} and {right:.3f} with {right_name} ({wanted}: {verdict})."
    else:
        sentence = (f"{left_metric} was {left:.3f} with {left_name}, {right_metric} {right:.3f} with {right_name} "
                    f"({wanted}: {verdict}).")
    return holds, sentence[0].upper() + sentence[1:]


def describe_metric(metric: str) -> str:
    names = {
        "train_val_gap": "the train/validation accuracy gap",
        "loss_drop": "the fall in training loss",
        "val_loss_rise": "the rise in validation loss",
        "vocabulary_size": "the vocabulary size",
        "oov_rate": "the out-of-vocabulary rate",
        "truncated_share": "the share of truncated test texts",
        "attention_position_bias": "attention's position bias",
        "occlusion_position_bias": "occlusion's position bias",
        "attention_position_strength": "how strongly attention follows position",
        "occlusion_position_strength": "how strongly occlusion follows position",
        "test.macro_f1": "test macro-F1",
        "test.accuracy": "test accuracy",
    }
    if metric in names:
        return names[metric]
    match = re.fullmatch(r"test\.per_class\[(.+)\]\.(recall|precision|f1)", metric)
    if match:
        return f"test {match.group(2)} of '{match.group(1)}'"
    match = re.fullmatch(r"history\.(\w+)\[(-?\d+)\]", metric)
    if match:
        curves = {"loss": "training loss", "val_loss": "validation loss", "accuracy": "training accuracy",
                  "val_accuracy": "validation accuracy", "learning_rate": "learning rate"}
        index = int(match.group(2))
        epoch = "the last epoch" if index == -1 else f"epoch {index + 1}" if index >= 0 else f"the epoch {-index} from the end"
        return f"the {curves.get(match.group(1), match.group(1))} of {epoch}"
    return metric
