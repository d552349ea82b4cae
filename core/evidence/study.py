"""Lever studies and sweeps: many ordinary training runs, organised by Optuna, resumable and shareable.

Two kinds of study, both stored by Optuna (imported lazily: this module is safe on the dashboard's first page):

* A **lever study** answers "which single change of my settings helps?". The reference config and each chosen
  lever (:mod:`core.evidence.levers`) run with the SAME seeds — seed ``s`` of lever ``L`` is paired with seed ``s`` of the
  reference, and each seed is its own split — and each lever gets the mean paired difference in validation
  macro-F1 with a verdict under :data:`VERDICT_RULE`. :func:`combine_helpers` then runs one config combining the
  levers that helped; only that config and the reference are ever scored on the sealed test split.
* A **sweep** searches a space built from the config's field metadata (:func:`default_space`, or a JSON space file:
  :func:`load_space`) with TPE, a trial or time budget, and median or successive-halving pruning on the per-epoch
  validation score.

Every trial is one ordinary run (:func:`core.training.experiment.run_experiment`) saved as a run record tagged with the study
and trial number, so the Evaluate and Runs pages work on trials unchanged. Runs go through an executor
(:class:`InProcessExecutor` for CLI workers, :class:`FunctionExecutor`/:func:`scheduler_executor` for the dashboard's
job scheduler).

Storage: by default one Optuna journal file per study, ``<runs dir>/studies/<name>.journal`` (safe for several
processes on one machine); or any SQLAlchemy URL (``postgresql+psycopg2://…``) to share a study across machines.

Retry design (crash safety). Each running trial carries its worker's id (``lab:worker``: host, pid, nonce) and a
heartbeat timestamp (``lab:heartbeat``) refreshed by a thread every ``heartbeat_s``. Before and after each trial
(and while waiting for other workers' trials) a worker marks RUNNING trials FAILED whose heartbeat is older than
``grace_s`` (on an RDB storage, Optuna's own heartbeat table and ``fail_stale_trials`` do this) or whose worker is a
dead process on this same machine, and re-enqueues each one ONCE (``failed_trial``/``retry_history`` system attrs,
the same keys as Optuna's ``RetryHeartbeatStaleTrialCallback``). Marking is a state change that the storage orders
(the journal's log order, the database's row lock): when two workers race, only one wins and re-enqueues. Only
RUNNING trials are ever marked, so a finished trial never runs twice. A trial interrupted on purpose (Stop, Ctrl-C)
is re-enqueued at once and without using up its one crash retry.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import socket
import statistics
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol, Sequence

from core import lazy
from core.config import SECTIONS, ExperimentConfig, apply_overrides, field_info
from core.errors import ConfigError, DataError, RunError, UserError
from core.evidence.levers import Lever, levers_for
from core.records import Record

if TYPE_CHECKING:
    from core.data.dataset import Dataset

KIND_LEVERS = "levers"
KIND_SWEEP = "sweep"
ARM_REFERENCE = "reference"
ARM_COMBINED = "combined"
HELPS, HURTS, WITHIN_NOISE = "helps", "hurts", "within noise"

OBJECTIVE = "validation macro-F1"
MIN_EFFECT = 0.01  # macro-F1: smaller differences do not matter next to seed-to-seed swings of 0.03-0.09
CONFIDENCE = 0.90  # two-sided paired t-interval, so each verdict direction has a 5 % false-alarm rate
VERDICT_RULE = (
    "A lever helps (or hurts) when the 90% paired t-interval of its validation macro-F1 minus the reference's, "
    "over the same seeds, lies entirely above (or below) zero and the mean difference is at least 0.01; "
    "otherwise it is within noise."
)
DEFAULT_SEEDS = 3
MAX_CRASH_RETRIES = 1
HEARTBEAT_S = 10
GRACE_S = 60
MIN_IMPORTANCE_TRIALS = 5
PRUNERS = ("median", "halving", "none")
STUDIES_FOLDER = "studies"
JOURNAL_SUFFIX = ".journal"

_PLAN_ATTR = "lab"  # study user attr: the StudyPlan
_COMBINED_ATTR = "lab_combined"  # study user attr: the CombinedPlan, once combine_helpers has chosen it
_WORKER = "lab:worker"
_HEARTBEAT = "lab:heartbeat"
_SURPLUS = "lab:surplus"
_SEALED_TEST = "lab:sealed_test"
_RETRY_OF = "failed_trial"  # Optuna's key (RetryHeartbeatStaleTrialCallback): the slot's original trial number
_RETRY_HISTORY = "retry_history"
_SLOT_ATTRS = ("arm", "seed")  # user attrs that say what a lever-study trial runs; a retry keeps them
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
class StopSignal(Protocol):
    def is_set(self) -> bool: ...


# ------------------------------------------------------------------------------------------------ data source


@dataclass(frozen=True)
class DataSource(Record):
    """How any worker loads the study's data, and the hash that proves it is the same data.

    ``kind`` is "csv" (``location`` is an absolute path), "builtin" (``location`` is the built-in key) or "upload"
    (bytes given to the dashboard: a worker elsewhere needs the same file passed as a path).
    """

    kind: str
    location: str
    text_column: str
    label_column: str
    data_hash: str
    rows: int
    source_name: str


def data_source(dataset: "Dataset", *, csv_path: str | os.PathLike | None = None, builtin: Optional[str] = None) -> DataSource:
    """Describe where ``dataset`` came from (a CSV path, a built-in key, or neither for an upload)."""
    if csv_path is not None and builtin is not None:
        raise ValueError("a dataset comes from a CSV file or a built-in dataset, not both")
    if csv_path is not None:
        kind, location = "csv", str(Path(csv_path).resolve())
    elif builtin is not None:
        kind, location = "builtin", builtin
    else:
        kind, location = "upload", dataset.source_name
    return DataSource(kind, location, dataset.text_column, dataset.label_column, dataset.data_hash, len(dataset.texts),
                      dataset.source_name)


def load_source(source: DataSource, *, csv_path: str | os.PathLike | None = None) -> "Dataset":
    """Load the study's data (``csv_path`` overrides where the file is) and refuse data whose hash differs."""
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_path

    if csv_path is not None:
        table = read_csv_path(csv_path)
        where = str(csv_path)
    elif source.kind == "csv":
        table = read_csv_path(source.location)
        where = source.location
    elif source.kind == "builtin":
        from core.data.builtin import load_builtin

        table = load_builtin(source.location)
        where = f"the built-in dataset {source.location}"
    else:
        raise DataError(
            f"This study was started from an uploaded file ({source.source_name}); give the same file as a path with --data."
        )
    dataset = build_dataset(table, source.text_column, source.label_column)
    if dataset.data_hash != source.data_hash:
        raise DataError(
            f"The data at {where} is not the data this study was started with (its hash differs); "
            "give the same file, or start a new study."
        )
    return dataset


