"""The Study page: set up a lever study or a sweep, watch it run, read verdicts and the search, combine; and its
charts. Studies made with fake runs (core.evidence.study's FunctionExecutor, milliseconds) test what the page shows; the
``slow`` tests train tiny real models through the dashboard's job scheduler, as a user's click does."""

import re
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.figures import study as study_figures
from support.fakes import csv_bytes, generated_texts, make_dataset, tiny_config
from support.paths import APP  # noqa: E402

HOSTILE = ['<img src=x onerror=alert(1)>', '"; alert(1)//', "{{x}}", "$x$", "' + datum.x + '"]
COUNTS = {"sports": 20, "tech": 20, "food": 20}
ROWS = generated_texts(COUNTS, seed=2)  # make_dataset(COUNTS, seed=2) is built from these rows: same data hash
FAST = ("model.bidirectional=false", "model.attention=none", "model.embedding_dim=8", "model.lstm_units=4",
        "training.epochs=1", "data.text_column=text", "data.label_column=label")


# ------------------------------------------------------------------------------------------------ charts


def _dataset_values(specification: dict) -> set[str]:
    return {str(value) for rows in specification.get("datasets", {}).values() for row in rows for value in row.values()}


def _outside_datasets(node, top=True):
    if isinstance(node, dict):
        for key, value in node.items():
            if not (top and key == "datasets"):
                yield key
                yield from _outside_datasets(value, top=False)
    elif isinstance(node, list):
        for item in node:
            yield from _outside_datasets(item, top=False)
    elif isinstance(node, str):
        yield node


def _assert_only_data(chart, texts) -> dict:
    specification = chart.to_dict()  # altair validates the Vega-Lite spec here
    values = _dataset_values(specification)
    assert "labelExpr" not in str(specification)
    for text in texts:
        assert any(text in value for value in values), f"{text!r} missing from the data"
    for found in _outside_datasets(specification):
        for fragment in ("alert(1)", "onerror", "{{x}}", "$x$", "datum.x"):
            assert fragment not in found, f"{fragment!r} leaked outside the data: {found!r}"
    return specification


def _lever_rows(titles):
    return [{"lever": title, "mean": 0.05 - 0.02 * i, "sd": 0.01, "low": 0.04 - 0.02 * i, "high": 0.06 - 0.02 * i,
             "verdict": ("helps", "within noise", "hurts")[i % 3], "n": 3} for i, title in enumerate(titles)]


def _axes_and_rows(choices):
    axes = [{"name": "model.dropout", "kind": "float", "low": 0.0, "high": 0.6, "log": False, "choices": None},
            {"name": "model.attention", "kind": "categorical", "low": None, "high": None, "log": False,
             "choices": list(choices)},
            {"name": "objective", "kind": "objective", "low": None, "high": None, "log": False, "choices": None}]
    rows = []
    for trial, choice in enumerate(choices):
        objective = 0.5 + 0.05 * trial
        position = trial / (len(choices) - 1) if len(choices) > 1 else 0.5
        rows += [{"trial": trial, "axis": "model.dropout", "value": 0.1 * trial, "label": f"{0.1 * trial:.3g}",
                  "position": trial / 6, "objective": objective},
                 {"trial": trial, "axis": "model.attention", "value": choice, "label": choice, "position": position,
                  "objective": objective},
                 {"trial": trial, "axis": "objective", "value": objective, "label": f"{objective:.3f}",
                  "position": position, "objective": objective}]
    return axes, rows


def test_study_charts_carry_user_strings_as_data_only():
    _assert_only_data(study_figures.lever_effects(_lever_rows(HOSTILE), min_effect=0.01), HOSTILE)
    axes, rows = _axes_and_rows(HOSTILE)
    _assert_only_data(study_figures.parallel_coordinates(axes, rows, best_trial=2), HOSTILE)
    _assert_only_data(study_figures.final_comparison([{"arm": text, "kind": "reference", "mean": 0.6, "sd": 0.02,
                                                       "n": 3} for text in HOSTILE]), HOSTILE)
    _assert_only_data(study_figures.importance_bars({f"model.{text}": 0.2 for text in HOSTILE}), HOSTILE)
    _assert_only_data(study_figures.sweep_history([{"trial": i, "value": 0.5, "state": text}
                                                   for i, text in enumerate(HOSTILE)]), HOSTILE)


