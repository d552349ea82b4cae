"""Server-wide state that outlives a script run, shared by every session of one server; no Streamlit here.

Each store is a :class:`BoundedLRU` (thread-safe, at most so many entries, the least recently used dropped first):

- :class:`LabStore`: lab sessions by id (settings, data source, job owner), so a reloaded tab carries on; it also
  bounds the bytes of uploaded files it keeps.
- the coach's latest re-run of each lab session (:class:`Rerun`) and its latest lesson attempt
  (:class:`LessonAttempt`), by owner;
- :class:`StudyRegistry`: the lever studies and sweeps this server runs in background threads, by journal location.

The dashboard holds one of each per server (``st.cache_resource`` in components.frame.cached, beside the job
scheduler and the inference server); tests make their own.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Generic, Hashable, Optional, TypeVar

from core.config import ExperimentConfig
from core.errors import UserError

if TYPE_CHECKING:  # the first page loads this module: the engine's heavier modules stay unloaded
    from core.evidence.study import StudyProgress
    from core.teaching.lessons import Lesson
    from core.training.jobs import TrainingJob

log = logging.getLogger("lstm_text_lab")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SESSIONS_KEPT = 200  # lab sessions, and the latest coach re-run and lesson attempt of each
STUDIES_KEPT = 64  # studies whose last words (why they ended) stay readable; running ones are always kept


class BoundedLRU(Generic[K, V]):
    """At most ``limit`` entries by key, the least recently used dropped first; thread-safe.

    Reading an entry (:meth:`get`) and writing it (:meth:`put`) both count as using it. ``pinned(value)``, when
    given, marks entries that must stay whatever their age (a study whose thread still runs): eviction passes over
    them, so the store may hold more than ``limit`` entries while they last. A store that bounds something besides
    the count (:class:`LabStore`: the bytes of uploads) overrides :meth:`_trim`, which runs under the lock after
    every put.
    """

    def __init__(self, limit: int, *, pinned: Optional[Callable[[V], bool]] = None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._pinned = pinned
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> Optional[V]:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            self._evict(keep=key)
            self._trim()

    def items(self) -> list[tuple[K, V]]:
        """A snapshot, least recently used first."""
        with self._lock:
            return list(self._items.items())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _evict(self, *, keep: K) -> None:
        excess = len(self._items) - self.limit
        if excess <= 0:
            return
        if self._pinned is None:
            for _ in range(excess):
                self._items.popitem(last=False)
            return
        evictable = [key for key, value in self._items.items() if key != keep and not self._pinned(value)]
        for key in evictable[:excess]:
            del self._items[key]

    def _trim(self) -> None:
        """Called under the lock after each put, once the count is within the limit."""


# ------------------------------------------------------------------------------------------------ lab sessions


@dataclass(frozen=True)
class DataSource:
    """Where the data comes from: a built-in dataset key, or uploaded bytes identified by their hash."""

    kind: str  # "builtin" | "upload"
    name: str  # built-in key or the uploaded file's name
    raw: Optional[bytes] = None
    sample_rows: Optional[int] = None  # an upload too big for memory: a seeded random sample of this many rows

    @functools.cached_property
    def source_id(self) -> str:
        # Cached: every rerun asks for it, and hashing a 50 MB upload each time costs ~0.1 s.
        if self.kind == "builtin":
            return f"builtin:{self.name}"
        sample = f":sample{self.sample_rows}" if self.sample_rows else ""
        return f"upload:{hashlib.sha256(self.raw or b'').hexdigest()[:16]}{sample}"


@dataclass(frozen=True)
class LabRecord:
    """What a reloaded tab needs to carry on: settings, data and who its jobs belong to."""

    config: ExperimentConfig
    source: DataSource  # an upload whose bytes the store had to drop keeps kind/name with raw=None
    owner: str


class LabStore(BoundedLRU[str, LabRecord]):
    """Lab sessions by id: at most ``max_labs`` of them, and uploaded files of at most ``max_upload_bytes`` in all.

    Beyond the byte budget the least recently used labs lose their file's bytes (the name stays, so a reload can say
    what is missing). Identical uploads count once.
    """

    def __init__(self, *, max_labs: int = SESSIONS_KEPT, max_upload_bytes: int = 200 * 1024 * 1024) -> None:
        if max_labs < 1 or max_upload_bytes < 0:
            raise ValueError("max_labs must be at least 1 and max_upload_bytes at least 0")
        super().__init__(max_labs)
        self.max_upload_bytes = max_upload_bytes

    @property
    def max_labs(self) -> int:
        return self.limit

    def upload_bytes(self) -> int:
        with self._lock:
            return self._upload_bytes()

    def _upload_bytes(self) -> int:
        sizes = {r.source.source_id: len(r.source.raw) for r in self._items.values() if r.source.raw is not None}
        return sum(sizes.values())

    def _trim(self) -> None:
        for lab_id in list(self._items):  # oldest first
            if self._upload_bytes() <= self.max_upload_bytes:
                return
            record = self._items[lab_id]
            if record.source.raw is not None:
                dropped = DataSource(record.source.kind, record.source.name, sample_rows=record.source.sample_rows)
                self._items[lab_id] = dataclasses.replace(record, source=dropped)


# ------------------------------------------------------------------------------- coach re-runs, lesson attempts


@dataclass(frozen=True)
class Rerun:
    """One "try this" of a lab session: the run it changes (known now, or once a stopped job has saved it)."""

    job: TrainingJob
    change: str  # the override, e.g. "model.dropout=0.3"
    title: str  # the diagnosis it answers
    parent_run: Optional[str] = None
    parent_job: Optional[TrainingJob] = None

    def parent_dir(self) -> Optional[str]:
        if self.parent_run:
            return self.parent_run
        return self.parent_job.view().run_dir if self.parent_job is not None else None


@dataclass(frozen=True)
class LessonAttempt:
    """One start of a lesson: its variants' jobs in the lesson's order."""

    lesson: Lesson
    attempt: str  # tagged on every run of this start
    jobs: tuple[tuple[str, TrainingJob], ...]  # (variant name, job)

    def active(self) -> bool:
        return any(job.is_active() for _, job in self.jobs)


# ------------------------------------------------------------------------------------------------ studies

MAX_MESSAGES = 6
STATE_WORDS = {"COMPLETE": "done", "PRUNED": "pruned (weak, stopped early)", "RUNNING": "running", "WAITING": "waiting"}


def progress_line(event: StudyProgress) -> str:
    """One plain sentence per progress event worth reading ("" for per-epoch events)."""
    if event.kind == "trial_started":
        return f"Trial {event.trial} started: {event.label}."
    if event.kind == "trial_finished":
        value = f", validation macro-F1 {event.value:.3f}" if event.value is not None else ""
        state_words = STATE_WORDS.get(event.state or "", "stopped or failed")
        detail = f" ({event.message})" if event.message else ""
        return f"Trial {event.trial} {state_words}{value}{detail}."
    if event.kind in ("waiting", "retry"):
        return ((f"Trial {event.trial}: " if event.trial is not None else "")
                + event.message[:1].upper() + event.message[1:] + ".")
    if event.kind == "finished":
        return {"stopped": "Stopped; Resume carries on where it stopped.", "finished": "Every planned trial has run.",
                "budget": "The time budget ran out."}.get(event.message, event.message)
    return ""


@dataclass(frozen=True)
class LiveView:
    """A snapshot of a study this server is running (or ran since it started), for drawing."""

    name: str
    alive: bool
    stopping: bool
    trial: Optional[int]
    label: str
    history: dict
    done: int
    planned: int
    messages: tuple[str, ...]
    reason: Optional[str]
    error: Optional[str]
    started_at: float


class _Live:
    """The mutable side of a :class:`LiveView`; only the registry touches it, under its lock."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stop = threading.Event()
        self.thread: Optional[threading.Thread] = None
        self.trial: Optional[int] = None
        self.label = ""
        self.history: dict[str, list[float]] = {}
        self.done = self.planned = 0
        self.messages: collections.deque[str] = collections.deque(maxlen=MAX_MESSAGES)
        self.reason: Optional[str] = None
        self.error: Optional[str] = None
        self.started_at = time.time()

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


