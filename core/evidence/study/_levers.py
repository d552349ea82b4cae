"""A lever study's answer: each lever against the reference with the same seeds (paired differences in validation
macro-F1, a verdict under :data:`VERDICT_RULE`), then one config combining the levers that helped, scored with the
reference on the sealed test split."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from core.config import ExperimentConfig
from core.errors import ConfigError
from core.evidence.levers import Lever
from core.evidence.study._attrs import _COMBINED_ATTR, _SEALED_TEST
from core.evidence.study._executors import StopSignal, TrialExecutor
from core.evidence.study._loop import run_study
from core.evidence.study._plan import ARM_COMBINED, ARM_REFERENCE, KIND_LEVERS, CombinedPlan
from core.evidence.study._progress import StudyProgress
from core.evidence.study._racing import STOP_OPEN, finished_by_arm, race_state, seeding_words, stop_words, values_by_arm
from core.evidence.study._scores import OBJECTIVE
from core.evidence.study._storage import StudyHandle, _optuna
from core.evidence.study._verdict import HELPS, VERDICT_RULE, paired_verdict
from core.records import Record


@dataclass(frozen=True)
class LeverRow(Record):
    """One lever against the reference: paired differences (lever − reference) in validation macro-F1."""

    key: str
    title: str
    category: str
    overrides: tuple[str, ...]
    n: int
    mean_delta: Optional[float]
    sd_delta: Optional[float]
    interval: Optional[tuple[float, float]]
    mean_value: Optional[float]
    deltas: tuple[float, ...]
    seeds: tuple[int, ...]
    verdict: str
    stopped_by: str = STOP_OPEN  # why the lever stopped getting seeds (core.evidence.study._racing), "" while it runs
    stop_reason: str = ""  # the same, and after how many seeds, in words


@dataclass(frozen=True)
class LeverTable(Record):
    """A lever study's answer: rows sorted by mean difference, best first; ``rule`` is the verdict rule in words,
    ``seeding`` how the study spent seeds (racing or exhaustive). ``done``/``planned`` count the lever-phase runs
    finished and queued so far; ``most`` is what running every lever on every seed takes."""

    study: str
    objective: str
    rule: str
    seeds: tuple[int, ...]
    reference_mean: Optional[float]
    reference_sd: Optional[float]
    reference_n: int
    rows: tuple[LeverRow, ...]
    complete: bool
    done: int
    planned: int
    seeding: str = ""
    most: int = 0


def _row(key: str, title: str, category: str, overrides: Sequence[str], values: Mapping[int, float],
         reference: Mapping[int, float], stopped_by: str = STOP_OPEN, stop_reason: str = "") -> LeverRow:
    seeds = tuple(sorted(set(values) & set(reference)))
    deltas = tuple(values[s] - reference[s] for s in seeds)
    verdict, low, high = paired_verdict(deltas)
    return LeverRow(
        key=key, title=title, category=category, overrides=tuple(overrides), n=len(deltas),
        mean_delta=statistics.fmean(deltas) if deltas else None,
        sd_delta=statistics.stdev(deltas) if len(deltas) > 1 else None,
        interval=(low, high) if low is not None else None,
        mean_value=statistics.fmean(values.values()) if values else None,
        deltas=deltas, seeds=seeds, verdict=verdict, stopped_by=stopped_by, stop_reason=stop_reason,
    )


def lever_results(handle: StudyHandle) -> LeverTable:
    """The paired table of a lever study (partial while trials remain). Reads validation scores only."""
    if handle.kind != KIND_LEVERS:
        raise ConfigError(f"{handle.name!r} is a {handle.kind}, not a lever study; read it with sweep_results.")
    plan, trials = handle.plan, handle.trials()
    values = values_by_arm(trials)
    reference = values.get(ARM_REFERENCE, {})
    races = race_state(handle, trials).levers
    rows = []
    for lever in plan.levers:
        race = races.get(lever.key)
        stopped_by = race.stopped_by if race is not None else STOP_OPEN
        runs = values.get(lever.key, {})
        reason = stop_words(stopped_by, len(set(runs) & set(reference)), len(plan.seeds))
        rows.append(_row(lever.key, lever.title, lever.category, lever.overrides, runs, reference, stopped_by, reason))
    rows.sort(key=lambda row: (row.mean_delta is None, -(row.mean_delta or 0.0)))
    done, planned = _lever_phase_runs(handle, trials)
    over = all(row.stopped_by != STOP_OPEN for row in rows)
    ref_values = list(reference.values())
    return LeverTable(
        study=handle.name, objective=OBJECTIVE, rule=VERDICT_RULE, seeds=plan.seeds,
        reference_mean=statistics.fmean(ref_values) if ref_values else None,
        reference_sd=statistics.stdev(ref_values) if len(ref_values) > 1 else None, reference_n=len(ref_values),
        rows=tuple(rows), complete=over and done == planned, done=done, planned=planned, seeding=seeding_words(plan),
        most=len(plan.seeds) * (len(plan.levers) + 1),
    )


def _lever_phase_runs(handle: StudyHandle, trials: Sequence[Any]) -> tuple[int, int]:
    """(finished, queued) lever-phase runs: one per (arm, seed) of the reference and the levers, not the combined
    config; a retry counts with its original. An exhaustive study queued all of its plan's runs when created."""
    queued = {(t.user_attrs["arm"], int(t.user_attrs["seed"])) for t in trials
              if t.user_attrs.get("arm") not in (None, ARM_COMBINED)}
    finished = {(arm, seed) for arm, seeds in finished_by_arm(trials).items() if arm != ARM_COMBINED for seed in seeds}
    planned = len(queued) if handle.plan.racing is not None else max(len(queued), handle.plan.planned)
    return len(finished & queued), planned


