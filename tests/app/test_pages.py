"""AppTest: each page's main path, driven as a user would, without a browser."""

import json
import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from support.fakes import FixedJob, csv_bytes, generated_texts, tiny_config
from support.paths import APP  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "runs"))
    return AppTest.from_file(APP, default_timeout=120).run()


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _errors(at) -> list[str]:
    return [_unescaped(e.value) for e in at.error]


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _upload(at, rows, name="upload.csv", header=("text", "label")):
    at.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    at.file_uploader(key="data_upload").set_value((name, csv_bytes(rows, header=header), "text/csv")).run()
    return at


def _all_markdown(at) -> list[str]:
    values = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader")
              for e in getattr(at, kind)]
    values += [m.label for m in at.metric]
    return values


def _assert_escaped(at) -> None:
    for text in _all_markdown(at):
        assert not re.search(r"(?<!\\)<img", text), text  # every '<' from the data is backslash-escaped


def test_data_page_opens_on_the_builtin_dataset(app):
    _no_failure(app)
    metrics = _metrics(app)
    assert metrics["Rows kept"] == "1,900" and metrics["Classes"] == "4"
    assert float(metrics["Baseline macro-F1"]) > 0.3
    assert app.selectbox(key="data_text_col_0").value == "remarks"


def test_upload_a_csv_pick_columns_and_see_errors_next_to_the_control(app):
    rows = [(text, HOSTILE if label == "sports" else label)
            for text, label in generated_texts({"sports": 30, "tech": 20}, seed=3)]
    rows = [(text, label, f"id{i}") for i, (text, label) in enumerate(rows)]
    _upload(app, rows, header=("comment", "label", "row_id"))
    _no_failure(app)
    assert _metrics(app)["Rows kept"] == "50"
    assert app.selectbox(key="data_text_col_1").value == "comment"
    _assert_escaped(app)
    # Choosing an id column as the label is refused with one sentence; the page keeps working.
    app.selectbox(key="data_label_col_1").set_value("row_id").run()
    _no_failure(app)
    assert any("almost every row" in e for e in _errors(app))
    app.selectbox(key="data_label_col_1").set_value("label").run()
    assert not app.error and _metrics(app)["Rows kept"] == "50"