# ------------------------------------------------------------------------------------------------ search space


@dataclass(frozen=True)
class ParamSpec:
    """One searched setting: a float or int range (optionally log-scaled) or a list of choices."""

    name: str  # "section.field"
    kind: str  # "float" | "int" | "categorical"
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    choices: Optional[tuple] = None

    def suggest(self, trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def contains(self, value: Any) -> bool:
        if self.kind == "categorical":
            return any(value == choice and type(value) is type(choice) for choice in self.choices)
        return value is not None and not isinstance(value, bool) and self.low <= value <= self.high

    def position(self, value: Any) -> float:
        """Where ``value`` sits on this axis, 0..1 (log axes in log space), for parallel coordinates."""
        if self.kind == "categorical":
            index = next((i for i, choice in enumerate(self.choices) if choice == value), 0)
            return index / (len(self.choices) - 1) if len(self.choices) > 1 else 0.5
        low, high, x = float(self.low), float(self.high), float(value)
        if self.log:
            low, high, x = math.log(low), math.log(high), math.log(x)
        return (x - low) / (high - low) if high > low else 0.5

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        spec: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            spec["log"] = True
        return spec


@dataclass(frozen=True)
class SearchSpace:
    """The searched settings, in order. ``to_dict()`` is exactly the JSON space-file format (see :func:`load_space`)."""

    params: tuple[ParamSpec, ...]

    def to_dict(self) -> dict[str, Any]:
        return {spec.name: spec.to_dict() for spec in self.params}

    @classmethod
    def from_dict(cls, raw: Any) -> "SearchSpace":
        return parse_space(raw)

    def config_for(self, base: ExperimentConfig, params: Mapping[str, Any]) -> ExperimentConfig:
        return apply_overrides(base, [f"{name}={_override_literal(value)}" for name, value in params.items()])


# The searchable settings and their default ranges: ONE table. A range of None means the field's own metadata
# (min/max, or its choices); narrower ranges keep a default sweep on sensible ground (learning rate 1 is valid but
# never useful). Log scale where the effect is multiplicative.
DEFAULT_SEARCH: tuple[tuple[str, dict[str, Any]], ...] = (
    ("model.lstm_units", {"low": 16, "high": 256, "log": True}),
    ("model.embedding_dim", {"low": 32, "high": 256, "log": True}),
    ("model.lstm_layers", {"low": 1, "high": 2}),
    ("model.bidirectional", {}),
    ("model.attention", {}),
    ("model.dropout", {"low": 0.0, "high": 0.6}),
    ("model.l2", {"low": 1e-6, "high": 1e-2, "log": True}),
    ("training.learning_rate", {"low": 3e-4, "high": 1e-2, "log": True}),
    ("training.batch_size", {"choices": [32, 64, 128]}),
    ("resampling.strategy", {}),
    ("vectorizing.min_token_frequency", {"low": 1, "high": 3}),
)


def default_space() -> SearchSpace:
    """The curated searchable settings with ranges from :data:`DEFAULT_SEARCH` and the config's metadata."""
    return parse_space(dict(DEFAULT_SEARCH))


def load_space(path: str | os.PathLike) -> SearchSpace:
    """Read a JSON space file. Format: one key per searched setting, ``"section.field"``, whose value is

    * ``{"low": L, "high": H}`` (a float or int range, by the field's type), plus ``"log": true`` for a log scale;
    * ``{"choices": [...]}`` for a list of values (choice fields, booleans, or a few numbers);
    * ``{}`` for the field's whole range from its metadata (its choices, ``[true, false]`` or its min..max).

    Example: ``{"model.dropout": {"low": 0.1, "high": 0.5}, "training.learning_rate": {"low": 1e-4, "high": 1e-2,
    "log": true}, "model.attention": {"choices": ["none", "additive"]}, "model.bidirectional": {}}``.
    The file is the whole space (settings it does not name keep the study's config values).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"There is no space file at {str(path)!r}; check the path given to --space.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The space file {str(path)!r} cannot be read ({exc.__class__.__name__}); save it as UTF-8 JSON.") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"The space file is not valid JSON ({exc.msg} at line {exc.lineno}); see `sweep --help` for its format.") from None
    return parse_space(raw)


def parse_space(raw: Any) -> SearchSpace:
    """Validate a space (the JSON format of :func:`load_space`) against the config's field metadata."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError('A search space must be a JSON object naming at least one setting, e.g. {"model.dropout": {"low": 0.1, "high": 0.5}}.')
    return SearchSpace(tuple(_param_spec(name, spec) for name, spec in raw.items()))


def _param_spec(name: str, spec: Any) -> ParamSpec:
    import typing

    section, _, leaf = str(name).partition(".")
    if section not in SECTIONS or section == "data" or not leaf:
        raise ConfigError(f"The space names {name!r}, which is not a searchable setting; use section.field names such as model.dropout.")
    try:
        info = field_info(section, leaf)
    except KeyError:
        raise ConfigError(f"The space names {name!r}, which is not a setting; see `config --defaults` for the names.") from None
    if not isinstance(spec, dict) or set(spec) - {"low", "high", "log", "choices"}:
        raise ConfigError(f"The space entry for {name} must be an object with low/high (and log) or choices; got {spec!r}.")
    hint = typing.get_type_hints(SECTIONS[section])[leaf]
    base = next((a for a in typing.get_args(hint) if a is not type(None)), hint) if typing.get_args(hint) else hint
    meta_choices = info.get("choices")
    if "choices" in spec or meta_choices is not None or base is bool or base is str:
        return _categorical_spec(name, spec, base, meta_choices)
    low = spec.get("low", info.get("min"))
    high = spec.get("high", info.get("max"))
    log = bool(spec.get("log", False))
    for bound in (low, high):
        if not isinstance(bound, (int, float)) or isinstance(bound, bool):
            raise ConfigError(f"The space entry for {name} needs numeric low and high values; got {spec!r}.")
    if base is int and not (float(low).is_integer() and float(high).is_integer()):
        raise ConfigError(f"{name} is a whole number; give whole-number low and high in the space.")
    if not low < high:
        raise ConfigError(f"The space range for {name} needs low below high; got {low} and {high}.")
    if ("min" in info and low < info["min"]) or ("max" in info and high > info["max"]):
        raise ConfigError(f"The space range for {name} must lie within {info.get('min')}..{info.get('max')}; got {low}..{high}.")
    if log and low <= 0:
        raise ConfigError(f"A log-scaled range for {name} must start above 0; got low={low}.")
    kind = "int" if base is int else "float"
    return ParamSpec(name, kind, low=int(low) if kind == "int" else float(low), high=int(high) if kind == "int" else float(high), log=log)


def _categorical_spec(name: str, spec: dict, base: type, meta_choices: Optional[Sequence]) -> ParamSpec:
    if "low" in spec or "high" in spec:
        raise ConfigError(f"{name} takes choices, not a low/high range, in the space.")
    default = list(meta_choices) if meta_choices is not None else ([True, False] if base is bool else None)
    choices = spec.get("choices", default)
    if not isinstance(choices, list) or not choices:
        raise ConfigError(f"The space entry for {name} needs a non-empty list of choices.")
    for choice in choices:
        if meta_choices is not None and choice not in meta_choices:
            raise ConfigError(f"{choice!r} is not a choice of {name}; its choices are {', '.join(map(str, meta_choices))}.")
        if base is bool and not isinstance(choice, bool):
            raise ConfigError(f"{name} is on/off; its choices in the space must be true and/or false, not {choice!r}.")
        if base in (int, float) and (isinstance(choice, bool) or not isinstance(choice, (int, float))):
            raise ConfigError(f"{name} is a number; its choices in the space must be numbers, not {choice!r}.")
    return ParamSpec(name, "categorical", choices=tuple(dict.fromkeys(choices)))


def _override_literal(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# ------------------------------------------------------------------------------------------------ plan


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


# ------------------------------------------------------------------------------------------------ storage


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
    check_name(name)
    if storage is None or storage == "":
        return str(studies_folder(runs_dir) / f"{name}{JOURNAL_SUFFIX}")
    if "://" in storage:
        return storage
    if storage.endswith((JOURNAL_SUFFIX, ".log")):
        return str(Path(storage).resolve())
    raise ConfigError(
        f"--storage {storage!r} is neither a database URL (such as postgresql+psycopg2://user:password@host/db) nor a "
        ".journal file; give one of those, or leave --storage out to keep the study in the runs folder."
    )


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"The study name {name!r} is not usable; use up to 80 letters, digits, dots, dashes or underscores, starting with a letter or digit."
        )
    return name


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
                raise ConfigError(f"The database driver for {_shown_location(location)} is not installed ({exc}); install it or use another URL.") from None
            except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many kinds; the user needs one sentence
                raise ConfigError(
                    f"Cannot open the study storage {_shown_location(location)} ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
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
        raise ConfigError(f"Cannot create the study file {location!r} ({exc.strerror}); choose a writable --runs-dir.") from None


class StudyHandle:
    """An open study: its name, where it lives, its plan and the live Optuna objects. Not shared across processes:
    each worker opens its own with :func:`open_study`."""

    def __init__(self, name: str, location: str, study, storage, rdb, plan: StudyPlan, heartbeat_s: int, grace_s: int) -> None:
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
        combined = self.combined_plan() if self.kind == KIND_LEVERS else None
        return self.plan.planned + (len(self.plan.seeds) if combined is not None and combined.applied else 0)

    def __repr__(self) -> str:
        return f"StudyHandle({self.name!r}, {self.kind}, {_shown_location(self.location)!r})"


def _new_study(name: Optional[str], kind: str, storage: Optional[str], runs_dir, heartbeat_s: int, grace_s: int):
    optuna = _optuna()
    name = name or f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
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
) -> StudyHandle:
    """Create a lever study: the reference and each lever (default: every lever of ``config``) with seeds
    ``config.seed, config.seed + 1, ...``; its trials are queued seed by seed, so a partial study is already paired."""
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
        created=_now(), seeds=seed_list, levers=tuple(levers), pruner="none",
    )
    study.set_user_attr(_PLAN_ATTR, plan.to_dict())
    for seed in seed_list:
        for arm in (ARM_REFERENCE, *(lever.key for lever in levers)):
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
    location = storage_location(name, storage, runs_dir)
    if not _is_url(location) and not Path(location).is_file():
        raise StudyNotFound(f"There is no study named {name!r} in {location}; check --name/--study and --runs-dir (or --storage).")
    backend, rdb = _open_storage(location, heartbeat_s, grace_s)
    try:
        study = optuna.load_study(study_name=name, storage=backend)
    except KeyError:
        raise StudyNotFound(f"There is no study named {name!r} in {_shown_location(location)}; check --study and --storage.") from None
    raw = study.user_attrs.get(_PLAN_ATTR)
    if not raw:
        raise ConfigError(f"The study {name!r} was not created by this lab (or is still being created); use another name.")
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


