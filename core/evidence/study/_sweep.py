"""A sweep's answer: its trials, the best trial and its config, parameter importance and parallel coordinates."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

from core.config import ExperimentConfig
from core.errors import ConfigError
from core.evidence.study._attrs import _RETRY_OF
from core.evidence.study._plan import KIND_SWEEP
from core.evidence.study._progress import _slots
from core.evidence.study._space import SearchSpace, _short
from core.evidence.study._storage import StudyHandle, _optuna
from core.records import Record

MIN_IMPORTANCE_TRIALS = 5


@dataclass(frozen=True)
class TrialRow(Record):
    number: int
    state: str  # COMPLETE | PRUNED | FAIL | RUNNING | WAITING
    value: Optional[float]
    params: dict
    duration_s: Optional[float]
    run_dir: Optional[str]
    retry_of: Optional[int]
    arm: Optional[str]
    seed: Optional[int]
    error: Optional[str]


def trial_rows(handle: StudyHandle) -> list[TrialRow]:
    rows = []
    for trial in handle.trials():
        duration = trial.user_attrs.get("duration_s")
        if duration is None and trial.datetime_start and trial.datetime_complete:
            duration = round((trial.datetime_complete - trial.datetime_start).total_seconds(), 2)
        rows.append(TrialRow(
            number=trial.number, state=trial.state.name, value=trial.value, params=dict(trial.params),
            duration_s=duration, run_dir=trial.user_attrs.get("run_dir"), retry_of=trial.system_attrs.get(_RETRY_OF),
            arm=trial.user_attrs.get("arm"), seed=trial.user_attrs.get("seed"), error=trial.user_attrs.get("error"),
        ))
    return rows


@dataclass(frozen=True)
class SweepResult(Record):
    """A sweep's trials, best trial and config, parameter importance (None with a reason when there are too few
    trials), and parallel-coordinates data: ``parallel`` rows ``{trial, axis, value, position (0..1), objective}``
    in long form, one line per trial across ``axes`` (the searched settings, then "objective")."""

    study: str
    planned: int
    done: int
    trials: tuple[TrialRow, ...]
    best: Optional[TrialRow]
    best_config: Optional[dict]
    importances: Optional[dict[str, float]]
    importance_note: str
    axes: tuple[dict, ...]
    parallel: tuple[dict, ...]

    @property
    def best_experiment_config(self) -> Optional[ExperimentConfig]:
        return ExperimentConfig.from_dict(self.best_config) if self.best_config else None


def sweep_results(handle: StudyHandle) -> SweepResult:
    if handle.kind != KIND_SWEEP:
        raise ConfigError(f"{handle.name!r} is a {handle.kind} study, not a sweep; read it with lever_results.")
    rows = trial_rows(handle)
    complete = [row for row in rows if row.state == "COMPLETE" and row.value is not None]
    best = max(complete, key=lambda row: (row.value, -row.number)) if complete else None
    space = SearchSpace.from_dict(handle.plan.space)
    best_config = space.config_for(handle.plan.base_config, best.params).to_dict() if best else None
    importances, note = _importances(handle, len(complete))
    axes, parallel = _parallel_coordinates(space, complete)
    slots = _slots(handle)
    return SweepResult(handle.name, slots.planned, slots.done, tuple(rows), best, best_config, importances, note, axes,
                       parallel)


def _importances(handle: StudyHandle, completed: int) -> tuple[Optional[dict[str, float]], str]:
    if completed < MIN_IMPORTANCE_TRIALS:
        return None, (f"Parameter importance needs at least {MIN_IMPORTANCE_TRIALS} completed trials; "
                      f"this sweep has {completed}.")
    optuna = _optuna()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            importances = optuna.importance.get_param_importances(handle.study)
        except (ValueError, RuntimeError) as exc:
            return None, f"Parameter importance is not available yet ({exc})."
    if any("will be equal" in str(w.message) for w in caught):
        return None, "Too few distinct results yet to tell the settings apart."
    return ({name: float(value) for name, value in importances.items()},
            "PED-ANOVA importance over the completed trials (sums to 1).")


def _parallel_coordinates(
    space: SearchSpace, complete: Sequence[TrialRow]
) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    axes = [{"name": spec.name, "kind": spec.kind, "low": spec.low, "high": spec.high, "log": spec.log,
             "choices": list(spec.choices) if spec.choices else None} for spec in space.params]
    axes.append({"name": "objective", "kind": "objective", "low": None, "high": None, "log": False, "choices": None})
    values = [row.value for row in complete]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    rows = []
    for row in complete:
        for spec in space.params:
            if spec.name in row.params:
                value = row.params[spec.name]
                rows.append({"trial": row.number, "axis": spec.name, "value": value, "label": _short(value),
                             "position": spec.position(value), "objective": row.value})
        rows.append({"trial": row.number, "axis": "objective", "value": row.value, "label": f"{row.value:.3f}",
                     "position": (row.value - low) / (high - low) if high > low else 0.5, "objective": row.value})
    return tuple(axes), tuple(rows)
