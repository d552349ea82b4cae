"""What a person reads names each setting by its widget's label and value, never by a config key: the Train page
(progress, summary, the live coach), the coach after a run (Evaluate), the Runs page (table, leaderboard, the
comparison) and the Lessons page (cards, results, the check). Keys stay in JSON, the CLI and the shareable link.

Also here: "differs from recommended" compares a run with what "Recommended for this data" chose for it, and state
that is never stale (the sidebar's data name, k-fold progress and curves, one coach heading in the past tense).
No training: saved runs are copies of the golden run, and a live job is a fixed view."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from core.config import ExperimentConfig, apply_overrides, config_schema
from core.errors import UserError
from core.teaching.lessons import DERIVED_METRICS
from support.fakes import FixedJob, csv_bytes, generated_texts, tiny_config
from support.paths import APP, GOLDEN

# Every dotted setting ("model.dropout"), a metrics.json path ("test.macro_f1") or a derived lesson metric's name
# ("loss_drop") is a key: people read the widget's label or the metric's description instead.
CONFIG_KEYS = sorted((entry["setting"] for entry in config_schema() if "." in entry["setting"]), key=len, reverse=True)
KEY = re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(key) for key in CONFIG_KEYS) + r")\b"
                 r"|(?<![\w.])(?:test|validation|baseline|majority|folds|history)\.[a-z0-9_]+"
                 r"|\b(?:" + "|".join(DERIVED_METRICS) + r")\b")
TEXT_KINDS = ("markdown", "caption", "info", "warning", "success", "error", "subheader", "title")
FORMAT_GUIDE = "Write your own lesson"  # the lesson file format's documentation: keys are what a teacher writes


def _unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", str(text))


def _inside(expander) -> set[int]:
    found, stack = set(), [expander]
    while stack:
        node = stack.pop()
        found.add(id(node))
        stack.extend(getattr(node, "children", {}).values())
    return found


def what_people_read(at) -> list[str]:
    """Every text, button label, progress line, table header and cell the page shows (the lesson format guide and
    the share link's code block aside)."""
    skipped = set()
    for expander in at.expander:
        if expander.label == FORMAT_GUIDE:
            skipped |= _inside(expander)
    texts = [e.value for kind in TEXT_KINDS for e in getattr(at, kind) if id(e) not in skipped]
    texts += [b.label for b in at.button] + [b.help or "" for b in at.button]
    texts += [p.proto.text for p in at.get("progress")]
    texts += [m.label for m in at.metric]
    for element in [*at.dataframe, *at.table]:
        frame = element.value
        texts += [str(column) for column in frame.columns]
        texts += [str(cell) for row in frame.itertuples(index=False) for cell in row]
    return [_unescaped(text) for text in texts]


def keys_shown(at) -> list[str]:
    return [f"{match.group(0)!r} in {text[:160]!r}" for text in what_people_read(at) for match in KEY.finditer(text)]


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in at.error if "Something went wrong" in e.value], [e.value for e in at.error]


def test_the_key_scan_finds_keys_and_leaves_words_alone():
    found = lambda text: [m.group(0) for m in KEY.finditer(text)]  # noqa: E731
    assert found("Changed: split.k_folds=5, split.ensemble=true") == ["split.k_folds", "split.ensemble"]
    assert found("Try this: model.bidirectional = true") == ["model.bidirectional"]
    assert found("Bars: the fall in training loss (loss_drop) per variant.") == ["loss_drop"]
    assert found("baseline.macro_f1 and test.per_class[x].recall") == ["baseline.macro_f1", "test.per_class"]
    assert found("K-fold cross-validation (folds): 5; Average the fold models (ensemble): on; model.keras saved") == []


# ------------------------------------------------------------------------------------------------- saved runs