# ------------------------------------------------------------------------------------------------ executors


@dataclass(frozen=True)
class TrialRequest:
    """One trial's run: the full config (seed included) and the tags its run record gets."""

    study: str
    number: int
    label: str
    config: ExperimentConfig
    tags: dict


@dataclass(frozen=True)
class TrialOutcome:
    status: str  # "completed" | "stopped" (the run's stop flag was set: pruned or interrupted)
    metrics: Mapping[str, Any]  # metrics.json as a dict
    run_dir: Optional[str]
    duration_s: float


class TrialFailed(Exception):
    """A run that could not finish; the message is one sentence. The trial fails and is not retried."""


class TrialExecutor(Protocol):
    data_hash: str

    def run(self, request: TrialRequest, *, on_epoch: Callable[[dict], None], stop: StopSignal) -> TrialOutcome: ...


def _metrics_dict(metrics: Any) -> dict:
    return metrics.to_dict() if hasattr(metrics, "to_dict") else dict(metrics)


class InProcessExecutor:
    """Runs each trial in this process (CLI workers). With ``reuse_preprocessing`` the normalised texts are computed
    once per distinct preprocessing config, not once per trial."""

    def __init__(self, dataset: "Dataset", runs_dir: str | os.PathLike | None = None, *, reuse_preprocessing: bool = True) -> None:
        from core.runs.store import runs_dir as resolve_runs_dir

        self.dataset = dataset
        self.runs_dir = resolve_runs_dir(runs_dir)
        self.data_hash = dataset.data_hash
        self.reuse_preprocessing = reuse_preprocessing
        self._preprocessed: dict[str, Any] = {}

    def run(self, request: TrialRequest, *, on_epoch: Callable[[dict], None], stop: StopSignal) -> TrialOutcome:
        from core.training.experiment import run_experiment

        def listener(event) -> None:
            if event.kind == "epoch" and getattr(event, "phase", "train") == "train":
                on_epoch(dict(event.logs))

        result = run_experiment(self.dataset, request.config, listener=listener, stop=stop, runs_dir=self.runs_dir,
                                preprocessed=self._preprocess(request.config), tags=request.tags)
        return TrialOutcome(result.status, _metrics_dict(result.metrics), str(result.run_dir) if result.run_dir else None,
                            float(result.duration_s))

    def _preprocess(self, config: ExperimentConfig):
        if not self.reuse_preprocessing:
            return None
        from core.text.preprocessing import preprocess

        key = json.dumps(dataclasses.asdict(config.preprocessing), sort_keys=True)
        if key not in self._preprocessed:
            if len(self._preprocessed) >= 4:
                self._preprocessed.pop(next(iter(self._preprocessed)))
            self._preprocessed[key] = preprocess(self.dataset.texts, config.preprocessing)
        return self._preprocessed[key]