Work = Callable[[Callable[["StudyProgress"], None], Callable[[dict], None], threading.Event], None]


class StudyRegistry:
    """The studies this server runs, by journal location: thread-safe, at most one worker thread per study (which may
    drive two study loops at once, one per scheduler slot a study's trials may take: see
    :func:`core.evidence.study.run_in_threads`).

    ``work(progress, on_epoch, stop)`` runs in the thread; its progress events and the running trial's epoch logs
    land here, and a page reads them with :meth:`view`. A study stays listed after its thread ends (its last words:
    why it ended, or its error) until it is started again, or until ``limit`` newer studies have pushed it out; a
    study whose thread runs is never pushed out.
    """

    def __init__(self, limit: int = STUDIES_KEPT) -> None:
        self._lock = threading.Lock()
        self._studies: BoundedLRU[str, _Live] = BoundedLRU(limit, pinned=_Live.alive)

    def start(self, location: str, name: str, work: Work) -> bool:
        """Start ``work`` for this study; False when a thread already runs it."""
        with self._lock:
            current = self._studies.get(location)
            if current is not None and current.alive():
                return False
            live = _Live(name)
            live.thread = threading.Thread(target=self._run, args=(live, work), name=f"study-{name}", daemon=True)
            self._studies.put(location, live)
        live.thread.start()
        return True

    def _run(self, live: _Live, work: Work) -> None:
        try:
            work(lambda event: self._progress(live, event), lambda logs: self._epoch(live, logs), live.stop)
        except UserError as exc:
            with self._lock:
                live.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the page shows one sentence; the log keeps the traceback
            log.exception("study %s failed", live.name)
            with self._lock:
                live.error = f"The study stopped on an unexpected error ({type(exc).__name__}: {exc})."
        finally:
            with self._lock:
                live.trial, live.label = None, ""

    def _progress(self, live: _Live, event: StudyProgress) -> None:
        with self._lock:
            if event.planned:
                live.done, live.planned = event.done, event.planned
            if event.kind == "trial_started":
                live.trial, live.label, live.history = event.trial, event.label, {}
            elif event.kind == "finished":
                live.reason = event.message
            line = progress_line(event)
            if line:
                live.messages.append(line)

    def _epoch(self, live: _Live, logs: dict) -> None:
        with self._lock:
            for key, value in logs.items():
                live.history.setdefault(key, []).append(value)

    def stop(self, location: str) -> None:
        live = self._studies.get(location)
        if live is not None:
            live.stop.set()

    def is_running(self, location: str) -> bool:
        live = self._studies.get(location)
        return live is not None and live.alive()

    def view(self, location: str) -> Optional[LiveView]:
        with self._lock:
            live = self._studies.get(location)
            if live is None:
                return None
            return LiveView(
                name=live.name, alive=live.alive(), stopping=live.stop.is_set(),
                trial=live.trial, label=live.label, history={k: list(v) for k, v in live.history.items()},
                done=live.done, planned=live.planned, messages=tuple(live.messages), reason=live.reason,
                error=live.error, started_at=live.started_at,
            )

    def wait(self, location: str, timeout: float) -> bool:
        """Block until the study's thread ends (tests, shutdown); True when it did."""
        live = self._studies.get(location)
        if live is None or live.thread is None:
            return True
        live.thread.join(timeout)
        return not live.thread.is_alive()

    def running(self) -> list[str]:
        return [location for location, live in self._studies.items() if live.alive()]