@pytest.mark.parametrize("build", [
    lambda: study_figures.lever_effects([], min_effect=0.01),
    lambda: study_figures.lever_effects([{"lever": "a", "mean": None, "verdict": "within noise", "n": 0},
                                        {"lever": "b", "mean": 0.02, "sd": None, "low": None, "high": None,
                                         "verdict": "within noise", "n": 1}],
                                       min_effect=0.01),
    lambda: study_figures.parallel_coordinates([], []),
    lambda: study_figures.parallel_coordinates(*_axes_and_rows(["only"])),
    lambda: study_figures.final_comparison([]),
    lambda: study_figures.final_comparison([{"arm": "reference", "kind": "reference", "mean": float("nan"), "sd": None,
                                             "n": 0}]),
    lambda: study_figures.importance_bars({}),
    lambda: study_figures.sweep_history([]),
    lambda: study_figures.sweep_history([{"trial": 0, "value": None, "state": "FAIL"}]),
], ids=["levers empty", "levers partial", "parallel empty", "parallel one choice", "final empty", "final nan",
        "importance empty", "history empty", "history failed"])
def test_study_charts_draw_edge_data(build):
    build().to_dict()


def test_lever_effects_keep_the_table_order_colour_the_verdicts_and_mark_what_is_too_small():
    specification = study_figures.lever_effects(_lever_rows(["first", "second", "third"]), min_effect=0.01).to_dict()
    rows = [row for data in specification["datasets"].values() for row in data if "lever" in row]
    order = {row["lever"]: row["order"] for row in rows}
    assert order == {"first": 0, "second": 1, "third": 2}
    band = [row for data in specification["datasets"].values() for row in data if "from" in row]
    assert band == [{"from": -0.01, "to": 0.01}]
    scales = [layer["encoding"]["color"]["scale"] for layer in specification["layer"]
              if "color" in layer.get("encoding", {})]
    assert scales and all(scale["domain"] == ["helps", "hurts", "within noise"] for scale in scales)
    first = next(row for row in rows if row["lever"] == "first")
    assert (first["sd_low"] == pytest.approx(0.04) and first["low"] == pytest.approx(0.04)
            and first["high"] == pytest.approx(0.06))


def test_parallel_coordinates_draw_one_line_per_trial_the_best_on_top_and_each_axis_ends():
    axes, rows = _axes_and_rows(["none", "additive", "multihead"])
    specification = study_figures.parallel_coordinates(axes, rows, best_trial=2).to_dict()
    layers = specification["layer"]
    data = {layer["data"]["name"]: specification["datasets"][layer["data"]["name"]] for layer in layers}
    lines, best = data[layers[1]["data"]["name"]], data[layers[2]["data"]["name"]]
    assert {row["trial"] for row in lines} == {0, 1} and {row["trial"] for row in best} == {2}
    assert layers[2]["mark"]["strokeWidth"] > layers[1]["mark"]["strokeWidth"]
    ticks = data[layers[3]["data"]["name"]]
    assert {(row["axis"], row["tick"]) for row in ticks} >= {("dropout", "0"), ("dropout", "0.6"),
                                                             ("attention", "multihead"),
                                                             ("validation macro-F1", "0.500"),
                                                             ("validation macro-F1", "0.600")}
    assert max(row["axis_index"] for row in lines) == 2  # the score is the last axis


