"""Lever studies and sweeps: paired verdicts, a sealed test split, pruning, resume, and several workers on one study.

Most tests drive the study loop with a fake executor (no training: milliseconds); the ``slow`` ones train tiny real
models, in this process, through the job scheduler, and in two worker processes, one of which is killed with -9.
"""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.config import ExperimentConfig, field_info
from core.errors import ConfigError, DataError, RunError
from core.evidence.levers import find_levers
from core.evidence.study import (
    ARM_COMBINED,
    ARM_REFERENCE,
    HELPS,
    HURTS,
    VERDICT_RULE,
    WITHIN_NOISE,
    CombinedResult,
    FunctionExecutor,
    InProcessExecutor,
    LeverRow,
    LeverTable,
    StudyInfo,
    SweepResult,
    TrialOutcome,
    combine_helpers,
    create_lever_study,
    create_sweep,
    data_source,
    default_space,
    lever_results,
    list_studies,
    load_source,
    load_space,
    objective_value,
    open_study,
    paired_verdict,
    parse_space,
    plan_combination,
    recover_stale_trials,
    run_study,
    scheduler_executor,
    storage_location,
    sweep_results,
)
from support.fakes import csv_bytes, generated_texts, make_dataset, tiny_config
from support.paths import ROOT

REPO = ROOT  # the worker processes import core from the repository root
# The smallest model that still trains: one direction, no attention, 2 epochs.
FAST = ("model.bidirectional=false", "model.attention=none", "model.embedding_dim=8", "model.lstm_units=4")
SMALL_SPACE = {"model.dropout": {"low": 0.0, "high": 0.6},
               "training.learning_rate": {"low": 1e-3, "high": 1e-2, "log": True}}


@pytest.fixture(scope="module")
def dataset():
    return make_dataset({"sports": 20, "tech": 20, "food": 20}, seed=2)


def _optuna_state(name):
    import optuna

    return getattr(optuna.trial.TrialState, name)


# ------------------------------------------------------------------------------------------------ fakes


class ReadSpy:
    """Records which top-level keys of each run's metrics the study reads, per arm."""

    def __init__(self):
        self.reads = []

    def wrap(self, request, metrics):
        return _Recording(metrics, request.tags.get("arm"), self.reads)

    def arms_reading(self, *keys):
        return {arm for arm, key in self.reads if key in keys}


class _Recording(dict):
    def __init__(self, data, arm, log):
        super().__init__(data)
        self._arm, self._log = arm, log

    def __getitem__(self, key):
        self._log.append((self._arm, key))
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._log.append((self._arm, key))
        return super().get(key, default)

    def __contains__(self, key):
        self._log.append((self._arm, key))
        return super().__contains__(key)


def fake_executor(data, score, *, epochs=2, spy=None, calls=None, pause=0.0):
    """Runs no model: validation macro-F1 = score(request), reported per epoch; honours the stop flag."""

    def run(request, on_epoch, stop):
        if calls is not None:
            calls.append(request)
        value = score(request)
        for epoch in range(1, epochs + 1):
            time.sleep(pause)
            on_epoch({"val_macro_f1": value * epoch / epochs, "val_accuracy": 0.0})
            if stop.is_set():
                return TrialOutcome("stopped", {}, None, 0.0)
        metrics = {"validation": {"macro_f1": value}, "test": {"macro_f1": value - 0.1, "accuracy": 0.5},
                   "baseline": {"available": True, "macro_f1": 0.4}}
        return TrialOutcome("completed", spy.wrap(request, metrics) if spy else metrics, None, 0.0)

    return FunctionExecutor(run, data_hash=data.data_hash)


def _states(handle):
    return collections.Counter(t.state.name for t in handle.trials())


# ------------------------------------------------------------------------------------------------ verdicts


