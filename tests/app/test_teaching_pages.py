"""Teaching mode on the dashboard: the Lessons page, the coach (live and after a run), the epoch replay on Evaluate,
run names and the leaderboard. AppTest drives the pages; the slow tests train tiny real models."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from support.fakes import FixedJob, csv_bytes, generated_texts, tiny_config
from support.paths import APP  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
# A lesson small enough for a test: 12 reports per class of the built-in data, a tiny model, two epochs.
TINY_LESSON = """
id = "tiny-rate"
title = "Tiny learning-rate lesson"
question = "Does a learning rate of 0.00001 move the loss at all?"
dataset = "faa-bird-strikes-effect"
subsample = { per_class = 12, seed = 0 }
seed = 3
base = ["model.embedding_dim=8", "model.lstm_units=4", "model.attention_units=4", "model.bidirectional=false",
        "vectorizing.max_length=12", "training.batch_size=16", "training.epochs=2", "training.early_stopping=false"]
traded = "Everything: it only has to run in a test."
lever = ["training.learning_rate"]
look_at = "The fall in training loss."
expected = "The fast rate lowers the loss more."
[[variants]]
name = "slow"
label = "Slow rate"
overrides = ["training.learning_rate=0.00001"]
[[variants]]
name = "fast"
label = "Fast rate"
overrides = ["training.learning_rate=0.02"]
[[expect]]
metric = "loss_drop"
compare = ["fast", ">", "slow"]
"""


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _texts(at, *kinds: str) -> list[str]:
    kinds = kinds or ("markdown", "caption", "error", "warning", "info", "success", "subheader")
    return [_unescaped(e.value) for kind in kinds for e in getattr(at, kind)]


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in _texts(at, "error") if "Something went wrong" in e], _texts(at, "error")


def _assert_escaped(at) -> None:
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        for element in getattr(at, kind):
            assert not re.search(r"(?<!\\)<img", element.value), element.value


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(folder))
    return folder


@pytest.fixture
def tiny_lessons(tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01-tiny.toml").write_text(TINY_LESSON, encoding="utf-8")
    monkeypatch.setenv("LSTM_TEXT_LAB_LESSONS", str(folder))
    return folder


def _open_lessons(runs_dir) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/lessons.py").run()
    _no_failure(at)
    return at


# ------------------------------------------------------------------------------------------------ Lessons page


@pytest.mark.slow
def test_the_lessons_page_lists_every_lesson_and_shows_its_card(runs_dir):
    from core.teaching.lessons import load_lessons

    at = _open_lessons(runs_dir)
    shipped = load_lessons()
    listed = " ".join(_texts(at, "markdown"))
    for lesson in shipped:
        assert lesson.title in listed
    first = shipped[0]
    said = " ".join(_texts(at))
    assert first.question in said and first.look_at in said and first.traded in said
    expander_labels = [e.label for e in at.expander]
    assert "Expected observation (predict it first, then open)" in expander_labels
    assert "Write your own lesson" in expander_labels
    assert "A fully commented example" in said and 'id = "class-imbalance"' in " ".join(_texts(at, "markdown"))
    assert at.button(key="lessons_start")
    at.selectbox(key="lessons_picker").set_value(shipped[4].id).run()
    assert shipped[4].question in " ".join(_texts(at))
    assert at.session_state["lessons_chosen"] == shipped[4].id


def test_a_teachers_lesson_folder_with_markup_in_its_texts_is_shown_as_text(runs_dir, tiny_lessons):
    text = TINY_LESSON.replace("Tiny learning-rate lesson", f"Tiny {HOSTILE} lesson").replace(
        'label = "Fast rate"', f'label = "Fast {HOSTILE}"')
    (tiny_lessons / "01-tiny.toml").write_text(text, encoding="utf-8")
    at = _open_lessons(runs_dir)
    assert any(HOSTILE in t for t in _texts(at, "markdown"))
    _assert_escaped(at)
    assert "Press Start the lesson" in " ".join(_texts(at, "info"))


def test_a_broken_lesson_file_is_one_sentence(runs_dir, tiny_lessons):
    (tiny_lessons / "02-broken.toml").write_text('id = "broken"\ntitle = "x"\n', encoding="utf-8")
    at = _open_lessons(runs_dir)
    errors = _texts(at, "error")
    assert errors and "02-broken.toml" in errors[0] and "is missing" in errors[0]


def test_the_page_measures_what_the_lesson_engine_measures():
    from components.panels import lessons as lessons_panel
    from core.teaching.lessons import load_lessons
    from core.teaching.lessons.running import _metrics_wanted

    for lesson in load_lessons():
        engine = _metrics_wanted(lesson)
        assert {name: lessons_panel.metrics_wanted(lesson, name) for name in engine} == engine


def test_a_variant_progress_line_names_its_phase_and_epoch():
    from components.panels.lessons import progress_line
    from core.training.jobs import JobView

    view = JobView(job_id=1, status="running", queue_position=None, history={"loss": [1.0]}, batch_points=[],
                   last_event={"kind": "epoch", "epoch": 1, "epochs": 6, "batch": -1, "batches": 10}, phase="train",
                   phase_message="", run_dir=None, error=None, started_at=time.time() - 5, finished_at=None,
                   stop_requested=False, epoch_seconds=[2.0], train_rows=100)
    assert progress_line(2, 3, "Class weights", view).startswith("2 of 3 · Class weights: training · epoch 1 of 6")
    queued = JobView(**{**view.__dict__, "status": "queued", "queue_position": 2, "last_event": None})
    assert progress_line(3, 3, "SMOTE", queued) == "3 of 3 · SMOTE: waiting (queue position 2)"


# ------------------------------------------------------------------------------------------------ the coach


@pytest.mark.slow
def test_the_coach_speaks_live_on_the_train_page_once_an_epoch_shows_it(runs_dir):
    from core.training.jobs import JobView

    flat = {"loss": [1.386, 1.385, 1.385, 1.384], "accuracy": [0.25, 0.26, 0.25, 0.26],
            "val_loss": [1.386, 1.386, 1.385, 1.385], "val_accuracy": [0.25, 0.25, 0.25, 0.25]}
    view = JobView(job_id=10**9, status="running", queue_position=None, history=flat, batch_points=[],
                   last_event={"kind": "epoch", "epoch": 4, "epochs": 10, "batch": -1, "batches": 5}, phase="train",
                   phase_message="", run_dir=None, error=None, started_at=time.time() - 20, finished_at=None,
                   stop_requested=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_job"] = FixedJob(view, tiny_config("training.learning_rate=0.00001"))
    at.switch_page("pages/train.py").run()
    _no_failure(at)
    warnings = _texts(at, "warning")
    assert any(w.startswith("**Learning rate too low.**") and "barely moved over 4 epochs" in w
               for w in warnings), warnings
    button = at.button(key="coach_live_try_learning_rate_too_low")
    assert _unescaped(button.label) == "Stop and try this (Learning rate: 0.0001)"

    before_any_epoch = JobView(**{**view.__dict__, "history": {}})
    at.session_state["lab_job"] = FixedJob(before_any_epoch, tiny_config())
    at.run()
    assert not [b for b in at.button if b.key.startswith("coach_live_try_")]
    assert not any("Learning rate too low" in w for w in _texts(at, "warning"))


def test_a_coach_change_weighed_against_seed_noise():
    from components.panels.coach import change_sentence

    assert "no clear effect" in change_sentence(0.50, 0.52, "model.dropout=0.3")
    assert "helped" in change_sentence(0.50, 0.58, "model.dropout=0.3")
    assert "hurt" in change_sentence(0.50, 0.40, "model.dropout=0.3")
    assert "(+0.080)" in change_sentence(0.50, 0.58, "x=1")


# ------------------------------------------------------------------------------------------ replay (unit level)


def test_replay_metrics_come_from_the_stored_validation_predictions():
    from components.panels.replay import epoch_metrics, epochs_available, example_rows

    replay = {
        "labels": [0, 0, 1, 1, 2],
        "predictions_by_epoch": [[0, 0, 0, 0, 0], [0, 1, 1, 1, 2], None],
        "examples": {"positions": [0, 4], "tokens": [["a", "b"], ["c"]], "method": "attention",
                     "by_epoch": [{"predicted": [0, 0], "weights": [[0.5, 0.5], [1.0]]},
                                  {"predicted": [0, 2], "weights": [[0.9, 0.1], [1.0]]}]},
    }
    names = ["x", "y", "z"]
    assert epochs_available(replay) == [1, 2]  # epoch 3 was cut short by Stop: nothing stored
    assert epoch_metrics(replay, 1, names).confusion.counts == [[2, 0, 0], [2, 0, 0], [1, 0, 0]]
    assert epoch_metrics(replay, 2, names).confusion.counts == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    rows = example_rows(replay, 2, names)
    assert [(r["true"], r["predicted"], r["weights"]) for r in rows] == [("x", "x", [0.9, 0.1]), ("z", "z", [1.0])]


# --------------------------------------------------------------------------------------- classroom (unit level)


def test_changes_from_a_reference_leave_out_what_a_leaderboard_shares():
    from components.panels.runs import changes_from, changes_in_words
    from core.config import ExperimentConfig

    assert changes_from(ExperimentConfig(), ExperimentConfig()) == []
    changed = tiny_config("model.dropout=0.3", "seed=7", "split.test_fraction=0.3", "data.text_column=text")
    changes = {key: new for key, _, new in changes_from(changed, ExperimentConfig())}
    assert changes["model.dropout"] == 0.3 and changes["model.lstm_units"] == 8
    # shared by a leaderboard
    assert not any(key.startswith(("seed", "split.test_fraction", "data.")) for key in changes)
    words = changes_in_words(changes_from(changed, ExperimentConfig()))
    assert "Dropout: 0.3" in words and "LSTM units: 8" in words and "model." not in words


def test_only_the_settings_that_differ_between_selected_runs_are_highlighted():
    import pandas as pd

    from components.panels.runs import differing_columns

    table = pd.DataFrame({"run": ["a", "b", "c"], "dropout": [0.5, 0.3, 0.5], "units": [64, 64, 64],
                          "optimizer": ["adam", "adam", "sgd"]})
    assert differing_columns(table, [0, 1]) == ["dropout"]
    assert differing_columns(table, [0, 2]) == ["optimizer"]
    assert differing_columns(table, [0]) == []


# ----------------------------------------------------------------------------------------- with real training


def _upload(at, rows) -> None:
    at.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    at.file_uploader(key="data_upload").set_value(("classroom.csv", csv_bytes(rows), "text/csv")).run()


ROWS = generated_texts({"sports": 40, "tech": 30, "food": 30}, seed=11)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One real run on the generated rows (the same rows the tests upload), cut at 3 tokens so the coach flags it,
    trained long enough that its validation predictions change between the first and the last epoch."""
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes
    from core.training.experiment import run_experiment

    folder = tmp_path_factory.mktemp("trained") / "runs"
    dataset = build_dataset(read_csv_bytes(csv_bytes(ROWS), source_name="classroom.csv"))
    config = tiny_config("training.epochs=6", "training.learning_rate=0.02", "training.early_stopping=false",
                         "vectorizing.max_length=3")
    result = run_experiment(dataset, config, runs_dir=folder, tags={"name": f"Ana {HOSTILE}", "note": "cut at 3"})
    return result.run_dir


