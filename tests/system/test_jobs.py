"""Training in spawned processes: progress arrives, stop keeps the run, the scheduler queues, failures are one
sentence."""

import time

import pytest

from core.training.jobs import FAILED, FINISHED, QUEUED, STOPPED, JobScheduler, TrainingJob, describe, spec_for, wait
from support.fakes import tiny_config
from support.paths import ROOT  # noqa: E402


@pytest.fixture
def scheduler():
    return JobScheduler(max_running=1)


def test_a_job_trains_in_its_own_process_and_saves_a_run(scheduler, imbalanced_dataset, tmp_path):
    job = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config(), tmp_path)))
    view = wait(job, scheduler, timeout=180)
    assert view.status == FINISHED, view.error
    assert (tmp_path / view.run_dir.split("/")[-1] / "model.keras").is_file()
    assert len(view.history["loss"]) == 2 and "val_loss" in view.history
    assert view.batch_points and describe(view)["fraction"] == 1.0


def test_stop_ends_the_job_and_keeps_its_run_while_a_queued_job_waits(scheduler, imbalanced_dataset, tmp_path):
    long_config = tiny_config("training.epochs=200", "training.early_stopping=false")
    first = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, long_config, tmp_path)))
    second = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config("training.epochs=1"), tmp_path)))
    assert scheduler.view(second).status == QUEUED and scheduler.view(second).queue_position == 1
    deadline = time.time() + 120
    while time.time() < deadline and not scheduler.view(first).history.get("loss"):
        time.sleep(0.2)  # wait for the first finished epoch
    first.request_stop()
    stopped = wait(first, scheduler, timeout=60)
    assert stopped.status == STOPPED and stopped.run_dir
    assert 1 <= len(stopped.history["loss"]) < 200
    assert wait(second, scheduler, timeout=180).status == FINISHED  # the queue moved on


def test_cancelling_a_queued_job_never_starts_it(scheduler, imbalanced_dataset, tmp_path):
    blocker = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config("training.epochs=1"), tmp_path)))
    queued = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config(), tmp_path)))
    queued.request_stop()
    assert scheduler.view(queued).status == STOPPED and queued.view().started_at is None
    wait(blocker, scheduler, timeout=180)


def test_a_user_error_in_the_worker_becomes_one_sentence(scheduler, tmp_path):
    from support.fakes import make_dataset

    dataset = make_dataset({"sports": 30, "tech": 8, "rare": 2})
    job = scheduler.submit(TrainingJob(spec_for(dataset, tiny_config("split.k_folds=10"), tmp_path)))
    view = wait(job, scheduler, timeout=120)
    assert view.status == FAILED and "k_folds" in view.error and "\n" not in view.error


def _pid_alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that will never reap it counts as ended)."""
    from pathlib import Path

    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def test_a_warm_worker_takes_the_next_job_and_another_is_spawned_only_once_nothing_trains(imbalanced_dataset, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.delenv("LSTM_TEXT_LAB_WARM_WORKER", raising=False)
    scheduler = JobScheduler(max_running=1)
    scheduler.warm_up()
    warm = scheduler.standby()
    assert warm is not None and warm.wait_ready(120), "the warm worker never finished its imports"
    job = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config(), tmp_path)))
    assert job._process is warm.process  # the job runs in the process that was already warm
    assert scheduler.standby() is None  # none is spawned while the job trains
    view = wait(job, scheduler, timeout=180)
    assert view.status == FINISHED, view.error
    assert (tmp_path / view.run_dir.split("/")[-1] / "model.keras").is_file()
    assert len(view.history["loss"]) == 2
    scheduler.tick()
    following = scheduler.standby()
    assert following is not None and following.process.pid != warm.process.pid  # ready for the next Start
    following.close()
    following.process.join(timeout=10)
    assert not following.is_alive()


def test_a_warm_worker_gives_the_same_results_as_a_fresh_process(imbalanced_dataset, tmp_path, monkeypatch):
    """The warm-up trains a tiny model first: the job's seeds, weights and metrics must not notice."""
    import json

    monkeypatch.delenv("LSTM_TEXT_LAB_WARM_WORKER", raising=False)
    results = {}
    for warm in (False, True):
        scheduler = JobScheduler(max_running=1)
        if warm:
            scheduler.warm_up()
            assert scheduler.standby().wait_ready(120)
        folder = tmp_path / str(warm)
        job = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config(), folder)))
        assert (job._process.name == "lstm-text-lab-warm-worker") == warm
        view = wait(job, scheduler, timeout=180)
        assert view.status == FINISHED, view.error
        metrics = json.loads((folder / view.run_dir.split("/")[-1] / "metrics.json").read_text())
        results[warm] = (view.history, metrics["test"])
        if scheduler.standby() is not None:
            scheduler.standby().close()
    assert results[True] == results[False]


def test_a_stop_requested_before_the_hand_over_reaches_the_warm_worker(imbalanced_dataset, tmp_path, monkeypatch):
    monkeypatch.delenv("LSTM_TEXT_LAB_WARM_WORKER", raising=False)
    scheduler = JobScheduler(max_running=1)
    scheduler.warm_up()
    assert scheduler.standby().wait_ready(120)
    job = TrainingJob(spec_for(imbalanced_dataset, tiny_config("training.epochs=200", "training.early_stopping=false"),
                               tmp_path))
    job.stop_requested = True  # as if Stop was clicked in the instant between Start and the hand-over
    job.start(scheduler._take_standby(job))
    view = wait(job, scheduler, timeout=120)
    assert view.status == STOPPED and len(view.history.get("loss", [])) < 200