class FunctionExecutor:
    """Runs each trial by calling ``function(request, on_epoch, stop) -> TrialOutcome``: the seam for anything that
    trains elsewhere (the dashboard's job scheduler, see :func:`scheduler_executor`)."""

    def __init__(self, function: Callable[[TrialRequest, Callable[[dict], None], StopSignal], TrialOutcome], *, data_hash: str) -> None:
        self.function = function
        self.data_hash = data_hash

    def run(self, request: TrialRequest, *, on_epoch: Callable[[dict], None], stop: StopSignal) -> TrialOutcome:
        return self.function(request, on_epoch, stop)


def scheduler_executor(scheduler, dataset: "Dataset", runs_dir: str | os.PathLike | None = None, *, poll_s: float = 0.25,
                       owner: str = "") -> FunctionExecutor:
    """Trials as :class:`core.training.jobs.TrainingJob` s through a :class:`core.training.jobs.JobScheduler` (spawned processes, one at
    a time with the user's own jobs). The study loop itself runs in a thread that waits on each job. ``owner`` is
    the dashboard session the trials belong to (the queue overview marks them "yours")."""
    from core.runs.store import runs_dir as resolve_runs_dir

    folder = resolve_runs_dir(runs_dir)

    def run(request: TrialRequest, on_epoch: Callable[[dict], None], stop: StopSignal) -> TrialOutcome:
        from core.training.jobs import FAILED, STOPPED, TrainingJob, spec_for

        started = time.perf_counter()
        label = f"study {request.study} · trial {request.number}: {request.label}"
        job = scheduler.submit(TrainingJob(spec_for(dataset, request.config, folder, tags=request.tags, owner=owner,
                                                    label=label)))
        fold, epochs_seen = None, 0
        while True:
            view = scheduler.view(job)
            if view.fold != fold:  # each fold starts fresh curves
                fold, epochs_seen = view.fold, 0
            while epochs_seen < len(view.epoch_ends):
                on_epoch({key: values[epochs_seen] for key, values in view.history.items() if len(values) > epochs_seen})
                epochs_seen += 1
            if stop.is_set() and not view.stop_requested:
                job.request_stop()
                continue
            if not view.active:
                break
            time.sleep(poll_s)
        if view.status == FAILED:
            raise TrialFailed(view.error or "The training process failed.")
        if view.run_dir is None:  # cancelled before it started
            return TrialOutcome("stopped", {}, None, time.perf_counter() - started)
        metrics = json.loads((Path(view.run_dir) / "metrics.json").read_text(encoding="utf-8"))
        status = "stopped" if view.status == STOPPED else "completed"
        return TrialOutcome(status, metrics, view.run_dir, time.perf_counter() - started)

    return FunctionExecutor(run, data_hash=dataset.data_hash)


