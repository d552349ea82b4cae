"""Training jobs in spawned processes, for the dashboard (and anything else that must stay responsive).

Why a process: training inline in a Streamlit script dies at the first widget click (Streamlit raises a rerun
exception inside the callback), and a training *thread* deadlocks against Streamlit's end-of-run
``keras.backend.clear_session()``. A spawned process whose module never imports streamlit avoids both: it trains,
sends progress messages over a queue, stops cooperatively when asked, and saves the run itself.

A :class:`JobScheduler` caps how many jobs train at once (two CPU cores cannot train two models well) and gives
queued jobs a position. Everything here is thread-safe: Streamlit serves each browser session from its own thread.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from core.config import ExperimentConfig
    from core.data.dataset import Dataset

from core.progress import PREPARING, TRAINING, WARMUP, ProgressEvent

QUEUED, STARTING, RUNNING, FINISHED, STOPPED, FAILED = "queued", "starting", "running", "finished", "stopped", "failed"
ACTIVE = (QUEUED, STARTING, RUNNING)
_MAX_BATCH_POINTS = 2000
_ids = itertools.count(1)


@dataclass(frozen=True)
class JobSpec:
    """What a worker needs: the dataset and the config travel as they are (both pickle), with where to save."""

    dataset: "Dataset"
    config: "ExperimentConfig"
    runs_dir: str
    tags: Optional[dict] = None  # stored in the run record (e.g. study and trial)
    owner: str = ""  # who started it (a dashboard session's lab id): a reloaded tab finds its job by this
    label: str = ""  # one line for the queue overview, e.g. "faa-bird-strikes-effect · BiLSTM 64"
    baseline: Optional[object] = None  # core.runs.results.BaselineResult already fitted on this data and split
    # core.data.splitting.Split fixing the rows of each split (cleaned data, same test rows)
    split: Optional[object] = None
    attachments: Optional[dict] = None  # extra JSON records saved with the run
    # Run in the worker once the run is saved and reported, with the experiment's result (its model still in memory)
    # and a should_stop() that turns true on Stop or when the next job starts: e.g. measuring the run's faithfulness
    # (core.evidence.inference.measure_after_training). A top-level function, so the spec still pickles.
    after_saving: Optional[Callable[[Any, Callable[[], bool]], None]] = None


def _worker(spec: JobSpec, messages, stop) -> None:
    """Runs in the child process: train, stream progress, save, report the run folder or one error sentence; then
    the spec's follow-up, if any, while the job already counts as finished."""
    result = None
    try:
        from core.backend import import_keras
        from core.errors import UserError
        from core.training.experiment import run_experiment

        import_keras()
        messages.put({"type": "status", "status": RUNNING})
        result = run_experiment(
            spec.dataset, spec.config,
            listener=lambda event: messages.put({"type": "event", "event": event}),
            stop=stop, runs_dir=spec.runs_dir, tags=spec.tags, baseline=spec.baseline, split=spec.split,
            attachments=spec.attachments,
        )
        stop.clear()  # before the result: from here on the event asks the follow-up to end (Stop, or the next job)
        messages.put({"type": "result", "run_dir": str(result.run_dir), "status": result.status,
                      "summary": result.summary})
    except UserError as exc:
        messages.put({"type": "error", "message": str(exc)})
    except MemoryError:
        messages.put({"type": "error",
                      "message": "Training ran out of memory: lower the batch size, max length or model size."})
    except BaseException as exc:  # noqa: BLE001 - the parent must hear about every failure, in one sentence
        messages.put({"type": "error", "message": f"Training failed unexpectedly ({type(exc).__name__}: {exc}).",
                      "detail": traceback.format_exc()})
        return
    if spec.after_saving is not None and result is not None and result.run_dir is not None:
        try:
            spec.after_saving(result, stop.is_set)
        except Exception:  # noqa: BLE001 - the run is saved and reported; a failed follow-up only loses its extra
            traceback.print_exc()


def warm_workers_enabled() -> bool:
    """Whether the dashboard keeps a warm worker ready (``LSTM_TEXT_LAB_WARM_WORKER=0`` turns it off)."""
    return os.environ.get("LSTM_TEXT_LAB_WARM_WORKER", "1").strip().lower() not in ("0", "false", "no", "off")


