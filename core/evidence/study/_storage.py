"""Where studies live and how they open: a journal file per study (default) or a database URL; creating a lever
study or a sweep, opening one, and the handle every other part works on. Optuna is imported here, lazily."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from core import lazy
from core.config import ExperimentConfig, field_info
from core.errors import ConfigError
from core.evidence.levers import Lever, levers_for
from core.evidence.study._attrs import _COMBINED_ATTR, _PLAN_ATTR, _SURPLUS, MAX_CRASH_RETRIES
from core.evidence.study._plan import ARM_COMBINED, KIND_LEVERS, KIND_SWEEP, PRUNERS, CombinedPlan, Racing, StudyPlan
from core.evidence.study._racing import exhaustive_state, race
from core.evidence.study._source import DataSource
from core.evidence.study._space import SearchSpace, default_space

DEFAULT_SEEDS = 3
HEARTBEAT_S = 10
GRACE_S = 60
STUDIES_FOLDER = "studies"
JOURNAL_SUFFIX = ".journal"
NAME_LIMIT = 80
NAME_RULE = (f"up to {NAME_LIMIT} characters of any text, as for a run name (letters, digits, spaces and punctuation; "
             "no line breaks)")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")  # every name the previous releases allowed
_NOT_FILE_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _optuna():
    # core.lazy's one lock: two dashboard threads importing optuna (and the scikit-learn and SciPy its importance
    # code uses) for the first time at once can fail.
    lazy.load("optuna")
    import optuna

    return optuna


class StudyNotFound(ConfigError):
    """No study of that name where it was looked for."""


def studies_folder(runs_dir: str | os.PathLike | None = None) -> Path:
    from core.runs.store import runs_dir as resolve_runs_dir

    return resolve_runs_dir(runs_dir) / STUDIES_FOLDER


def storage_location(name: str, storage: Optional[str] = None, runs_dir: str | os.PathLike | None = None) -> str:
    """Where study ``name`` lives: a SQLAlchemy URL, a journal file path given as ``storage``, or (by default)
    ``<runs dir>/studies/<name>.journal``."""
    name = check_name(name)
    if storage is None or storage == "":
        return str(studies_folder(runs_dir) / f"{journal_stem(name)}{JOURNAL_SUFFIX}")
    if "://" in storage:
        return storage
    if storage.endswith((JOURNAL_SUFFIX, ".log")):
        return str(Path(storage).resolve())
    raise ConfigError(
        f"--storage {storage!r} is neither a database URL (such as postgresql+psycopg2://user:password@host/db) nor a "
        ".journal file; give one of those, or leave --storage out to keep the study in the runs folder."
    )


def check_name(name: str) -> str:
    """The study name, trimmed, if usable (:data:`NAME_RULE`); otherwise a ConfigError saying what is allowed."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > NAME_LIMIT or any(unicodedata.category(c).startswith("C") for c in text):
        shown = name[:40] + "…" if isinstance(name, str) and len(name) > 40 else name
        raise ConfigError(f"The study name {shown!r} is not usable; a study name is {NAME_RULE}.")
    return text


def journal_stem(name: str) -> str:
    """The journal file's name (without .journal) for study ``name``: the name itself where it is already a safe
    file name (every name earlier releases allowed), else its safe characters plus a short hash of the whole name,
    so "attention none, 2 seeds" and "attention none 2 seeds" get different files and no name leaves the folder."""
    if _FILE_NAME.match(name):
        return name
    safe = _NOT_FILE_SAFE.sub("-", name).strip("-._")[:60] or "study"
    return f"{safe}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"


def _is_url(location: str) -> bool:
    return "://" in location


def _shown_location(location: str) -> str:
    if not _is_url(location):
        return location
    try:
        from sqlalchemy.engine import make_url

        return make_url(location).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported by the storage itself
        return location.split("@")[-1]


def _open_storage(location: str, heartbeat_s: int, grace_s: int):
    """(optuna storage, the RDBStorage or None)."""
    optuna = _optuna()
    if _is_url(location):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeat_interval and the retry callback are "experimental" in Optuna 5
            try:
                rdb = optuna.storages.RDBStorage(
                    location, heartbeat_interval=int(heartbeat_s), grace_period=int(grace_s),
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_CRASH_RETRIES),
                )
            except ImportError as exc:
                raise ConfigError(f"The database driver for {_shown_location(location)} is not installed ({exc}); "
                                  "install it or use another URL.") from None
            except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many kinds; the user needs one sentence
                raise ConfigError(
                    f"Cannot open the study storage {_shown_location(location)} ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:160]}); "
                    "check the URL, that the server runs and the password."
                ) from None
        return rdb, rdb
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = Path(location)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path))), None
    except OSError as exc:
        raise ConfigError(f"Cannot create the study file {location!r} ({exc.strerror}); "
                          "choose a writable --runs-dir.") from None


