"""A sweep's search space: the searched settings and their ranges, from the config's field metadata or a JSON file."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from core.config import SECTIONS, ExperimentConfig, apply_overrides, field_info
from core.errors import ConfigError


@dataclass(frozen=True)
class ParamSpec:
    """One searched setting: a float or int range (optionally log-scaled) or a list of choices."""

    name: str  # "section.field"
    kind: str  # "float" | "int" | "categorical"
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    choices: Optional[tuple] = None

    def suggest(self, trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def contains(self, value: Any) -> bool:
        if self.kind == "categorical":
            return any(value == choice and type(value) is type(choice) for choice in self.choices)
        return value is not None and not isinstance(value, bool) and self.low <= value <= self.high

    def position(self, value: Any) -> float:
        """Where ``value`` sits on this axis, 0..1 (log axes in log space), for parallel coordinates."""
        if self.kind == "categorical":
            index = next((i for i, choice in enumerate(self.choices) if choice == value), 0)
            return index / (len(self.choices) - 1) if len(self.choices) > 1 else 0.5
        low, high, x = float(self.low), float(self.high), float(value)
        if self.log:
            low, high, x = math.log(low), math.log(high), math.log(x)
        return (x - low) / (high - low) if high > low else 0.5

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        spec: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            spec["log"] = True
        return spec


@dataclass(frozen=True)
class SearchSpace:
    """The searched settings, in order. ``to_dict()`` is exactly the JSON space-file format (see :func:`load_space`)."""

    params: tuple[ParamSpec, ...]

    def to_dict(self) -> dict[str, Any]:
        return {spec.name: spec.to_dict() for spec in self.params}

    @classmethod
    def from_dict(cls, raw: Any) -> "SearchSpace":
        return parse_space(raw)

    def config_for(self, base: ExperimentConfig, params: Mapping[str, Any]) -> ExperimentConfig:
        return apply_overrides(base, [f"{name}={_override_literal(value)}" for name, value in params.items()])


# The searchable settings and their default ranges: ONE table. A range of None means the field's own metadata
# (min/max, or its choices); narrower ranges keep a default sweep on sensible ground (learning rate 1 is valid but
# never useful). Log scale where the effect is multiplicative.
DEFAULT_SEARCH: tuple[tuple[str, dict[str, Any]], ...] = (
    ("model.lstm_units", {"low": 16, "high": 256, "log": True}),
    ("model.embedding_dim", {"low": 32, "high": 256, "log": True}),
    ("model.lstm_layers", {"low": 1, "high": 2}),
    ("model.bidirectional", {}),
    ("model.attention", {}),
    ("model.dropout", {"low": 0.0, "high": 0.6}),
    ("model.l2", {"low": 1e-6, "high": 1e-2, "log": True}),
    ("training.learning_rate", {"low": 3e-4, "high": 1e-2, "log": True}),
    ("training.batch_size", {"choices": [32, 64, 128]}),
    ("resampling.strategy", {}),
    ("vectorizing.min_token_frequency", {"low": 1, "high": 3}),
)


def default_space() -> SearchSpace:
    """The curated searchable settings with ranges from :data:`DEFAULT_SEARCH` and the config's metadata."""
    return parse_space(dict(DEFAULT_SEARCH))


def load_space(path: str | os.PathLike) -> SearchSpace:
    """Read a JSON space file. Format: one key per searched setting, ``"section.field"``, whose value is

    * ``{"low": L, "high": H}`` (a float or int range, by the field's type), plus ``"log": true`` for a log scale;
    * ``{"choices": [...]}`` for a list of values (choice fields, booleans, or a few numbers);
    * ``{}`` for the field's whole range from its metadata (its choices, ``[true, false]`` or its min..max).

    Example: ``{"model.dropout": {"low": 0.1, "high": 0.5}, "training.learning_rate": {"low": 1e-4, "high": 1e-2,
    "log": true}, "model.attention": {"choices": ["none", "additive"]}, "model.bidirectional": {}}``.
    The file is the whole space (settings it does not name keep the study's config values).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"There is no space file at {str(path)!r}; check the path given to --space.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The space file {str(path)!r} cannot be read ({exc.__class__.__name__}); "
                          "save it as UTF-8 JSON.") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"The space file is not valid JSON ({exc.msg} at line {exc.lineno}); "
                          "see `sweep --help` for its format.") from None
    return parse_space(raw)


def parse_space(raw: Any) -> SearchSpace:
    """Validate a space (the JSON format of :func:`load_space`) against the config's field metadata."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError('A search space must be a JSON object naming at least one setting, '
                          'e.g. {"model.dropout": {"low": 0.1, "high": 0.5}}.')
    return SearchSpace(tuple(_param_spec(name, spec) for name, spec in raw.items()))