def test_setting_changes_and_durations_read_as_words():
    from components.panels.study.sweep import config_changes
    from core.config import ExperimentConfig
    from core.model.estimate import rough_duration

    before = ExperimentConfig().to_dict()
    after = tiny_config("model.dropout=0.31", "resampling.strategy=none", "model.bidirectional=false").to_dict()
    changes = config_changes(before, after)
    assert "Dropout: 0.5 → 0.31" in changes and "Bidirectional: on → off" in changes  # labels, not keys
    assert "Resampling strategy: Class weights (balanced) → No resampling" in changes
    assert config_changes(before, before) == []
    assert [rough_duration(s) for s in (42, 125, 2280, 7800)] == ["42 s", "2 min", "38 min", "2 h 10 min"]


# ------------------------------------------------------------------------------------------------ the registry


def test_the_registry_runs_one_thread_per_study_shows_its_progress_and_stops_it():
    from components.services import StudyRegistry
    from core.evidence.study import StudyProgress

    registry, started = StudyRegistry(), threading.Event()

    def work(progress, on_epoch, stop):
        progress(StudyProgress("trial_started", "s", trial=0, label="reference, seed 42", done=0, planned=4))
        on_epoch({"loss": 1.0, "val_macro_f1": 0.4})
        on_epoch({"loss": 0.8, "val_macro_f1": 0.5})
        started.set()
        stop.wait(30)
        progress(StudyProgress("trial_finished", "s", trial=0, label="reference, seed 42", state="FAIL", done=0,
                               planned=4))
        progress(StudyProgress("finished", "s", done=0, planned=4, message="stopped"))

    assert registry.start("/x/s.journal", "s", work)
    assert started.wait(10)
    view = registry.view("/x/s.journal")
    assert view.alive and view.trial == 0 and view.label == "reference, seed 42"
    assert view.history == {"loss": [1.0, 0.8], "val_macro_f1": [0.4, 0.5]} and view.planned == 4
    assert not registry.start("/x/s.journal", "s", work)  # a second Start (another tab) does not run it twice
    registry.stop("/x/s.journal")
    assert registry.wait("/x/s.journal", 10)
    view = registry.view("/x/s.journal")
    assert not view.alive and view.stopping and view.reason == "stopped" and view.trial is None
    assert view.messages[-1].startswith("Stopped; Resume")

    def broken(progress, on_epoch, stop):
        from core.errors import DataError

        raise DataError("The data changed; load the same file.")

    assert registry.start("/x/s.journal", "s", broken)  # a finished study can be started again
    registry.wait("/x/s.journal", 10)
    assert registry.view("/x/s.journal").error == "The data changed; load the same file."


# ------------------------------------------------------------------------------------------------ the page


@pytest.fixture
def runs(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(folder))
    return folder


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120).run()


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _texts(at) -> str:
    return " ".join(_unescaped(e.value)
                    for kind in ("markdown", "caption", "info", "warning", "success", "error", "subheader")
                    for e in getattr(at, kind))


def _upload(at) -> None:
    at.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    at.file_uploader(key="data_upload").set_value(("tiny.csv", csv_bytes(ROWS), "text/csv")).run()


def _pills(at, label):
    return next(p for p in at.pills if p.label == label)


def _frame(at, column):
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def _wait_until_idle(at, location: str, timeout: float = 300) -> None:
    """Rerun the page (a browser's fragment would poll) until the study's thread has ended."""
    from components.frame.cached import study_registry as registry

    deadline = time.time() + timeout
    while time.time() < deadline and registry().is_running(location):
        time.sleep(1)
        at.run()
    assert not registry().is_running(location), "the study did not finish in time"
    at.run()


def _fake_executor(dataset, score):
    from core.evidence.study import FunctionExecutor, TrialOutcome

    def run(request, on_epoch, stop):
        value = score(request)
        on_epoch({"val_macro_f1": value})
        metrics = {"validation": {"macro_f1": value}, "test": {"macro_f1": value - 0.1, "accuracy": 0.5},
                   "baseline": {"available": True, "macro_f1": 0.4, "fitted_on": "the training split"}}
        return TrialOutcome("completed", metrics, None, 0.5)

    return FunctionExecutor(run, data_hash=dataset.data_hash)


