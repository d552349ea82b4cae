"""Two trials at once: study loops in threads over one journal, the job scheduler's second slot for study trials,
TensorFlow threads per trial; and study names checked like run names. No training, no process."""

from __future__ import annotations

import threading
import time

import pytest

from core.config import ExperimentConfig
from core.errors import ConfigError
from core.evidence.levers import find_levers
from core.evidence.study import (
    NAME_RULE,
    FunctionExecutor,
    Racing,
    TrialOutcome,
    check_name,
    create_lever_study,
    data_source,
    default_workers,
    journal_stem,
    lever_results,
    list_studies,
    open_study,
    run_in_threads,
    run_study,
    storage_location,
    threads_per_trial,
)
from core.training.jobs import JobScheduler
from support.fakes import make_dataset

KEYS = ["model.dropout=0.4", "model.dropout=0.6", "model.bidirectional=false", "model.lstm_units=32", "model.l2=0.0"]


@pytest.fixture(scope="module")
def dataset():
    return make_dataset({"sports": 12, "tech": 12, "food": 12}, seed=4)


class _Overlap:
    """A fake executor that sleeps a little in each trial and remembers how many trials ran at the same time."""

    def __init__(self, data) -> None:
        self.lock, self.now, self.most, self.calls = threading.Lock(), 0, 0, []
        self.executor = FunctionExecutor(self.run, data_hash=data.data_hash)

    def run(self, request, on_epoch, stop):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.calls.append((request.tags["arm"], request.tags["seed"]))
        time.sleep(0.15)
        value = 0.5 + 0.01 * request.tags["seed"] % 3 + (0.1 if request.tags["arm"] == "model.dropout=0.4" else 0.0)
        on_epoch({"val_macro_f1": value})
        with self.lock:
            self.now -= 1
        return TrialOutcome("completed", {"validation": {"macro_f1": value},
                                          "test": {"macro_f1": value, "accuracy": 0.5},
                                          "baseline": {"available": True, "macro_f1": 0.4}}, None, 0.0)


@pytest.mark.parametrize("racing", [None, Racing()])
def test_two_loops_in_threads_run_two_trials_at_once_and_each_trial_once(dataset, tmp_path, racing):
    config = ExperimentConfig()
    handle = create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS), seeds=2, name="two",
                                runs_dir=tmp_path, racing=racing)
    fake = _Overlap(dataset)
    summary = run_in_threads(lambda: open_study("two", runs_dir=tmp_path), fake.executor, slots=2)
    assert fake.most == 2 and len(fake.calls) == len(set(fake.calls)) == summary.trials_run
    assert summary.reason == "finished" and lever_results(handle).complete


def test_a_loop_error_is_raised_after_both_loops_end(dataset, tmp_path):
    config = ExperimentConfig()
    create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS[:1]), seeds=1, name="e",
                       runs_dir=tmp_path)
    opened = []

    def open_handle():
        opened.append(1)
        if len(opened) == 2:
            raise ConfigError("The study file cannot be read.")
        return open_study("e", runs_dir=tmp_path)

    with pytest.raises(ConfigError, match="cannot be read"):
        run_in_threads(open_handle, _Overlap(dataset).executor, slots=2)


def test_threads_per_trial_share_the_cores_and_two_workers_are_the_default_on_two_cores():
    assert (threads_per_trial(2, cores=2) == 1 and threads_per_trial(1, cores=2) == 2
            and threads_per_trial(4, cores=2) == 1)
    assert threads_per_trial(2, cores=16) == 8
    assert default_workers(cores=2) == 2 and default_workers(cores=1) == 1


# ------------------------------------------------------------------------------------------------ the scheduler


class _Job:
    """Stands in for a TrainingJob: the scheduler only asks these (no process is started)."""

    def __init__(self, study: bool) -> None:
        self.spec = type("Spec", (), {"tags": {"study": "s", "trial": 0} if study else {"name": "mine"}})()
        self.started = False
        self.done = False

    def poll(self) -> None:
        pass

    def is_active(self) -> bool:
        return not self.done

    def is_queued(self) -> bool:
        return not self.started and not self.done

    def start(self, worker=None) -> None:
        self.started = True

    def end_follow_up(self) -> None:  # a finished job's measurement yields to the next start
        pass


def test_study_trials_take_a_second_slot_only_while_nothing_else_runs_or_waits():
    scheduler = JobScheduler(max_running=1)
    first, second, third = _Job(True), _Job(True), _Job(True)
    for job in (first, second, third):
        scheduler.submit(job)
    assert (first.started, second.started, third.started) == (True, True, False)  # two trials at once, not three
    mine = _Job(False)
    scheduler.submit(mine)
    first.done = True
    scheduler.tick()
    assert not third.started and not mine.started  # a job of the user's waits: no second slot for a trial
    second.done = True
    scheduler.tick()
    assert third.started and not mine.started  # first come, first served: one slot, the trial queued earlier
    third.done = True
    scheduler.tick()
    assert mine.started


def test_without_study_slots_the_scheduler_runs_one_job_at_a_time():
    scheduler = JobScheduler(max_running=1, study_slots=0)
    first, second = _Job(True), _Job(True)
    scheduler.submit(first)
    scheduler.submit(second)
    assert first.started and not second.started


# ------------------------------------------------------------------------------------------------ names


def test_a_study_name_follows_the_run_name_rule_and_says_what_is_allowed():
    assert check_name("  attention none, 2 seeds ") == "attention none, 2 seeds"
    assert check_name("Ana's study (dropout 0.3)") and check_name("étude") and check_name("x" * 80)
    for bad in ("", "   ", "x" * 81, "two\nlines", "tab\there"):
        with pytest.raises(ConfigError) as caught:
            check_name(bad)
        assert NAME_RULE in str(caught.value)


def test_a_name_keeps_its_journal_inside_the_studies_folder_and_old_names_keep_their_files(tmp_path):
    assert journal_stem("levers-20261207-101500-ab12") == "levers-20261207-101500-ab12"  # as earlier releases wrote it
    assert journal_stem("attention none, 2 seeds") != journal_stem("attention none 2 seeds")
    for name in ("../escape", "a/b", "..", "日本語"):
        location = storage_location(name, None, tmp_path)
        assert (location.startswith(str(tmp_path / "studies"))
                and "/" not in location[len(str(tmp_path / "studies")) + 1:])


def test_a_study_with_commas_and_spaces_in_its_name_runs_lists_and_reopens(dataset, tmp_path):
    config = ExperimentConfig()
    name = "attention none, 2 seeds"
    handle = create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS[:1]), seeds=1, name=name,
                                runs_dir=tmp_path)
    run_study(handle, _Overlap(dataset).executor)
    (info,) = list_studies(tmp_path)
    assert info.name == name and info.state == "finished"
    assert open_study(name, runs_dir=tmp_path).name == name
    with pytest.raises(ConfigError, match="already exists"):
        create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS[:1]), seeds=1, name=name,
                           runs_dir=tmp_path)


def test_a_finished_lever_study_lists_its_best_mean_score(dataset, tmp_path):
    config = ExperimentConfig()
    handle = create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS[:2]), seeds=2,
                                name="best", runs_dir=tmp_path)
    run_study(handle, _Overlap(dataset).executor)
    (info,) = list_studies(tmp_path)
    table = lever_results(handle)
    best_lever = max(row.mean_value for row in table.rows)
    assert info.best_value == pytest.approx(max(best_lever, table.reference_mean)) and info.best_value is not None