# ------------------------------------------------------------------------------------------------ scores


def objective_value(metrics: Mapping[str, Any]) -> float:
    """Validation macro-F1 of a run: the k-fold mean when k-fold is on. Never reads the test split."""
    folds = metrics.get("folds")
    if folds:
        return float(folds["validation"]["macro_f1"]["mean"])
    validation = metrics.get("validation")
    if not validation:
        raise RunError("The run has no validation rows to score; raise split.validation_fraction.")
    return float(validation["macro_f1"])


def _sealed_test_scores(metrics: Mapping[str, Any]) -> dict:
    """The test-split scores of a run. Called ONLY for the reference and the combined config (see the module
    docstring): no lever verdict and no sweep ranking ever reads them."""
    test, baseline = metrics["test"], metrics.get("baseline") or {}
    return {
        "macro_f1": float(test["macro_f1"]),
        "accuracy": float(test["accuracy"]),
        "baseline_macro_f1": float(baseline["macro_f1"]) if baseline.get("available", True) and baseline.get("macro_f1") is not None else None,
        "baseline_fitted_on": baseline.get("fitted_on"),
    }


def _epoch_score(logs: Mapping[str, Any]) -> Optional[float]:
    for key in ("val_macro_f1", "val_accuracy"):
        value = logs.get(key)
        if value is not None and math.isfinite(float(value)):
            return float(value)
    return None


# ------------------------------------------------------------------------------------------------ the loop


@dataclass(frozen=True)
class StudyProgress:
    """One progress message: "trial_started", "epoch", "trial_finished", "waiting", "retry" or "finished"."""

    kind: str
    study: str
    trial: Optional[int] = None
    label: str = ""
    epoch: Optional[int] = None
    value: Optional[float] = None
    state: Optional[str] = None
    done: int = 0
    planned: int = 0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SessionSummary:
    """What one :func:`run_study` call did. ``reason``: "finished", "stopped" or "budget"."""

    study: str
    worker: str
    trials_run: int
    reason: str
    done: int
    planned: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _EitherStop:
    """The run's stop flag: the user's Stop or the pruner's verdict."""

    def __init__(self, *signals: Optional[StopSignal]) -> None:
        self.signals = [s for s in signals if s is not None]

    def is_set(self) -> bool:
        return any(signal.is_set() for signal in self.signals)


class _Heartbeat:
    """Refreshes a running trial's heartbeat from a thread (the journal's timestamp attr, plus Optuna's heartbeat
    table on an RDB storage), so other workers can tell a live trial from one whose worker died."""

    def __init__(self, handle: StudyHandle, trial_id: int) -> None:
        self.handle, self.trial_id = handle, trial_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"study-heartbeat-{trial_id}", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def beat(self) -> bool:
        optuna = _optuna()
        try:
            # Optuna's heartbeat row first: a trial with our timestamp attr then always has one (see recover_stale_trials).
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


@dataclass(frozen=True)
class _Slots:
    waiting: int
    running: tuple
    can_ask: bool
    done: int
    planned: int


def _slot(trial) -> int:
    return int(trial.system_attrs.get(_RETRY_OF, trial.number))