def _fake_lever_study(folder, *, stop_after=None):
    """A lever study of tiny settings where switching off the second direction helps and dropout 0.6 hurts."""
    from core.evidence.levers import find_levers
    from core.evidence.study import ARM_REFERENCE, create_lever_study, data_source, run_study

    dataset = make_dataset(COUNTS, seed=2)
    config = tiny_config(*FAST[1:])  # bidirectional stays on: its lever switches it off
    levers = find_levers(config, ["model.bidirectional=false", "model.dropout=0.6"])
    handle = create_lever_study(config, data_source(dataset), levers=levers, seeds=3, name="levers-demo",
                                runs_dir=folder)
    swing = {42: 0.0, 43: 0.06, 44: -0.04}
    effect = {ARM_REFERENCE: 0.0, "model.bidirectional=false": 0.05, "model.dropout=0.6": -0.05}
    calls = []

    class StopAfter:
        def is_set(self):
            return stop_after is not None and len(calls) >= stop_after

    def score(request):
        calls.append(request)
        return 0.6 + swing[request.config.seed] + effect[request.tags["arm"]] + 0.001 * (request.config.seed - 42)

    run_study(handle, _fake_executor(dataset, score), stop=StopAfter())
    return handle


def _fake_sweep(folder, trials=6):
    from core.evidence.study import create_sweep, data_source, parse_space, run_study

    dataset = make_dataset(COUNTS, seed=2)
    space = parse_space({"model.dropout": {"low": 0.0, "high": 0.6}, "model.attention": {}, "training.learning_rate":
                         {"low": 1e-3, "high": 1e-2, "log": True}})
    handle = create_sweep(tiny_config(*FAST), data_source(dataset), trials=trials, space=space, pruner="none",
                          name="sweep-demo", runs_dir=folder, sampler_seed=1)
    run_study(handle, _fake_executor(dataset, lambda request: 0.4 + request.config.model.dropout / 2))
    return handle


def _open_study(at, handle) -> None:
    from components.panels.study.reading import StudyRef

    at.session_state["lab_study_selected"] = StudyRef(handle.name, str(Path(handle.location).resolve()))
    at.session_state["lab_study_picker_version"] = 99
    at.switch_page("pages/study.py").run()


@pytest.mark.slow
def test_a_new_lever_study_preselects_a_short_set_and_estimates_its_time(runs):
    from components.panels.study.setup import DEFAULT_LEVER_FIELDS
    from core.config import ExperimentConfig
    from core.evidence.levers import levers_for

    at = _app()
    at.switch_page("pages/study.py").run()
    _no_failure(at)
    chosen = [key for pills in at.pills for key in pills.value]
    expected = [lever.key for lever in levers_for(ExperimentConfig()) if lever.fields[0] in DEFAULT_LEVER_FIELDS]
    assert chosen == expected and 6 < len(chosen) < 20
    said = _texts(at)
    assert re.search(rf"{len(chosen)} lever\(s\) racing over 3 seed\(s\) \+ the reference = at most "
                     r"(\d+) runs \(every lever on "
                     rf"every seed: {3 * (len(chosen) + 1)}\): about .+ on this server when nothing else runs "
                     rf"\(≈ [\d,]+ CPU-minutes\) for \1 runs one after another", said)
    for pills in at.pills:
        pills.set_value([])
    at.run()
    assert at.button(key="study_start_levers").disabled
    at.segmented_control(key="study_kind").set_value("sweep").run()
    _no_failure(at)
    assert re.search(r"20 trials: about .+ for 20 runs one after another, .+drawn at random from the search space",
                     _texts(at))
    assert not at.button(key="study_start_sweep").disabled
    assert len(_frame(at, "searched")) == 11  # the default space, one row per searched setting