def _copy_run(runs: Path, name: str, *, config: ExperimentConfig | None = None, tags: dict | None = None,
              created: str = "2026-12-06T20:15:40+00:00") -> Path:
    target = runs / name
    shutil.copytree(GOLDEN / "run", target)
    info = json.loads((target / "run.json").read_text(encoding="utf-8"))
    info.update(id=name, created=created, tags=tags or {})
    if config is not None:
        (target / "config.json").write_text(config.to_json(), encoding="utf-8")
        info["settings"].update(resampling=config.resampling.strategy, dropout=config.model.dropout,
                                bidirectional=config.model.bidirectional, k_folds=config.split.k_folds)
    (target / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return target


def _golden_config() -> ExperimentConfig:
    return ExperimentConfig.from_json((GOLDEN / "run" / "config.json").read_text(encoding="utf-8"))


RECOMMENDED = ["resampling.strategy=none", "model.blend=validated", "split.k_folds=5", "split.ensemble=true",
               "split.ensemble_seeds=1"]


def _as_recommended(config: ExperimentConfig, *extra: str) -> ExperimentConfig:
    """``config``'s data, seed and split with what the recommendation chose on the defaults (and ``extra``)."""
    chosen = apply_overrides(ExperimentConfig(), [*RECOMMENDED, *extra])
    split = dataclasses.replace(chosen.split, validation_fraction=config.split.validation_fraction,
                                test_fraction=config.split.test_fraction)
    return dataclasses.replace(chosen, seed=config.seed, data=config.data, split=split)


class NoModelServer:
    def predict(self, run_dir, texts, methods=None):
        raise UserError("The model server is not started in this test.")

    def faithfulness(self, run_dir):
        raise UserError("The model server is not started in this test.")


@pytest.fixture
def runs(tmp_path, monkeypatch):
    from components.frame import cached

    monkeypatch.setattr(cached, "inference_server", NoModelServer)
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(folder))
    return folder


# ------------------------------------------------------------------------------- differs from recommended (unit)


def test_a_run_is_compared_with_the_recommendation_it_recorded_else_with_the_defaults():
    from components.panels.runs import changes_from, changes_in_words, reference_for
    from core.training.recommend import RECOMMENDED_TAG, recommended_for_run

    golden = _golden_config()
    made_with_it = _as_recommended(golden)
    reference, name = reference_for({RECOMMENDED_TAG: RECOMMENDED})
    assert reference == recommended_for_run({RECOMMENDED_TAG: RECOMMENDED}) and name == "Recommended for this data"
    assert changes_in_words(changes_from(made_with_it, reference)) == "nothing"
    then_dropout = _as_recommended(golden, "model.dropout=0.3")
    assert changes_in_words(changes_from(then_dropout, reference)) == "Dropout: 0.3"
    # Without a record, the defaults: the recommendation's own choices then show as changes, in words.
    reference, name = reference_for({})
    assert name == "the defaults" and reference == ExperimentConfig()
    words = changes_in_words(changes_from(made_with_it, reference))
    assert "K-fold cross-validation (folds): 5" in words and "Average the fold models (ensemble): on" in words
    assert not KEY.search(words)
    assert recommended_for_run({RECOMMENDED_TAG: ["model.nonsense=1"]}) is None  # a record that no longer applies


def test_recommendation_tags_hold_the_overrides_chosen():
    from core.training.recommend import RECOMMENDED_TAG, Recommendation, recommendation_tags, recommended_for_run

    recommendation = Recommendation(overrides=tuple(RECOMMENDED), reasons=(), facts=None, estimated_cpu_seconds=1.0,
                                    budget_cpu_seconds=300.0, proxy_macro_f1={})
    tags = recommendation_tags(recommendation)
    assert tags == {RECOMMENDED_TAG: RECOMMENDED}
    assert json.loads(json.dumps(tags)) == tags  # plain JSON, as run tags must be
    assert recommended_for_run(tags) == apply_overrides(ExperimentConfig(), RECOMMENDED)


