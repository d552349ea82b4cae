"""Training in spawned processes: progress arrives, stop keeps the run, the scheduler queues, failures are one sentence."""

import time

import pytest

from core.jobs import FAILED, FINISHED, QUEUED, STOPPED, JobScheduler, TrainingJob, describe, spec_for, wait

from conftest import tiny_config


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
    from conftest import make_dataset

    dataset = make_dataset({"sports": 30, "tech": 8, "rare": 2})
    job = scheduler.submit(TrainingJob(spec_for(dataset, tiny_config("split.k_folds=10"), tmp_path)))
    view = wait(job, scheduler, timeout=120)
    assert view.status == FAILED and "k_folds" in view.error and "\n" not in view.error