def plan_combination(table: LeverTable, levers: Sequence[Lever], base: ExperimentConfig,
                     include: Optional[Sequence[str]] = None) -> CombinedPlan:
    """One config from the levers that helped (or those named in ``include``), best first; a lever changing a setting
    an earlier one already changed, or making the config invalid, is skipped with the reason."""
    by_key = {lever.key: lever for lever in levers}
    if include is not None:
        unknown = [key for key in include if key not in by_key]
        if unknown:
            raise ConfigError(f"{unknown[0]!r} is not a lever of this study; choose from {', '.join(by_key)}.")
        chosen = list(include)
    else:
        chosen = [row.key for row in table.rows if row.verdict == HELPS]
    config, applied, skipped, taken = base, [], [], set()
    for key in chosen:
        lever = by_key[key]
        clash = taken & set(lever.fields)
        if clash:
            skipped.append((key, f"changes {', '.join(sorted(clash))}, which an earlier lever already changed"))
            continue
        try:
            candidate = lever.apply(config)
        except ConfigError as exc:
            skipped.append((key, f"does not combine with the earlier levers: {exc}"))
            continue
        config, taken = candidate, taken | set(lever.fields)
        applied.append(key)
    return CombinedPlan(tuple(applied), tuple(skipped), config.to_dict())


@dataclass(frozen=True)
class ArmScore(Record):
    """Mean ± sd of one config's sealed test macro-F1 over the study's seeds."""

    mean: Optional[float]
    sd: Optional[float]
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "ArmScore":
        values = [v for v in values if v is not None]
        return cls(statistics.fmean(values) if values else None,
                   statistics.stdev(values) if len(values) > 1 else None, len(values))


@dataclass(frozen=True)
class SealedScores(Record):
    """The sealed test split's scores: the reference, the combined config (None when nothing was combined) and the
    TF-IDF baseline on the same splits (JSON key ``test`` of a :class:`CombinedResult`)."""

    reference: ArmScore
    combined: Optional[ArmScore]
    baseline: ArmScore


@dataclass(frozen=True)
class CombinedResult(Record):
    """The combined config against the reference: paired validation difference (same rule), then the sealed test
    split — scored only for these two configs — as mean ± sd test macro-F1 with the TF-IDF baseline on the same
    splits."""

    study: str
    plan: CombinedPlan
    validation: Optional[LeverRow]
    test: SealedScores
    per_seed: tuple[dict, ...]
    note: str
    baseline_fitted_on: Optional[str] = None  # which rows the TF-IDF baseline was fitted on, in words

    @property
    def test_reference(self) -> ArmScore:
        return self.test.reference

    @property
    def test_combined(self) -> Optional[ArmScore]:
        return self.test.combined

    @property
    def test_baseline(self) -> ArmScore:
        return self.test.baseline