def test_the_verdict_rule_is_a_paired_t_interval_with_a_minimum_effect():
    from scipy.stats import t

    assert paired_verdict([0.05, 0.06, 0.04])[0] == HELPS
    assert paired_verdict([-0.05, -0.06, -0.04])[0] == HURTS
    assert paired_verdict([0.05, -0.02, 0.03])[0] == WITHIN_NOISE  # the interval straddles zero
    assert paired_verdict([0.005, 0.006, 0.004])[0] == WITHIN_NOISE  # consistent but below the 0.01 that matters
    assert paired_verdict([0.2]) == (WITHIN_NOISE, None, None)  # one seed cannot tell
    verdict, low, high = paired_verdict([0.02, 0.05, 0.03])
    half = t.ppf(0.95, 2) * 0.015275252 / 3 ** 0.5
    assert low == pytest.approx(0.03333333 - half) and high == pytest.approx(0.03333333 + half)
    assert verdict == (HELPS if low > 0 else WITHIN_NOISE)
    assert "90%" in VERDICT_RULE and "0.01" in VERDICT_RULE and VERDICT_RULE.count(".") <= 3


def test_the_objective_is_validation_macro_f1_and_the_k_fold_mean_when_folds_ran():
    assert objective_value({"validation": {"macro_f1": 0.7}, "test": {"macro_f1": 0.1}}) == 0.7
    folds = {"validation": {"macro_f1": {"mean": 0.65, "sd": 0.02}}, "test": {"macro_f1": {"mean": 0.1, "sd": 0.0}}}
    assert objective_value({"validation": {"macro_f1": 0.9}, "folds": folds}) == 0.65
    with pytest.raises(RunError):
        objective_value({"validation": None})


# ---------------------------------------------------------------------------------------------- lever study (fake runs)


# large seed-to-seed swings, shared by all arms of a seed: pairing cancels them
SEED_SWING = {42: 0.00, 43: 0.08, 44: -0.05}
EFFECT = {"model.bidirectional=false": 0.04, "training.batch_size=32": -0.04}


def _lever_score(request):
    arm, seed = request.tags["arm"], request.config.seed
    if arm == ARM_REFERENCE:
        effect = 0.0
    elif arm == ARM_COMBINED:
        effect = 0.05
    elif arm == "model.dropout=0.4":
        effect = 0.03 if seed % 2 else -0.03  # no consistent effect
    else:
        effect = EFFECT.get(arm, 0.0) + 0.002 * (seed - 42)
    return 0.6 + SEED_SWING[seed] + effect


def test_a_lever_study_pairs_seeds_judges_each_lever_and_reads_the_test_split_only_for_the_final_configs(dataset,
                                                                                                          tmp_path):
    config = tiny_config()
    levers = find_levers(config, ["model.bidirectional=false", "training.batch_size=32", "model.dropout=0.4"])
    spy, calls = ReadSpy(), []
    executor = fake_executor(dataset, _lever_score, spy=spy, calls=calls)
    handle = create_lever_study(config, data_source(dataset), levers=levers, seeds=3, runs_dir=tmp_path)
    summary = run_study(handle, executor)
    assert summary.reason == "finished" and summary.trials_run == summary.done == summary.planned == 12
    assert sorted((r.tags["arm"], r.config.seed) for r in calls) == sorted(
        (arm, seed) for arm in (ARM_REFERENCE, *(lever.key for lever in levers)) for seed in (42, 43, 44))
    assert [r.tags["arm"] for r in calls[:4]] == [ARM_REFERENCE, *(lever.key for lever in levers)]  # seed by seed

    table = lever_results(handle)
    assert table.complete and table.reference_n == 3 and table.rule == VERDICT_RULE
    by_key = {row.key: row for row in table.rows}
    assert [row.key for row in table.rows] == ["model.bidirectional=false", "model.dropout=0.4",
                                               "training.batch_size=32"]
    assert by_key["model.bidirectional=false"].verdict == HELPS and by_key["training.batch_size=32"].verdict == HURTS
    assert by_key["model.dropout=0.4"].verdict == WITHIN_NOISE
    helper = by_key["model.bidirectional=false"]
    assert helper.n == 3 and helper.seeds == (42, 43, 44)
    assert helper.deltas == pytest.approx((0.04, 0.042, 0.044))  # the seed swings of ±0.08 cancel in the pairs
    assert helper.mean_delta == pytest.approx(0.042) and helper.sd_delta == pytest.approx(0.002)
    assert LeverTable.from_dict(json.loads(json.dumps(table.to_dict()))) == table
    # Until the combination, only the reference's test scores were even looked at — never a lever's.
    assert spy.arms_reading("test", "baseline") == {ARM_REFERENCE}

    result = combine_helpers(handle, executor)
    assert result.plan.applied == ("model.bidirectional=false",) and result.plan.skipped == ()
    combined_calls = [r for r in calls if r.tags["arm"] == ARM_COMBINED]
    assert sorted(r.config.seed for r in combined_calls) == [42, 43, 44]
    assert all(r.config.model.bidirectional is False for r in combined_calls)
    assert spy.arms_reading("test", "baseline") == {ARM_REFERENCE, ARM_COMBINED}
    assert result.validation.verdict == HELPS and result.validation.mean_delta == pytest.approx(0.05)
    assert result.test_reference.mean == pytest.approx(0.6 + sum(SEED_SWING.values()) / 3 - 0.1)
    assert result.test_combined.mean == pytest.approx(result.test_reference.mean + 0.05) and result.test_combined.n == 3
    assert result.test_baseline.mean == pytest.approx(0.4)
    assert CombinedResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    # Combining again (a resume) reruns nothing.
    before = len(calls)
    assert combine_helpers(handle, executor).test_combined == result.test_combined and len(calls) == before


