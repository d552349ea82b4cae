"""Registries: one record per choice a user can make (a resampler, an optimizer, a schedule, a normalizer, an
attention kind), so that adding a choice is one record plus its tests.

A record carries everything the rest of the lab needs to know about the choice — its title and what/when/risk
texts (widgets, explanations), the config settings it uses (which fields a page shows), and how its object is made
(factories import heavy libraries only when called). Config validation, widget choices, the CLI's schema,
estimates and previews all read the registry at the moment they need it, so a record registered later (a test's
fake strategy) appears everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Iterator, Protocol, TypeVar

from core.errors import ConfigError


class Choice(Protocol):
    """What every record has: its key (the config value), a title, its texts, and the settings it reads (fields of
    the same config section, shown by the pages only while this choice is selected)."""

    key: str
    title: str
    texts: "Texts"
    settings: tuple[str, ...]


@dataclass(frozen=True)
class Texts:
    """What a choice does, when it helps and what it risks: one sentence each, shown next to the widget."""

    what: str
    when: str
    risk: str


RecordT = TypeVar("RecordT", bound=Choice)


class Registry(Generic[RecordT]):
    """An ordered collection of records keyed by ``record.key``; its errors list the valid choices.

    ``field`` names the config setting the registry supplies choices for (e.g. ``"resampling.strategy"``), so
    error sentences point at the setting a user can change.
    """

    def __init__(self, field: str, noun: str) -> None:
        self.field = field
        self.noun = noun
        self._records: dict[str, RecordT] = {}

    def register(self, record: RecordT) -> RecordT:
        if not record.key or record.key != record.key.strip():
            raise ValueError(f"a {self.noun} needs a non-empty key without surrounding spaces, got {record.key!r}")
        if record.key in self._records:
            raise ValueError(f"{self.noun} {record.key!r} is registered twice")
        self._records[record.key] = record
        return record

    def unregister(self, key: str) -> None:
        """Remove a record (tests that register a fake choice clean up with this)."""
        self._records.pop(key, None)

    def get(self, key: str) -> RecordT:
        try:
            return self._records[key]
        except KeyError:
            raise ConfigError(f"{self.field} must be one of {', '.join(self._records)}; got {key!r}.") from None

    def keys(self) -> tuple[str, ...]:
        return tuple(self._records)

    def title(self, key: str) -> str:
        record = self._records.get(key)
        return record.title if record is not None else key

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[RecordT]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)