def test_a_run_started_after_recommended_for_this_data_records_what_it_chose(runs, monkeypatch):
    from components.frame import cached
    from components.panels.model import RECOMMENDATION_NOTE
    from core.training.jobs import JobScheduler
    from core.training.recommend import RECOMMENDED_TAG

    held = JobScheduler(max_running=0)  # jobs wait in the queue: nothing trains, no process starts
    monkeypatch.setattr(cached, "scheduler", lambda: held)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/model.py").run()
    at.button(key="model_recommended_for_data").click().run()
    chosen = list(at.session_state[RECOMMENDATION_NOTE][0])
    assert chosen
    at.switch_page("pages/train.py").run()
    at.button(key="train_start").click().run()
    _no_failure(at)
    first = at.session_state["lab_job"]
    assert first.spec.tags == {RECOMMENDED_TAG: chosen}
    first.request_stop()  # cancelled while queued
    # The fixed "Recommended settings" undo the data's choices: that run is compared with the defaults instead.
    at.switch_page("pages/model.py").run()
    at.button(key="model_recommended").click().run()
    at.switch_page("pages/train.py").run()
    at.button(key="train_start").click().run()
    _no_failure(at)
    second = at.session_state["lab_job"]
    assert second is not first and RECOMMENDED_TAG not in (second.spec.tags or {})
    second.request_stop()


# ------------------------------------------------------------------------------------------------- Runs page


def test_the_runs_page_and_its_leaderboard_read_as_widgets(runs):
    from core.training.recommend import RECOMMENDED_TAG

    golden = _golden_config()
    _copy_run(runs, "20261206-201540-aaaaaa", config=_as_recommended(golden), tags={RECOMMENDED_TAG: RECOMMENDED,
                                                                                      "name": "made with it"})
    _copy_run(runs, "20261206-201541-bbbbbb", config=_as_recommended(golden, "model.dropout=0.3"),
              tags={RECOMMENDED_TAG: RECOMMENDED, "name": "then dropout"}, created="2026-12-06T20:15:41+00:00")
    _copy_run(runs, "20261206-201542-cccccc", tags={"name": "no record"}, created="2026-12-06T20:15:42+00:00")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/runs.py").run()
    _no_failure(at)
    board = next(frame.value for frame in at.dataframe if "rank" in frame.value.columns)
    assert list(board.columns[:5]) == ["rank", "run", "macro-F1", "what it changed", "compared with"]
    rows = {row["run"]: row for _, row in board.iterrows()}
    assert rows["made with it"]["what it changed"] == "nothing"  # before: listed as differing from it
    assert rows["made with it"]["compared with"] == "Recommended for this data"
    assert rows["then dropout"]["what it changed"] == "Dropout: 0.3"
    assert rows["no record"]["compared with"] == "the defaults"
    assert "Embedding dim: 16" in rows["no record"]["what it changed"]
    table = next(frame.value for frame in at.dataframe if "created" in frame.value.columns)
    assert set(table["resampling"]) == {"No resampling", "Class weights (balanced)"}
    assert set(table["attention"]) == {"Additive attention pooling"}
    assert keys_shown(at) == []


def test_the_settings_that_differ_between_runs_read_as_widgets(runs):
    first = _copy_run(runs, "20261206-201540-aaaaaa")
    second = _copy_run(runs, "20261206-201541-bbbbbb", config=apply_overrides(_golden_config(), [
        "model.bidirectional=false", "resampling.strategy=none", "vectorizing.max_length=none"]))

    def compare(run_dirs):
        from components.panels import runs as runs_panel

        runs_panel.compare(run_dirs)

    at = AppTest.from_function(compare, args=([str(first), str(second)],), default_timeout=120).run()
    _no_failure(at)
    frame = next(frame.value for frame in at.dataframe if "setting" in frame.value.columns)
    shown = {row["setting"]: tuple(row[1:]) for _, row in frame.iterrows()}
    assert shown["Bidirectional"] == ("on", "off")
    assert shown["Resampling strategy"] == ("Class weights (balanced)", "No resampling")
    assert shown["Max length (tokens)"] == ("12", "automatic")
    assert keys_shown(at) == []


# ------------------------------------------------------------------------------------- the coach after a run


def test_the_coach_after_a_run_names_its_change_as_the_widget_does(runs):
    run = _copy_run(runs, "20261206-201540-aaaaaa", config=apply_overrides(_golden_config(), [
        "model.bidirectional=false"]))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    metrics["baseline"]["macro_f1"] = 1.0  # far above the run's: the coach flags it and suggests reading both ways
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_selected_run"] = str(run)
    at.switch_page("pages/evaluate.py").run()
    _no_failure(at)
    button = at.button(key="coach_try_below_baseline")
    assert _unescaped(button.label) == "Try this (Bidirectional: on)"
    assert keys_shown(at) == []


