"""The worker loop (like Optuna's ``_optimize``): ask for a trial, run it through an executor with its heartbeat
beating, tell its result; wait for other workers' trials, recover dead ones, stop on request or at a time budget.
Several workers, in one process or many, may run one study at once (crash safety:
:mod:`core.evidence.study._heartbeat`)."""

from __future__ import annotations

import dataclasses
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

from core.config import ExperimentConfig
from core.errors import ConfigError, DataError, UserError
from core.evidence.study._attrs import _RETRY_OF, _SEALED_TEST, _SURPLUS, _WORKER
from core.evidence.study._executors import StopSignal, TrialExecutor, TrialFailed, TrialRequest
from core.evidence.study._heartbeat import Heartbeat, _enqueue_retry, recover_stale_trials, worker_id
from core.evidence.study._plan import ARM_COMBINED, ARM_REFERENCE, KIND_LEVERS, KIND_SWEEP
from core.evidence.study._progress import StudyProgress, _slots
from core.evidence.study._racing import advance_race
from core.evidence.study._scores import _epoch_score, _sealed_test_scores, objective_value
from core.evidence.study._space import SearchSpace, _short
from core.evidence.study._storage import StudyHandle, _optuna
from core.records import Record


@dataclass(frozen=True)
class SessionSummary(Record):
    """What one :func:`run_study` call did. ``reason``: "finished", "stopped" or "budget"."""

    study: str
    worker: str
    trials_run: int
    reason: str
    done: int
    planned: int


class _EitherStop:
    """The run's stop flag: the user's Stop or the pruner's verdict."""

    def __init__(self, *signals: Optional[StopSignal]) -> None:
        self.signals = [s for s in signals if s is not None]

    def is_set(self) -> bool:
        return any(signal.is_set() for signal in self.signals)


def run_study(
    handle: StudyHandle,
    executor: TrialExecutor,
    *,
    progress: Optional[Callable[[StudyProgress], None]] = None,
    stop: Optional[StopSignal] = None,
    budget_minutes: Optional[float] = None,
    check_local_pids: bool = True,
) -> SessionSummary:
    """Run the study's trials in this worker until none is left (waiting for other workers' running trials, and
    retrying theirs once if they die), until ``stop`` is set, or until ``budget_minutes`` have passed (no new trial
    starts after that). Works for both kinds; several workers may run one study at once."""
    if executor.data_hash != handle.plan.data.data_hash:
        raise DataError(
            f"The data given is not the data study {handle.name!r} was started with (its hash differs); "
            f"give the same data ({handle.plan.data.source_name}) or start a new study."
        )
    if budget_minutes is not None and budget_minutes <= 0:
        raise ConfigError(f"--budget-minutes must be above 0; got {budget_minutes}.")
    me = worker_id()
    deadline = time.monotonic() + budget_minutes * 60 if budget_minutes else None
    emit = progress or (lambda event: None)
    trials_run, reason, waiting_for = 0, "finished", None
    while True:
        if stop is not None and stop.is_set():
            reason = "stopped"
            break
        if deadline is not None and time.monotonic() >= deadline:
            reason = "budget"
            break
        recover_stale_trials(handle, check_local_pids=check_local_pids, progress=emit)
        advance_race(handle)  # a racing lever study queues its next round once the last one has finished
        slots = _slots(handle)
        if slots.waiting or slots.can_ask:
            waiting_for = None
            if _run_one_trial(handle, executor, me, emit, stop):
                trials_run += 1
            continue
        if slots.running:
            numbers = tuple(t.number for t in slots.running)
            if numbers != waiting_for:
                waiting_for = numbers
                emit(StudyProgress("waiting", handle.name, done=slots.done, planned=slots.planned,
                                   message=f"waiting for trial(s) {', '.join(map(str, numbers))} of other workers"))
            _sleep(stop, max(0.2, min(2.0, handle.heartbeat_s)))
            continue
        break
    final = _slots(handle)
    emit(StudyProgress("finished", handle.name, done=final.done, planned=final.planned, message=reason))
    return SessionSummary(handle.name, me, trials_run, reason, final.done, final.planned)