class StudyHandle:
    """An open study: its name, where it lives, its plan and the live Optuna objects. Not shared across processes:
    each worker opens its own with :func:`open_study`."""

    def __init__(self, name: str, location: str, study, storage, rdb, plan: StudyPlan, heartbeat_s: int,
                 grace_s: int) -> None:
        self.name, self.location = name, location
        self.study, self.storage, self.rdb = study, storage, rdb
        self.plan = plan
        self.heartbeat_s, self.grace_s = heartbeat_s, grace_s

    @property
    def kind(self) -> str:
        return self.plan.kind

    def trials(self) -> list:
        """Every trial except surplus ones (created when a worker found the budget taken and never run)."""
        return [t for t in self.study.get_trials(deepcopy=False) if not t.system_attrs.get(_SURPLUS)]

    def combined_plan(self) -> Optional[CombinedPlan]:
        raw = self.study.user_attrs.get(_COMBINED_ATTR)
        return CombinedPlan.from_dict(raw) if raw else None

    def planned(self) -> int:
        """Trials to run: the plan's, or for a racing lever study the (arm, seed) runs its race has queued so far;
        plus the combined config's seeds once it is chosen."""
        combined = self.combined_plan() if self.kind == KIND_LEVERS else None
        planned = self.plan.planned
        if self.kind == KIND_LEVERS and self.plan.racing is not None:
            planned = len({(t.user_attrs["arm"], t.user_attrs["seed"]) for t in self.trials()
                           if t.user_attrs.get("arm") not in (None, ARM_COMBINED)})
        return planned + (len(self.plan.seeds) if combined is not None and combined.applied else 0)

    def __repr__(self) -> str:
        return f"StudyHandle({self.name!r}, {self.kind}, {_shown_location(self.location)!r})"


