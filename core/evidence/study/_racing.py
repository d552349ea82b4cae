"""Racing levers: a lever study spends seeds where a verdict is still open.

The rule (:class:`Racing`, stored in the study's plan, so a resumed study and every worker follow the same one) is
successive halving over seeds (Jamieson & Talwalkar 2016, "Non-stochastic best arm identification and
hyperparameter optimization"; Li et al. 2017, "Hyperband") with the study's own paired verdict as the stopping test:

1. The reference runs every seed once (shared by every lever, as in an exhaustive study); every lever starts on
   ``start_seeds`` seed(s).
2. When every lever still racing has its seeds, each one is judged under :data:`VERDICT_RULE` on those seeds. A lever
   stops when its verdict is settled: its 90% paired interval lies above or below zero (it helps or hurts: a lever
   that is clearly worse is dropped here), or lies within ±:data:`MIN_EFFECT` (no effect worth having).
3. Of the levers still open (their interval straddles zero or the threshold), the ``1/keep`` with the strongest
   paired evidence — the absolute mean difference over its standard error; the absolute difference after one seed —
   go on with twice the seeds (capped at the study's seeds); the others stop ("halved").
4. A lever that reaches the study's seeds stops there; a lever whose run failed stops with the seeds it has.

Verdicts keep their meaning: each lever's verdict is :func:`paired_verdict` of the seeds it ran, exactly as in an
exhaustive study. Every decision depends only on finished runs and the plan, and is recomputed from them, so the race
is the same whichever worker (or how many) ran the trials, and whenever the study was resumed. A plan without the
rule (every plan written before it existed) is exhaustive: every lever runs every seed.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from core.evidence.study._plan import ARM_REFERENCE, KIND_LEVERS, Racing, StudyPlan
from core.evidence.study._verdict import MIN_EFFECT, WITHIN_NOISE, paired_verdict

if TYPE_CHECKING:
    from core.evidence.study._storage import StudyHandle

# Why a lever stopped (LeverRow.stopped_by): codes in --json, words on the page (stop_words).
STOP_SETTLED = "settled"  # its interval cleared zero: helps or hurts
STOP_NO_EFFECT = "no effect"  # its interval lies within ±MIN_EFFECT
STOP_HALVED = "halved"  # outside the strongest 1/keep of the open levers
STOP_ALL_SEEDS = "all seeds"  # ran every seed of the study
STOP_FAILED = "failed"  # a run failed, so the lever stopped with the seeds it has
STOP_OPEN = ""  # still racing (or, in an exhaustive study, seeds still to run)

EXHAUSTIVE_RULE = "Exhaustive: every lever runs every seed of the study."


def most_runs(levers: int, seeds: int, racing: Optional[Racing]) -> int:
    """The most lever-phase runs a study can take: every lever on every seed when exhaustive; when racing, the
    reference's seeds plus every lever's first round and the strongest 1/keep of each round going on (levers that
    settle early only make it fewer)."""
    if racing is None:
        return seeds * (levers + 1)
    total, alive, given = seeds, levers, min(racing.start_seeds, seeds)
    total += alive * given
    while alive and given < seeds:
        alive, step = math.ceil(alive / racing.keep), min(seeds, 2 * given) - given
        total, given = total + alive * step, given + step
    return total


def seeding_words(plan: StudyPlan) -> str:
    """How the study spends seeds, in one paragraph (its rule, or exhaustive)."""
    return plan.racing.words(len(plan.seeds)) if plan.racing is not None else EXHAUSTIVE_RULE


def stop_words(stopped_by: str, seeds_run: int, seeds: int) -> str:
    """Why a lever stopped, and after how many seeds, in words."""
    after = f"after {seeds_run} of {seeds} seed{'s' if seeds != 1 else ''}"
    return {
        STOP_SETTLED: f"settled {after}: its interval cleared zero",
        STOP_NO_EFFECT: f"settled {after}: its interval lies within ±{MIN_EFFECT}",
        STOP_HALVED: f"stopped {after}: weaker evidence than the levers that went on",
        STOP_ALL_SEEDS: f"ran all {seeds} seeds" if seeds != 1 else "ran the study's one seed",
        STOP_FAILED: f"stopped {after}: a run failed",
    }.get(stopped_by, f"running: {seeds_run} of {seeds} seeds so far")


@dataclass(frozen=True)
class LeverRace:
    """Where one lever stands: the plan's first ``given`` seeds are (or will be) run for it; ``stopped_by`` is
    :data:`STOP_OPEN` while it races."""

    key: str
    given: int
    stopped_by: str = STOP_OPEN


@dataclass(frozen=True)
class RaceState:
    levers: dict[str, LeverRace]
    wanted: tuple[tuple[str, int], ...]  # (arm, seed) trials the race needs queued, in order

    @property
    def over(self) -> bool:
        return all(race.stopped_by != STOP_OPEN for race in self.levers.values())


def _strength(deltas: Sequence[float]) -> float:
    """How close a lever is to a verdict: |mean| over its standard error (|difference| after one seed)."""
    mean = statistics.fmean(deltas)
    if len(deltas) < 2:
        return abs(mean)
    sd = statistics.stdev(deltas)
    return math.inf if sd == 0 else abs(mean) / (sd / math.sqrt(len(deltas)))


def _settled(deltas: Sequence[float]) -> Optional[str]:
    verdict, low, high = paired_verdict(deltas)
    if verdict != WITHIN_NOISE:
        return STOP_SETTLED
    if low is not None and -MIN_EFFECT < low and high < MIN_EFFECT:
        return STOP_NO_EFFECT
    return None


def race(levers: Sequence[str], seeds: Sequence[int], racing: Racing, values: Mapping[str, Mapping[int, float]],
         finished: Mapping[str, set]) -> RaceState:
    """The race from scratch, given the finished runs: ``values[arm][seed]`` (validation scores of completed runs)
    and ``finished[arm]`` (seeds whose run is over, completed or failed for good). Pure: no Optuna."""
    seeds = tuple(seeds)
    reference, done = values.get(ARM_REFERENCE, {}), finished.get(ARM_REFERENCE, set())
    wanted = [(ARM_REFERENCE, seeds[0])]
    states: dict[str, LeverRace] = {}
    alive, given = list(levers), min(racing.start_seeds, len(seeds))
    while alive:
        round_seeds = seeds[:given]
        wanted += [(key, seed) for seed in round_seeds for key in alive]
        if (not all(seed in done for seed in round_seeds)
                or not all(seed in finished.get(key, set()) for key in alive for seed in round_seeds)):
            states.update((key, LeverRace(key, given)) for key in alive)
            break
        open_: list[tuple[float, int, str]] = []
        for order, key in enumerate(alive):
            runs = values.get(key, {})
            if not all(seed in runs and seed in reference for seed in round_seeds):
                states[key] = LeverRace(key, given, STOP_FAILED)
                continue
            deltas = [runs[seed] - reference[seed] for seed in round_seeds]
            stop = _settled(deltas) or (STOP_ALL_SEEDS if given >= len(seeds) else None)
            if stop:
                states[key] = LeverRace(key, given, stop)
            else:
                open_.append((-_strength(deltas), order, key))
        open_.sort()
        going = math.ceil(len(open_) / racing.keep)
        states.update((key, LeverRace(key, given, STOP_HALVED)) for _, _, key in open_[going:])
        alive = [key for _, _, key in sorted(open_[:going], key=lambda item: item[1])]
        given = min(len(seeds), 2 * given)
    wanted += [(ARM_REFERENCE, seed) for seed in seeds[1:]]
    return RaceState(states, tuple(dict.fromkeys(wanted)))


def exhaustive_state(levers: Sequence[str], seeds: Sequence[int], finished: Mapping[str, set]) -> RaceState:
    """An exhaustive study seen the same way: every lever is given every seed and stops when all have run."""
    states = {key: LeverRace(key, len(seeds), STOP_ALL_SEEDS if set(seeds) <= finished.get(key, set()) else STOP_OPEN)
              for key in levers}
    wanted = tuple((arm, seed) for seed in seeds for arm in (ARM_REFERENCE, *levers))
    return RaceState(states, wanted)


def values_by_arm(trials: Sequence[Any]) -> dict[str, dict[int, float]]:
    """Validation objective per (arm, seed) from COMPLETE lever-study trials (Optuna's FrozenTrial)."""
    values: dict[str, dict[int, float]] = {}
    for trial in trials:
        if trial.state.name == "COMPLETE" and "arm" in trial.user_attrs:
            values.setdefault(trial.user_attrs["arm"], {}).setdefault(int(trial.user_attrs["seed"]), float(trial.value))
    return values


def finished_by_arm(trials: Sequence[Any]) -> dict[str, set]:
    """Seeds per arm whose run is over: completed, or failed with no retry queued or running."""
    by_slot: dict[tuple[str, int], list] = {}
    for trial in trials:
        if "arm" in trial.user_attrs:
            by_slot.setdefault((trial.user_attrs["arm"], int(trial.user_attrs["seed"])), []).append(trial)
    finished: dict[str, set] = {}
    for (arm, seed), group in by_slot.items():
        if any(t.state.name == "COMPLETE" for t in group) or all(t.state.is_finished() for t in group):
            finished.setdefault(arm, set()).add(seed)
    return finished


def race_state(handle: "StudyHandle", trials: Optional[Sequence[Any]] = None) -> RaceState:
    """Where a lever study's levers stand (racing or exhaustive), from its finished trials."""
    trials = handle.trials() if trials is None else trials
    plan, finished = handle.plan, finished_by_arm(trials)
    keys = [lever.key for lever in plan.levers]
    if plan.racing is None:
        return exhaustive_state(keys, plan.seeds, finished)
    return race(keys, plan.seeds, plan.racing, values_by_arm(trials), finished)


def advance_race(handle: "StudyHandle") -> int:
    """Queue the trials a racing study's next round needs (none for an exhaustive study); returns how many.

    Two workers deciding at once may queue the same trial twice: the later copy is skipped as surplus when asked
    (:func:`core.evidence.study._loop._is_surplus`), so each (lever, seed) runs once."""
    if handle.kind != KIND_LEVERS or handle.plan.racing is None:
        return 0
    trials = handle.trials()
    queued = {(t.user_attrs["arm"], int(t.user_attrs["seed"])) for t in trials if "arm" in t.user_attrs}
    count = 0
    for arm, seed in race_state(handle, trials).wanted:
        if (arm, seed) not in queued:
            handle.study.enqueue_trial({}, user_attrs={"arm": arm, "seed": seed})
            count += 1
    return count