def _slots(handle: StudyHandle, trials: Optional[list] = None) -> _Slots:
    """Budget accounting. A slot is one planned trial; its retries share it (``failed_trial``)."""
    optuna = _optuna()
    state = optuna.trial.TrialState
    trials = handle.trials() if trials is None else trials
    latest: dict[int, Any] = {}
    for trial in trials:
        slot = _slot(trial)
        if slot not in latest or trial.number > latest[slot].number:
            latest[slot] = trial
    done = sum(t.state.is_finished() for t in latest.values())
    planned = handle.planned()
    fresh = sum(_RETRY_OF not in t.system_attrs for t in trials)
    can_ask = handle.kind == KIND_SWEEP and fresh < planned
    return _Slots(
        waiting=sum(t.state == state.WAITING for t in trials),
        running=tuple(t for t in trials if t.state == state.RUNNING),
        can_ask=can_ask, done=done, planned=planned,
    )


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
        return "arm" not in frozen.user_attrs
    earlier_fresh = [t for t in handle.study.get_trials(deepcopy=False) if _RETRY_OF not in t.system_attrs and t.number <= frozen.number]
    return len(earlier_fresh) > handle.planned()


def _run_one_trial(handle: StudyHandle, executor: TrialExecutor, me: str, emit, stop: Optional[StopSignal]) -> bool:
    """Ask for a trial and run it; False when the asked trial was surplus (nothing ran)."""
    optuna = _optuna()
    state = optuna.trial.TrialState
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns that RDB heartbeats are meant for optimize(); ours are below
        trial = handle.study.ask()
    trial_id = trial._trial_id  # Optuna has no public accessor; the storage API is keyed by it
    with _Heartbeat(handle, trial_id):  # the first beat at once: a RUNNING trial without one is harder to call dead
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
        emit(StudyProgress("trial_started", handle.name, trial.number, request.label, done=slots.done, planned=slots.planned))
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
            system = {_SEALED_TEST: _sealed_test_scores(outcome.metrics)} if frozen.user_attrs.get("arm") in (ARM_REFERENCE, ARM_COMBINED) else {}
            _finish(handle, trial, state.COMPLETE, attrs, emit, request.label, value=value, system_attrs=system)
    return True


def _finish(handle: StudyHandle, trial, trial_state, user_attrs: dict, emit, label: str, *, value: Optional[float] = None,
            system_attrs: Optional[dict] = None) -> bool:
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
                           message="another worker gave this trial up after a missed heartbeat; its retry counts instead"))
        return False
    slots = _slots(handle)
    emit(StudyProgress("trial_finished", handle.name, trial.number, label, value=value, state=trial_state.name,
                       done=slots.done, planned=slots.planned, message=str(user_attrs.get("error", ""))))
    return True


def _interrupted(handle: StudyHandle, trial, user_attrs: dict, emit, label: str) -> None:
    """Stop or Ctrl-C inside a trial: fail it and queue it again at once (not counted as a crash retry)."""
    if _finish(handle, trial, _optuna().trial.TrialState.FAIL, {**user_attrs, "interrupted": True}, emit, label):
        _enqueue_retry(handle, handle.storage.get_trial(trial._trial_id), crash=False)


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


def recover_stale_trials(handle: StudyHandle, *, check_local_pids: bool = True, progress: Optional[Callable[[StudyProgress], None]] = None) -> list[int]:
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
                                   message="its worker stopped answering; " + ("queued once more" if retried else "already retried once, given up")))
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
        return TrialRequest(handle.name, trial.number, f"{title}, seed {seed}", dataclasses.replace(config, seed=seed), tags)
    space = SearchSpace.from_dict(plan.space)
    params = {spec.name: spec.suggest(trial) for spec in space.params}
    label = ", ".join(f"{name.split('.')[-1]}={_short(value)}" for name, value in params.items())
    return TrialRequest(handle.name, trial.number, label, space.config_for(base, params), tags)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------------------------------------ lever results