def test_a_lever_study_shows_sorted_verdicts_the_rule_and_one_combine_button(runs):
    from core.evidence.study import VERDICT_RULE

    handle = _fake_lever_study(runs)
    at = _app()
    _upload(at)
    _open_study(at, handle)
    _no_failure(at)
    said = _texts(at)
    assert "Finished" in _unescaped(at.get("progress")[0].proto.text)
    table = _frame(at, "verdict")
    assert table["lever"].tolist() == ["Bidirectional: on → off", "Dropout: 0.5 → 0.6"]
    assert table["verdict"].tolist() == ["helps", "hurts"] and table["seeds"].tolist() == [3, 3]
    assert table["Δ mean"].iloc[0] == pytest.approx(0.05, abs=0.002)
    assert VERDICT_RULE in said and "Helped: Bidirectional: on → off. Hurt: Dropout: 0.5 → 0.6." in said
    assert len(_frame(at, "settings")) == 9  # every trial, with what it ran
    assert at.button(key="study_combine").label == "Combine the 1 lever(s) that helped and run them with the same seeds"
    assert at.get("vega_lite_chart")


@pytest.mark.slow
def test_a_sweep_shows_its_trials_parallel_coordinates_importance_and_loads_the_best_settings(runs):
    handle = _fake_sweep(runs)
    at = _app()
    _open_study(at, handle)
    _no_failure(at)
    trials = _frame(at, "dropout")
    assert len(trials) == 6 and set(trials["state"]) == {"done"}
    assert len(at.get("vega_lite_chart")) == 3  # history, parallel coordinates, importance
    assert "PED-ANOVA importance" in _texts(at)
    best = max(handle.trials(), key=lambda t: t.value)
    assert f"Trial {best.number}: validation macro-F1 {best.value:.3f}" in _texts(at)
    at.button(key="study_load_best").click().run()
    _no_failure(at)
    assert at.session_state["lab_config"].model.dropout == pytest.approx(best.params["model.dropout"])
    assert any("Loaded the settings of trial" in s.value for s in at.success)


def test_a_sweep_with_few_trials_says_why_there_is_no_importance(runs):
    handle = _fake_sweep(runs, trials=3)
    at = _app()
    _open_study(at, handle)
    _no_failure(at)
    assert any("needs at least 5 completed trials" in _unescaped(i.value) for i in at.info)


def test_a_paused_study_offers_resume_and_names_the_upload_it_needs(runs):
    handle = _fake_lever_study(runs, stop_after=4)
    at = _app()  # the built-in data, not the uploaded file the study ran on
    _open_study(at, handle)
    _no_failure(at)
    assert "Paused with 5 run(s) left" in _unescaped(at.get("progress")[0].proto.text)
    assert at.button(key="study_resume").disabled
    assert any("upload that file on the Data page" in _unescaped(w.value) for w in at.warning)
    at.switch_page("pages/data.py").run()
    _upload(at)
    _open_study(at, handle)
    assert not at.button(key="study_resume").disabled
    assert "Partial: 4 of 9 runs" in _texts(at)


def test_the_studies_table_lists_every_study_of_the_runs_folder(runs):
    _fake_sweep(runs, trials=2)
    _fake_lever_study(runs, stop_after=2)

    def script():
        from components.panels.study import reading

        reading.studies_table(key="listed")

    at = AppTest.from_function(script, default_timeout=60).run()
    _no_failure(at)
    frame = at.dataframe[0].value
    assert set(frame["study"]) == {"levers-demo", "sweep-demo"}
    assert dict(zip(frame["study"], frame["state"])) == {"levers-demo": "interrupted", "sweep-demo": "finished"}


# ------------------------------------------------------------------------------------------------ real runs (slow)