def test_the_combination_follows_the_table_and_skips_a_taken_setting_or_an_invalid_mix():
    config = tiny_config("model.lstm_units=2")  # 2 units both ways carry 4 heads; one way they do not
    keys = ["model.dropout=0.4", "model.dropout=0.6", "model.bidirectional=false", "model.attention=multihead"]
    levers = find_levers(config, keys)
    rows = tuple(LeverRow(key, key, "x", (key,), 3, 0.05 - i * 0.01, 0.001, (0.01, 0.09), 0.7, (), (), HELPS)
                 for i, key in enumerate(keys))
    table = LeverTable("s", "validation macro-F1", VERDICT_RULE, (42,), 0.6, 0.01, 3, rows, True, 15, 15)
    plan = plan_combination(table, levers, config)
    assert plan.applied == ("model.dropout=0.4", "model.bidirectional=false")
    assert [key for key, _ in plan.skipped] == ["model.dropout=0.6", "model.attention=multihead"]
    assert "model.dropout" in plan.skipped[0][1] and "attention_heads" in plan.skipped[1][1]
    combined = ExperimentConfig.from_dict(plan.config)
    assert combined.model.dropout == 0.4 and combined.model.bidirectional is False
    assert (plan_combination(table, levers, config, include=["model.attention=multihead"]).applied
            == ("model.attention=multihead",))
    with pytest.raises(ConfigError):
        plan_combination(table, levers, config, include=["model.l2=0"])


def test_stop_inside_a_trial_requeues_it_and_the_study_resumes_without_rerunning_finished_trials(dataset, tmp_path):
    config = tiny_config()
    stop, calls = threading.Event(), []

    def score(request):
        if len(calls) == 2:
            stop.set()  # the user presses Stop during the second trial
        return 0.5

    handle = create_lever_study(config, data_source(dataset), levers=find_levers(config, ["model.dropout=0.4"]),
                                seeds=2, name="resumable", runs_dir=tmp_path)
    first = run_study(handle, fake_executor(dataset, score, calls=calls), stop=stop)
    assert first.reason == "stopped" and first.done == 1
    interrupted = handle.trials()[1]
    assert interrupted.state.name == "FAIL" and interrupted.user_attrs["interrupted"] is True
    retry = [t for t in handle.trials() if t.system_attrs.get("failed_trial") == 1]
    assert (len(retry) == 1 and retry[0].state.name == "WAITING"
            and retry[0].user_attrs == {"arm": "model.dropout=0.4", "seed": 42})
    assert lever_results(handle).complete is False

    resumed = open_study("resumable", runs_dir=tmp_path)  # e.g. after a reboot
    again = []
    second = run_study(resumed, fake_executor(dataset, lambda r: 0.5, calls=again))
    assert second.reason == "finished" and second.done == second.planned == 4
    assert len(again) == 3  # the interrupted trial and the two never started; the finished one is kept
    assert sorted((r.tags["arm"], r.config.seed) for r in calls[:1] + again) == sorted(
        (arm, seed) for arm in (ARM_REFERENCE, "model.dropout=0.4") for seed in (42, 43))
    assert lever_results(resumed).complete