def paired_verdict(deltas: Sequence[float]) -> tuple[str, Optional[float], Optional[float]]:
    """(verdict, interval low, interval high) for paired differences, under :data:`VERDICT_RULE`."""
    n = len(deltas)
    if n < 2:
        return WITHIN_NOISE, None, None
    lazy.load("scipy")
    from scipy.stats import t as student_t

    mean = statistics.fmean(deltas)
    half = float(student_t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * statistics.stdev(deltas) / math.sqrt(n)
    low, high = mean - half, mean + half
    if low > 0 and mean >= MIN_EFFECT:
        return HELPS, low, high
    if high < 0 and mean <= -MIN_EFFECT:
        return HURTS, low, high
    return WITHIN_NOISE, low, high


@dataclass(frozen=True)
class LeverRow:
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

    def to_dict(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        raw.update(overrides=list(self.overrides), interval=list(self.interval) if self.interval else None,
                   deltas=list(self.deltas), seeds=list(self.seeds))
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "LeverRow":
        return cls(**{**raw, "overrides": tuple(raw["overrides"]), "interval": tuple(raw["interval"]) if raw["interval"] else None,
                      "deltas": tuple(raw["deltas"]), "seeds": tuple(raw["seeds"])})


@dataclass(frozen=True)
class LeverTable:
    """A lever study's answer: rows sorted by mean difference, best first; ``rule`` is the verdict rule in words."""

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study, "objective": self.objective, "rule": self.rule, "seeds": list(self.seeds),
            "reference_mean": self.reference_mean, "reference_sd": self.reference_sd, "reference_n": self.reference_n,
            "rows": [row.to_dict() for row in self.rows], "complete": self.complete, "done": self.done, "planned": self.planned,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "LeverTable":
        return cls(**{**raw, "seeds": tuple(raw["seeds"]), "rows": tuple(LeverRow.from_dict(r) for r in raw["rows"])})


def _values_by_arm(handle: StudyHandle) -> dict[str, dict[int, float]]:
    """Validation objective per (arm, seed) from COMPLETE trials."""
    optuna = _optuna()
    values: dict[str, dict[int, float]] = {}
    for trial in handle.trials():
        if trial.state == optuna.trial.TrialState.COMPLETE and "arm" in trial.user_attrs:
            values.setdefault(trial.user_attrs["arm"], {}).setdefault(int(trial.user_attrs["seed"]), float(trial.value))
    return values


def _row(key: str, title: str, category: str, overrides: Sequence[str], values: Mapping[int, float], reference: Mapping[int, float]) -> LeverRow:
    seeds = tuple(sorted(set(values) & set(reference)))
    deltas = tuple(values[s] - reference[s] for s in seeds)
    verdict, low, high = paired_verdict(deltas)
    return LeverRow(
        key=key, title=title, category=category, overrides=tuple(overrides), n=len(deltas),
        mean_delta=statistics.fmean(deltas) if deltas else None,
        sd_delta=statistics.stdev(deltas) if len(deltas) > 1 else None,
        interval=(low, high) if low is not None else None,
        mean_value=statistics.fmean(values.values()) if values else None,
        deltas=deltas, seeds=seeds, verdict=verdict,
    )


def lever_results(handle: StudyHandle) -> LeverTable:
    """The paired table of a lever study (partial while trials remain). Reads validation scores only."""
    if handle.kind != KIND_LEVERS:
        raise ConfigError(f"{handle.name!r} is a {handle.kind}, not a lever study; read it with sweep_results.")
    values = _values_by_arm(handle)
    reference = values.get(ARM_REFERENCE, {})
    rows = [_row(lever.key, lever.title, lever.category, lever.overrides, values.get(lever.key, {}), reference) for lever in handle.plan.levers]
    rows.sort(key=lambda row: (row.mean_delta is None, -(row.mean_delta or 0.0)))
    lever_slots = _lever_phase_slots(handle)
    ref_values = list(reference.values())
    return LeverTable(
        study=handle.name, objective=OBJECTIVE, rule=VERDICT_RULE, seeds=handle.plan.seeds,
        reference_mean=statistics.fmean(ref_values) if ref_values else None,
        reference_sd=statistics.stdev(ref_values) if len(ref_values) > 1 else None, reference_n=len(ref_values),
        rows=tuple(rows), complete=lever_slots[0] == lever_slots[1], done=lever_slots[0], planned=lever_slots[1],
    )


def _lever_phase_slots(handle: StudyHandle) -> tuple[int, int]:
    """(settled, planned) lever-phase slots (reference and levers, not the combined config)."""
    latest: dict[int, Any] = {}
    for trial in handle.trials():
        if trial.user_attrs.get("arm") not in (None, ARM_COMBINED):
            slot = _slot(trial)
            if slot not in latest or trial.number > latest[slot].number:
                latest[slot] = trial
    return sum(t.state.is_finished() for t in latest.values()), handle.plan.planned


def plan_combination(table: LeverTable, levers: Sequence[Lever], base: ExperimentConfig, include: Optional[Sequence[str]] = None) -> CombinedPlan:
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
class ArmScore:
    mean: Optional[float]
    sd: Optional[float]
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "ArmScore":
        values = [v for v in values if v is not None]
        return cls(statistics.fmean(values) if values else None, statistics.stdev(values) if len(values) > 1 else None, len(values))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "ArmScore":
        return cls(raw["mean"], raw["sd"], int(raw["n"]))


@dataclass(frozen=True)
class CombinedResult:
    """The combined config against the reference: paired validation difference (same rule), then the sealed test
    split — scored only for these two configs — as mean ± sd test macro-F1 with the TF-IDF baseline on the same
    splits."""

    study: str
    plan: CombinedPlan
    validation: Optional[LeverRow]
    test_reference: ArmScore
    test_combined: Optional[ArmScore]
    test_baseline: ArmScore
    per_seed: tuple[dict, ...]
    note: str
    baseline_fitted_on: Optional[str] = None  # which rows the TF-IDF baseline was fitted on, in words

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study, "plan": self.plan.to_dict(), "validation": self.validation.to_dict() if self.validation else None,
            "test": {"reference": self.test_reference.to_dict(), "combined": self.test_combined.to_dict() if self.test_combined else None,
                     "baseline": self.test_baseline.to_dict()},
            "per_seed": list(self.per_seed), "note": self.note, "baseline_fitted_on": self.baseline_fitted_on,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "CombinedResult":
        test = raw["test"]
        return cls(
            study=raw["study"], plan=CombinedPlan.from_dict(raw["plan"]),
            validation=LeverRow.from_dict(raw["validation"]) if raw["validation"] else None,
            test_reference=ArmScore.from_dict(test["reference"]),
            test_combined=ArmScore.from_dict(test["combined"]) if test["combined"] else None,
            test_baseline=ArmScore.from_dict(test["baseline"]), per_seed=tuple(raw["per_seed"]), note=raw["note"],
            baseline_fitted_on=raw.get("baseline_fitted_on"),
        )


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
            raise ConfigError(f"Study {handle.name!r} already combined {', '.join(existing.applied) or 'nothing'}; start a new study to combine others.")
        plan = existing
    else:
        handle.study.set_user_attr(_COMBINED_ATTR, plan.to_dict())
    if plan.applied:
        # Queued after the plan is recorded; a resume queues whatever seeds a crash left unqueued.
        queued = {int(t.user_attrs["seed"]) for t in handle.trials() if t.user_attrs.get("arm") == ARM_COMBINED}
        for seed in handle.plan.seeds:
            if seed not in queued:
                handle.study.enqueue_trial({}, user_attrs={"arm": ARM_COMBINED, "seed": seed})
        run_study(handle, executor, progress=progress, stop=stop, budget_minutes=budget_minutes, check_local_pids=check_local_pids)
    return combined_results(handle)


def combined_results(handle: StudyHandle) -> CombinedResult:
    """The final comparison; reads the sealed test scores of the reference and combined trials, nothing else."""
    optuna = _optuna()
    plan = handle.combined_plan()
    if plan is None:
        raise ConfigError(f"Study {handle.name!r} has not been combined yet; run combine_helpers first.")
    values = _values_by_arm(handle)
    sealed: dict[str, dict[int, dict]] = {}
    for trial in handle.trials():
        arm = trial.user_attrs.get("arm")
        if trial.state == optuna.trial.TrialState.COMPLETE and arm in (ARM_REFERENCE, ARM_COMBINED) and _SEALED_TEST in trial.system_attrs:
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
        test_reference=ArmScore.of([row["reference"] for row in per_seed]),
        test_combined=ArmScore.of([row["combined"] for row in per_seed]) if plan.applied else None,
        test_baseline=ArmScore.of([row["baseline"] for row in per_seed]),
        per_seed=per_seed, note=note,
        baseline_fitted_on=next((entry.get("baseline_fitted_on") for entry in reference.values() if entry.get("baseline_fitted_on")), None),
    )


# ------------------------------------------------------------------------------------------------ sweep results


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
            number=trial.number, state=trial.state.name, value=trial.value, params=dict(trial.params), duration_s=duration,
            run_dir=trial.user_attrs.get("run_dir"), retry_of=trial.system_attrs.get(_RETRY_OF),
            arm=trial.user_attrs.get("arm"), seed=trial.user_attrs.get("seed"), error=trial.user_attrs.get("error"),
        ))
    return rows


