"""The Study page on racing studies and the page state that follows a study: why each lever stopped and how seeds
were spent, the exhaustive option and its run counts, study names checked as they are typed, the picker's line once
a study ends, and the studies table's best score of a lever study. Fake runs (milliseconds) unless marked slow."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from support.fakes import csv_bytes, generated_texts, make_dataset, tiny_config
from support.paths import APP

COUNTS = {"sports": 20, "tech": 20, "food": 20}
ROWS = generated_texts(COUNTS, seed=2)
KEYS = ["model.bidirectional=false", "model.dropout=0.6", "model.dropout=0.4", "model.l2=0.0", "model.lstm_units=16"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(folder))
    return folder


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _texts(at) -> str:
    return " ".join(_unescaped(e.value)
                    for kind in ("markdown", "caption", "info", "warning", "success", "error", "subheader")
                    for e in getattr(at, kind))


def _frame(at, column):
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def _executor(dataset, *, pause: float = 0.0):
    from core.evidence.study import FunctionExecutor, TrialOutcome

    swing = {42: 0.0, 43: 0.05, 44: -0.03}
    effect = {"model.bidirectional=false": 0.08, "model.dropout=0.6": -0.2}

    def run(request, on_epoch, stop):
        time.sleep(pause)
        arm, seed = request.tags["arm"], request.tags["seed"]
        value = 0.6 + swing[seed] + effect.get(arm, 0.0) + 0.003 * (sum(map(ord, arm)) % 5) * (seed - 43)
        on_epoch({"val_macro_f1": value})
        return TrialOutcome("completed", {"validation": {"macro_f1": value},
                                          "test": {"macro_f1": value - 0.1, "accuracy": 0.5},
                                          "baseline": {"available": True, "macro_f1": 0.4}}, None, 0.2)

    return FunctionExecutor(run, data_hash=dataset.data_hash)


def _racing_study(folder, name="racing-demo"):
    from core.evidence.levers import find_levers
    from core.evidence.study import Racing, create_lever_study, data_source, run_study

    dataset = make_dataset(COUNTS, seed=2)
    config = tiny_config("model.attention=none")
    handle = create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS), seeds=3, name=name,
                                runs_dir=folder, racing=Racing())
    run_study(handle, _executor(dataset))
    return handle


def _open(at, handle) -> None:
    from components.panels.study.reading import StudyRef

    at.session_state["lab_study_selected"] = StudyRef(handle.name, str(Path(handle.location).resolve()))
    at.session_state["lab_study_picker_version"] = 99
    at.switch_page("pages/study.py").run()


def test_a_racing_study_says_why_each_lever_stopped_and_how_seeds_were_spent(runs):
    from core.evidence.study import lever_results

    handle = _racing_study(runs)
    table = lever_results(handle)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    at.file_uploader(key="data_upload").set_value(("tiny.csv", csv_bytes(ROWS), "text/csv")).run()
    _open(at, handle)
    assert not at.exception, [e.value for e in at.exception]
    frame = _frame(at, "why it stopped")
    by_lever = dict(zip(frame["lever"], frame["why it stopped"]))
    assert by_lever["Dropout: 0.5 → 0.6"] == "settled after 2 of 3 seeds: its interval cleared zero"
    assert dict(zip(frame["lever"], frame["verdict"]))["Dropout: 0.5 → 0.6"] == "hurts"
    assert any(reason.startswith("stopped after 1 of 3 seeds") for reason in by_lever.values())
    said = _texts(at)
    assert "How seeds are spent: Racing (successive halving over seeds" in said
    assert f"It took {table.done} runs instead of the {table.most} of every lever on every seed." in said
    progress = _unescaped(at.get("progress")[0].proto.text)
    assert f"{table.done} of {table.done} runs done. Finished." in progress


def test_the_studies_table_shows_a_finished_lever_studys_best_score(runs):
    from core.evidence.study import lever_results

    handle = _racing_study(runs)
    table = lever_results(handle)
    expected = max([row.mean_value for row in table.rows] + [table.reference_mean])

    def script():
        from components.panels.study import reading

        reading.studies_table(key="listed")

    at = AppTest.from_function(script, default_timeout=60).run()
    frame = at.dataframe[0].value
    best = frame["best validation macro-F1"].iloc[0]
    assert frame["study"].tolist() == [handle.name] and isinstance(best, float) and best == pytest.approx(expected)


def test_the_picker_line_of_a_study_that_ends_stops_saying_running(runs):
    from components.frame.cached import study_registry
    from components.panels.study import reading
    from core.evidence.levers import find_levers
    from core.evidence.study import create_lever_study, data_source, open_study, run_study

    dataset = make_dataset(COUNTS, seed=2)
    config = tiny_config()
    handle = create_lever_study(config, data_source(dataset), levers=find_levers(config, KEYS[:1]), seeds=1,
                                name="ends", runs_dir=runs)
    ref = reading.StudyRef(handle.name, str(Path(handle.location).resolve()))
    release = threading.Event()

    def work(progress, on_epoch, stop):
        release.wait(30)
        run_study(open_study(ref.name, storage=ref.location), _executor(dataset), progress=progress, stop=stop)

    def script():
        from components.panels.study import reading

        reading.picker()

    at = AppTest.from_function(script, default_timeout=60)
    assert study_registry().start(ref.location, ref.name, work)
    try:
        at.run()
        assert at.selectbox[0].options[1] == "ends — lever study, running"
        shown = tuple(reading.picker_lines().items())  # what the page showed while it ran
    finally:
        release.set()
        study_registry().wait(ref.location, 30)
    # The watcher fragment compares these lines with the page's: they differ now, so it reruns the whole page.
    assert tuple(reading.picker_lines().items()) != shown
    assert reading.picker_lines()[ref] == "ends — lever study, 2/2 runs, finished"


def test_a_typed_study_name_is_checked_as_it_is_typed(runs):
    from components.panels.study.setup import name_problem
    from core.evidence.study import NAME_RULE

    _racing_study(runs, name="taken, with a comma")
    assert name_problem("attention none, 2 seeds") == "" and name_problem("") == ""
    assert "already exists" in name_problem("taken, with a comma")
    assert NAME_RULE in name_problem("x" * 81)


@pytest.mark.slow
def test_the_new_lever_study_form_races_by_default_and_checks_the_name_as_typed(runs):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/study.py").run()
    assert not at.exception
    chosen = sum(len(pills.value) for pills in at.pills)
    said = _texts(at)
    assert re.search(rf"{chosen} lever\(s\) racing over 3 seed\(s\) \+ the reference = at most "
                     r"\d+ runs \(every lever on "
                     rf"every seed: {3 * (chosen + 1)}\)", said)
    at.checkbox(key="study_exhaustive").check().run()
    assert f"{chosen} lever(s) + the reference × 3 seed(s) = {3 * (chosen + 1)} runs" in _texts(at)
    at.text_input(key="study_lever_name").input("attention none, 2 seeds").run()
    assert not at.error and not at.button(key="study_start_levers").disabled
    at.text_input(key="study_lever_name").input("two\tparts").run()
    assert at.error and "as for a run name" in at.error[0].value and at.button(key="study_start_levers").disabled
