"""Racing levers: seeds go where a verdict is still open (successive halving with the paired verdict as the stopping
test), the rule lives in the study's plan, verdicts keep their meaning, and an old plan is exhaustive.

The study loop runs with a fake executor (no model: milliseconds); no TensorFlow, no process."""

from __future__ import annotations

import collections
import json
import shutil

import pytest

from core.config import ExperimentConfig
from core.evidence.levers import find_levers, levers_for
from core.evidence.study import (
    ARM_REFERENCE,
    EXHAUSTIVE_RULE,
    HELPS,
    HURTS,
    JOURNAL_SUFFIX,
    STOP_ALL_SEEDS,
    STOP_FAILED,
    STOP_HALVED,
    STOP_NO_EFFECT,
    STOP_OPEN,
    STOP_SETTLED,
    VERDICT_RULE,
    FunctionExecutor,
    Racing,
    StudyPlan,
    TrialOutcome,
    combine_helpers,
    create_lever_study,
    data_source,
    lever_results,
    list_studies,
    open_study,
    paired_verdict,
    race,
    run_study,
)
from support.fakes import make_dataset
from support.paths import GOLDEN

SEEDS = (42, 43, 44)
# A reference that swings from seed to seed, as real runs do; the levers' own noise comes on top.
REFERENCE = {42: 0.60, 43: 0.55, 44: 0.65}


@pytest.fixture(scope="module")
def dataset():
    return make_dataset({"sports": 12, "tech": 12, "food": 12}, seed=3)


def _noise(key: str, seed: int) -> float:
    """A fixed, lever- and seed-specific wiggle in -0.03..0.03 (no RNG: the same on every run)."""
    return ((sum(map(ord, key)) * 7919 + seed * 104729) % 61 - 30) / 1000


def _effect(key: str) -> float:
    if key == "training.optimizer=sgd":
        return -0.20  # clearly worse on every seed
    if key == "model.dropout=0.4":
        return 0.08  # clearly better on every seed
    return 0.0


def _score(key: str, seed: int) -> float:
    if key == ARM_REFERENCE:
        return REFERENCE[seed]
    return REFERENCE[seed] + _effect(key) + (_noise(key, seed) if _effect(key) == 0 else _noise(key, seed) / 10)


def _executor(data, calls: list):
    def run(request, on_epoch, stop):
        arm, seed = request.tags["arm"], request.tags["seed"]
        calls.append((arm, seed))
        value = _score(arm, seed) if arm != "combined" else REFERENCE[seed] + 0.08
        on_epoch({"val_macro_f1": value})
        return TrialOutcome("completed", {"validation": {"macro_f1": value},
                                          "test": {"macro_f1": value, "accuracy": 0.5},
                                          "baseline": {"available": True, "macro_f1": 0.4}}, None, 0.0)

    return FunctionExecutor(run, data_hash=data.data_hash)


def _values(keys, seeds=SEEDS):
    values = {ARM_REFERENCE: dict(REFERENCE)}
    values.update({key: {seed: _score(key, seed) for seed in seeds} for key in keys})
    return values


# ------------------------------------------------------------------------------------------------ the rule, pure


def test_every_lever_starts_on_one_seed_and_the_reference_runs_every_seed():
    keys = ["a", "b", "c"]
    state = race(keys, SEEDS, Racing(), {}, {})
    assert state.wanted == ((ARM_REFERENCE, 42), ("a", 42), ("b", 42), ("c", 42), (ARM_REFERENCE, 43),
                            (ARM_REFERENCE, 44))
    assert {key: (r.given, r.stopped_by) for key, r in state.levers.items()} == {k: (1, STOP_OPEN) for k in keys}
    assert not state.over


def test_a_round_is_judged_only_when_every_racing_lever_and_the_reference_have_their_seeds():
    keys = ["a", "b"]
    values = {ARM_REFERENCE: {42: 0.6}, "a": {42: 0.7}}
    state = race(keys, SEEDS, Racing(), values, {ARM_REFERENCE: {42}, "a": {42}})
    assert all(r.stopped_by == STOP_OPEN and r.given == 1 for r in state.levers.values())


def test_the_strongest_third_of_open_levers_go_on_with_twice_the_seeds_and_the_rest_stop():
    deltas = [-0.05, 0.01, 0.002, 0.04, -0.003, 0.006, 0.03, -0.02, 0.0]
    keys = [f"lever{i}" for i in range(len(deltas))]
    values = {ARM_REFERENCE: {42: 0.5}, **{key: {42: 0.5 + delta} for key, delta in zip(keys, deltas)}}
    finished = {arm: {42} for arm in values}
    state = race(keys, SEEDS, Racing(), values, finished)
    going = {key for key, r in state.levers.items() if r.stopped_by == STOP_OPEN}
    assert going == {"lever0", "lever3", "lever6"}  # the largest |difference|: a loss counts as much as a gain
    assert all(state.levers[key].given == 2 for key in going)
    assert {r.stopped_by for key, r in state.levers.items() if key not in going} == {STOP_HALVED}
    assert [pair for pair in state.wanted if pair[1] == 43 and pair[0] != ARM_REFERENCE] == [
        ("lever0", 43), ("lever3", 43), ("lever6", 43)
    ]