def _standby(specs, messages, stop, ready) -> None:
    """A warm worker's life: import what training needs, say so, then wait for one job or for the parent's end.

    The parent's end is checked every second because the spec queue never reports it: this process holds a copy
    of the queue's write end, so a killed server would otherwise leave it waiting forever.
    """
    from core.backend import import_keras

    import_keras()
    import core.training.experiment  # noqa: F401 - what _worker imports: loaded now, while the user is still choosing
    from core.training.fit import warm_up_tracing

    warm_up_tracing()
    ready.set()
    parent = multiprocessing.parent_process()
    while True:
        try:
            spec = specs.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return
            continue
        if spec is not None:
            _worker(spec, messages, stop)
        return


def _end_standby(process, specs, _keep_alive: tuple = ()) -> None:
    """End a warm worker that never got a job. ``_keep_alive`` holds its queues and events until the process is
    gone: a spawned child still starting up rebuilds them from their names, and fails if they vanished first."""
    try:
        if process.is_alive():
            specs.put(None)
            process.join(timeout=2.0)
        if process.is_alive():
            process.terminate()
    except (OSError, ValueError, AssertionError):  # already closed, or called from a process that is not the parent
        pass


class WarmWorker:
    """A spawned process that has already started Python, imported TensorFlow, Keras and the engine, and traced a
    tiny model once (:func:`core.training.fit.warm_up_tracing`), waiting for one job. Taking it saves Start the ~4 s a
    fresh process spends before its first batch and ~0.5 s of the first epoch (``bench/start_to_saved.py --path
    dashboard``). Ended when dropped, or when the server that spawned it dies."""

    def __init__(self, context) -> None:
        self.messages = context.Queue()
        self.stop = context.Event()
        self.ready = context.Event()
        self._specs = context.Queue()
        self.process = context.Process(target=_standby, args=(self._specs, self.messages, self.stop, self.ready),
                                       daemon=True, name="lstm-text-lab-warm-worker")
        self.process.start()
        self._finalizer = weakref.finalize(self, _end_standby, self.process, self._specs,
                                           (self.messages, self.stop, self.ready))

    def is_alive(self) -> bool:
        return self.process.is_alive()

    def wait_ready(self, timeout: float) -> bool:
        """True once the imports and the tiny trace are done (for benches and tests; the scheduler hands a job over
        either way, and a job handed over early starts as soon as they are)."""
        return self.ready.wait(timeout)

    def hand_over(self, spec: "JobSpec") -> None:
        """Give the worker its one job; from here the process belongs to that job."""
        self._finalizer.detach()
        self._specs.put(spec)

    def close(self) -> None:
        self._finalizer()


@dataclass
class JobView:
    """A snapshot of a job for drawing: plain data, safe to read while the job goes on."""

    job_id: int
    status: str
    queue_position: Optional[int]
    history: dict[str, list[float]]
    batch_points: list[dict]
    last_event: Optional[dict]
    phase: str  # one of core.progress.PHASES ("preparing" until the worker says otherwise)
    phase_message: str
    run_dir: Optional[str]
    error: Optional[str]
    started_at: Optional[float]
    finished_at: Optional[float]
    stop_requested: bool
    fold: Optional[int] = None
    folds: Optional[int] = None
    earlier_folds: list[dict[str, list[float]]] = field(default_factory=list)  # the curves of each fold already trained
    epoch_ends: list[float] = field(default_factory=list)  # seconds since training started, at each epoch's end
    epoch_seconds: list[float] = field(default_factory=list)  # each finished epoch's duration
    partial_epoch: Optional[int] = None  # an epoch cut short by Stop (drawn, never the best)
    scored_rows: int = 0  # validation + test rows to score after training
    train_rows: int = 0
    owner: str = ""
    label: str = ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def warmup_message(self) -> str:
        return self.phase_message if self.phase == WARMUP and self.active else ""


