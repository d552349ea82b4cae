"""Faithfulness measured in the background: the report and a progress file beside the run, and the follow-up
measurer's states, with stand-ins for the model and the process (no TensorFlow, no process here; the spawned paths
are in tests/system/test_jobs.py)."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest
from test_explain import KEYWORD_ROWS, KeywordFake, padded

from core.evidence import faithfulness as fa
from core.evidence import inference
from support.paths import GOLDEN


class KeywordPredictor:
    """Stands in for core.evidence.inference.Predictor: "texts" are indices into the keyword rows."""

    def __init__(self, pause: threading.Event | None = None) -> None:
        self.pause = pause
        self.seen_progress_file = None

    def faithfulness(self, texts, *, sample, progress=None, should_stop=None):
        ids = padded([KEYWORD_ROWS[int(t) % len(KEYWORD_ROWS)] for t in texts])

        def tell(words, fraction):
            progress(words, fraction)
            if self.pause is not None and "occlusion" in words:
                self.pause.wait(5)

        return fa.measure_faithfulness(KeywordFake(), ids, methods=["occlusion"], max_texts=sample, progress=tell,
                                       should_stop=should_stop)


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(GOLDEN / "run", folder)
    (folder / inference.FAITHFULNESS_FILE).unlink()
    return folder


def test_a_measurement_writes_the_report_beside_the_run_and_says_how_far_it_got_meanwhile(run_dir):
    pause = threading.Event()
    predictor = KeywordPredictor(pause)
    worker = threading.Thread(target=inference.measure_into_run, args=(run_dir, predictor, [str(i) for i in range(40)]),
                              kwargs={"sample": 40})
    worker.start()
    try:
        for _ in range(100):
            progress = inference.measuring_progress(run_dir)
            if progress is not None and "occlusion" in progress.words:
                break
            worker.join(0.05)
        assert (progress is not None and progress.pid == os.getpid() and 0 < progress.fraction < 1
                and progress.error is None)
        assert not (run_dir / inference.FAITHFULNESS_FILE).exists()
    finally:
        pause.set()
        worker.join(10)
    report = inference.saved_faithfulness(run_dir, 40, sample=40)
    assert report is not None and report.intervals and report.n_texts == 40
    assert not (run_dir / inference.PROGRESS_FILE).exists() and inference.measuring_progress(run_dir) is None
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_stopped_measurement_leaves_nothing_and_a_failed_one_leaves_its_sentence(run_dir):
    assert inference.measure_into_run(run_dir, KeywordPredictor(), ["1", "2"], sample=2,
                                      should_stop=lambda: True) is None
    assert not (run_dir / inference.FAITHFULNESS_FILE).exists() and not (run_dir / inference.PROGRESS_FILE).exists()

    class Broken:
        def faithfulness(self, texts, **kwargs):
            raise ValueError("the model has no layer named 'embedding'")

    assert inference.measure_into_run(run_dir, Broken(), ["1"], sample=1) is None
    progress = inference.measuring_progress(run_dir)
    assert progress.error == "Faithfulness could not be measured: the model has no layer named 'embedding'"


class StandInProcess:
    def __init__(self, alive: bool = True, exitcode=None) -> None:
        self.alive, self.exitcode = alive, exitcode

    def is_alive(self) -> bool:
        return self.alive

    def terminate(self) -> None:
        self.alive = False


def test_the_follow_up_measurer_starts_one_run_at_a_time_and_never_loops_on_a_failure(run_dir, tmp_path):
    launched: list[StandInProcess] = []

    def launch(folder):
        launched.append(StandInProcess())
        return launched[-1]

    measurer = inference.FaithfulnessMeasurer(launch=launch)
    other = tmp_path / "other"
    status = measurer.status(run_dir, test_texts=24, sample=200)
    assert not status.ready and not status.failed and "starting a process and loading the model" in status.words
    assert "waiting for another run" in measurer.status(other, test_texts=24, sample=200).words
    assert len(launched) == 1
    measurer.status(run_dir, test_texts=24, sample=200)  # polled again: not started twice
    assert len(launched) == 1

    launched[0].alive, launched[0].exitcode = False, 1  # it ended without writing a report
    status = measurer.status(run_dir, test_texts=24, sample=200)
    assert status.failed and "ended without a report (exit code 1)" in status.words
    assert len(launched) == 2  # the waiting run started once the first ended
    assert measurer.status(run_dir, test_texts=24, sample=200).failed and len(launched) == 2  # no loop

    shutil.copy(GOLDEN / "run" / inference.FAITHFULNESS_FILE, run_dir / inference.FAITHFULNESS_FILE)
    assert measurer.status(run_dir, test_texts=24, sample=200).ready


def test_progress_written_by_another_process_is_followed_while_it_lives(run_dir):
    def progress(pid, error=None):
        record = inference.MeasuringProgress(pid, 1.0, 2.0, "explaining with occlusion", 0.4, error)
        (run_dir / inference.PROGRESS_FILE).write_text(json.dumps(record.to_dict()), encoding="utf-8")

    measurer = inference.FaithfulnessMeasurer(
        launch=lambda folder: pytest.fail("a measurement under way was started again")
    )
    progress(os.getpid())  # e.g. the training worker, still measuring
    status = measurer.status(run_dir, test_texts=24, sample=200)
    assert status.fraction == 0.4 and status.words == (
        "Measuring how faithful each explanation is: explaining with occlusion."
    )
    progress(os.getpid(), error="Faithfulness could not be measured: out of memory.")
    assert measurer.status(run_dir, test_texts=24, sample=200).failed
    assert measurer.status(run_dir, test_texts=0, sample=200).failed  # an empty test split: nothing to measure


def test_nothing_is_started_while_the_worker_that_trained_the_run_measures_it(run_dir):
    measurer = inference.FaithfulnessMeasurer(launch=lambda folder: pytest.fail("measured twice"))
    status = measurer.status(run_dir, test_texts=24, sample=200, elsewhere=True)
    assert not status.ready and not status.failed and "the process that trained this run is starting it" in status.words


def test_a_progress_file_left_by_a_process_that_is_gone_is_ignored(run_dir):
    record = inference.MeasuringProgress(2**22 + 12345, 1.0, 2.0, "explaining", 0.4)  # above Linux's pid limit
    (run_dir / inference.PROGRESS_FILE).write_text(json.dumps(record.to_dict()), encoding="utf-8")
    assert inference.measuring_progress(run_dir) is None


def test_an_ensemble_is_measured_on_a_fixed_smaller_sample():
    from types import SimpleNamespace

    single = SimpleNamespace(metrics=SimpleNamespace(ensemble=None))
    averaged = SimpleNamespace(metrics=SimpleNamespace(ensemble=SimpleNamespace(members=5)))
    assert inference.faithfulness_sample(single) == inference.FAITHFULNESS_SAMPLE == 200
    assert inference.faithfulness_sample(averaged) == inference.ENSEMBLE_SAMPLE == 100
