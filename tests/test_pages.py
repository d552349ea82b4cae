"""AppTest: each page's main path, driven as a user would, without a browser."""

import json
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import csv_bytes, generated_texts, tiny_config

APP = str(Path(__file__).parent.parent / "app.py")
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
    rows = [(text, HOSTILE if label == "sports" else label) for text, label in generated_texts({"sports": 30, "tech": 20}, seed=3)]
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


def test_train_evaluate_predict_and_reuse_a_config(app, tmp_path):
    """Upload, train a tiny model in its process, read the results, type a text, reload the config."""
    rows = [(text, HOSTILE if label == "sports" else label)
            for text, label in generated_texts({"sports": 40, "tech": 25, "food": 20}, seed=8)]
    _upload(app, rows)
    app.session_state["lab_config"] = tiny_config("training.epochs=2", "data.text_column=text", "data.label_column=label")
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
