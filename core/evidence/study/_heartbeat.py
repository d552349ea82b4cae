"""Crash safety: heartbeats of running trials, and the recovery of trials whose worker died.

Each running trial carries its worker's id (``lab:worker``: host, pid, nonce) and a heartbeat timestamp
(``lab:heartbeat``) refreshed by a thread every ``heartbeat_s``. Before and after each trial (and while waiting for
other workers' trials) a worker marks RUNNING trials FAILED whose heartbeat is older than ``grace_s`` (on an RDB
storage, Optuna's own heartbeat table and ``fail_stale_trials`` do this) or whose worker is a dead process on this
same machine, and re-enqueues each one ONCE (``failed_trial``/``retry_history`` system attrs, the same keys as
Optuna's ``RetryHeartbeatStaleTrialCallback``). Marking is a state change that the storage orders (the journal's log
order, the database's row lock): when two workers race, only one wins and re-enqueues. Only RUNNING trials are ever
marked, so a finished trial never runs twice. A trial interrupted on purpose (Stop, Ctrl-C) is re-enqueued at once
and without using up its one crash retry (see the worker loop, :mod:`core.evidence.study._loop`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

from core.evidence.study._attrs import _HEARTBEAT, _RETRY_HISTORY, _RETRY_OF, _SLOT_ATTRS, _WORKER, MAX_CRASH_RETRIES
from core.evidence.study._progress import StudyProgress, _slot
from core.evidence.study._storage import StudyHandle, _optuna


class Heartbeat:
    """Refreshes a running trial's heartbeat from a thread (the journal's timestamp attr, plus Optuna's heartbeat
    table on an RDB storage), so other workers can tell a live trial from one whose worker died."""

    def __init__(self, handle: StudyHandle, trial_id: int) -> None:
        self.handle, self.trial_id = handle, trial_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"study-heartbeat-{trial_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def beat(self) -> bool:
        optuna = _optuna()
        try:
            # Optuna's heartbeat row first: a trial with our timestamp attr then always has one
            # (see recover_stale_trials).
            if self.handle.rdb is not None:
                self.handle.rdb.record_heartbeat(self.trial_id)
            self.handle.storage.set_trial_system_attr(self.trial_id, _HEARTBEAT, time.time())
        except optuna.exceptions.UpdateFinishedTrialError:
            return False  # finished (or given up by another worker): nothing left to keep alive
        except Exception:  # noqa: BLE001 - a transient storage hiccup; the next beat retries within the grace period
            return True
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.handle.heartbeat_s):
            if not self.beat():
                return


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _enqueue_retry(handle: StudyHandle, frozen, *, crash: bool) -> Optional[int]:
    """Queue ``frozen`` again with the same params and arm; a crash retry happens at most MAX_CRASH_RETRIES times."""
    optuna = _optuna()
    history = list(frozen.system_attrs.get(_RETRY_HISTORY, []))
    if crash:
        if len(history) >= MAX_CRASH_RETRIES:
            return None
        history.append(frozen.number)
    system_attrs: dict[str, Any] = {_RETRY_OF: _slot(frozen), _RETRY_HISTORY: history}
    if "fixed_params" in frozen.system_attrs:
        system_attrs["fixed_params"] = frozen.system_attrs["fixed_params"]
    handle.study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.WAITING, params=frozen.params, distributions=frozen.distributions,
        user_attrs={k: v for k, v in frozen.user_attrs.items() if k in _SLOT_ATTRS}, system_attrs=system_attrs,
    ))
    return _slot(frozen)


def recover_stale_trials(handle: StudyHandle, *, check_local_pids: bool = True,
                         progress: Optional[Callable[[StudyProgress], None]] = None) -> list[int]:
    """Fail RUNNING trials whose worker is gone (stale heartbeat, or a dead process on this machine) and queue each
    once more. Returns the numbers of the trials this call failed."""
    optuna = _optuna()
    state = optuna.trial.TrialState
    failed: list[int] = []
    if handle.rdb is not None:
        before = {t.number for t in handle.trials() if t.state == state.RUNNING}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optuna.storages.fail_stale_trials(handle.study)  # Optuna's heartbeat + RetryHeartbeatStaleTrialCallback
        failed += [t.number for t in handle.trials() if t.number in before and t.state == state.FAIL]
    now = time.time()
    for trial in handle.trials():
        if trial.state != state.RUNNING:
            continue
        # On an RDB Optuna judges heartbeats; it ignores a trial whose worker died before its first beat (no row yet),
        # which is exactly a RUNNING trial without our timestamp attr: judge that one by its start time.
        beaten = _HEARTBEAT in trial.system_attrs
        silent = (handle.rdb is None or not beaten) and _heartbeat_age(trial, now) > handle.grace_s
        dead = check_local_pids and _worker_is_dead_here(trial.system_attrs.get(_WORKER), trial.number)
        if not (silent or dead):
            continue
        try:
            # The storage orders competing writes (journal log order, database row lock): the loser gets an error.
            # A JournalStorage object must not be shared with a thread that syncs meanwhile (each handle has its own).
            handle.storage.set_trial_state_values(trial._trial_id, state=state.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # it finished, or another worker failed it first: that worker re-enqueues
        failed.append(trial.number)
        _enqueue_retry(handle, handle.storage.get_trial(trial._trial_id), crash=True)
    if progress is not None:
        for number in failed:
            retried = any(t.system_attrs.get(_RETRY_HISTORY, [])[-1:] == [number] for t in handle.trials())
            progress(StudyProgress("retry", handle.name, number, state="FAIL",
                                   message="its worker stopped answering; "
                                   + ("queued once more" if retried else "already retried once, given up")))
    return failed


def _heartbeat_age(trial, now: float) -> float:
    started = trial.datetime_start.timestamp() if trial.datetime_start else now
    return now - max(float(trial.system_attrs.get(_HEARTBEAT, 0.0)), started)


def _worker_is_dead_here(worker: Any, number: int) -> bool:
    if not isinstance(worker, dict) or worker.get("trial") != number:
        return False
    try:
        host, pid_text, _ = str(worker["id"]).rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed child its parent has not reaped yet is a zombie: dead, though kill(pid, 0) succeeds
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