def _sleep(stop: Optional[StopSignal], seconds: float) -> None:
    if isinstance(stop, threading.Event):
        stop.wait(seconds)
        return
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (stop is not None and stop.is_set()):
        time.sleep(min(0.1, end - time.monotonic()))


def _is_surplus(handle: StudyHandle, frozen) -> bool:
    """A fresh trial that ask() created because the queue emptied (or the budget filled) under this worker."""
    if _RETRY_OF in frozen.system_attrs:
        return False
    if handle.kind == KIND_LEVERS:
        if "arm" not in frozen.user_attrs:
            return True
        # Two workers that judged a race round at once both queued its next trials: the later copy is surplus.
        pair = (frozen.user_attrs["arm"], frozen.user_attrs["seed"])
        return any(t.number < frozen.number and _RETRY_OF not in t.system_attrs
                   and (t.user_attrs.get("arm"), t.user_attrs.get("seed")) == pair
                   for t in handle.study.get_trials(deepcopy=False) if not t.system_attrs.get(_SURPLUS))
    earlier_fresh = [t for t in handle.study.get_trials(deepcopy=False)
                     if _RETRY_OF not in t.system_attrs and t.number <= frozen.number]
    return len(earlier_fresh) > handle.planned()


def _run_one_trial(handle: StudyHandle, executor: TrialExecutor, me: str, emit, stop: Optional[StopSignal]) -> bool:
    """Ask for a trial and run it; False when the asked trial was surplus (nothing ran)."""
    optuna = _optuna()
    state = optuna.trial.TrialState
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns that RDB heartbeats are meant for optimize(); ours are below
        trial = handle.study.ask()
    trial_id = trial._trial_id  # Optuna has no public accessor; the storage API is keyed by it
    with Heartbeat(handle, trial_id):  # the first beat at once: a RUNNING trial without one is harder to call dead
        frozen = handle.storage.get_trial(trial_id)
        if _is_surplus(handle, frozen):
            handle.storage.set_trial_system_attr(trial_id, _SURPLUS, True)
            handle.study.tell(trial, state=state.FAIL)
            return False
        # The trial number rides along: a retry copied by Optuna's callback carries the dead worker's attr until popped.
        handle.storage.set_trial_system_attr(trial_id, _WORKER, {"id": me, "trial": trial.number})
        try:
            request = _request_for(handle, trial, frozen)
        except UserError as exc:
            _finish(handle, trial, state.FAIL, {"error": str(exc)}, emit, label=f"trial {trial.number}")
            return True
        slots = _slots(handle)
        emit(StudyProgress("trial_started", handle.name, trial.number, request.label, done=slots.done,
                           planned=slots.planned))
        pruned = threading.Event()
        steps = [0]

        def on_epoch(logs: dict) -> None:
            value = _epoch_score(logs)
            if value is None:
                return
            steps[0] += 1
            trial.report(value, steps[0])
            emit(StudyProgress("epoch", handle.name, trial.number, request.label, epoch=steps[0], value=value))
            if handle.kind == KIND_SWEEP and trial.should_prune():
                pruned.set()

        try:
            outcome = executor.run(request, on_epoch=on_epoch, stop=_EitherStop(stop, pruned))
        except KeyboardInterrupt:
            _interrupted(handle, trial, {}, emit, request.label)
            raise
        except (UserError, TrialFailed) as exc:
            _finish(handle, trial, state.FAIL, {"error": str(exc)}, emit, request.label)
            return True
        except MemoryError:
            _finish(handle, trial, state.FAIL, {"error": "The run ran out of memory."}, emit, request.label)
            return True
        except Exception as exc:  # noqa: BLE001 - one broken trial must not end the study; its error is kept
            _finish(handle, trial, state.FAIL, {"error": f"{type(exc).__name__}: {exc}"}, emit, request.label)
            return True
        attrs = {"run_dir": outcome.run_dir, "duration_s": round(outcome.duration_s, 2)}
        if pruned.is_set():
            _finish(handle, trial, state.PRUNED, attrs, emit, request.label)
        elif outcome.status != "completed":
            _interrupted(handle, trial, attrs, emit, request.label)
        else:
            try:
                value = objective_value(outcome.metrics)
            except UserError as exc:
                _finish(handle, trial, state.FAIL, {**attrs, "error": str(exc)}, emit, request.label)
                return True
            system = ({_SEALED_TEST: _sealed_test_scores(outcome.metrics)}
                      if frozen.user_attrs.get("arm") in (ARM_REFERENCE, ARM_COMBINED) else {})
            _finish(handle, trial, state.COMPLETE, attrs, emit, request.label, value=value, system_attrs=system)
    return True