def test_a_settled_verdict_stops_a_lever_and_keeps_its_meaning():
    keys = ["bad", "good", "flat", "open"]
    values = {ARM_REFERENCE: {42: 0.5, 43: 0.6, 44: 0.55},
              "bad": {42: 0.30, 43: 0.401}, "good": {42: 0.58, 43: 0.681}, "flat": {42: 0.5005, 43: 0.6003},
              "open": {42: 0.55, 43: 0.58}}
    finished = {arm: {42, 43} for arm in values} | {ARM_REFERENCE: {42, 43, 44}}
    state = race(keys, SEEDS, Racing(start_seeds=2), values, finished)
    assert state.levers["bad"].stopped_by == STOP_SETTLED and paired_verdict([-0.2, -0.199])[0] == HURTS
    assert state.levers["good"].stopped_by == STOP_SETTLED and paired_verdict([0.08, 0.081])[0] == HELPS
    assert state.levers["flat"].stopped_by == STOP_NO_EFFECT  # interval inside ±0.01: no effect worth having
    assert (state.levers["open"].given, state.levers["open"].stopped_by) == (3, STOP_OPEN)  # the open one goes on


def test_a_lever_stops_at_the_studys_seeds_and_a_failed_run_stops_it_with_what_it_has():
    values = {ARM_REFERENCE: {42: 0.5}, "a": {42: 0.6}}
    state = race(["a", "b"], (42,), Racing(), values, {ARM_REFERENCE: {42}, "a": {42}, "b": {42}})
    assert state.levers["a"].stopped_by == STOP_ALL_SEEDS and state.levers["b"].stopped_by == STOP_FAILED
    assert state.over


def test_the_race_is_the_same_whatever_order_the_runs_finished_in():
    keys = [lever.key for lever in levers_for(ExperimentConfig())][:12]
    values = _values(keys)
    finished = {arm: set(SEEDS) for arm in values}
    forward = race(keys, SEEDS, Racing(), values, finished)
    backward = race(keys, SEEDS, Racing(), dict(reversed(list(values.items()))), finished)
    assert forward == backward and forward.over


# ------------------------------------------------------------------------------------------------ the plan


def test_the_rule_is_kept_in_the_plan_and_an_old_plan_without_it_is_exhaustive():
    lines = (GOLDEN / "study.journal").read_text(encoding="utf-8").splitlines()
    (raw,) = [json.loads(line)["user_attr"]["lab"] for line in lines if "lab" in json.loads(line).get("user_attr", {})]
    assert "racing" not in raw and StudyPlan.from_dict(raw).racing is None
    written = json.dumps(StudyPlan.from_dict({**raw, "racing": Racing(keep=2).to_dict()}).to_dict())
    assert StudyPlan.from_dict(json.loads(written)).racing == Racing(keep=2)
    assert json.loads(written)["racing"] == {"rule": "successive halving", "start_seeds": 1, "keep": 2}


def test_a_plan_with_an_unknown_racing_rule_is_refused():
    raw = {"kind": "levers", "config": {},
           "data": {"kind": "builtin", "location": "x", "text_column": "t", "label_column": "l", "data_hash": "h",
                    "rows": 1, "source_name": "x"},
           "planned": 2, "created": "now", "racing": {"rule": "coin flips"}}
    with pytest.raises(ValueError, match="coin flips"):
        StudyPlan.from_dict(raw)


# ----------------------------------------------------------------------------------------------- through the study loop


# Twelve levers, the clear helper and the clear loser among them: enough rounds to halve, quick to run.
KEYS = ["training.optimizer=sgd", "model.dropout=0.4", "model.dropout=0.6", "model.bidirectional=false",
        "model.attention=none", "model.lstm_units=32", "model.lstm_units=128", "training.learning_rate=0.001",
        "training.learning_rate=0.004", "training.batch_size=32", "preprocessing.lowercase=false", "model.l2=0.0"]


def _study(dataset, tmp_path, racing, name):
    config = ExperimentConfig()
    return create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS), seeds=3, name=name,
                              runs_dir=tmp_path, racing=racing)