def test_an_unreadable_upload_keeps_the_current_data(app):
    app.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    app.file_uploader(key="data_upload").set_value(("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(200), "text/csv")).run()
    _no_failure(app)
    assert any("PNG" in e or "image" in e for e in _errors(app))
    assert _metrics(app)["Rows kept"] == "1,900"  # still the built-in data


def test_preprocess_toggles_update_the_before_after_table(app):
    app.switch_page("pages/preprocess.py").run()
    _no_failure(app)
    before = app.dataframe[0].value["after"].tolist()
    toggle = next(t for t in app.toggle if t.label == "Lowercase")
    toggle.set_value(False).run()
    after = app.dataframe[0].value["after"].tolist()
    assert before != after and any(text != text.lower() for text in after)
    assert app.session_state["lab_config"].preprocessing.lowercase is False


def test_the_data_line_names_the_builtin_set_by_its_title_not_its_key(app):
    app.switch_page("pages/preprocess.py").run()
    _no_failure(app)
    [line] = [_unescaped(caption.value) for caption in app.caption if "text column" in caption.value]
    assert line.startswith("FAA wildlife strikes: what the crew did (built-in) — text column")


def test_impossible_split_is_refused_next_to_the_widget(app):
    app.switch_page("pages/resample.py").run()
    validation = next(n for n in app.number_input if n.label == "Validation fraction")
    validation.set_value(0.5).run()
    test = next(n for n in app.number_input if n.label == "Test fraction")
    test.set_value(0.5).run()
    _no_failure(app)
    assert any("under 20% of rows for training" in e for e in _errors(app))
    config = app.session_state["lab_config"]
    assert config.split.validation_fraction + config.split.test_fraction < 0.8  # the config kept a valid value


@pytest.mark.slow
def test_model_settings_survive_page_switches_and_reset_to_recommended(app):
    app.switch_page("pages/model.py").run()
    params_before = _metrics(app)["Parameters"]
    next(n for n in app.number_input if n.label == "LSTM units").set_value(16).run()
    assert _metrics(app)["Parameters"] != params_before
    app.switch_page("pages/data.py").run()
    app.switch_page("pages/model.py").run()
    assert next(n for n in app.number_input if n.label == "LSTM units").value == 16
    app.button(key="model_recommended").click().run()
    assert next(n for n in app.number_input if n.label == "LSTM units").value == 64
    assert _metrics(app)["Parameters"] == params_before


@pytest.mark.slow
def test_train_evaluate_predict_and_reuse_a_config(app, tmp_path):
    """Upload, train a tiny model in its process, read the results, type a text, reload the config."""
    rows = [(text, HOSTILE if label == "sports" else label)
            for text, label in generated_texts({"sports": 40, "tech": 25, "food": 20}, seed=8)]
    _upload(app, rows)
    app.session_state["lab_config"] = tiny_config("training.epochs=2", "data.text_column=text",
                                                  "data.label_column=label")
    app.switch_page("pages/train.py").run()
    app.button(key="train_start").click().run()
    deadline = time.time() + 180
    while time.time() < deadline and not app.success:
        time.sleep(1)
        app.run()
    _no_failure(app)
    assert app.success and "finished" in app.success[0].value, _errors(app)

    app.switch_page("pages/evaluate.py").run()
    _no_failure(app)
    metrics = _metrics(app)
    assert {"Macro-F1", "Accuracy", "Balanced accuracy", "Weighted F1"} <= set(metrics)
    assert "vs baseline" in app.metric[0].proto.delta
    assert any(b.label == "Download test predictions (CSV)" for b in app.get("download_button"))
    _assert_escaped(app)
    app.text_area(key="typed_text").input("goal match team coach")
    app.button(key="FormSubmitter:typed_text_form-Predict").click().run()
    deadline = time.time() + 120  # the model server answers in the background; the page polls (here: runs again)
    while time.time() < deadline and not any("Predicted" in m.value for m in app.markdown):
        time.sleep(1)
        app.run()
    _no_failure(app)
    assert any("Predicted" in m.value for m in app.markdown)

    app.switch_page("pages/runs.py").run()
    _no_failure(app)
    assert len(app.dataframe[0].value) == 1
    changed = tiny_config("model.lstm_units=24").to_dict()
    app.file_uploader(key="config_upload").set_value(("c.json", json.dumps(changed).encode(), "application/json")).run()
    app.button(key="load_config_file").click().run()
    assert app.session_state["lab_config"].model.lstm_units == 24
    app.switch_page("pages/model.py").run()
    assert next(n for n in app.number_input if n.label == "LSTM units").value == 24


# --- issue 9: a lab session outlives its tab; the queue is visible; phases, epoch times and cut-short epochs ----------


def _reload(app) -> AppTest:
    """The same URL opened again (a reload, or a second tab on that URL): a new browser session with the query."""
    again = AppTest.from_file(APP, default_timeout=120)
    again.query_params.update(app.query_params)
    return again.run()


def _open(query: dict) -> AppTest:
    fresh = AppTest.from_file(APP, default_timeout=120)
    fresh.query_params.update(query)
    return fresh.run()


def _sidebar_text(at) -> str:
    return " ".join(_unescaped(e.value) for kind in ("markdown", "caption", "info", "warning", "success", "error")
                    for e in getattr(at.sidebar, kind))


def _stop_and_wait(*apps: AppTest) -> list:
    """Stop the jobs these sessions started and wait until each has ended (so later tests find an empty queue)."""
    from components.frame import cached
    from core.training.jobs import wait

    scheduler, views = cached.scheduler(), []
    for app in apps:
        job = app.session_state["lab_job"] if "lab_job" in app.session_state else None
        if job is not None:
            job.request_stop()
            views.append(wait(job, scheduler, timeout=240))
    return views


TINY_LINK = {"embedding_dim": "16", "lstm_units": "8", "bidirectional": "false", "epochs": "30", "patience": "30",
             "batch_size": "16"}


def test_settings_live_in_the_link_and_come_back_after_a_server_restart(app):
    from components.frame import cached

    app.switch_page("pages/model.py").run()
    next(n for n in app.number_input if n.label == "LSTM units").set_value(16).run()
    lab = app.query_params["lab"]
    assert app.query_params["lstm_units"] == "16" and "epochs" not in app.query_params  # only what differs
    cached.lab_store.clear()  # a restarted server remembers no lab session
    reloaded = _reload(app)
    _no_failure(reloaded)
    assert reloaded.session_state["lab_config"].model.lstm_units == 16
    assert reloaded.query_params["lab"] == lab  # the same URL keeps working
    edited = _open({**reloaded.query_params, "lstm_units": "24"})  # the address edited by hand, as in Playground
    assert edited.session_state["lab_config"].model.lstm_units == 24 and edited.query_params["lab"] == lab
    shared = _open({"lstm_units": "16", "dataset": "nace-rev2-sections"})  # a shared link, without a lab id
    _no_failure(shared)
    assert shared.session_state["lab_config"].model.lstm_units == 16
    assert shared.session_state["lab_source"].name == "nace-rev2-sections"
    assert shared.query_params["lab"] != lab


def test_a_link_with_impossible_settings_keeps_the_rest_and_says_what_it_ignored():
    linked = _open({"epochs": "2", "lstm_units": "many", "colour": "red", "dataset": "upload"})
    _no_failure(linked)
    config = linked.session_state["lab_config"]
    assert config.training.epochs == 2 and config.model.lstm_units == 64
    said = _sidebar_text(linked)
    assert "'colour' is not a setting" in said and "lstm_units" in said and "upload it again" in said


def test_the_lab_store_is_bounded_and_a_dropped_upload_is_named_on_reload():
    from components.frame.cached import lab_store
    from components.services import DataSource, LabRecord, LabStore
    from core.config import ExperimentConfig

    store = LabStore(max_labs=2, max_upload_bytes=10)
    for lab, raw in (("lab-a", b"12345678"), ("lab-b", b"abcdefgh"), ("lab-c", None)):
        store.put(lab, LabRecord(ExperimentConfig(), DataSource("upload" if raw else "builtin", f"{lab}.csv", raw),
                                 "o"))
    assert len(store) == 2 and store.get("lab-a") is None  # the least recently used lab went first
    assert store.upload_bytes() == 8
    store.put("lab-d", LabRecord(ExperimentConfig(), DataSource("upload", "d.csv", b"zyxwvuts"), "o"))
    assert store.get("lab-b") is None or store.get("lab-b").source.raw is None
    assert store.upload_bytes() <= 10 and store.get("lab-d").source.raw == b"zyxwvuts"

    lab_store().put("droppedupload1", LabRecord(ExperimentConfig(), DataSource("upload", "notes.csv", None), "owner-x"))
    reloaded = _open({"lab": "droppedupload1", "dataset": "upload"})  # the URL such a lab session has
    _no_failure(reloaded)
    assert reloaded.session_state["lab_source"].kind == "builtin"
    assert "notes.csv" in _sidebar_text(reloaded) and "upload it again" in _sidebar_text(reloaded)


@pytest.mark.slow
def test_a_reloaded_tab_finds_its_training_its_settings_and_its_data(app):
    """Before: the reloaded tab said "No training in this session yet", had no Stop, and the defaults were back."""
    _upload(app, generated_texts({"sports": 40, "tech": 25, "food": 20}, seed=8))
    app.switch_page("pages/model.py").run()
    next(n for n in app.number_input if n.label == "LSTM units").set_value(8).run()
    next(n for n in app.number_input if n.label == "Embedding dim").set_value(16).run()
    app.switch_page("pages/train.py").run()
    app.button(key="train_start").click().run()
    _no_failure(app)
    try:
        reloaded = _reload(app)
        _no_failure(reloaded)
        assert _metrics(reloaded)["Rows kept"] == "85"  # the uploaded file, not the built-in data
        assert reloaded.session_state["lab_config"] == app.session_state["lab_config"]
        reloaded.switch_page("pages/train.py").run()
        reloaded.button(key="train_stop").click().run()  # the reloaded tab can stop the job
        _no_failure(reloaded)
    finally:
        views = _stop_and_wait(app)
    assert [view.status for view in views] == ["stopped"] and views[0].stop_requested


@pytest.mark.slow
def test_every_session_sees_the_queue_and_a_second_start_is_refused():
    first = _open(TINY_LINK)
    first.switch_page("pages/train.py").run()
    twin = _reload(first)  # a second tab on the same URL, drawn before the first one starts
    twin.switch_page("pages/train.py").run()
    other = _open(TINY_LINK)
    other.switch_page("pages/train.py").run()
    try:
        first.button(key="train_start").click().run()
        other.button(key="train_start").click().run()
        _no_failure(other)
        assert "Queued: position 1" in _unescaped(other.get("progress")[0].proto.text)
        twin.button(key="train_start").click().run()  # its Start button predates the first tab's job
        assert any("still running" in w.value for w in twin.warning)
        assert twin.button(key="train_stop")
        from components.frame import cached

        owners = [first.session_state["lab_owner"], other.session_state["lab_owner"]]
        assert [entry.owner for entry in cached.scheduler().overview()] == owners  # no duplicate queued
        other.run()
        said = _sidebar_text(other)
        assert "Running: faa-bird-strikes-effect · LSTM 8 · 30 epochs" in said
        assert "Waiting #1: faa-bird-strikes-effect · LSTM 8 · 30 epochs (yours)" in said
        onlooker = _open({})
        assert "Running:" in _sidebar_text(onlooker) and "Waiting #1" in _sidebar_text(onlooker)
        assert "(yours)" not in _sidebar_text(onlooker)
    finally:
        _stop_and_wait(first, twin, other)


def _job_view(**changes):
    from core.training.jobs import JobView

    fields = dict(job_id=10**9, status="running", queue_position=None,
                  history={"loss": [1.0, 0.8, 0.75], "accuracy": [0.4, 0.5, 0.52], "val_loss": [1.1, 0.9],
                           "val_accuracy": [0.35, 0.45]},
                  batch_points=[], last_event={"kind": "epoch", "epoch": 3, "epochs": 3, "batch": -1, "batches": 10},
                  phase="evaluating", phase_message="Scoring the validation and test rows", run_dir=None, error=None,
                  started_at=time.time() - 30, finished_at=None, stop_requested=True, epoch_ends=[3.1, 6.0, 7.2],
                  epoch_seconds=[3.1, 2.9, 1.2], partial_epoch=3, scored_rows=100, train_rows=500)
    fields.update(changes)
    return JobView(**fields)


@pytest.mark.slow
def test_after_the_last_epoch_the_train_page_names_the_phase_time_left_and_epoch_times(app):
    """Before: the status line stopped at "epoch 3/3" while the run scored and saved, with no time left shown."""
    app.session_state["lab_job"] = FixedJob(_job_view())
    app.switch_page("pages/train.py").run()
    _no_failure(app)
    status = app.get("progress")[0].proto.text
    assert "Evaluating: Scoring the validation and test rows" in _unescaped(status)
    assert re.search(r"about \d+\.\d s left", _unescaped(status))
    captions = [_unescaped(c.value) for c in app.caption]
    assert "Epoch times: 1: 3.1 s · 2: 2.9 s · 3: 1.2 s (cut short)" in captions
    app.session_state["lab_job"] = FixedJob(_job_view(phase="saving", phase_message="Saving the run"))
    app.run()
    assert "Saving: Saving the run" in _unescaped(app.get("progress")[0].proto.text)


def _arrow_column(data: bytes, column: str) -> list:
    import pyarrow as pa

    table = pa.ipc.open_stream(data).read_all()
    return table.column(column).to_pylist() if column in table.column_names else []


@pytest.mark.slow
def test_a_cut_short_epoch_is_marked_on_the_live_curves(app):
    """Before: the epoch a Stop cut short was drawn and labelled like any full epoch."""
    app.session_state["lab_job"] = FixedJob(_job_view(status="stopped", finished_at=time.time(), phase="saving",
                                                      run_dir="runs/20261129-1200-stopped"))
    app.switch_page("pages/train.py").run()
    _no_failure(app)
    charts = app.get("vega_lite_chart")
    assert len(charts) == 2
    for chart in charts:  # Streamlit sends each chart's data as Arrow tables beside the spec
        labels = {label for named in chart.proto.datasets for label in _arrow_column(named.data.data, "epoch_label")}
        assert "3 (cut short)" in labels
    assert any("Epoch 3 was cut short" in _unescaped(s.value) for s in app.success)


def test_cut_short_epochs_are_hollow_points_never_plain_ones():
    from components.figures import training

    history = {"loss": [1.0, 0.8, 0.75], "val_loss": [1.1, 0.9]}  # as saved: validation one shorter
    for specification in (training.training_curves(history).to_dict(),
                          training.run_curves([{"run": "a", "history": history}]).to_dict(),
                          training.training_curves({"loss": [0.9]}, partial_epoch=1).to_dict()):
        datasets = specification["datasets"]
        layers = specification["layer"]
        hollow = [layer for layer in layers if isinstance(layer["mark"], dict) and layer["mark"].get("type") == "point"
                  and layer["mark"].get("filled") is False and "best" not in json.dumps(layer)]
        cut_rows = [row for layer in hollow for row in datasets[layer["data"]["name"]]]
        assert cut_rows and all(row["cut_short"] and row["epoch_label"].endswith("(cut short)") for row in cut_rows)
        solid = layers[0] if "batches" not in json.dumps(layers[0]) else layers[1]
        assert not any(row["cut_short"] for row in datasets[solid["data"]["name"]])
    full = training.training_curves({"loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}).to_dict()
    assert "cut short" not in json.dumps(full)


def test_the_sidebar_queue_stays_short_and_always_shows_your_own_jobs():
    from components.frame.sidebar import queue_line, shown_entries
    from core.training.jobs import QueueEntry

    entries = [QueueEntry(job_id=i, owner="me" if i == 9 else "",
                          label=f"trial {i}" if i else "data · LSTM 8 · 2 epochs",
                          status="running" if i == 0 else "queued", queue_position=None if i == 0 else i, phase="train",
                          epoch=1 if i == 0 else None, epochs=2 if i == 0 else None) for i in range(12)]
    shown, hidden = shown_entries(entries, {9}, limit=4)
    assert [entry.job_id for entry in shown] == [0, 1, 2, 3, 9] and hidden == 7
    assert queue_line(entries[0], mine=False) == "Running: data · LSTM 8 · 2 epochs · epoch 1 of 2"
    assert queue_line(entries[9], mine=True) == "Waiting #9: trial 9 (yours)"


def test_data_that_cannot_be_trained_disables_start_with_the_reason(app):
    """Two rows, two classes: the Data page says why, and Start on the Train page is disabled with that reason."""
    _upload(app, [("the match was great", "sports"), ("a new laptop chip", "tech")])
    _no_failure(app)
    assert any("cannot be trained" in e for e in _errors(app))
    app.switch_page("pages/train.py").run()
    _no_failure(app)
    start = app.button(key="train_start")
    assert start.disabled and "Start is disabled" in start.help
    assert any("Start is disabled" in e for e in _errors(app))
    rows = generated_texts({"sports": 30, "tech": 20}, seed=3)
    app.switch_page("pages/data.py").run()
    _upload(app, rows, name="bigger.csv")
    app.switch_page("pages/train.py").run()
    assert not app.button(key="train_start").disabled


def test_an_upload_too_big_for_memory_offers_a_sample_that_then_stays_in_use(app, monkeypatch):
    import core.data.memory as memory

    rows = generated_texts({"sports": 3000, "tech": 2000}, seed=21)
    raw = csv_bytes(rows)
    spare = memory.MEMORY_FIXED_BYTES + int(0.5 * memory.MEMORY_PER_FILE_BYTE_HELD * len(raw))
    monkeypatch.setattr(memory, "available_memory_bytes", lambda **_: spare)
    _upload(app, rows, name="huge.csv")
    _no_failure(app)
    assert any("needs about" in e and "random sample" in e for e in _errors(app))
    assert _metrics(app)["Rows kept"] == "1,900"  # the built-in data stays in use until the user decides
    offer = app.button(key="data_use_sample")
    sample = int(re.sub(r"\D", "", offer.label))
    assert 1000 <= sample < 5000
    offer.click().run()
    _no_failure(app)
    assert _metrics(app)["Rows kept"] == f"{sample:,}" and not _errors(app)
    assert any("random sample" in c.value for c in app.caption)
    app.run()  # a rerun keeps the sample rather than trying the whole file again
    assert _metrics(app)["Rows kept"] == f"{sample:,}" and not _errors(app)


def test_recommended_for_this_data_says_what_it_changed_and_adapts_to_the_data(app):
    app.switch_page("pages/model.py").run()
    app.button(key="model_recommended_for_data").click().run()
    _no_failure(app)
    config = app.session_state["lab_config"]
    assert config.split.ensemble and config.split.k_folds >= 4  # 1,900 short remarks: fold models fit the budget
    assert config.resampling.strategy in ("none", "class_weights_sqrt", "class_weights")
    changed = _unescaped(app.info[0].value)
    assert (changed.startswith("Changed: ") and "K-fold cross-validation (folds): " in changed
            and "split." not in changed)
    assert any("Imbalance 8:1" in _unescaped(m) for m in _all_markdown(app))  # the reasons, one bullet each
    app.switch_page("pages/data.py").run()
    _upload(app, generated_texts({"sports": 30, "tech": 30, "food": 30}, seed=4), name="balanced.csv")
    app.switch_page("pages/model.py").run()
    app.button(key="model_recommended_for_data").click().run()
    assert any("nearly balanced" in _unescaped(m) for m in _all_markdown(app))
    assert app.session_state["lab_config"].resampling.strategy == "none"


@pytest.mark.slow  # the Model page warms a training process up
def test_word_vectors_from_a_file_show_their_coverage_and_a_bad_file_is_one_sentence(app, tmp_path):
    good, bad = tmp_path / "vectors.txt", tmp_path / "short.txt"
    words = ["bird", "engine", "landing", "strike", "runway", "the", "zeppelin"]
    good.write_text("".join(f"{w} " + " ".join(["0.1"] * 128) + "\n" for w in words), encoding="utf-8")
    bad.write_text("bird 0.1 0.2 0.3\n", encoding="utf-8")
    app.switch_page("pages/model.py").run()
    source = lambda: next(s for s in app.selectbox if s.label == "Word vectors")  # noqa: E731
    assert source().options == ["None (learn every vector from scratch)", "GloVe 6B 50-d (offline)",
                                "My own file (GloVe, word2vec or fastText text)"]
    assert not any(t.label == "Word-vectors file" for t in app.text_input)  # the path only for one's own file
    source().set_value("file").run()
    vectors_input = lambda: next(t for t in app.text_input if t.label == "Word-vectors file")  # noqa: E731
    vectors_input().set_value(str(good)).run()
    _no_failure(app)
    assert app.session_state["lab_config"].model.word_vectors == str(good)
    coverage = _unescaped(next(c.value for c in app.caption if "tokens have a vector" in c.value))
    assert re.search(r"[1-6] of the training vocabulary's [\d,]+ tokens", coverage)
    assert "1 more pretrained words join the vocabulary" in coverage  # "zeppelin": not in the training split
    assert {"Freeze word vectors", "Add pretrained words to the vocabulary",
            "Project vectors to the embedding size"} <= {t.label for t in app.toggle}
    vectors_input().set_value(str(bad)).run()  # 3-dimensional: projected to the embedding's 128
    assert "A learned projection maps them to the embedding's 128 dimensions" in _unescaped(
        next(c.value for c in app.caption if "tokens have a vector" in c.value))
    next(t for t in app.toggle if t.label == "Project vectors to the embedding size").set_value(False).run()
    assert any("3-dimensional vectors but model.embedding_dim is 128" in e for e in _errors(app))
    source().set_value("glove-6b-50d").run()
    _no_failure(app)
    assert app.session_state["lab_config"].model.word_vectors == "glove-6b-50d"
    assert any("set model.embedding_dim to 50" in e for e in _errors(app))  # projection still off
    next(t for t in app.toggle if t.label == "Project vectors to the embedding size").set_value(True).run()
    coverage = _unescaped(next(c.value for c in app.caption if "tokens have a vector" in c.value))
    assert "GloVe 6B 50-d (offline)" in coverage and "50,000 more pretrained words" in coverage
    assert any(m.label == "Parameters" for m in app.metric)
    app.switch_page("pages/resample.py").run()
    assert any(n.label.startswith("Models per split") for n in app.number_input)
