"""Levers: one named change of the current config, each a candidate answer to "what would help this model?".

:func:`levers_for` generates them from the config's own field metadata (read through
:func:`core.config.field_info`), so a choice added to a registry becomes a lever without touching this module:

* every other choice of each choice field (resampling strategies, attention kinds, optimizers, schedules, ...),
* every boolean setting toggled (bidirectional, the preprocessing toggles, early stopping),
* the curated numeric alternatives of :data:`NUMERIC_LEVERS` (one table: dropout a step lower and higher, ...).

A lever that would produce an invalid config, or no change at all, or a change the current settings ignore (the
early-stopping monitor while early stopping is off), is left out. Plain Python: safe to import on any page.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from core.config import SECTIONS, ExperimentConfig, apply_overrides, field_info
from core.errors import ConfigError
from core.records import Record

# Category keys in the order the UI shows them, with their headings.
CATEGORIES: dict[str, str] = {
    "imbalance": "Class imbalance",
    "architecture": "Architecture",
    "regularisation": "Regularisation",
    "optimisation": "Optimisation",
    "preprocessing": "Preprocessing",
    "vocabulary": "Vocabulary",
}
_SECTION_CATEGORY = {
    "resampling": "imbalance",
    "model": "architecture",
    "training": "optimisation",
    "preprocessing": "preprocessing",
    "vectorizing": "vocabulary",
}
# Settings whose section would put them in the wrong group: they fight overfitting.
_REGULARISERS = frozenset(
    {"model.dropout", "model.recurrent_dropout", "model.l2", "training.early_stopping", "training.monitor",
     "training.patience", "training.weight_decay"}
)
# Sections that never yield levers: the data columns and the split are the experiment's frame, not a lever.
_FRAME_SECTIONS = frozenset({"data", "split"})
# Choice/boolean settings that are not learning levers (how often progress is reported, ...).
_NOT_LEVERS = frozenset({"training.progress_every_batches"})


@dataclass(frozen=True)
class NumericLever:
    """One curated numeric alternative: ``operation`` is "set" (to ``amount``), "add" or "times"."""

    field: str
    operation: str
    amount: float


# The curated numeric alternatives, relative to the current value. Results outside a field's bounds are skipped.
NUMERIC_LEVERS: tuple[NumericLever, ...] = (
    NumericLever("model.dropout", "add", -0.1),
    NumericLever("model.dropout", "add", +0.1),
    NumericLever("model.l2", "set", 0.0),
    NumericLever("model.l2", "times", 10),
    NumericLever("model.lstm_layers", "add", +1),
    NumericLever("model.lstm_units", "times", 0.5),
    NumericLever("model.lstm_units", "times", 2),
    NumericLever("model.embedding_dim", "times", 0.5),
    NumericLever("model.embedding_dim", "times", 2),
    NumericLever("training.learning_rate", "times", 0.5),
    NumericLever("training.learning_rate", "times", 2),
    NumericLever("training.batch_size", "times", 0.5),
    NumericLever("training.batch_size", "times", 2),
    NumericLever("vectorizing.min_token_frequency", "set", 1),
    NumericLever("vectorizing.min_token_frequency", "set", 3),
    NumericLever("vectorizing.length_percentile", "set", 99),
    NumericLever("model.subword_buckets", "set", 20_000),  # on, at the size bench/learning_quality.py measured
)

# A setting that only matters when another one is on: a lever on it alone would change nothing the run does.
_APPLIES_WHEN: dict[str, Callable[[ExperimentConfig], bool]] = {
    "training.monitor": lambda config: config.training.early_stopping,
    "training.patience": lambda config: config.training.early_stopping,
    "preprocessing.keep_negations": lambda config: config.preprocessing.remove_stopwords,
    "vectorizing.length_percentile": lambda config: config.vectorizing.max_length is None,
    "model.freeze_word_vectors": lambda config: bool(config.model.word_vectors),
    "model.extend_vocabulary": lambda config: bool(config.model.word_vectors),
    "model.project_word_vectors": lambda config: bool(config.model.word_vectors),
}

_LABEL_WORDS = {"lstm": "LSTM", "l2": "L2", "lr": "LR", "urls": "URLs", "html": "HTML"}


@dataclass(frozen=True)
class Lever(Record):
    """One named change of a config. ``key`` is what ``--levers`` takes (the override itself, e.g.
    ``model.bidirectional=false``); ``overrides`` are :func:`core.config.apply_overrides` strings."""

    key: str
    title: str
    category: str
    overrides: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """The settings this lever changes (``section.field``)."""
        return tuple(override.partition("=")[0].strip() for override in self.overrides)

    def apply(self, config: ExperimentConfig) -> ExperimentConfig:
        return apply_overrides(config, list(self.overrides))


def category_of(field_path: str) -> str:
    """The UI group of a ``section.field`` setting."""
    if field_path in _REGULARISERS:
        return "regularisation"
    return _SECTION_CATEGORY.get(field_path.partition(".")[0], "optimisation")


def levers_for(config: ExperimentConfig) -> list[Lever]:
    """Every single-setting change worth trying from ``config``, grouped by category (see the module docstring)."""
    candidates: list[tuple[str, Any]] = []
    for section, cls in SECTIONS.items():
        if section in _FRAME_SECTIONS:
            continue
        hints = typing.get_type_hints(cls)
        current_section = getattr(config, section)
        for f in dataclasses.fields(cls):
            path = f"{section}.{f.name}"
            if path in _NOT_LEVERS:
                continue
            current = getattr(current_section, f.name)
            choices = field_info(section, f.name).get("choices")
            if choices:
                candidates += [(path, choice) for choice in choices if choice != current]
            elif hints[f.name] is bool:
                candidates.append((path, not current))
    for numeric in NUMERIC_LEVERS:
        value = _numeric_value(config, numeric)
        if value is not None:
            candidates.append((numeric.field, value))

    levers: dict[str, Lever] = {}
    for path, value in candidates:
        lever = _lever(config, path, value)
        if lever is not None and lever.key not in levers:
            levers[lever.key] = lever
    order = list(CATEGORIES)
    return sorted(levers.values(), key=lambda lever: order.index(lever.category))  # stable: table order within a group


def find_levers(config: ExperimentConfig, keys: Sequence[str]) -> list[Lever]:
    """The levers named by ``keys``: generated keys, or any other ``section.field=value`` that changes the config."""
    available = {lever.key: lever for lever in levers_for(config)}
    chosen: list[Lever] = []
    for raw_key in keys:
        key = raw_key.strip()
        if not key:
            continue
        lever = available.get(key) or _custom_lever(config, key)
        if lever is None:
            shown = ", ".join(list(available)[:8])
            raise ConfigError(
                f"{key!r} is not a lever for these settings; use a key such as {shown} (see `study --list-levers`), "
                "or any section.field=value that changes the config."
            )
        if lever.key not in {c.key for c in chosen}:
            chosen.append(lever)
    if not chosen:
        raise ConfigError("No levers were given; name at least one (see `study --list-levers`).")
    return chosen


def _custom_lever(config: ExperimentConfig, key: str) -> Optional[Lever]:
    path, sep, text = key.partition("=")
    section, _, name = path.strip().partition(".")
    if not sep or section not in SECTIONS or section in _FRAME_SECTIONS:
        return None
    try:
        changed = apply_overrides(config, [key])
    except ConfigError:
        return None
    if changed == config:
        return None
    value = getattr(getattr(changed, section), name)
    return Lever(key=key, title=_title(path.strip(), getattr(getattr(config, section), name), value),
                 category=category_of(path.strip()), overrides=(key,))


def _numeric_value(config: ExperimentConfig, numeric: NumericLever) -> Optional[float]:
    section, name = numeric.field.split(".")
    current = getattr(getattr(config, section), name)
    if current is None:
        return None
    if isinstance(current, bool):
        raise ValueError(f"{numeric.field} is a boolean; it is toggled, not a numeric lever")
    if numeric.operation == "set":
        value = numeric.amount
    elif numeric.operation == "add":
        value = current + numeric.amount
    elif numeric.operation == "times":
        value = current * numeric.amount
    else:
        raise ValueError(f"unknown numeric lever operation {numeric.operation!r}")
    if typing.get_type_hints(SECTIONS[section])[name] is int:
        return int(round(value))
    return float(f"{value:.10g}")  # 0.5 - 0.1 is 0.4, not 0.39999999999999997


def _lever(config: ExperimentConfig, path: str, value: Any) -> Optional[Lever]:
    condition = _APPLIES_WHEN.get(path)
    if condition is not None and not condition(config):
        return None
    override = f"{path}={_literal(value)}"
    try:
        changed = apply_overrides(config, [override])
    except ConfigError:
        return None  # e.g. multi-head attention with fewer LSTM outputs than heads
    if changed == config:
        return None
    section, name = path.split(".")
    return Lever(key=override, title=_title(path, getattr(getattr(config, section), name), value),
                 category=category_of(path), overrides=(override,))


def _literal(value: Any) -> str:
    """The override text for a value: choices as plain words (what people type), everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _title(path: str, old: Any, new: Any) -> str:
    section, name = path.split(".")
    label = " ".join(_LABEL_WORDS.get(word, word) for word in name.split("_"))
    label = label[0].upper() + label[1:]
    return f"{label}: {_shown(section, name, old)} → {_shown(section, name, new)}"


def _shown(section: str, name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "auto"
    info = field_info(section, name)
    registry = info.get("registry")
    if registry is not None and hasattr(registry, "title"):
        return str(registry.title(value))
    titles = info.get("titles")
    if isinstance(titles, dict) and value in titles:
        return str(titles[value])
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