def _new_study(name: Optional[str], kind: str, storage: Optional[str], runs_dir, heartbeat_s: int, grace_s: int):
    optuna = _optuna()
    name = check_name(name) if name else f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    location = storage_location(name, storage, runs_dir)
    backend, rdb = _open_storage(location, heartbeat_s, grace_s)
    try:
        study = optuna.create_study(study_name=name, storage=backend, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        raise ConfigError(
            f"A study named {name!r} already exists in {_shown_location(location)}; resume it with the same command or "
            f"`worker --study {name}`, or choose another --name."
        ) from None
    return name, location, study, backend, rdb


def create_lever_study(
    config: ExperimentConfig,
    source: DataSource,
    *,
    levers: Optional[Sequence[Lever]] = None,
    seeds: int = DEFAULT_SEEDS,
    name: Optional[str] = None,
    storage: Optional[str] = None,
    runs_dir: str | os.PathLike | None = None,
    heartbeat_s: int = HEARTBEAT_S,
    grace_s: int = GRACE_S,
    racing: Optional[Racing] = None,
) -> StudyHandle:
    """Create a lever study: the reference and each lever (default: every lever of ``config``) with seeds
    ``config.seed, config.seed + 1, ...``; its trials are queued seed by seed, so a partial study is already paired.
    With ``racing`` (see :mod:`core.evidence.study._racing`) levers start on its first seeds and the race queues
    more where verdicts stay open; without it every lever runs every seed (exhaustive)."""
    if not isinstance(seeds, int) or seeds < 1 or seeds > 100:
        raise ConfigError(f"--seeds must be a whole number from 1 to 100 (3 is a good start); got {seeds!r}.")
    levers = list(levers) if levers is not None else levers_for(config)
    if not levers:
        raise ConfigError("No levers to study for these settings; name some with --levers.")
    for lever in levers:
        try:
            changed = lever.apply(config)
        except ConfigError as exc:
            raise ConfigError(f"The lever {lever.key} does not apply to these settings: {exc}") from None
        if changed == config:
            raise ConfigError(f"The lever {lever.key} changes nothing in these settings; leave it out.")
    seed_list = tuple(config.seed + i for i in range(seeds))
    if seed_list[-1] > field_info("", "seed")["max"]:
        raise ConfigError("The seed is too large to add more seeds to it; use a smaller --seed.")
    name, location, study, backend, rdb = _new_study(name, KIND_LEVERS, storage, runs_dir, heartbeat_s, grace_s)
    plan = StudyPlan(
        kind=KIND_LEVERS, config=config.to_dict(), data=source, planned=len(seed_list) * (len(levers) + 1),
        created=_now(), seeds=seed_list, levers=tuple(levers), pruner="none", racing=racing,
    )
    study.set_user_attr(_PLAN_ATTR, plan.to_dict())
    keys = [lever.key for lever in levers]
    first = race(keys, seed_list, racing, {}, {}) if racing is not None else exhaustive_state(keys, seed_list, {})
    for arm, seed in first.wanted:
        study.enqueue_trial({}, user_attrs={"arm": arm, "seed": seed})
    return _handle(name, location, study, backend, rdb, plan, heartbeat_s, grace_s, sampler_seed=None)


def create_sweep(
    config: ExperimentConfig,
    source: DataSource,
    *,
    trials: int,
    space: Optional[SearchSpace] = None,
    pruner: str = "median",
    name: Optional[str] = None,
    storage: Optional[str] = None,
    runs_dir: str | os.PathLike | None = None,
    heartbeat_s: int = HEARTBEAT_S,
    grace_s: int = GRACE_S,
    sampler_seed: Optional[int] = None,
) -> StudyHandle:
    """Create a sweep of ``trials`` trials over ``space`` (default :func:`default_space`); its first trial is the
    current config (where it lies inside the space), so the best trial is never worse than it on validation."""
    if not isinstance(trials, int) or trials < 1 or trials > 100_000:
        raise ConfigError(f"--trials must be a whole number of at least 1; got {trials!r}.")
    if pruner not in PRUNERS:
        raise ConfigError(f"--pruner must be one of {', '.join(PRUNERS)}; got {pruner!r}.")
    space = space or default_space()
    name, location, study, backend, rdb = _new_study(name, KIND_SWEEP, storage, runs_dir, heartbeat_s, grace_s)
    plan = StudyPlan(kind=KIND_SWEEP, config=config.to_dict(), data=source, planned=trials, created=_now(),
                     seeds=(config.seed,), space=space.to_dict(), pruner=pruner)
    study.set_user_attr(_PLAN_ATTR, plan.to_dict())
    current = {}
    for spec in space.params:
        section, leaf = spec.name.split(".")
        value = getattr(getattr(config, section), leaf)
        if spec.contains(value):
            current[spec.name] = value
    study.enqueue_trial(current, user_attrs={"start": "current settings"})
    return _handle(name, location, study, backend, rdb, plan, heartbeat_s, grace_s, sampler_seed)


def open_study(
    name: str,
    *,
    storage: Optional[str] = None,
    runs_dir: str | os.PathLike | None = None,
    heartbeat_s: int = HEARTBEAT_S,
    grace_s: int = GRACE_S,
    sampler_seed: Optional[int] = None,
) -> StudyHandle:
    """Open an existing study to resume it, add a worker to it, or read its results."""
    optuna = _optuna()
    name = check_name(name)
    location = storage_location(name, storage, runs_dir)
    if not _is_url(location) and not Path(location).is_file():
        raise StudyNotFound(f"There is no study named {name!r} in {location}; "
                            "check --name/--study and --runs-dir (or --storage).")
    backend, rdb = _open_storage(location, heartbeat_s, grace_s)
    try:
        study = optuna.load_study(study_name=name, storage=backend)
    except KeyError:
        raise StudyNotFound(f"There is no study named {name!r} in {_shown_location(location)}; "
                            "check --study and --storage.") from None
    raw = study.user_attrs.get(_PLAN_ATTR)
    if not raw:
        raise ConfigError(f"The study {name!r} was not created by this lab (or is still being created); "
                          "use another name.")
    return _handle(name, location, study, backend, rdb, StudyPlan.from_dict(raw), heartbeat_s, grace_s, sampler_seed)


def _handle(name, location, study, backend, rdb, plan: StudyPlan, heartbeat_s, grace_s, sampler_seed) -> StudyHandle:
    optuna = _optuna()
    if plan.kind == KIND_SWEEP:
        startup = max(3, min(10, plan.planned // 4))
        study.sampler = optuna.samplers.TPESampler(n_startup_trials=startup, seed=sampler_seed)
        study.pruner = {
            "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
            "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(),
        }.get(plan.pruner, optuna.pruners.NopPruner)()
    else:
        study.pruner = optuna.pruners.NopPruner()  # paired comparisons need every run to its end
    return StudyHandle(name, location, study, backend, rdb, plan, int(heartbeat_s), int(grace_s))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