# ------------------------------------------------------------------------------------------------ Train page


FLAT = {"loss": [1.386, 1.385, 1.385, 1.384], "accuracy": [0.25, 0.26, 0.25, 0.26],
        "val_loss": [1.386, 1.386, 1.385, 1.385], "val_accuracy": [0.25, 0.25, 0.25, 0.25]}
LEARNING = {"loss": [1.2, 0.9, 0.7], "accuracy": [0.5, 0.7, 0.8], "val_loss": [1.1, 0.9, 0.85],
            "val_accuracy": [0.55, 0.7, 0.75]}


def _kfold_view(status="running", history=FLAT, **changes):
    from core.training.jobs import JobView

    fields = dict(job_id=10**9, status=status, queue_position=None, history=history, batch_points=[],
                  last_event={"kind": "epoch", "epoch": 1, "epochs": 2, "batch": -1, "batches": 5, "fold": 2,
                              "folds": 5},
                  phase="train", phase_message="", run_dir=None, error=None, started_at=time.time() - 20,
                  finished_at=None if status == "running" else time.time(), stop_requested=False, fold=2, folds=5,
                  earlier_folds=[LEARNING], epoch_seconds=[2.0])
    fields.update(changes)
    return JobView(**fields)


def _chart_rows(chart) -> list[dict]:
    import pyarrow as pa

    rows = []
    for named in chart.proto.datasets:
        rows += pa.ipc.open_stream(named.data.data).read_all().to_pylist()
    return rows


def _coach_headings(at) -> int:
    return sum(1 for e in at.markdown if e.value == "**Coach**") + sum(1 for e in at.subheader if e.value == "Coach")


def test_k_fold_progress_says_which_fold_and_keeps_the_earlier_folds_curves(runs):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_job"] = FixedJob(_kfold_view(),
                                           tiny_config("split.k_folds=5", "training.learning_rate=0.00001"))
    at.switch_page("pages/train.py").run()
    _no_failure(at)
    status = _unescaped(at.get("progress")[0].proto.text)
    assert "fold 2 of 5, epoch 1 of 2" in status, status  # before: "fold 2/5 · epoch 1/2"
    assert any("Your training: fold 2 of 5, epoch 1 of 2." == _unescaped(e.value) for e in at.sidebar.info)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    for chart in charts:  # fold 1's curves are drawn (faded) beside fold 2's: a new fold no longer blanks them
        spec = json.loads(chart.proto.spec)
        assert "fold 2 of 5" in json.dumps(spec.get("title"))
        assert {row.get("part") for row in _chart_rows(chart)} >= {"fold 1"}
    assert any("Faded: the curves of fold 1" in _unescaped(c.value) for c in at.caption)
    assert _coach_headings(at) == 1
    button = at.button(key="coach_live_try_learning_rate_too_low")
    assert _unescaped(button.label) == "Stop and try this (Learning rate: 0.0001)"
    assert keys_shown(at) == []