def _finish(handle: StudyHandle, trial, trial_state, user_attrs: dict, emit, label: str, *,
            value: Optional[float] = None, system_attrs: Optional[dict] = None) -> bool:
    """Record the trial's end; False when another worker had already given it up (its retry counts instead)."""
    optuna = _optuna()
    try:
        for key, item in user_attrs.items():
            trial.set_user_attr(key, item)
        for key, item in (system_attrs or {}).items():
            handle.storage.set_trial_system_attr(trial._trial_id, key, item)
        handle.study.tell(trial, value if trial_state == optuna.trial.TrialState.COMPLETE else None, state=trial_state)
    except optuna.exceptions.UpdateFinishedTrialError:
        emit(StudyProgress("trial_finished", handle.name, trial.number, label, state="FAIL",
                           message=("another worker gave this trial up after a missed heartbeat; "
                                    "its retry counts instead")))
        return False
    slots = _slots(handle)
    emit(StudyProgress("trial_finished", handle.name, trial.number, label, value=value, state=trial_state.name,
                       done=slots.done, planned=slots.planned, message=str(user_attrs.get("error", ""))))
    return True


def _interrupted(handle: StudyHandle, trial, user_attrs: dict, emit, label: str) -> None:
    """Stop or Ctrl-C inside a trial: fail it and queue it again at once (not counted as a crash retry)."""
    if _finish(handle, trial, _optuna().trial.TrialState.FAIL, {**user_attrs, "interrupted": True}, emit, label):
        _enqueue_retry(handle, handle.storage.get_trial(trial._trial_id), crash=False)


def _request_for(handle: StudyHandle, trial, frozen) -> TrialRequest:
    plan = handle.plan
    base = plan.base_config
    tags: dict[str, Any] = {"study": handle.name, "trial": trial.number, "kind": plan.kind}
    if _RETRY_OF in frozen.system_attrs:
        tags["retry_of"] = frozen.system_attrs[_RETRY_OF]
    if plan.kind == KIND_LEVERS:
        arm, seed = frozen.user_attrs["arm"], int(frozen.user_attrs["seed"])
        if arm == ARM_REFERENCE:
            config, title = base, "reference"
        elif arm == ARM_COMBINED:
            combined = handle.combined_plan()
            if combined is None:
                raise ConfigError("This combined trial has no combined config recorded; run combine again.")
            config, title = ExperimentConfig.from_dict(combined.config), "combined"
        else:
            lever = next((lever for lever in plan.levers if lever.key == arm), None)
            if lever is None:
                raise ConfigError(f"The study has no lever {arm!r}.")
            config, title = lever.apply(base), lever.title
        tags.update(arm=arm, seed=seed)
        return TrialRequest(handle.name, trial.number, f"{title}, seed {seed}", dataclasses.replace(config, seed=seed),
                            tags)
    space = SearchSpace.from_dict(plan.space)
    params = {spec.name: spec.suggest(trial) for spec in space.params}
    label = ", ".join(f"{name.split('.')[-1]}={_short(value)}" for name, value in params.items())
    return TrialRequest(handle.name, trial.number, label, space.config_for(base, params), tags)
