"""What a study runs, stored in the study itself (user attrs ``lab`` and ``lab_combined``) so any worker can join."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from core.config import ExperimentConfig
from core.evidence.levers import Lever
from core.evidence.study._source import DataSource
from core.records import Record

KIND_LEVERS = "levers"
KIND_SWEEP = "sweep"
ARM_REFERENCE = "reference"
ARM_COMBINED = "combined"
PRUNERS = ("median", "halving", "none")


@dataclass(frozen=True)
class StudyPlan(Record):
    """What a study runs, stored in the study itself so any worker can take part. Its JSON (user attr ``lab``) is a
    file format: a key is never renamed, and a plan without a key a later release added reads as that key's default."""

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


@dataclass(frozen=True)
class CombinedPlan(Record):
    """The one config combining the levers that helped (in table order, skipping a lever whose setting is taken)."""

    applied: tuple[str, ...]  # lever keys
    skipped: tuple[tuple[str, str], ...]  # (lever key, why)
    config: dict
