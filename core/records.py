"""Typed result records that cross a file or process boundary (metrics.json, run.json, the triage report).

A record is a frozen dataclass; :class:`Record` gives it ``to_dict`` (plain JSON values, NaN/inf as null) and
``from_dict`` (nested records rebuilt from their type hints, scalars of another JSON type converted: "3" → 3). It
ignores keys it does not know and fills missing ones from defaults, so records written by an older or newer version
still load; a missing required key is a ValueError that names it. Checks a record's values must pass belong in its
``__post_init__``, so a record built in code and one read from a file are checked alike.

A field's metadata may say how it travels, where its JSON is not simply its value's:

* ``"json"``: its JSON key, when that is not the field's name (e.g. "class", a Python keyword);
* ``"dump"``: a function from the field's value to what the JSON holds (the result is made plain as above);
* ``"load"``: a function from the JSON value back to the field's value, used instead of the type hint's conversion
  (e.g. a JSON null read back as NaN, or a nested object read by its own parser).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, TypeVar, Union, get_args, get_origin

import numpy as np

RecordT = TypeVar("RecordT", bound="Record")


def _plain(value: Any) -> Any:
    """JSON-safe values: records and NumPy scalars/arrays converted, NaN/inf as None, dict keys as text."""
    if isinstance(value, Record):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


class Record:
    """Mixin for frozen dataclasses that travel as JSON."""

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value, dump = getattr(self, f.name), f.metadata.get("dump")
            out[f.metadata.get("json", f.name)] = _plain(value if dump is None else dump(value))
        return out

    @classmethod
    def from_dict(cls: type[RecordT], raw: Any) -> RecordT:
        return _build(cls, raw)


def _build(cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ValueError(f"{cls.__name__} needs a JSON object, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        key, load = f.metadata.get("json", f.name), f.metadata.get("load")
        if key in raw:
            try:
                values[f.name] = _convert(raw[key], hints[f.name]) if load is None else load(raw[key])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{cls.__name__}.{key}: {exc}") from None
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{cls.__name__} is missing {key!r}")
    return cls(**values)


def _convert(value: Any, hint: Any) -> Any:
    """A JSON value shaped by a type hint: nested records, Optional, lists/tuples and dicts of them, int dict keys."""
    if value is None:
        return None
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _convert(value, options[0]) if len(options) == 1 else value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value)
    if origin in (list, typing.List):
        return [_convert(v, args[0]) for v in value] if args else list(value)
    if origin in (tuple, typing.Tuple):
        if args and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0]) for v in value)
        return tuple(value)
    if origin in (dict, typing.Dict) and args:
        key_type, value_type = args
        return {(int(k) if key_type is int else k): _convert(v, value_type) for k, v in value.items()}
    if hint in (int, float, str) and not isinstance(value, (hint, bool)) and isinstance(value, (int, float, str)):
        return hint(value)  # a scalar of another JSON type: "3" → 3, 2 → 2.0, 7 → "7"; "x" for an int is a ValueError
    return value