def _evaluate(run_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(Path(run_dir).parent))
    at = AppTest.from_file(APP, default_timeout=240).run()
    _upload(at, ROWS)
    at.switch_page("pages/evaluate.py").run()
    _no_failure(at)
    return at


def _confusion_charts(at, *, selectable: bool) -> list[dict]:
    """The confusion-matrix charts on the page (the test one is clickable, the replay one is not), as specs."""
    import pyarrow as pa

    found = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if "confusion matrix" not in json.dumps(spec.get("title", "")) and "confusion matrix" not in json.dumps(spec):
            continue
        if ('"cell"' in json.dumps(spec)) != selectable:
            continue
        rows = []
        for named in chart.proto.datasets:
            rows += pa.ipc.open_stream(named.data.data).read_all().to_pylist()
        found.append({"spec": spec, "rows": rows})
    return found


def _counts(rows: list[dict]) -> dict:
    return {(row["true"], row["predicted"]): row["count"] for row in rows if "count" in row and "true" in row}


@pytest.mark.slow
def test_the_replay_slider_changes_the_confusion_matrix_between_the_first_and_last_epoch(trained_run, monkeypatch):
    from components.panels.replay import epoch_metrics
    from core.runs.store import load_run

    run = load_run(trained_run)
    first = epoch_metrics(run.replay, 1, run.class_names).confusion
    last = epoch_metrics(run.replay, 6, run.class_names).confusion
    assert first.counts != last.counts  # the run's own record: the model changed its mind while learning

    at = _evaluate(trained_run, monkeypatch)
    slider = at.select_slider(key="replay_epoch")
    assert list(slider.options) == [str(epoch) for epoch in range(1, 7)] and slider.value == 6
    shown_last = _counts(_confusion_charts(at, selectable=False)[0]["rows"])
    slider.set_value(1).run()
    _no_failure(at)
    shown_first = _counts(_confusion_charts(at, selectable=False)[0]["rows"])
    expected = {(t, p): first.counts[i][j] for i, t in enumerate(first.labels) for j, p in enumerate(first.labels)}
    assert shown_first == expected and shown_first != shown_last
    assert any("Validation split at epoch 1 of 6" in c for c in _texts(at, "caption"))
    # The headline stays the sealed test split's: its matrix does not move with the slider.
    test_rows = _counts(_confusion_charts(at, selectable=True)[0]["rows"])
    test = run.metrics.test.confusion
    assert test_rows == {(t, p): test.counts[i][j]
                         for i, t in enumerate(test.labels) for j, p in enumerate(test.labels)}
    # The stored examples are shaded as they were at that epoch.
    assert any(m.startswith("**Example texts at epoch 1**") for m in _texts(at, "markdown"))
    _assert_escaped(at)