@pytest.mark.slow
def test_a_tiny_lever_study_runs_live_then_combines_with_nothing_that_helped(runs):
    from components.frame.cached import study_registry as registry

    at = _app()
    _upload(at)
    at.session_state["lab_config"] = tiny_config(*FAST[1:])
    at.switch_page("pages/study.py").run()
    for pills in at.pills:
        pills.set_value(["model.bidirectional=false"] if pills.label == "Architecture" else [])
    at.run()
    at.number_input(key="study_seeds").set_value(2).run()
    at.text_input(key="study_lever_name").input("tiny-levers").run()
    assert ("1 lever(s) racing over 2 seed(s) + the reference = at most 4 runs (every lever on every seed: 4)"
            in _texts(at))
    at.button(key="study_start_levers").click().run()
    _no_failure(at)
    location = at.session_state["lab_study_selected"].location
    try:
        assert registry().is_running(location) and at.button(key="study_stop")
        _wait_until_idle(at, location)
        _no_failure(at)
        table = _frame(at, "verdict")
        assert table["lever"].tolist() == ["Bidirectional: on → off"] and table["seeds"].tolist() == [2]
        assert len(_frame(at, "settings")) == 4 and "Finished" in _unescaped(at.get("progress")[0].proto.text)
        assert at.button(key="study_combine")
        helped = table["verdict"].iloc[0] == "helps"
        at.button(key="study_combine").click().run()
        _wait_until_idle(at, location)
        _no_failure(at)
        metrics = {m.label: m.value for m in at.metric}
        assert {"Reference: test macro-F1", "TF-IDF baseline: test macro-F1"} <= set(metrics)
        assert ("Combined: test macro-F1" in metrics) == helped
        assert re.fullmatch(r"0\.\d{3} ± 0\.\d{3}", metrics["Reference: test macro-F1"])
    finally:
        registry().stop(location)
        registry().wait(location, 120)


@pytest.mark.slow
def test_combine_runs_the_helpers_with_the_same_seeds_and_scores_them_on_test(runs):
    from components.frame.cached import study_registry as registry

    handle = _fake_lever_study(runs)
    at = _app()
    _upload(at)
    _open_study(at, handle)
    at.button(key="study_combine").click().run()
    location = str(Path(handle.location).resolve())
    try:
        _wait_until_idle(at, location)
        _no_failure(at)
        metrics = {m.label: m.value for m in at.metric}
        assert re.fullmatch(r"0\.\d{3} ± 0\.\d{3}", metrics["Combined: test macro-F1"])
        per_seed = _frame(at, "TF-IDF baseline")
        assert per_seed["seed"].tolist() == [42, 43, 44] and per_seed["combined"].notna().all()
        combined = [row for row in _frame(at, "settings").to_dict("records") if row["settings"] == "combined levers"]
        assert sorted(row["seed"] for row in combined) == [42, 43, 44] and all(row["run"] for row in combined)
        at.button(key="study_load_combined").click().run()
        assert at.session_state["lab_config"].model.bidirectional is False
    finally:
        registry().stop(location)
        registry().wait(location, 120)


@pytest.mark.slow
def test_a_tiny_sweep_runs_its_trials_as_jobs_and_reads_like_a_sweep(runs):
    from components.frame.cached import study_registry as registry

    at = _app()
    _upload(at)
    at.session_state["lab_config"] = tiny_config(*FAST)
    at.switch_page("pages/study.py").run()
    at.segmented_control(key="study_kind").set_value("sweep").run()
    _pills(at, "Settings to search").set_value(["model.dropout"]).run()
    at.number_input(key="study_trials").set_value(2).run()
    at.selectbox(key="study_pruner").set_value("none").run()
    at.button(key="study_start_sweep").click().run()
    _no_failure(at)
    location = at.session_state["lab_study_selected"].location
    try:
        _wait_until_idle(at, location)
        _no_failure(at)
        trials = _frame(at, "dropout")
        assert len(trials) == 2 and set(trials["state"]) == {"done"} and trials["run"].notna().all()
        assert any("needs at least 5 completed trials" in _unescaped(i.value) for i in at.info)
        assert at.button(key="study_load_best")
    finally:
        registry().stop(location)
        registry().wait(location, 120)