def test_a_new_fold_keeps_the_finished_folds_curves_and_the_queue_names_the_fold(tmp_path):
    from components.frame import job_status
    from components.frame.sidebar import queue_line
    from core.progress import ProgressEvent, phase_event
    from core.training.jobs import JobScheduler, TrainingJob, describe, spec_for
    from support.fakes import make_dataset

    job = TrainingJob(spec_for(make_dataset({"sports": 20, "tech": 20}), tiny_config("split.k_folds=3"), tmp_path,
                               label="data · LSTM 8 · 2 epochs"))
    for fold in (1, 2):
        for epoch in (1, 2):
            event = ProgressEvent(kind="epoch", epoch=epoch, epochs=2, batch=-1, batches=3, fold=fold, folds=3,
                                  logs={"loss": fold + 1 / epoch, "val_loss": fold + 2 / epoch})
            job._handle({"type": "event", "event": event})  # as the worker's messages arrive
    view = job.view()
    assert view.fold == 2 and view.history["loss"] == [3.0, 2.5]
    assert view.earlier_folds == [{"loss": [2.0, 1.5], "val_loss": [3.0, 2.0]}]  # before: gone when fold 2 began
    # Building fold 3's model already counts as fold 3 (before: "fold 2" until its first batch), at its start.
    job._handle({"type": "event", "event": phase_event("building", "Building the model", fold=3, folds=3)})
    building = job.view()
    assert building.fold == 3 and building.history == {} and len(building.earlier_folds) == 2
    assert describe(building)["fraction"] == pytest.approx(2 / 3)
    assert job_status.stage_words(building.fold, building.folds, None, None) == "fold 3 of 3"
    held = JobScheduler(max_running=0)
    held.submit(job)
    entry = held.overview()[0]
    assert queue_line(entry, mine=True) == "Running: data · LSTM 8 · 2 epochs · building the model (yours)"
    job._handle({"type": "event", "event": ProgressEvent(kind="epoch", epoch=1, epochs=2, batch=-1, batches=3, fold=3,
                                                         folds=3, logs={"loss": 1.0})})
    entry = held.overview()[0]
    assert queue_line(entry, mine=True) == "Running: data · LSTM 8 · 2 epochs · fold 3 of 3, epoch 1 of 2 (yours)"


def test_after_the_run_the_coach_speaks_once_in_the_past_and_the_blocks_keep_their_places(runs):
    config = tiny_config("split.k_folds=5")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_job"] = FixedJob(_kfold_view(history=LEARNING), config)
    at.switch_page("pages/train.py").run()
    _no_failure(at)
    running = [block for block in _keyed_blocks(at) if block.startswith(("train_", "coach_live"))]
    top = _top_level_keys(at)
    assert "so far" in " ".join(_unescaped(c.value) for c in at.caption)
    at.session_state["lab_job"] = FixedJob(_kfold_view(status="finished", history=LEARNING,
                                                      run_dir=str(runs / "20261206-201540-dbd788")), config)
    at.run()
    _no_failure(at)
    said = " ".join(_unescaped(c.value) for c in at.caption)
    assert "so far" not in said and "Nothing to flag in this run's curves" in said  # before: still "so far"
    assert _coach_headings(at) == 1
    # The live view's blocks are the same, in the same order, while the run trains and once it has ended: the
    # browser matches elements by position, and a block that appeared at the end pushed the coach's heading twice.
    assert [block for block in _keyed_blocks(at) if block.startswith(("train_", "coach_live"))] == running
    assert running == ["train_controls", "train_live", "train_live_status", "train_live_curves", "train_live_outcome",
                       "coach_live"]
    assert top and _top_level_keys(at) == top  # the name inputs that return with Start stay inside the controls' block


def _top_level_keys(at) -> list[tuple[int, str]]:
    """(position, key) of the page's keyed blocks among the main area's top-level elements."""
    return [(index, child.key) for index, child in enumerate(at.main.children.values())
            if type(child).__name__ == "Block" and getattr(child, "key", None)]


def _keyed_blocks(at) -> list[str]:
    """The keys of the page's keyed containers, in the order they are drawn."""
    keys = []

    def walk(node) -> None:
        if type(node).__name__ == "Block" and getattr(node, "key", None):
            keys.append(node.key)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return keys


def test_the_train_page_summary_names_choices_as_their_widgets_do():
    from components.panels.train import settings_line

    data = SimpleNamespace(texts=["a"] * 10, class_names=["x", "y"])  # the summary reads only rows and classes
    line = settings_line(data, tiny_config("split.k_folds=5", "split.ensemble=true"))
    assert "Class weights (balanced)" in line and "Additive attention pooling" in line and "Adam" in line
    assert "5-fold, averaged" in line
    assert not KEY.search(line) and "class_weights" not in line and "additive " not in line


# ---------------------------------------------------------------------------------------- the sidebar, an upload


