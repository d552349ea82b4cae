"""What a study runs, stored in the study itself (user attrs ``lab`` and ``lab_combined``) so any worker can join."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from core.config import ExperimentConfig
from core.evidence.levers import Lever
from core.evidence.study._source import DataSource

KIND_LEVERS = "levers"
KIND_SWEEP = "sweep"
ARM_REFERENCE = "reference"
ARM_COMBINED = "combined"
PRUNERS = ("median", "halving", "none")


@dataclass(frozen=True)
class StudyPlan:
    """What a study runs, stored in the study itself so any worker can take part."""

    kind: str
    config: dict  # the base ExperimentConfig
    data: DataSource
    planned: int  # trials the study was created with (a lever study's combined seeds come on top)
    created: str
    seeds: tuple[int, ...] = ()
    levers: tuple[Lever, ...] = ()
    space: Optional[dict] = None  # SearchSpace.to_dict()
    pruner: str = "none"
    version: int = 1

    @property
    def base_config(self) -> ExperimentConfig:
        return ExperimentConfig.from_dict(self.config)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version, "kind": self.kind, "config": self.config, "data": self.data.to_dict(),
            "planned": self.planned, "created": self.created, "seeds": list(self.seeds),
            "levers": [lever.to_dict() for lever in self.levers], "space": self.space, "pruner": self.pruner,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "StudyPlan":
        return cls(
            kind=raw["kind"], config=raw["config"], data=DataSource.from_dict(raw["data"]), planned=int(raw["planned"]),
            created=raw["created"], seeds=tuple(raw.get("seeds", ())), levers=tuple(Lever.from_dict(x) for x in raw.get("levers", ())),
            space=raw.get("space"), pruner=raw.get("pruner", "none"), version=int(raw.get("version", 1)),
        )


@dataclass(frozen=True)
class CombinedPlan:
    """The one config combining the levers that helped (in table order, skipping a lever whose setting is taken)."""

    applied: tuple[str, ...]  # lever keys
    skipped: tuple[tuple[str, str], ...]  # (lever key, why)
    config: dict

    def to_dict(self) -> dict[str, Any]:
        return {"applied": list(self.applied), "skipped": [list(s) for s in self.skipped], "config": self.config}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "CombinedPlan":
        return cls(tuple(raw["applied"]), tuple((k, why) for k, why in raw["skipped"]), raw["config"])