def test_a_racing_study_spends_fewer_runs_and_finds_the_clear_helper_and_the_clear_loser(dataset, tmp_path):
    calls: list = []
    handle = _study(dataset, tmp_path, Racing(), "race")
    levers = len(handle.plan.levers)
    summary = run_study(handle, _executor(dataset, calls))
    assert summary.reason == "finished" and summary.done == summary.planned == len(calls)
    assert len(calls) == len(set(calls)) <= 3 + levers + levers // 3 + 2  # each (arm, seed) once, far fewer than all
    table = lever_results(handle)
    assert table.complete and table.rule == VERDICT_RULE and table.seeding.startswith("Racing (successive halving")
    assert table.planned == len(calls) and table.most == 3 * (levers + 1)
    rows = {row.key: row for row in table.rows}
    assert rows["model.dropout=0.4"].verdict == HELPS and rows["training.optimizer=sgd"].verdict == HURTS
    for row in rows.values():
        assert row.verdict == paired_verdict(row.deltas)[0]  # the same rule on the seeds it ran
        assert row.stopped_by in (STOP_SETTLED, STOP_NO_EFFECT, STOP_HALVED, STOP_ALL_SEEDS)
        assert str(row.n) in row.stop_reason
    assert rows["training.optimizer=sgd"].stopped_by == STOP_SETTLED and rows["training.optimizer=sgd"].n == 2
    assert collections.Counter(seed for arm, seed in calls if arm == ARM_REFERENCE) == {42: 1, 43: 1, 44: 1}
    (info,) = list_studies(tmp_path)
    assert info.state == "finished" and (info.done, info.planned) == (len(calls), len(calls))


def test_a_resumed_racing_study_follows_its_own_rule(dataset, tmp_path):
    calls: list = []
    handle = _study(dataset, tmp_path, Racing(), "resume")
    first = run_study(handle, _executor(dataset, calls), budget_minutes=1e-9)  # stops before the first trial
    assert first.reason == "budget" and calls == []
    again = open_study("resume", runs_dir=tmp_path)
    assert again.plan.racing == Racing()
    run_study(again, _executor(dataset, calls))
    whole: list = []
    reference = _study(dataset, tmp_path / "other", Racing(), "whole")
    run_study(reference, _executor(dataset, whole))
    assert sorted(calls) == sorted(whole)
    assert run_study(open_study("resume", runs_dir=tmp_path), _executor(dataset, calls)).trials_run == 0


def test_between_rounds_a_racing_study_is_not_finished(dataset, tmp_path):
    handle = _study(dataset, tmp_path, Racing(), "between")
    calls: list = []
    executor = _executor(dataset, calls)
    first_round = 1 + len(handle.plan.levers) + 2
    for trial in handle.trials():  # run the first round by hand, without the loop's next-round queueing
        assert trial.state.name == "WAITING"
    from core.evidence.study._loop import _run_one_trial

    for _ in range(first_round):
        _run_one_trial(handle, executor, "me", lambda event: None, None)
    (info,) = list_studies(tmp_path)
    assert info.state == "interrupted" and not lever_results(handle).complete


def test_an_exhaustive_study_runs_every_lever_on_every_seed(dataset, tmp_path):
    calls: list = []
    handle = _study(dataset, tmp_path, None, "all")
    run_study(handle, _executor(dataset, calls))
    table = lever_results(handle)
    assert len(calls) == 3 * (len(handle.plan.levers) + 1) == table.planned == table.most and table.complete
    assert table.seeding == EXHAUSTIVE_RULE and {row.stopped_by for row in table.rows} == {STOP_ALL_SEEDS}


def test_a_trial_queued_twice_by_two_workers_runs_once(dataset, tmp_path):
    calls: list = []
    handle = _study(dataset, tmp_path, Racing(), "twice")
    handle.study.enqueue_trial({}, user_attrs={"arm": ARM_REFERENCE, "seed": 42})  # a second worker's copy
    run_study(handle, _executor(dataset, calls))
    assert len(calls) == len(set(calls))


def test_combining_after_a_race_runs_the_helpers_on_every_seed(dataset, tmp_path):
    calls: list = []
    handle = _study(dataset, tmp_path, Racing(), "combine")
    executor = _executor(dataset, calls)
    run_study(handle, executor)
    result = combine_helpers(handle, executor)
    assert "model.dropout=0.4" in result.plan.applied and result.test_combined.n == 3
    assert [seed for arm, seed in calls if arm == "combined"] == list(SEEDS)


def test_a_golden_exhaustive_study_reads_with_its_stops(tmp_path):
    (tmp_path / "studies").mkdir()
    shutil.copyfile(GOLDEN / "study.journal", tmp_path / "studies" / f"golden-study{JOURNAL_SUFFIX}")
    table = lever_results(open_study("golden-study", runs_dir=tmp_path))
    (row,) = table.rows
    assert (row.stopped_by == STOP_ALL_SEEDS and row.stop_reason == "ran the study's one seed"
            and table.seeding == EXHAUSTIVE_RULE)