def combine_helpers(
    handle: StudyHandle,
    executor: TrialExecutor,
    *,
    include: Optional[Sequence[str]] = None,
    progress: Optional[Callable[[StudyProgress], None]] = None,
    stop: Optional[StopSignal] = None,
    budget_minutes: Optional[float] = None,
    check_local_pids: bool = True,
) -> CombinedResult:
    """Combine the levers that helped into one config, run it with the study's seeds (in this study, so it resumes
    like any trial), and score it and the reference — only those two — on the sealed test split."""
    table = lever_results(handle)
    if not table.complete:
        raise ConfigError(
            f"Study {handle.name!r} still has {table.planned - table.done} lever trial(s) to run; finish them (run the "
            "study again or add a worker) before combining."
        )
    existing = handle.combined_plan()
    plan = plan_combination(table, handle.plan.levers, handle.plan.base_config, include)
    if existing is not None:
        if include is not None and existing.applied != plan.applied:
            raise ConfigError(f"Study {handle.name!r} already combined {', '.join(existing.applied) or 'nothing'}; "
                              "start a new study to combine others.")
        plan = existing
    else:
        handle.study.set_user_attr(_COMBINED_ATTR, plan.to_dict())
    if plan.applied:
        # Queued after the plan is recorded; a resume queues whatever seeds a crash left unqueued.
        queued = {int(t.user_attrs["seed"]) for t in handle.trials() if t.user_attrs.get("arm") == ARM_COMBINED}
        for seed in handle.plan.seeds:
            if seed not in queued:
                handle.study.enqueue_trial({}, user_attrs={"arm": ARM_COMBINED, "seed": seed})
        run_study(handle, executor, progress=progress, stop=stop, budget_minutes=budget_minutes,
                  check_local_pids=check_local_pids)
    return combined_results(handle)


def combined_results(handle: StudyHandle) -> CombinedResult:
    """The final comparison; reads the sealed test scores of the reference and combined trials, nothing else."""
    optuna = _optuna()
    plan = handle.combined_plan()
    if plan is None:
        raise ConfigError(f"Study {handle.name!r} has not been combined yet; run combine_helpers first.")
    values = values_by_arm(handle.trials())
    sealed: dict[str, dict[int, dict]] = {}
    for trial in handle.trials():
        arm = trial.user_attrs.get("arm")
        if (trial.state == optuna.trial.TrialState.COMPLETE and arm in (ARM_REFERENCE, ARM_COMBINED)
                and _SEALED_TEST in trial.system_attrs):
            sealed.setdefault(arm, {}).setdefault(int(trial.user_attrs["seed"]), trial.system_attrs[_SEALED_TEST])
    reference, combined = sealed.get(ARM_REFERENCE, {}), sealed.get(ARM_COMBINED, {})
    per_seed = tuple(
        {"seed": seed,
         "reference": reference.get(seed, {}).get("macro_f1"),
         "combined": combined.get(seed, {}).get("macro_f1") if plan.applied else None,
         "baseline": reference.get(seed, {}).get("baseline_macro_f1")}
        for seed in handle.plan.seeds
    )
    validation = None
    if plan.applied:
        validation = _row(ARM_COMBINED, "combined: " + " + ".join(plan.applied), "combined", plan.applied,
                          values.get(ARM_COMBINED, {}), values.get(ARM_REFERENCE, {}))
        note = (f"Combined {len(plan.applied)} lever(s); the test split was scored only for the combined and reference "
                "configs, after the levers were chosen on validation.")
    else:
        note = "No lever helped beyond noise, so the reference settings stay; the test split was scored only for them."
    return CombinedResult(
        study=handle.name, plan=plan, validation=validation,
        test=SealedScores(reference=ArmScore.of([row["reference"] for row in per_seed]),
                          combined=ArmScore.of([row["combined"] for row in per_seed]) if plan.applied else None,
                          baseline=ArmScore.of([row["baseline"] for row in per_seed])),
        per_seed=per_seed, note=note,
        baseline_fitted_on=next((entry.get("baseline_fitted_on") for entry in reference.values()
                                 if entry.get("baseline_fitted_on")), None),
    )