@pytest.mark.slow
def test_the_coach_after_a_run_tries_one_change_and_shows_both_runs(trained_run, monkeypatch):
    from components.frame import cached
    from core.training.jobs import wait

    at = _evaluate(trained_run, monkeypatch)
    warnings = _texts(at, "warning")
    assert any(w.startswith("**Texts cut short.**") for w in warnings), warnings
    button = at.button(key="coach_try_heavy_truncation")
    assert _unescaped(button.label).startswith("Try this (Max length (tokens): ")
    button.click().run()
    _no_failure(at)
    job = at.session_state["lab_job"]
    try:
        assert job.spec.tags["parent"] == Path(trained_run).name and job.spec.tags["coach"] == "heavy_truncation"
        assert job.spec.config.vectorizing.max_length != 3
        assert job.spec.config.model == tiny_config().model  # only the one setting changed
        view = wait(job, cached.scheduler(), timeout=300)
    finally:
        job.request_stop()
    assert view.status == "finished", view.error
    deadline = time.time() + 60
    while time.time() < deadline and not any("Before and after" in m for m in _texts(at, "markdown")):
        at.run()
        time.sleep(1)
    # The finished re-run is now the selected run; both appear together with the change in words.
    said = " ".join(_texts(at))
    assert "Before and after the coach's change" in said
    assert re.search(r"With Max length \(tokens\): \d+, test macro-F1 went from \d\.\d{3} to \d\.\d{3}", said), said


