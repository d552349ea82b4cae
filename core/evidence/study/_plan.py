"""What a study runs, stored in the study itself (user attrs ``lab`` and ``lab_combined``) so any worker can join."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from core.config import ExperimentConfig
from core.evidence.levers import Lever
from core.evidence.study._source import DataSource
from core.evidence.study._verdict import MIN_EFFECT
from core.records import Record

KIND_LEVERS = "levers"
KIND_SWEEP = "sweep"
ARM_REFERENCE = "reference"
ARM_COMBINED = "combined"
PRUNERS = ("median", "halving", "none")


@dataclass(frozen=True)
class Racing(Record):
    """A racing lever study's rule (:mod:`core.evidence.study._racing`): ``start_seeds`` seeds for every lever, then
    each round keeps the strongest ``1/keep`` of the levers whose verdict is still open and doubles their seeds."""

    rule: str = "successive halving"
    start_seeds: int = 1
    keep: int = 3

    def __post_init__(self) -> None:
        if self.rule != "successive halving":
            raise ValueError(f"unknown racing rule {self.rule!r}")
        if self.start_seeds < 1 or self.keep < 2:
            raise ValueError("racing needs at least 1 starting seed and keeps 1/keep of the open levers, keep >= 2")

    def words(self, seeds: int) -> str:
        start = f"{min(self.start_seeds, seeds)} seed{'s' if min(self.start_seeds, seeds) > 1 else ''}"
        return (
            f"Racing (successive halving over seeds; Jamieson & Talwalkar 2016, Li et al. 2017): every lever starts on "
            f"{start} and the reference runs all {seeds}; after each round a lever stops once its verdict is settled "
            f"(its 90% paired interval clears zero, or lies within ±{MIN_EFFECT}), and of the levers still open the "
            f"strongest 1/{self.keep} by paired evidence go on with twice the seeds, up to {seeds}; "
            "the rest stop there."
        )


@dataclass(frozen=True)
class StudyPlan(Record):
    """What a study runs, stored in the study itself so any worker can take part. Its JSON (user attr ``lab``) is a
    file format: a key is never renamed, and a plan without a key a later release added reads as that key's default."""

    kind: str
    config: dict  # the base ExperimentConfig
    data: DataSource
    planned: int  # trials the study was created with, at most (a lever study's combined seeds come on top)
    created: str
    seeds: tuple[int, ...] = ()
    levers: tuple[Lever, ...] = ()
    space: Optional[dict] = None  # SearchSpace.to_dict()
    pruner: str = "none"
    version: int = 1
    racing: Optional[Racing] = None  # a lever study's racing rule; None (and every plan written before it): exhaustive

    @property
    def base_config(self) -> ExperimentConfig:
        return ExperimentConfig.from_dict(self.config)


@dataclass(frozen=True)
class CombinedPlan(Record):
    """The one config combining the levers that helped (in table order, skipping a lever whose setting is taken)."""

    applied: tuple[str, ...]  # lever keys
    skipped: tuple[tuple[str, str], ...]  # (lever key, why)
    config: dict
