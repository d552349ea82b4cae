"""Several trials of one study at once on this machine.

A study already takes several workers (:func:`run_study` in many processes on one journal or database), so running
two trials at once needs nothing new in the loop:

* :func:`run_with_workers` (CLI): this process runs the study's loop and ``workers - 1`` spawned processes join it as
  ordinary workers (the same as ``worker --study NAME``), each training in its own TensorFlow;
* :func:`run_in_threads` (dashboard): ``slots`` loops in threads of this process, each with its own handle, over an
  executor that trains elsewhere (the job scheduler's spawned processes).

TensorFlow's thread pools: two trainings that each spread over both cores fight each other, so each process gets
``cores // workers`` intra- and inter-op threads (:func:`threads_per_trial`), set before TensorFlow starts.
Measured in ``bench/lever_study_speed.py --threads``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from typing import TYPE_CHECKING, Callable, Optional

from core.evidence.study._executors import StopSignal, TrialExecutor
from core.evidence.study._loop import SessionSummary, run_study
from core.evidence.study._progress import StudyProgress
from core.evidence.study._storage import StudyHandle, open_study

if TYPE_CHECKING:
    from core.data.dataset import Dataset

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def default_workers(cores: Optional[int] = None) -> int:
    """Trials at once when nobody says: 2 on a machine with 2 or more cores, else 1."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return 2 if cores >= 2 else 1


def threads_per_trial(workers: int, cores: Optional[int] = None) -> int:
    """TensorFlow threads for each of ``workers`` trainings sharing this machine's cores (at least 1)."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, cores // max(1, workers))


def limit_threads(threads: int) -> bool:
    """Give this process's TensorFlow ``threads`` intra- and inter-op threads. Takes effect only before TensorFlow
    has started its thread pools; returns False when it already had (the setting then stays as it was)."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    if "tensorflow" not in sys.modules:
        return True
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # "cannot be modified after initialization"
        return False
    return True


def _join(name: str, location: str, runs_dir: str, dataset: "Dataset", threads: int, budget_minutes: Optional[float],
          echo: Optional[Callable[[], Callable[[StudyProgress], None]]], results) -> None:
    """A spawned worker: limit TensorFlow's threads, open the study and run trials until none is left."""
    limit_threads(threads)
    from core.evidence.study._executors import InProcessExecutor

    handle = open_study(name, storage=location)
    try:
        summary = run_study(handle, InProcessExecutor(dataset, runs_dir), progress=echo() if echo else None,
                            budget_minutes=budget_minutes)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the trial was re-queued by the loop
        results.put(None)
        return
    results.put(summary.to_dict())


def run_with_workers(
    handle: StudyHandle,
    executor: TrialExecutor,
    dataset: "Dataset",
    runs_dir: str | os.PathLike,
    *,
    workers: int = 2,
    progress: Optional[Callable[[StudyProgress], None]] = None,
    echo: Optional[Callable[[], Callable[[StudyProgress], None]]] = None,
    budget_minutes: Optional[float] = None,
    threads: Optional[int] = None,
) -> SessionSummary:
    """Run the study in this process and in ``workers - 1`` spawned worker processes at once; returns this
    process's summary with every worker's trials counted. ``echo`` (a picklable factory, e.g. a class) makes each
    spawned worker's progress callback. ``threads`` defaults to :func:`threads_per_trial`."""
    if workers <= 1:
        return run_study(handle, executor, progress=progress, budget_minutes=budget_minutes)
    threads = threads if threads is not None else threads_per_trial(workers)
    saved = {variable: os.environ.get(variable) for variable in THREAD_VARIABLES}
    limit_threads(threads)  # this process trains too; TensorFlow reads these when it first runs an op
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_join, name=f"study-worker-{i + 2}", daemon=True,
                                 args=(handle.name, handle.location, str(runs_dir), dataset, threads, budget_minutes,
                                       echo, results))
                 for i in range(workers - 1)]
    for process in processes:
        process.start()
    try:
        mine = run_study(handle, executor, progress=progress, budget_minutes=budget_minutes)
    finally:
        for process in processes:
            process.join()
        for variable, value in saved.items():  # nothing else this process starts later inherits them
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
    # This loop ends only when nothing is left to queue, waiting or running, whoever ran the last trial.
    theirs = [results.get(timeout=5) for process in processes if process.exitcode == 0]
    extra = sum(summary["trials_run"] for summary in theirs if summary)
    return SessionSummary(mine.study, mine.worker, mine.trials_run + extra, mine.reason, mine.done, mine.planned)


def run_in_threads(
    open_handle: Callable[[], StudyHandle],
    executor: TrialExecutor,
    *,
    slots: int = 2,
    progress: Optional[Callable[[StudyProgress], None]] = None,
    stop: Optional[StopSignal] = None,
    budget_minutes: Optional[float] = None,
) -> SessionSummary:
    """``slots`` study loops at once in threads of this process, each on its own handle from ``open_handle`` (a
    journal handle must not be shared with a thread that reads it meanwhile); for executors that train elsewhere.
    The first error of any loop is raised once every loop has ended."""
    if slots <= 1:
        return run_study(open_handle(), executor, progress=progress, stop=stop, budget_minutes=budget_minutes)
    summaries: list[SessionSummary] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def loop() -> None:
        try:
            summary = run_study(open_handle(), executor, progress=progress, stop=stop, budget_minutes=budget_minutes)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread below
            with lock:
                errors.append(exc)
            return
        with lock:
            summaries.append(summary)

    threads = [threading.Thread(target=loop, name=f"study-slot-{i + 1}", daemon=True) for i in range(slots)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    last = max(summaries, key=lambda s: s.done)
    reason = next((s.reason for s in summaries if s.reason != "finished"), "finished")
    return SessionSummary(last.study, last.worker, sum(s.trials_run for s in summaries), reason, last.done,
                          last.planned)