class TrainingJob:
    """One training run in its own process. Create it, hand it to a scheduler, then poll ``view()``."""

    def __init__(self, spec: JobSpec, *, context: str = "spawn") -> None:
        self.job_id = next(_ids)
        self.spec = spec
        self._context = multiprocessing.get_context(context)
        self._lock = threading.Lock()
        self._process = None
        self._messages = None
        self._stop = None
        self._warm_worker: Optional[WarmWorker] = None
        self.status = QUEUED
        self.history: dict[str, list[float]] = {}
        self.batch_points: list[dict] = []
        self.epoch_ends: list[float] = []
        self.last_event: Optional[dict] = None
        self.phase = PREPARING
        self.phase_message = "Starting the training process"
        self.epoch_seconds: list[float] = []
        self.partial_epoch: Optional[int] = None
        self.scored_rows = 0
        self.run_dir: Optional[str] = None
        self.error: Optional[str] = None
        self.error_detail: Optional[str] = None
        self.started_at: Optional[float] = None
        self.finished_at: Optional[float] = None
        self.stop_requested = False
        self._fold: Optional[int] = None
        self._folds: Optional[int] = None
        self._fold_offset = 0.0
        self._earlier_folds: list[dict[str, list[float]]] = []

    # -- lifecycle (called by the scheduler) ---------------------------------------------------------------
    def accepts(self, worker: WarmWorker) -> bool:
        """A warm worker is a spawned process: only a job meant to run in one may take it."""
        return self._context.get_start_method() == "spawn" and worker.is_alive()

    def start(self, worker: Optional[WarmWorker] = None) -> None:
        """Start in a fresh process, or in ``worker`` (already warm) when one is given."""
        with self._lock:
            if self.status != QUEUED:
                return
            if worker is not None:
                self._messages, self._stop, self._process = worker.messages, worker.stop, worker.process
            else:
                self._messages = self._context.Queue()
                self._stop = self._context.Event()
                self._process = self._context.Process(target=_worker, args=(self.spec, self._messages, self._stop),
                                                      daemon=True, name=f"lstm-text-lab-job-{self.job_id}")
            if self.stop_requested:
                self._stop.set()
            if worker is not None:
                # The job keeps the worker, and with it the queue and event the child may still be rebuilding: a
                # worker spawned a moment ago is handed over while it starts, and dropping them would kill it.
                self._warm_worker = worker
                worker.hand_over(self.spec)
            else:
                self._process.start()
            self.status = STARTING
            self.started_at = time.time()

    def request_stop(self) -> None:
        """Ask the worker to stop after its current batch; a queued job is cancelled outright."""
        with self._lock:
            self.stop_requested = True
            if self.status == QUEUED:
                self.status = STOPPED
                self.error = None
                self.finished_at = time.time()
            elif self._stop is not None:
                self._stop.set()

    def poll(self) -> None:
        """Drain the worker's messages and notice a worker that died without a word."""
        with self._lock:
            if self._messages is None:
                return
            while True:
                try:
                    message = self._messages.get_nowait()
                except queue.Empty:
                    break
                except (EOFError, OSError):
                    break
                self._handle(message)
            if self.status in (STARTING, RUNNING) and self._process is not None and not self._process.is_alive():
                self._drain_after_exit()

    def _drain_after_exit(self) -> None:
        # The process can exit a moment before its last message is readable.
        deadline = time.time() + 1.0
        while self.status in (STARTING, RUNNING) and time.time() < deadline:
            try:
                self._handle(self._messages.get(timeout=0.1))
            except queue.Empty:
                continue
            except (EOFError, OSError):
                break
        if self.status in (STARTING, RUNNING):
            self.status = FAILED
            self.error = (
                f"The training process ended unexpectedly (exit code {self._process.exitcode}); "
                "it may have run out of memory."
            )
            self.finished_at = time.time()

    def _handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "status":
            self.status = message["status"]
        elif kind == "event":
            self._record_event(message["event"])
        elif kind == "result":
            self.run_dir = message["run_dir"]
            self.status = STOPPED if message["status"] == "stopped" else FINISHED
            self.finished_at = time.time()
        elif kind == "error":
            self.status = FAILED
            self.error = message["message"]
            self.error_detail = message.get("detail")
            self.finished_at = time.time()

    def _record_event(self, event: ProgressEvent) -> None:
        """The worker sends the event record itself: the queue pickles it, so a NaN or infinite loss arrives as
        such (``to_dict`` would write it as null) and the coach can name it; views get the plain dict."""
        self.status = RUNNING
        if event.fold is not None and event.fold != self._fold:
            self._next_fold(event)
        if event.kind == "phase" or event.phase == WARMUP:
            self.phase, self.phase_message = event.phase, event.message
            return
        self.phase, self.phase_message = TRAINING, ""
        self.last_event = event.to_dict()
        if event.kind == "start":
            self.scored_rows = event.scored_rows
        if event.kind == "epoch":
            for key, value in event.logs.items():
                self.history.setdefault(key, []).append(value)
            self.epoch_ends.append(event.elapsed_s)
            if event.epoch_seconds is not None:
                self.epoch_seconds.append(event.epoch_seconds)
            if event.partial:
                self.partial_epoch = event.epoch
        elif event.kind == "batch" and "loss" in event.logs and len(self.batch_points) < _MAX_BATCH_POINTS:
            fraction = event.epoch - 1 + event.batch / max(1, event.batches)
            self.batch_points.append({"epoch_fraction": fraction, "loss": event.logs["loss"],
                                      "accuracy": event.logs.get("accuracy")})

    def _next_fold(self, event: ProgressEvent) -> None:
        """A new fold (its first announcement, building its model, already names it) starts a fresh set of curves;
        the finished fold's stay viewable, and progress stands at the new fold's start until its first batch."""
        if self._fold is not None and self.history:
            self._earlier_folds.append(self.history)
        self._fold, self._folds = event.fold, event.folds
        self.history, self.batch_points, self.epoch_ends, self.epoch_seconds = {}, [], [], []
        self.partial_epoch = None
        if self.last_event and self.last_event.get("epochs"):
            self.last_event = {**self.last_event, "kind": "start", "epoch": 1, "batch": 0, "logs": {},
                               "fold": event.fold, "folds": event.folds, "best_epoch": None,
                               "epochs_without_improvement": 0}

    def view(self, queue_position: Optional[int] = None) -> JobView:
        with self._lock:
            return JobView(
                job_id=self.job_id, status=self.status, queue_position=queue_position,
                history={k: list(v) for k, v in self.history.items()}, batch_points=list(self.batch_points),
                last_event=dict(self.last_event) if self.last_event else None, phase=self.phase,
                phase_message=self.phase_message, run_dir=self.run_dir, error=self.error, started_at=self.started_at,
                finished_at=self.finished_at, stop_requested=self.stop_requested, fold=self._fold, folds=self._folds,
                earlier_folds=[{k: list(v) for k, v in curves.items()} for curves in self._earlier_folds],
                epoch_ends=list(self.epoch_ends), epoch_seconds=list(self.epoch_seconds),
                partial_epoch=self.partial_epoch,
                scored_rows=self.scored_rows, train_rows=len(self.spec.dataset.texts), owner=self.spec.owner,
                label=self.spec.label,
            )

    def is_active(self) -> bool:
        with self._lock:
            return self.status in ACTIVE

    def is_queued(self) -> bool:
        with self._lock:
            return self.status == QUEUED

    def following_up(self) -> bool:
        """Whether the job has ended but its worker is still busy with the follow-up (JobSpec.after_saving)."""
        with self._lock:
            return self.status not in ACTIVE and self._process is not None and self._process.is_alive()

    def end_follow_up(self) -> None:
        """Ask a finished job's worker, still busy with its follow-up (JobSpec.after_saving), to end at its next
        check."""
        with self._lock:
            if (self.status not in ACTIVE and self._stop is not None and self._process is not None
                    and self._process.is_alive()):
                self._stop.set()

    def kill(self) -> None:
        """Last resort (shutdown): end the process without waiting for a batch boundary."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                self._process.terminate()


@dataclass(frozen=True)
class QueueEntry:
    """One job in the server-wide overview every session can see."""

    job_id: int
    owner: str
    label: str
    status: str
    queue_position: Optional[int]
    phase: str
    epoch: Optional[int]
    epochs: Optional[int]
    fold: Optional[int] = None  # during k-fold (or an average of several models): which one trains, of how many
    folds: Optional[int] = None
    cross_validation: bool = False  # the folds are k-fold's (else models trained on one split, differing by seed)


@dataclass
class JobScheduler:
    """Starts queued jobs while fewer than ``max_running`` train; shared by every session of one server.

    Finished jobs stay findable for a while (``keep_finished``), so a tab reloaded just after its run ended still
    finds the outcome.
    """

    max_running: int = 1
    # Extra jobs a study's trials may run beside those, only while every running job is a study trial and no other
    # job waits (two trials at once on two cores: bench/lever_study_speed.py --threads).
    study_slots: int = 1
    keep_finished: int = 50
    keep_warm: bool = False  # hold a warm worker ready for the next Start (see warm_up)
    after_saving: Optional[Callable] = None  # every submitted job's follow-up unless its spec names one (JobSpec)
    _jobs: list[TrainingJob] = field(default_factory=list)
    _finished: list[TrainingJob] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _standby: Optional[WarmWorker] = None

    def warm_up(self) -> None:
        """From now on keep one warm worker ready, so Start skips the process start and the TensorFlow import.
        The dashboard calls this when someone opens a page that trains; the worker is spawned only while nothing
        trains (its import would slow a running job), and again after each job that took it."""
        if not warm_workers_enabled():
            return
        with self._lock:
            self.keep_warm = True
        self.tick()

    def standby(self) -> Optional[WarmWorker]:
        """The warm worker waiting for the next job, if any (for benches and tests)."""
        with self._lock:
            return self._standby

    def _take_standby(self, job: TrainingJob) -> Optional[WarmWorker]:
        worker, self._standby = self._standby, None
        if worker is not None and not job.accepts(worker):
            worker.close()
            return None
        return worker

    def _keep_one_warm(self, running: int) -> None:
        if not self.keep_warm or running or (self._standby is not None and self._standby.is_alive()):
            return
        if self._standby is not None:
            # It died without a job (killed, or its imports failed). Spawning another on every tick could loop
            # forever; stop keeping one warm, and the next job starts in a fresh process that reports any error.
            self._standby.close()
            self._standby, self.keep_warm = None, False
            return
        self._standby = WarmWorker(multiprocessing.get_context("spawn"))

    def submit(self, job: TrainingJob) -> TrainingJob:
        if self.after_saving is not None and job.spec.after_saving is None:
            job.spec = replace(job.spec, after_saving=self.after_saving)
        with self._lock:
            self._jobs.append(job)
        self.tick()
        return job

    def tick(self) -> None:
        """Poll running jobs, retire finished ones, start queued ones if there is room."""
        with self._lock:
            for job in self._jobs:
                job.poll()
            done = [job for job in self._jobs if not job.is_active()]
            self._finished = (self._finished + done)[-self.keep_finished:]
            self._jobs = [job for job in self._jobs if job.is_active()]
            running = sum(not job.is_queued() for job in self._jobs)
            trials_only = all(_is_study_trial(job) for job in self._jobs)  # running or waiting: nothing else
            for job in self._jobs:
                if not job.is_queued():
                    continue
                if running >= self.max_running + (self.study_slots if trials_only else 0):
                    break
                for finished in self._finished:  # a follow-up still at work yields the CPU to training
                    finished.end_follow_up()
                job.start(self._take_standby(job))
                running += 1
            self._keep_one_warm(running)

    def queue_position(self, job: TrainingJob) -> Optional[int]:
        """1 for the next job to start, None when the job is not waiting."""
        with self._lock:
            waiting = [j for j in self._jobs if j.is_queued()]
        return waiting.index(job) + 1 if job in waiting else None

    def view(self, job: TrainingJob) -> JobView:
        self.tick()
        job.poll()
        return job.view(self.queue_position(job))

    def following_up(self, run_dir: str | Path) -> bool:
        """Whether the worker that saved the run in ``run_dir`` is still busy with its follow-up (a page then waits for
        that rather than starting the same work again)."""
        wanted = Path(run_dir).resolve()
        with self._lock:
            jobs = self._jobs + self._finished
        return any(
            job.run_dir is not None and Path(job.run_dir).resolve() == wanted and job.following_up() for job in jobs
        )

    def running_count(self) -> int:
        with self._lock:
            return sum(job.is_active() and not job.is_queued() for job in self._jobs)

    def latest_for(self, owner: str) -> Optional[TrainingJob]:
        """The newest job ``owner`` started (active first, else the most recently finished): what a reloaded tab
        re-attaches to."""
        if not owner:
            return None
        self.tick()
        with self._lock:
            active = [job for job in self._jobs if job.spec.owner == owner]
            finished = [job for job in self._finished if job.spec.owner == owner]
        return (active or finished or [None])[-1]

    def overview(self) -> list[QueueEntry]:
        """What is running and what waits, in order, for every session to see."""
        self.tick()
        with self._lock:
            jobs = list(self._jobs)
        entries = []
        for job in jobs:
            view = job.view(self.queue_position(job))
            event = view.last_event or {}
            entries.append(QueueEntry(job_id=view.job_id, owner=view.owner, label=view.label, status=view.status,
                                      queue_position=view.queue_position, phase=view.phase, epoch=event.get("epoch"),
                                      epochs=event.get("epochs"), fold=view.fold, folds=view.folds,
                                      cross_validation=job.spec.config.split.k_folds >= 2))
        return entries


def _is_study_trial(job: "TrainingJob") -> bool:
    return bool(job.spec.tags and "study" in job.spec.tags)


def spec_for(dataset: "Dataset", config: "ExperimentConfig", runs_dir: str | Path, tags: Optional[dict] = None, *,
             owner: str = "", label: str = "", baseline=None, split=None, attachments: Optional[dict] = None,
             after_saving: Optional[Callable] = None) -> JobSpec:
    return JobSpec(dataset=dataset, config=config, runs_dir=str(runs_dir), tags=tags, owner=owner, label=label,
                   baseline=baseline, split=split, attachments=attachments, after_saving=after_saving)


def wait(job: TrainingJob, scheduler: JobScheduler, timeout: float = 600.0, interval: float = 0.2) -> JobView:
    """Block until the job ends (tests and scripts)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = scheduler.view(job)
        if not view.active:
            return view
        time.sleep(interval)
    raise TimeoutError(f"job {job.job_id} still {job.status} after {timeout} s")


