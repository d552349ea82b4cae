"""Lesson files: loading and validating the TOML files in ``lessons/`` (format documented in ``lessons/README.md``).

A lesson (one TOML file; TOML because a teacher can comment it and Python reads it with the standard library's
``tomllib``) names a built-in dataset and an optional seeded, stratified subsample, a shared fast ``base`` (config
overrides), a ``lever`` (the settings the variants may change) and two or more ``variants`` that set only those
settings. Its ``[[expect]]`` clauses compare one metric across variants, e.g. ``metric = "test.macro_f1"``,
``compare = ["about_right", ">", "too_low"]``, ``margin = 0.1`` (metric paths: :mod:`core.teaching.lessons.metrics`).

Every problem is a :class:`LessonError` whose one sentence names the file and the field. ``Lesson.to_dict`` writes
the fields back in the file's shape, so ``Lesson.from_dict`` (the same parser) reads them again.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from core.config import ExperimentConfig, apply_overrides
from core.errors import ConfigError
from core.teaching.lessons.metrics import metric_path_problem, split_path

LESSONS_DIR = Path(__file__).resolve().parents[3] / "lessons"

OPERATORS: dict[str, Callable[[float, float, float], bool]] = {
    ">": lambda left, right, margin: left > right + margin,
    ">=": lambda left, right, margin: left >= right + margin,
    "<": lambda left, right, margin: left < right - margin,
    "<=": lambda left, right, margin: left <= right - margin,
}

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_REQUIRED = (
    "id", "title", "question", "dataset", "seed", "base", "traded", "lever", "variants", "look_at", "expected", "expect"
)
_OPTIONAL = ("subsample",)


class LessonError(ConfigError):
    """A lesson file is unreadable or names something that does not exist."""


@dataclass(frozen=True)
class Subsample:
    """Seeded, stratified: either at most ``per_class`` rows of each class, or ``rows`` rows in all in the data's
    proportions."""

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
        raise LessonError(
            f"There is no lessons folder at {folder}: create it or point to the folder that holds the lesson files."
        )
    lessons: list[Lesson] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        lesson = load_lesson(path)
        if lesson.id in seen:
            raise LessonError(
                f"{path.name}: id {lesson.id!r} is already used by {seen[lesson.id]}; give each lesson its own id."
            )
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
        raise LessonError(
            f"{path.name} cannot be read ({exc.__class__.__name__}); check the file is UTF-8 text."
        ) from None
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
        raise _fail(
            source, "dataset", f"{dataset!r} is not a built-in dataset; choose one of {', '.join(BUILTIN_DATASETS)}."
        )
    seed = _whole(raw["seed"], "seed", source, 0)
    base = _texts(raw["base"], "base", source)
    lever = _texts(raw["lever"], "lever", source, allow_empty=False)
    for setting in lever:
        if not _is_setting(setting):
            raise _fail(
                source, "lever", f"{setting!r} is not a config setting; write section.field, e.g. model.dropout."
            )
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
                raise _fail(
                    source, f"{where}.overrides",
                    f"sets {key!r}, which is not in the lesson's lever ({', '.join(lever)}); "
                    "a variant may change only the lever.",
                )
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
        raise _fail(
            source, "expect",
            "must be one or more [[expect]] tables, each with metric, compare and (optionally) margin.",
        )
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
            raise _fail(
                source, f"{where}.compare",
                f"must be [left, operator, right] with an operator among {' '.join(OPERATORS)}.",
            )
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
        raise _fail(
            source, where,
            f"names variant {name!r}, which the lesson does not have ({', '.join(sorted(variant_names))}).",
        )
    if sep:
        problem = metric_path_problem(own_metric)
        if problem:
            raise _fail(source, where, problem)
        return Operand(variant=name, metric=own_metric)
    return Operand(variant=name, metric=metric)



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
            raise _fail(
                source, "variants",
                f"'{variant.name}' ends up with the same config as '{seen[key]}'; "
                "each variant must set the lever differently.",
            )
        seen[key] = variant.name



def check_class_names(lesson: Lesson, class_names: Sequence[str]) -> None:
    for clause in lesson.expect:
        for _, metric in clause.metrics_needed():
            for key, index in split_path(metric) or []:
                if key == "per_class" and index is not None and index not in class_names:
                    raise _fail(
                        lesson.source or lesson.id, "expect",
                        f"names class {index!r}, which {lesson.dataset} does not have ({', '.join(class_names)}).",
                    )
