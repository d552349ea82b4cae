"""The study list: every lab study in a runs folder, a journal file or a database, with how far each has got."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from core.evidence.study._attrs import _PLAN_ATTR
from core.evidence.study._heartbeat import _heartbeat_age
from core.evidence.study._plan import KIND_LEVERS, StudyPlan
from core.evidence.study._progress import _slots
from core.evidence.study._racing import race_state, values_by_arm
from core.evidence.study._storage import (
    GRACE_S,
    HEARTBEAT_S,
    JOURNAL_SUFFIX,
    StudyHandle,
    _is_url,
    _open_storage,
    _optuna,
    _shown_location,
    studies_folder,
)
from core.records import Record


@dataclass(frozen=True)
class StudyInfo(Record):
    """One line of the study list. ``state``: "running" (a trial has a live heartbeat), "finished", or
    "interrupted" (work left and nobody on it: resume it). ``best_value``: a sweep's best trial; a lever study's best
    mean validation macro-F1 over the seeds an arm ran (the reference, a lever or the combination); None before any
    run has finished."""

    name: str
    kind: str
    location: str
    created: str
    data: str
    planned: int
    done: int
    running: int
    waiting: int
    failed: int
    pruned: int
    best_value: Optional[float]
    state: str


def list_studies(location: str | os.PathLike | None = None, *, grace_s: int = GRACE_S) -> list[StudyInfo]:
    """Studies in a runs folder (its ``studies/*.journal``; default the lab's runs folder), a journal file, or a
    database URL; newest first."""
    optuna = _optuna()
    text = str(location) if location is not None else None
    if text is not None and _is_url(text):
        places = [text]
    elif text is not None and text.endswith((JOURNAL_SUFFIX, ".log")):
        places = [text] if Path(text).is_file() else []
    else:
        folder = studies_folder(text)
        places = sorted(str(p) for p in folder.glob(f"*{JOURNAL_SUFFIX}")) if folder.is_dir() else []
    infos = []
    for place in places:
        backend, rdb = _open_storage(place, HEARTBEAT_S, grace_s)
        for name in optuna.get_all_study_names(backend):
            study = optuna.load_study(study_name=name, storage=backend)
            raw = study.user_attrs.get(_PLAN_ATTR)
            if not raw:
                continue
            handle = StudyHandle(name, place, study, backend, rdb, StudyPlan.from_dict(raw), HEARTBEAT_S, grace_s)
            infos.append(_study_info(handle))
    return sorted(infos, key=lambda info: info.created, reverse=True)


def _study_info(handle: StudyHandle) -> StudyInfo:
    state_enum = _optuna().trial.TrialState
    trials = handle.trials()
    slots = _slots(handle, trials)
    now = time.time()
    live = any(t.state == state_enum.RUNNING and _heartbeat_age(t, now) <= handle.grace_s for t in trials)
    values = [t.value for t in trials if t.state == state_enum.COMPLETE and t.value is not None]
    if handle.kind == KIND_LEVERS:
        values = [statistics.fmean(by_seed.values()) for by_seed in values_by_arm(trials).values() if by_seed]
    finished = slots.done >= slots.planned and not slots.waiting and not slots.running
    if finished and handle.kind == KIND_LEVERS:
        finished = race_state(handle, trials).over  # a racing study between rounds still has levers to run
    return StudyInfo(
        name=handle.name, kind=handle.kind, location=_shown_location(handle.location), created=handle.plan.created,
        data=handle.plan.data.source_name, planned=slots.planned, done=slots.done, running=len(slots.running),
        waiting=slots.waiting, failed=sum(t.state == state_enum.FAIL for t in trials),
        pruned=sum(t.state == state_enum.PRUNED for t in trials),
        best_value=max(values) if values else None,
        state="running" if live else "finished" if finished else "interrupted",
    )