@dataclass(frozen=True)
class SweepResult:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study, "planned": self.planned, "done": self.done, "trials": [t.to_dict() for t in self.trials],
            "best": self.best.to_dict() if self.best else None, "best_config": self.best_config,
            "importances": self.importances, "importance_note": self.importance_note,
            "axes": list(self.axes), "parallel": list(self.parallel),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "SweepResult":
        return cls(
            study=raw["study"], planned=raw["planned"], done=raw["done"], trials=tuple(TrialRow.from_dict(t) for t in raw["trials"]),
            best=TrialRow.from_dict(raw["best"]) if raw["best"] else None, best_config=raw["best_config"],
            importances=raw["importances"], importance_note=raw["importance_note"], axes=tuple(raw["axes"]),
            parallel=tuple(raw["parallel"]),
        )


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
    return SweepResult(handle.name, slots.planned, slots.done, tuple(rows), best, best_config, importances, note, axes, parallel)


def _importances(handle: StudyHandle, completed: int) -> tuple[Optional[dict[str, float]], str]:
    if completed < MIN_IMPORTANCE_TRIALS:
        return None, f"Parameter importance needs at least {MIN_IMPORTANCE_TRIALS} completed trials; this sweep has {completed}."
    optuna = _optuna()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            importances = optuna.importance.get_param_importances(handle.study)
        except (ValueError, RuntimeError) as exc:
            return None, f"Parameter importance is not available yet ({exc})."
    if any("will be equal" in str(w.message) for w in caught):
        return None, "Too few distinct results yet to tell the settings apart."
    return {name: float(value) for name, value in importances.items()}, "PED-ANOVA importance over the completed trials (sums to 1)."


def _parallel_coordinates(space: SearchSpace, complete: Sequence[TrialRow]) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
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


# ------------------------------------------------------------------------------------------------ listing


@dataclass(frozen=True)
class StudyInfo(Record):
    """One line of the study list. ``state``: "running" (a trial has a live heartbeat), "finished", or
    "interrupted" (work left and nobody on it: resume it)."""

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
    finished = slots.done >= slots.planned and not slots.waiting and not slots.running
    return StudyInfo(
        name=handle.name, kind=handle.kind, location=_shown_location(handle.location), created=handle.plan.created,
        data=handle.plan.data.source_name, planned=slots.planned, done=slots.done, running=len(slots.running),
        waiting=slots.waiting, failed=sum(t.state == state_enum.FAIL for t in trials), pruned=sum(t.state == state_enum.PRUNED for t in trials),
        best_value=max(values) if values and handle.kind == KIND_SWEEP else None,
        state="running" if live else "finished" if finished else "interrupted",
    )
