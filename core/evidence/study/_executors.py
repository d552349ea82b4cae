"""How a trial's run is carried out: in this process (CLI workers) or by a function (the dashboard's job scheduler)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol

from core.config import ExperimentConfig

if TYPE_CHECKING:
    from core.data.dataset import Dataset


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


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

    def __init__(self, dataset: "Dataset", runs_dir: str | os.PathLike | None = None, *,
                 reuse_preprocessing: bool = True) -> None:
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
        return TrialOutcome(result.status, _metrics_dict(result.metrics),
                            str(result.run_dir) if result.run_dir else None, float(result.duration_s))

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

    def __init__(self, function: Callable[[TrialRequest, Callable[[dict], None], StopSignal], TrialOutcome], *,
                 data_hash: str) -> None:
        self.function = function
        self.data_hash = data_hash

    def run(self, request: TrialRequest, *, on_epoch: Callable[[dict], None], stop: StopSignal) -> TrialOutcome:
        return self.function(request, on_epoch, stop)


def scheduler_executor(scheduler, dataset: "Dataset", runs_dir: str | os.PathLike | None = None, *,
                       poll_s: float = 0.25, owner: str = "") -> FunctionExecutor:
    """Trials as :class:`core.training.jobs.TrainingJob` s through a :class:`core.training.jobs.JobScheduler` (spawned
    processes, one at a time with the user's own jobs). The study loop itself runs in a thread that waits on each job.
    ``owner`` is the dashboard session the trials belong to (the queue overview marks them "yours")."""
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
                on_epoch({key: values[epochs_seen] for key, values in view.history.items()
                          if len(values) > epochs_seen})
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