def test_a_time_budget_starts_no_trial_after_it_ends(dataset, tmp_path):
    handle = create_sweep(tiny_config(), data_source(dataset), trials=5, space=parse_space(SMALL_SPACE),
                          runs_dir=tmp_path)
    # 60 ms; a trial takes 100
    summary = run_study(handle, fake_executor(dataset, lambda r: 0.5, pause=0.05), budget_minutes=0.001)
    assert (summary.reason, summary.trials_run, summary.done, summary.planned) == ("budget", 1, 1, 5)
    with pytest.raises(ConfigError):
        run_study(handle, fake_executor(dataset, lambda r: 0.5), budget_minutes=0)


# ------------------------------------------------------------------------------------------------ sweeps (fake runs)


def test_a_sweep_starts_from_the_current_settings_and_reports_best_config_importance_and_parallel_rows(dataset,
                                                                                                         tmp_path):
    config = tiny_config("model.dropout=0.5")
    space = parse_space({"model.dropout": {"low": 0.0, "high": 0.6}, "model.bidirectional": {}})
    handle = create_sweep(config, data_source(dataset), trials=8, space=space, pruner="none", runs_dir=tmp_path,
                          sampler_seed=1)
    run_study(handle, fake_executor(dataset,
                                    lambda r: 0.3 + r.config.model.dropout + 0.1 * r.config.model.bidirectional))
    result = sweep_results(handle)
    assert result.done == result.planned == 8 and [row.state for row in result.trials] == ["COMPLETE"] * 8
    assert result.trials[0].params == {"model.dropout": 0.5, "model.bidirectional": True}  # the current settings first
    best = max(result.trials, key=lambda row: row.value)
    assert result.best == best and result.best_experiment_config.model.dropout == best.params["model.dropout"]
    assert result.best_experiment_config.model.embedding_dim == config.model.embedding_dim  # unsearched settings kept
    assert (set(result.importances) == {"model.dropout", "model.bidirectional"}
            and sum(result.importances.values()) == pytest.approx(1))
    assert (len(result.parallel) == 8 * 3
            and [axis["name"] for axis in result.axes] == ["model.dropout", "model.bidirectional", "objective"])
    assert all(0.0 <= row["position"] <= 1.0 for row in result.parallel)
    assert SweepResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_the_median_pruner_stops_weak_trials_through_the_runs_stop_flag(dataset, tmp_path):
    stopped = []

    def score(request):
        return 0.1 if request.number % 2 else 0.8  # odd trials learn nothing

    def run(request, on_epoch, stop):
        value = score(request)
        for epoch in range(1, 5):
            on_epoch({"val_macro_f1": value * epoch / 4})
            if stop.is_set():
                stopped.append(request.number)
                return TrialOutcome("stopped", {}, None, 0.0)
        return TrialOutcome("completed", {"validation": {"macro_f1": value}}, None, 0.0)

    handle = create_sweep(tiny_config(), data_source(dataset), trials=8, space=parse_space(SMALL_SPACE),
                          pruner="median", runs_dir=tmp_path)
    run_study(handle, FunctionExecutor(run, data_hash=dataset.data_hash))
    pruned = sorted(t.number for t in handle.trials() if t.state.name == "PRUNED")
    assert pruned and pruned == sorted(stopped) and all(number % 2 for number in pruned)
    assert sweep_results(handle).done == 8 and all(len(t.intermediate_values) >= 2 for t in handle.trials())