def test_a_warm_worker_that_dies_without_a_job_is_not_respawned_in_a_loop(monkeypatch):
    monkeypatch.delenv("LSTM_TEXT_LAB_WARM_WORKER", raising=False)
    scheduler = JobScheduler(max_running=1)
    scheduler.warm_up()
    warm = scheduler.standby()
    warm.process.kill()  # as if its imports had failed
    warm.process.join(timeout=10)
    scheduler.tick()
    assert scheduler.standby() is None and not scheduler.keep_warm
    scheduler.tick()
    assert scheduler.standby() is None  # the next job will start in a fresh process


def test_warm_workers_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("LSTM_TEXT_LAB_WARM_WORKER", "0")
    scheduler = JobScheduler(max_running=1)
    scheduler.warm_up()
    assert scheduler.standby() is None and not scheduler.keep_warm


def test_a_warm_worker_ends_when_the_server_that_spawned_it_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from core.training.jobs import JobScheduler\n"
        "s = JobScheduler(); s.warm_up()\n"
        "print(s.standby().process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    root = ROOT
    server = subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(root), "LSTM_TEXT_LAB_WARM_WORKER": "1"})
    try:
        warm_pid = int(server.stdout.readline())
        assert _pid_alive(warm_pid)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.time() + 90  # it notices within a second once its imports are done
        while time.time() < deadline and _pid_alive(warm_pid):
            time.sleep(0.5)
        assert not _pid_alive(warm_pid), "the warm worker outlived the server that spawned it"
    finally:
        if server.poll() is None:
            server.kill()


def test_progress_events_cross_the_queue_as_records_so_a_diverged_loss_stays_nan(imbalanced_dataset, tmp_path):
    """The worker puts the ProgressEvent record itself on the queue (pickled, so NaN and inf survive for the coach's
    "the weights blew up"); the view's last event is the record's plain JSON dict."""
    import math

    from core.progress import ProgressEvent

    job = TrainingJob(spec_for(imbalanced_dataset, tiny_config(), tmp_path))
    job._handle({"type": "event", "event": ProgressEvent(kind="start", epoch=1, epochs=2, batch=0, batches=4,
                                                         scored_rows=9)})
    job._handle({"type": "event", "event": ProgressEvent(kind="epoch", epoch=1, epochs=2, batch=4, batches=4,
                                                         elapsed_s=1.5,
                                                         logs={"loss": float("nan"), "val_loss": math.inf},
                                                         epoch_seconds=1.5)})
    view = job.view()
    assert math.isnan(view.history["loss"][0]) and view.history["val_loss"] == [math.inf]
    assert view.last_event["logs"] == {"loss": None, "val_loss": None} and view.last_event["kind"] == "epoch"
    assert view.scored_rows == 9 and view.epoch_seconds == [1.5] and view.epoch_ends == [1.5]
    assert describe(view)["fraction"] == 0.5


# --- after saving: the worker measures its run's faithfulness; Stop or the next job ends that at once ----------------


def _wait_for(path, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline and not path.exists():
        time.sleep(0.2)
    return path.exists()


def test_the_worker_measures_its_runs_faithfulness_after_saving_with_the_model_in_memory(imbalanced_dataset, tmp_path):
    from pathlib import Path

    from core.evidence.inference import FAITHFULNESS_FILE, PROGRESS_FILE, measure_after_training, saved_faithfulness
    from core.runs.store import load_run

    scheduler = JobScheduler(max_running=1, after_saving=measure_after_training)
    job = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config(), tmp_path)))
    view = wait(job, scheduler, timeout=180)
    assert view.status == FINISHED, view.error  # the run counts as saved before the measurement starts
    run_dir = Path(view.run_dir)
    assert _wait_for(run_dir / FAITHFULNESS_FILE, 180), "no faithfulness report beside the run"
    run = load_run(run_dir)
    report = saved_faithfulness(run_dir, len(run.predictions))
    assert report is not None and report.intervals and report.n_texts == len(run.predictions)
    assert report.verdict.endswith(".") and report.random.n_texts == report.n_texts
    assert not (run_dir / PROGRESS_FILE).exists()
    job._process.join(timeout=30)  # the worker ends once the report is written
    assert not job._process.is_alive()


def test_the_next_job_and_stop_end_a_follow_up_at_its_next_check(imbalanced_dataset, tmp_path):
    from pathlib import Path

    from support.follow_ups import ENDED, STARTED, wait_for_stop

    scheduler = JobScheduler(max_running=1)
    first = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config(), tmp_path / "a",
                                                  after_saving=wait_for_stop)))
    view = wait(first, scheduler, timeout=180)
    assert view.status == FINISHED, view.error
    first_run = Path(view.run_dir)
    assert _wait_for(first_run / STARTED, 30) and not (first_run / ENDED).exists()
    assert scheduler.following_up(first_run) and not scheduler.following_up(tmp_path / "elsewhere")
    second = scheduler.submit(TrainingJob(spec_for(imbalanced_dataset, tiny_config(), tmp_path / "b",
                                                   after_saving=wait_for_stop)))
    assert second.status != QUEUED  # started at once: a finished job's follow-up never holds the queue
    assert _wait_for(first_run / ENDED, 5), "the follow-up went on after the next job started"
    first._process.join(timeout=10)
    assert not scheduler.following_up(first_run)
    view = wait(second, scheduler, timeout=180)
    assert view.status == FINISHED, view.error
    second_run = Path(view.run_dir)
    assert _wait_for(second_run / STARTED, 30)
    second.request_stop()  # Stop after saving: the follow-up ends too
    assert _wait_for(second_run / ENDED, 5)
    assert view.status == FINISHED  # and the run stays a finished run