@pytest.mark.slow
def test_a_named_run_leads_the_leaderboard_with_what_it_changed(trained_run, monkeypatch):
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(Path(trained_run).parent))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/runs.py").run()
    _no_failure(at)
    tables = [frame.value for frame in at.dataframe]
    runs_table = next(t for t in tables if "note" in t.columns and "created" in t.columns)
    assert list(runs_table.columns[:4]) == ["run", "macro-F1", "baseline macro-F1", "accuracy"]
    assert f"Ana {HOSTILE}" in set(runs_table["run"]) and "cut at 3" in set(runs_table["note"])
    board = next(t for t in tables if "what it changed" in t.columns)
    assert list(board.columns[:5]) == ["rank", "run", "macro-F1", "what it changed", "compared with"]
    entry = board[board["run"] == f"Ana {HOSTILE}"].iloc[0]
    assert "Max length (tokens): 3" in entry["what it changed"] and entry["compared with"] == "the defaults"
    assert any("compared with the defaults" in m for m in _texts(at, "markdown"))
    _assert_escaped(at)


@pytest.mark.slow
def test_a_name_and_note_given_on_the_train_page_are_saved_with_the_run(runs_dir):
    from components.frame import cached
    from core.training.jobs import wait

    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_config"] = tiny_config("training.epochs=1")
    at.switch_page("pages/train.py").run()
    at.text_input(key="train_name").input("Ben").run()
    at.text_input(key="train_note").input("tiny model, one epoch").run()
    at.switch_page("pages/data.py").run()  # the name outlives a page switch
    at.switch_page("pages/train.py").run()
    assert at.text_input(key="train_name").value == "Ben"
    at.button(key="train_start").click().run()
    _no_failure(at)
    job = at.session_state["lab_job"]
    assert job.spec.tags == {"name": "Ben", "note": "tiny model, one epoch"}
    view = wait(job, cached.scheduler(), timeout=300)
    assert view.status == "finished", view.error
    saved = json.loads((Path(view.run_dir) / "run.json").read_text(encoding="utf-8"))
    assert saved["tags"] == {"name": "Ben", "note": "tiny model, one epoch"}