def _param_spec(name: str, spec: Any) -> ParamSpec:
    import typing

    section, _, leaf = str(name).partition(".")
    if section not in SECTIONS or section == "data" or not leaf:
        raise ConfigError(f"The space names {name!r}, which is not a searchable setting; "
                          "use section.field names such as model.dropout.")
    try:
        info = field_info(section, leaf)
    except KeyError:
        raise ConfigError(f"The space names {name!r}, which is not a setting; "
                          "see `config --defaults` for the names.") from None
    if not isinstance(spec, dict) or set(spec) - {"low", "high", "log", "choices"}:
        raise ConfigError(f"The space entry for {name} must be an object with low/high (and log) or choices; "
                          f"got {spec!r}.")
    hint = typing.get_type_hints(SECTIONS[section])[leaf]
    base = next((a for a in typing.get_args(hint) if a is not type(None)), hint) if typing.get_args(hint) else hint
    meta_choices = info.get("choices")
    if "choices" in spec or meta_choices is not None or base is bool or base is str:
        return _categorical_spec(name, spec, base, meta_choices)
    low = spec.get("low", info.get("min"))
    high = spec.get("high", info.get("max"))
    log = bool(spec.get("log", False))
    for bound in (low, high):
        if not isinstance(bound, (int, float)) or isinstance(bound, bool):
            raise ConfigError(f"The space entry for {name} needs numeric low and high values; got {spec!r}.")
    if base is int and not (float(low).is_integer() and float(high).is_integer()):
        raise ConfigError(f"{name} is a whole number; give whole-number low and high in the space.")
    if not low < high:
        raise ConfigError(f"The space range for {name} needs low below high; got {low} and {high}.")
    if ("min" in info and low < info["min"]) or ("max" in info and high > info["max"]):
        raise ConfigError(f"The space range for {name} must lie within {info.get('min')}..{info.get('max')}; "
                          f"got {low}..{high}.")
    if log and low <= 0:
        raise ConfigError(f"A log-scaled range for {name} must start above 0; got low={low}.")
    kind = "int" if base is int else "float"
    return ParamSpec(name, kind, low=int(low) if kind == "int" else float(low),
                     high=int(high) if kind == "int" else float(high), log=log)


def _categorical_spec(name: str, spec: dict, base: type, meta_choices: Optional[Sequence]) -> ParamSpec:
    if "low" in spec or "high" in spec:
        raise ConfigError(f"{name} takes choices, not a low/high range, in the space.")
    default = list(meta_choices) if meta_choices is not None else ([True, False] if base is bool else None)
    choices = spec.get("choices", default)
    if not isinstance(choices, list) or not choices:
        raise ConfigError(f"The space entry for {name} needs a non-empty list of choices.")
    for choice in choices:
        if meta_choices is not None and choice not in meta_choices:
            raise ConfigError(f"{choice!r} is not a choice of {name}; "
                              f"its choices are {', '.join(map(str, meta_choices))}.")
        if base is bool and not isinstance(choice, bool):
            raise ConfigError(f"{name} is on/off; its choices in the space must be true and/or false, not {choice!r}.")
        if base in (int, float) and (isinstance(choice, bool) or not isinstance(choice, (int, float))):
            raise ConfigError(f"{name} is a number; its choices in the space must be numbers, not {choice!r}.")
    return ParamSpec(name, "categorical", choices=tuple(dict.fromkeys(choices)))


def _override_literal(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