def test_the_sidebar_names_an_uploaded_dataset_on_the_rerun_that_loads_it(runs):
    at = AppTest.from_file(APP, default_timeout=120).run()
    sidebar = [_unescaped(c.value) for c in at.sidebar.caption]
    assert "Data: FAA wildlife strikes: what the crew did (built-in)" in sidebar
    at.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    rows = generated_texts({"sports": 30, "tech": 20}, seed=3)
    at.file_uploader(key="data_upload").set_value(("classroom.csv", csv_bytes(rows), "text/csv")).run()
    _no_failure(at)
    names = [_unescaped(c.value) for c in at.sidebar.caption if c.value.startswith("Data")]
    assert names == ["Data: classroom.csv"]  # before: the previous dataset's name until the next rerun


# ------------------------------------------------------------------------------------------------ Lessons page


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
lever = ["training.learning_rate", "resampling.strategy"]
look_at = "The fall in training loss."
expected = "The fast rate lowers the loss more."
[[variants]]
name = "slow"
label = "Slow rate"
overrides = ["training.learning_rate=0.00001", "resampling.strategy=none"]
[[variants]]
name = "fast"
label = "Fast rate, with a long label that a narrow column used to cut"
overrides = ["training.learning_rate=0.02"]
[[expect]]
metric = "loss_drop"
compare = ["fast", ">", "slow"]
[[expect]]
metric = "baseline.macro_f1"
compare = ["fast", ">=", "slow"]
"""


@pytest.fixture
def tiny_lesson(tmp_path, monkeypatch, runs):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01-tiny.toml").write_text(TINY_LESSON, encoding="utf-8")
    monkeypatch.setenv("LSTM_TEXT_LAB_LESSONS", str(folder))
    for index, variant in enumerate(("slow", "fast")):
        _copy_run(runs, f"20261206-20154{index}-lesson{index}", tags={"lesson": "tiny-rate", "variant": variant},
                  created=f"2026-12-06T20:15:4{index}+00:00")
    return folder


def test_the_lessons_page_reads_as_widgets_and_shows_every_value(tiny_lesson):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/lessons.py").run()
    _no_failure(at)
    said = " ".join(_unescaped(m.value) for m in at.markdown)
    assert "lever Learning rate, Resampling strategy" in said
    assert "**Slow rate**: Learning rate: 1e-05; Resampling strategy: No resampling" in said
    # A static table: every value and every metric's name whole (a data grid cut them to "…" at 1024 px).
    assert not [frame for frame in at.dataframe if "metric" in frame.value.columns]
    table = next(element.value for element in at.table if "metric" in element.value.columns)
    assert list(table.columns) == ["metric", "Slow rate",
                                   "Fast rate, with a long label that a narrow column used to cut"]
    assert list(table["metric"]) == ["the fall in training loss", "baseline macro-F1", "test macro-F1"]
    assert "…" not in set(table.iloc[:, 1]) | set(table.iloc[:, 2])
    captions = " ".join(_unescaped(c.value) for c in at.caption)
    assert "Bars: the fall in training loss, per variant." in captions
    assert "a seeded subsample of 12 rows per class (seed 0)" in captions
    assert "Baseline macro-F1 was" in " ".join(_unescaped(s.value) for s in [*at.success, *at.warning])
    assert keys_shown(at) == []


def test_every_shipped_lesson_card_reads_as_widgets(runs):
    from core.teaching.lessons import load_lessons

    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/lessons.py").run()
    for lesson in load_lessons():
        at.selectbox(key="lessons_picker").set_value(lesson.id).run()
        _no_failure(at)
        assert keys_shown(at) == [], lesson.id


def test_the_lesson_loss_chart_has_room_for_its_curves():
    """Streamlit's default "fit" made the height the whole chart's: two legends, axes and a title left the lesson's
    loss plot about 60 px at 1024 px. The charts fit their width only, and the height is the plot's."""
    from components.figures import training

    for chart in (training.run_curves([{"run": "a", "history": LEARNING}, {"run": "b", "history": FLAT}]),
                  training.training_curves(LEARNING)):
        spec = chart.to_dict()
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"} and spec["height"] >= 200


def test_the_recommendations_reasons_name_no_setting_by_its_key(imbalanced_dataset):
    from core.training.recommend import recommend

    recommendation = recommend(imbalanced_dataset, budget_cpu_seconds=1.0)
    assert recommendation.reasons and [reason for reason in recommendation.reasons if KEY.search(reason)] == []