@pytest.mark.slow
def test_a_lesson_runs_its_variants_back_to_back_and_shows_them_side_by_side(runs_dir, tiny_lessons):
    from components.frame import cached
    from components.frame.cached import lesson_attempts as attempts
    from core.training.jobs import wait

    at = _open_lessons(runs_dir)
    at.button(key="lessons_start").click().run()
    _no_failure(at)
    assert at.button(key="lessons_stop")
    first = attempts().get(at.session_state["lab_owner"])
    jobs = [job for _, job in first.jobs]
    assert [job.spec.tags for job in jobs] == [{"lesson": "tiny-rate", "variant": name, "attempt": first.attempt}
                                               for name in ("slow", "fast")]
    assert [job.spec.config.training.learning_rate for job in jobs] == [0.00001, 0.02]
    deadline = time.time() + 400
    while time.time() < deadline and not any("effect" in s for s in _texts(at, "success", "warning")):
        time.sleep(2)
        at.run()
    _no_failure(at)
    said = " ".join(_texts(at))
    assert re.search(r"1 of 2 · Slow rate: finished after", said) and re.search(r"2 of 2 · Fast rate: finished", said)
    assert "The fall in training loss was" in said  # core.teaching.lessons.check's sentence
    assert "The lesson took" in said
    assert "The coach's verdict on each variant" in said
    for label in ("Slow rate", "Fast rate"):  # each variant: its diagnoses with their evidence, or nothing to flag
        line = next(m for m in _texts(at, "markdown") if m.startswith(f"*{label}*: "))
        assert "nothing to flag" in line or re.search(r"\*\*[^*]+\*\* — \w", line), line
    table = next(element.value for element in at.table if "metric" in element.value.columns)
    assert list(table.columns) == ["metric", "Slow rate", "Fast rate"]
    assert "…" not in set(table["Fast rate"])
    saved = sorted(json.loads((path / "run.json").read_text(encoding="utf-8"))["tags"]["variant"]
                   for path in runs_dir.iterdir() if not path.name.startswith("."))
    assert saved == ["fast", "slow"]

    # Start again and stop at once: the waiting variant is cancelled, the running one ends after its batch.
    at.button(key="lessons_start").click().run()
    at.button(key="lessons_stop").click().run()
    _no_failure(at)
    second = attempts().get(at.session_state["lab_owner"])
    assert second.attempt != first.attempt
    views = [wait(job, cached.scheduler(), timeout=300) for _, job in second.jobs]
    assert all(view.stop_requested and view.status == "stopped" for view in views)
    assert views[1].run_dir is None  # the waiting variant never started


# ------------------------------------------------------------------------------------------------ chart builders


def test_the_baseline_tick_sits_on_each_runs_bar_and_names_stay_data():
    from components.figures import evaluation
    from support.charts import HOSTILE as NAMES
    from support.charts import assert_only_data, dataset_rows, spec

    rows = [{"run": name, "metric": metric, "value": 0.5} for name in NAMES for metric in ("macro-F1", "accuracy")]
    baselines = [{"run": name, "metric": "macro-F1", "value": 0.4} for name in NAMES]
    baselines.append({"run": "not drawn", "metric": "macro-F1", "value": 0.9})  # no bar, no tick
    specification = spec(evaluation.metric_comparison(rows, baselines=baselines))
    assert_only_data(specification, NAMES)
    ticks = [layer for layer in specification["layer"] if "y2" in layer.get("encoding", {})]
    assert len(ticks) == 1 and "baseline" in specification["title"]
    assert ticks[0]["encoding"]["xOffset"]["field"] == "run"  # on each run's own bar, not across the group
    tick_rows = specification["datasets"][ticks[0]["data"]["name"]]
    assert sorted(row["run"] for row in tick_rows) == sorted(NAMES) and {row["value"] for row in tick_rows} == {0.4}
    without = spec(evaluation.metric_comparison(rows))  # the existing chart is unchanged without baselines
    assert len(without["layer"]) == 2 and without["title"] == "metrics by run"
    assert len(dataset_rows(without)) == len(rows)


def test_variant_values_keep_the_lessons_order_and_wait_for_running_variants():
    from components.figures import evaluation
    from support.charts import HOSTILE as NAMES
    from support.charts import assert_only_data, dataset_rows, spec

    specification = spec(evaluation.variant_values([{"variant": name, "value": index / 10 if index else None}
                                                for index, name in enumerate(NAMES)]))
    assert_only_data(specification, NAMES)
    rows = dataset_rows(specification)
    assert [row["order"] for row in rows] == list(range(len(NAMES)))
    assert rows[0]["label"] == "…" and rows[1]["label"] == "0.100"
    spec(evaluation.variant_values([]))


def test_a_leaderboard_entry_names_every_setting_it_changed():
    from components.panels.runs import changes_from
    from core.config import ExperimentConfig

    config = tiny_config("model.bidirectional=false", "vectorizing.length_percentile=90", "vectorizing.max_length=none",
                         "training.learning_rate=0.01")
    raw = ExperimentConfig().to_dict()
    for key, _, new in changes_from(config, ExperimentConfig()):
        section, name = key.split(".")
        raw[section][name] = new
    assert ExperimentConfig.from_dict(raw) == config  # the changes are the settings, exactly