def test_two_workers_on_one_journal_run_each_trial_once(dataset, tmp_path):
    handle = create_sweep(tiny_config(), data_source(dataset), trials=12, space=parse_space(SMALL_SPACE), pruner="none",
                          name="shared", runs_dir=tmp_path)
    calls = []
    workers = [threading.Thread(target=run_study, args=(open_study("shared", runs_dir=tmp_path),
                                                        fake_executor(dataset, lambda r: 0.5, calls=calls, pause=0.01)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    numbers = [request.number for request in calls]
    assert len(numbers) == len(set(numbers)) == 12
    assert _states(handle) == {"COMPLETE": 12} and sweep_results(handle).done == 12  # surplus asks are hidden
    assert {t.system_attrs["lab:worker"]["id"] for t in handle.trials()}.__len__() == 2


def test_a_dead_workers_trial_is_failed_and_retried_once_and_a_live_one_is_left_alone(dataset, tmp_path):
    handle = create_sweep(tiny_config(), data_source(dataset), trials=3, space=parse_space(SMALL_SPACE), pruner="none",
                          name="crashy", runs_dir=tmp_path, grace_s=1)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process of this machine that no longer exists
    trial = handle.study.ask()
    handle.storage.set_trial_system_attr(trial._trial_id, "lab:worker",
                                         {"id": f"{socket.gethostname()}:{gone.pid}:x", "trial": trial.number})
    handle.storage.set_trial_system_attr(trial._trial_id, "lab:heartbeat", time.time())
    assert recover_stale_trials(handle) == [trial.number]
    assert recover_stale_trials(handle) == []
    retry = handle.trials()[-1]
    assert retry.state.name == "WAITING" and retry.system_attrs["failed_trial"] == trial.number
    assert retry.system_attrs["retry_history"] == [trial.number] and retry.params == handle.trials()[0].params

    again = handle.study.ask()  # the retry, popped by a worker that then goes silent
    assert again._trial_id == retry._trial_id
    live = handle.study.ask()  # a trial whose worker keeps beating
    time.sleep(1.3)
    handle.storage.set_trial_system_attr(live._trial_id, "lab:heartbeat", time.time())
    assert recover_stale_trials(handle, check_local_pids=False) == [again.number]
    assert handle.storage.get_trial(live._trial_id).state.name == "RUNNING"
    assert not [t for t in handle.trials() if t.state.name == "WAITING"]  # one retry per crash, never a second


# ------------------------------------------------------------------------------------------------ data, space, listing


def test_a_study_records_how_to_load_its_data_and_refuses_other_data(dataset, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(generated_texts({"sports": 20, "tech": 20, "food": 20}, seed=2)))
    source = data_source(dataset, csv_path=path)
    assert source.kind == "csv" and Path(source.location).is_absolute()
    assert load_source(source).data_hash == dataset.data_hash
    path.write_bytes(csv_bytes(generated_texts({"sports": 21, "tech": 20, "food": 20}, seed=2)))
    with pytest.raises(DataError, match="hash differs"):
        load_source(source)
    with pytest.raises(DataError, match="--data"):
        load_source(data_source(dataset))  # an upload cannot be reloaded elsewhere
    handle = create_lever_study(tiny_config(), source, levers=find_levers(tiny_config(), ["model.dropout=0.4"]),
                                seeds=1, runs_dir=tmp_path)
    other = make_dataset({"sports": 10, "tech": 10}, seed=3)
    with pytest.raises(DataError, match="not the data"):
        run_study(handle, fake_executor(other, lambda r: 0.5))


def test_the_search_space_comes_from_field_metadata_and_a_json_file_can_replace_it(tmp_path):
    space = default_space()
    for spec in space.params:
        section, name = spec.name.split(".")
        info = field_info(section, name)
        if spec.kind == "categorical":
            assert all(choice in (info.get("choices") or (True, False, 32, 64, 128)) for choice in spec.choices)
        else:
            assert info["min"] <= spec.low < spec.high <= info["max"]
    logs = {spec.name for spec in space.params if spec.log}
    assert {"training.learning_rate", "model.l2"} <= logs
    file = tmp_path / "space.json"
    file.write_text(json.dumps({"model.dropout": {"low": 0.1, "high": 0.5},
                                "model.attention": {"choices": ["none", "additive"]},
                                "model.bidirectional": {},
                                "training.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}))
    loaded = load_space(file)
    assert parse_space(loaded.to_dict()) == loaded
    assert [spec.kind for spec in loaded.params] == ["float", "categorical", "categorical", "float"]
    bad_spaces = [{}, {"model.nope": {}}, {"model.dropout": {"low": 0.1, "high": 2.0}},
                  {"model.attention": {"choices": ["lstm"]}},
                  {"model.l2": {"low": 0.0, "high": 0.1, "log": True}}, {"model.lstm_layers": {"low": 1.5, "high": 3}},
                  {"model.bidirectional": {"choices": ["yes"]}}, {"data.text_column": {}}]
    for bad in bad_spaces:
        with pytest.raises(ConfigError):
            parse_space(bad)
    with pytest.raises(ConfigError, match="no space file"):
        load_space(tmp_path / "missing.json")


def test_studies_are_listed_with_kind_progress_and_state_and_names_are_checked(dataset, tmp_path):
    levers = create_lever_study(tiny_config(), data_source(dataset),
                                levers=find_levers(tiny_config(), ["model.dropout=0.4"]),
                                seeds=1, name="done-levers", runs_dir=tmp_path)
    run_study(levers, fake_executor(dataset, lambda r: 0.5))
    create_sweep(tiny_config(), data_source(dataset), trials=5, space=parse_space(SMALL_SPACE), name="idle-sweep",
                 runs_dir=tmp_path)
    infos = {info.name: info for info in list_studies(tmp_path)}
    assert all(StudyInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info for info in infos.values())
    assert infos["done-levers"].kind == "levers" and infos["done-levers"].state == "finished"
    assert (infos["done-levers"].done, infos["done-levers"].planned) == (2, 2)
    assert (infos["idle-sweep"].state == "interrupted"
            and (infos["idle-sweep"].done, infos["idle-sweep"].planned) == (0, 5))
    assert storage_location("x", None, tmp_path).endswith("studies/x.journal")
    assert storage_location("x", "postgresql+psycopg2://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    for bad in ("", "   ", "two\nlines", "x" * 81):
        with pytest.raises(ConfigError):
            storage_location(bad, None, tmp_path)
    with pytest.raises(ConfigError):
        storage_location("x", "not-a-url")
    with pytest.raises(ConfigError, match="already exists"):
        create_sweep(tiny_config(), data_source(dataset), trials=5, name="idle-sweep", runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="no study"):
        open_study("missing", runs_dir=tmp_path)


# ------------------------------------------------------------------------------------------------ CLI (no training)


def _cli(argv, capsys):
    """python -m core's study commands, with its error handling (one ``error:`` line, exit 2)."""
    from core.cli.entry import main

    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_mistakes_are_one_error_line(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(generated_texts({"sports": 20, "tech": 20}, seed=1)))
    code, out, err = _cli(["study", "--list-levers", "--set", "model.attention=none"], capsys)
    assert (code == 0 and "model.bidirectional=false" in out and "model.attention=additive" in out
            and "model.attention=none" not in out)
    for argv, words in ((["study", str(path), "--levers", "nope"], "not a lever"),
                        (["sweep", str(path)], "--trials"),
                        (["sweep", str(path), "--trials", "2", "--space", str(tmp_path / "none.json")],
                         "no space file"),
                        (["worker", "--study", "missing", "--runs-dir", str(tmp_path)], "no study named"),
                        (["study", str(path), "--seeds", "0", "--runs-dir", str(tmp_path)], "--seeds")):
        code, out, err = _cli(argv, capsys)
        assert code == 2 and err.startswith("error: ") and words in err and err.count("\n") == 1, (argv, err)


# ------------------------------------------------------------------------------------------------ real training (slow)


def _run_records(runs_dir, study):
    records = []
    for info in Path(runs_dir).glob("*/run.json"):
        tags = json.loads(info.read_text(encoding="utf-8")).get("tags") or {}
        if tags.get("study") == study:
            records.append((info.parent, tags))
    return records


@pytest.mark.slow
def test_a_lever_study_on_real_runs_keeps_the_test_split_sealed(dataset, tmp_path):
    config = tiny_config(*FAST, "training.epochs=1")
    spy = ReadSpy()
    inner = InProcessExecutor(dataset, tmp_path)
    executor = FunctionExecutor(
        lambda request, on_epoch, stop: _spied(inner.run(request, on_epoch=on_epoch, stop=stop), request, spy),
        data_hash=dataset.data_hash)
    levers = find_levers(config, ["model.lstm_units=8", "training.learning_rate=0.004"])
    handle = create_lever_study(config, data_source(dataset), levers=levers, seeds=2, runs_dir=tmp_path)
    assert run_study(handle, executor).done == 6
    table = lever_results(handle)
    records = _run_records(tmp_path, handle.name)
    assert sorted((tags["arm"], tags["seed"]) for _, tags in records) == sorted(
        (arm, seed) for arm in (ARM_REFERENCE, *(lever.key for lever in levers)) for seed in (42, 43))
    validation = {(tags["arm"], tags["seed"]):
                  json.loads((folder / "metrics.json").read_text())["validation"]["macro_f1"]
                  for folder, tags in records}
    for row in table.rows:
        assert row.n == 2 and row.deltas == pytest.approx(
            tuple(validation[(row.key, s)] - validation[(ARM_REFERENCE, s)] for s in (42, 43)))
        assert row.verdict == paired_verdict(row.deltas)[0]
    assert spy.arms_reading("test", "baseline") == {ARM_REFERENCE}

    result = combine_helpers(handle, executor, include=["model.lstm_units=8"])
    assert spy.arms_reading("test", "baseline") == {ARM_REFERENCE, ARM_COMBINED}
    records = _run_records(tmp_path, handle.name)
    combined = {tags["seed"]: folder for folder, tags in records if tags["arm"] == ARM_COMBINED}
    assert sorted(combined) == [42, 43]
    tests = [json.loads((combined[s] / "metrics.json").read_text())["test"]["macro_f1"] for s in (42, 43)]
    assert result.test_combined.mean == pytest.approx(sum(tests) / 2) and result.test_reference.n == 2
    assert json.loads((combined[42] / "config.json").read_text())["model"]["lstm_units"] == 8


def _spied(outcome, request, spy):
    return TrialOutcome(outcome.status, spy.wrap(request, outcome.metrics), outcome.run_dir, outcome.duration_s)


@pytest.mark.slow
def test_the_dashboard_scheduler_runs_sweep_trials_as_jobs(dataset, tmp_path):
    from core.training.jobs import JobScheduler

    handle = create_sweep(tiny_config(*FAST), data_source(dataset), trials=2,
                          space=parse_space({"model.dropout": {"low": 0.1, "high": 0.5}}),
                          pruner="none", runs_dir=tmp_path)
    summary = run_study(handle, scheduler_executor(JobScheduler(max_running=1), dataset, tmp_path, poll_s=0.1))
    assert summary.done == 2 and _states(handle) == {"COMPLETE": 2}
    assert all(sorted(t.intermediate_values) == [1, 2] for t in handle.trials())
    records = _run_records(tmp_path, handle.name)
    assert sorted(tags["trial"] for _, tags in records) == [0, 1]
    assert {str(folder) for folder, _ in records} == {t.user_attrs["run_dir"] for t in handle.trials()}


@pytest.mark.slow
def test_the_cli_sweep_prints_its_result_as_the_last_json_line(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(generated_texts({"sports": 20, "tech": 20, "food": 20}, seed=2)))
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"model.dropout": {"low": 0.1, "high": 0.5}}))
    sets = []
    for override in ("model.embedding_dim=8", "model.lstm_units=4", "model.bidirectional=false", "model.attention=none",
                     "training.epochs=2", "vectorizing.max_length=12"):
        sets += ["--set", override]
    code, out, err = _cli(["sweep", str(path), "--trials", "2", "--space", str(space), "--pruner", "none", "--name",
                           "cli-sweep", "--runs-dir", str(tmp_path), "--workers", "1", "--json", *sets], capsys)
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["study"] == "cli-sweep" and result["sweep"]["done"] == 2
    assert all(Path(row["run_dir"]).is_dir() for row in result["sweep"]["trials"])
    assert "trial 0" in err and "trial 1" in err


# ------------------------------------------------------------------------------------------ two worker processes (slow)


WORKER_SCRIPT = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from core.evidence.study import InProcessExecutor, load_source, open_study, run_study
name, storage, runs_dir = sys.argv[1], sys.argv[2] or None, sys.argv[3]
handle = open_study(name, storage=storage, runs_dir=runs_dir, heartbeat_s=1, grace_s=4)
summary = run_study(handle, InProcessExecutor(load_source(handle.plan.data), runs_dir), check_local_pids=False,
                    progress=lambda e: e.kind != "epoch" and print(e.kind, e.trial, e.state or "", e.message, flush=True))
print("SUMMARY", summary.trials_run, summary.reason, flush=True)
"""  # noqa: E501 (a line of the worker's script, kept as it is)


def two_workers_with_a_kill(tmp_path, storage=None, trials=12, name="two-workers"):
    """Two worker processes share one study; the first is killed with -9 mid-trial (after finishing a trial of its
    own). The other must finish the study, retrying the killed trial exactly once; no trial may run twice."""
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(generated_texts({"sports": 20, "tech": 20, "food": 20}, seed=2)))
    runs_dir = tmp_path / "runs"
    data = make_dataset({"sports": 20, "tech": 20, "food": 20}, seed=2)
    handle = create_sweep(tiny_config(*FAST, "training.epochs=1"), data_source(data, csv_path=path), trials=trials,
                          space=parse_space(SMALL_SPACE), pruner="none", name=name, storage=storage, runs_dir=runs_dir)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, handle.name, storage or "", str(runs_dir)],
                                cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT) for log in logs]
    victim, survivor = workers

    def output(i):
        return logs[i].read_text(errors="replace")[-3000:]

    killed = None
    deadline = time.time() + 240
    try:
        while killed is None and time.time() < deadline and victim.poll() is None:
            trials_now = handle.trials()
            mine = [t for t in trials_now
                    if str(victim.pid) == str((t.system_attrs.get("lab:worker") or {}).get("id", "::").split(":")[1])]
            done_by_victim = sum(t.state.name == "COMPLETE" for t in mine)
            for trial in mine:
                just_started = trial.datetime_start and time.time() - trial.datetime_start.timestamp() < 1.0
                if trial.state.name == "RUNNING" and done_by_victim >= 1 and just_started:
                    os.kill(victim.pid, signal.SIGKILL)
                    killed = trial.number
                    break
            time.sleep(0.05)
        assert killed is not None, output(0)
        victim.wait(timeout=30)
        try:
            survivor.wait(timeout=240)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the surviving worker did not finish the study:\n{output(1)}")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert victim.returncode == -signal.SIGKILL
    assert survivor.returncode == 0 and "finished" in output(1).strip().splitlines()[-1], output(1)

    trials_after = handle.trials()
    by_number = {t.number: t for t in trials_after}
    assert by_number[killed].state.name == "FAIL"
    retries = [t for t in trials_after if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert not [t for t in trials_after if t.state.name in ("RUNNING", "WAITING")]
    complete = sorted(t.number for t in trials_after if t.state.name == "COMPLETE")
    assert len(complete) == trials and sweep_results(handle).done == trials
    records = collections.Counter(tags["trial"] for _, tags in _run_records(runs_dir, handle.name))
    # no trial ran twice; the killed one saved nothing
    assert set(records.values()) == {1} and sorted(records) == complete
    workers_that_finished = {(t.system_attrs["lab:worker"]["id"]).split(":")[1] for t in trials_after
                             if t.state.name == "COMPLETE"}
    assert workers_that_finished == {str(victim.pid), str(survivor.pid)}
    return handle


@pytest.mark.slow
def test_two_worker_processes_share_a_journal_and_survive_a_kill_9(tmp_path):
    handle = two_workers_with_a_kill(tmp_path)
    assert handle.location.endswith("two-workers.journal")