SAVE_SECONDS = 1.0  # writing the run record (model and JSON files), measured ~0.3-1 s on the built-in data
FORWARD_SHARE = 1 / 3  # scoring a row costs about a third of training on it (forward pass only, no gradients)


def _scoring_seconds(view: JobView) -> float:
    """Time after the last epoch: scoring validation and test rows (from the measured epoch time) and saving."""
    if not view.epoch_seconds or not view.train_rows:
        return SAVE_SECONDS
    per_row = sum(view.epoch_seconds) / len(view.epoch_seconds) / max(1, view.train_rows)
    return view.scored_rows * per_row * FORWARD_SHARE + SAVE_SECONDS


def describe(view: JobView) -> dict[str, Any]:
    """Progress figures for a progress bar: fraction done, phase, time left (training at most as planned, then
    scoring and saving), each epoch's duration and the early-stopping state."""
    event = view.last_event or {}
    epochs = event.get("epochs") or 0
    done = 0.0
    if event:
        batch_fraction = event.get("batch", 0) / max(1, event.get("batches", 1))
        done = (
            (event.get("epoch", 1) - 1) + (1.0 if event.get("kind") in ("epoch", "end") else batch_fraction)
        ) / max(1, epochs)
        if view.folds:
            done = ((view.fold or 1) - 1 + done) / view.folds
    if view.phase in ("evaluating", "saving"):
        done = 1.0
    elapsed = (time.time() if view.active else (view.finished_at or time.time())) - (view.started_at or time.time())
    eta = None
    if view.active and view.phase != "saving":
        after = _scoring_seconds(view) if view.phase != "evaluating" else SAVE_SECONDS
        if view.epoch_seconds and epochs and view.phase == TRAINING:
            in_progress = (
                event.get("batch", 0) / max(1, event.get("batches", 1)) if event.get("kind") == "batch" else 0.0
            )
            epochs_left = max(0.0, epochs - len(view.epoch_seconds) - in_progress)  # in this fold
            folds_left = (view.folds - (view.fold or 1)) if view.folds else 0
            mean_epoch = sum(view.epoch_seconds) / len(view.epoch_seconds)
            eta = mean_epoch * (epochs_left + folds_left * epochs) + after * (1 + folds_left)
        elif 0 < done < 1:
            eta = elapsed * (1 - done) / done + after
        elif view.phase == "evaluating":
            eta = after
    return {
        "fraction": max(0.0, min(1.0, done)),
        "elapsed_s": max(0.0, elapsed),
        "eta_s": eta,
        "phase": view.phase,
        "phase_message": view.phase_message,
        "epoch": event.get("epoch"),
        "epochs": epochs or None,
        "epoch_seconds": list(view.epoch_seconds),
        "partial_epoch": view.partial_epoch,
        "best_epoch": event.get("best_epoch"),
        "epochs_without_improvement": event.get("epochs_without_improvement", 0),
        "patience": event.get("patience"),
    }
