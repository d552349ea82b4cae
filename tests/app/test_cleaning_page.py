"""The Data page's label-noise review and the relabel-and-retrain loop, driven through AppTest."""

import json
import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from support.fakes import csv_bytes, generated_texts, tiny_config
from support.paths import APP  # noqa: E402


def _noisy_rows():
    """Topic texts with a few labels flipped on purpose (the review should find some of them)."""
    rows = generated_texts({"sports": 40, "tech": 40, "food": 40}, seed=11, length=(8, 14))
    flipped = {"sports": "tech", "tech": "food", "food": "sports"}
    return [(text, flipped[label] if i % 15 == 0 else label) for i, (text, label) in enumerate(rows)]


@pytest.mark.slow
def test_review_suspects_retrain_on_cleaned_data_and_compare_on_the_same_test_rows(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(runs))
    app = AppTest.from_file(APP, default_timeout=180).run()
    app.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    app.file_uploader(key="data_upload").set_value(("noisy.csv", csv_bytes(_noisy_rows()), "text/csv")).run()
    app.session_state["lab_config"] = tiny_config("training.epochs=1", "data.text_column=text",
                                                  "data.label_column=label")
    app.run()
    app.button(key="cleaning_find").click().run()
    assert not app.exception, [e.value for e in app.exception]
    [editor] = app.data_editor
    suspects = editor.value
    assert len(suspects) >= 3 and {"action", "new label", "text", "given label", "P(given label)", "suggested label",
                                   "P(suggested label)"} <= set(suspects.columns)
    # mark the two most suspicious rows: drop the first, relabel the second to its suggested label
    app.session_state[editor.key] = {"edited_rows": {0: {"action": "drop"}, 1: {"action": "relabel"}},
                                     "added_rows": [], "deleted_rows": []}
    app.run()
    assert any("1 to drop, 1 to relabel" in m.value for m in app.markdown)
    app.button(key="cleaning_retrain").click().run()
    deadline = time.time() + 600
    while time.time() < deadline and not any("Original against cleaned" in m.value for m in app.markdown):
        time.sleep(2)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("Original against cleaned" in m.value for m in app.markdown)
    compared = next(frame.value for frame in app.dataframe if "test macro-F1" in frame.value.columns)
    assert list(compared["run"]) == ["original data", "cleaned data"]
    assert set(compared["run id"]) == {folder.name for folder in runs.iterdir() if not folder.name.startswith(".")}
    assert any("test split was not edited" in c.value.replace("\\", "") for c in app.caption)

    variants = {}
    for folder in runs.iterdir():
        if folder.name.startswith("."):
            continue
        info = json.loads((folder / "run.json").read_text())
        variants[info["tags"]["variant"]] = folder
    assert set(variants) == {"original", "cleaned"}
    edits = json.loads((variants["cleaned"] / "edits.json").read_text())
    assert sorted(e["action"] for e in edits["edits"] if e["action"] != "keep") == ["drop", "relabel"]
    original_predictions = json.loads((variants["original"] / "predictions.json").read_text())
    cleaned_predictions = json.loads((variants["cleaned"] / "predictions.json").read_text())
    assert [p["text"] for p in original_predictions] == [p["text"] for p in cleaned_predictions]  # the same test rows
    assert [p["true"] for p in original_predictions] == [p["true"] for p in cleaned_predictions]


# ------------------------------------------------------------------------------ the review, without training

GIVEN_P, SUGGESTED_P = "P(given label)", "P(suggested label)"


@pytest.fixture
def reviewed(tmp_path, monkeypatch):
    """The Data page on the noisy upload, with suspects found."""
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "runs"))
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    app.file_uploader(key="data_upload").set_value(("noisy.csv", csv_bytes(_noisy_rows()), "text/csv")).run()
    app.session_state["lab_config"] = tiny_config("data.text_column=text", "data.label_column=label")
    app.run()
    app.button(key="cleaning_find").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _table(app):
    [editor] = app.data_editor
    return editor


def _edits_line(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("**Your edits:**"))


def test_suspects_show_both_probabilities_and_how_many_rows_were_checked(reviewed):
    table = _table(reviewed).value
    assert {"action", "new label", "text", "given label", GIVEN_P, "suggested label", SUGGESTED_P,
            "row"} <= set(table.columns)
    assert len(table) >= 6
    assert (table[GIVEN_P] < table[SUGGESTED_P]).all() and list(table[GIVEN_P]) == sorted(table[GIVEN_P])
    report = reviewed.session_state["lab_cleaning"]["suspects"]
    summary = next(m.value for m in reviewed.markdown if "suspected label errors" in m.value)
    assert f"Rows checked: {report.rows_checked:,}" in summary and "sealed test rows are never looked at" in summary
    assert report.rows_checked + int(re.search(r"the (\d+) sealed test rows", summary).group(1)) == 120


def test_bulk_relabel_drop_and_undo_keep_single_edits(reviewed):
    app = reviewed
    app.number_input(key="cleaning_top").set_value(3).run()
    app.button(key="cleaning_bulk_relabel").click().run()
    table = _table(app).value
    assert list(table["action"][:4]) == ["relabel", "relabel", "relabel", "keep"]
    assert list(table["new label"][:3]) == list(table["suggested label"][:3])
    assert "0 to drop, 3 to relabel" in _edits_line(app)

    editor = _table(app)  # a single edit by hand: drop the sixth suspect
    app.session_state[editor.key] = {"edited_rows": {5: {"action": "drop"}}, "added_rows": [], "deleted_rows": []}
    app.run()
    assert "1 to drop, 3 to relabel" in _edits_line(app)

    app.number_input(key="cleaning_top").set_value(2).run()
    app.button(key="cleaning_bulk_drop").click().run()
    assert list(_table(app).value["action"][:6]) == ["drop", "drop", "relabel", "keep", "keep", "drop"]
    assert "3 to drop, 1 to relabel" in _edits_line(app)

    app.button(key="cleaning_undo").click().run()  # takes back "drop the top 2" only
    assert list(_table(app).value["action"][:6]) == ["relabel", "relabel", "relabel", "keep", "keep", "drop"]
    app.button(key="cleaning_undo").click().run()  # takes back "apply the suggested label to the top 3"
    assert list(_table(app).value["action"][:6]) == ["keep"] * 5 + ["drop"]
    assert "1 to drop, 0 to relabel" in _edits_line(app)
    assert app.button(key="cleaning_undo").disabled
    assert not app.exception, [e.value for e in app.exception]

    # what is downloaded and applied is the review itself
    state = app.session_state["lab_cleaning"]
    made = state["review"].edit_list(state["suspects"] and _dataset(app))
    assert made.counts() == {"drop": 1, "relabel": 0, "keep": len(_table(app).value) - 1}


def _dataset(app):
    from components.frame import cached

    source = app.session_state["lab_source"]
    return cached.dataset(source, "text", "label")


def test_results_and_decisions_survive_leaving_the_page_without_searching_again(reviewed, monkeypatch):
    import streamlit as st

    import core.evidence.label_issues as label_issues
    import core.evidence.near_duplicates as near_duplicates

    app = reviewed
    app.button(key="cleaning_bulk_drop").click().run()
    before = _table(app).value
    st.cache_data.clear()  # a search now would have to run again: it must not

    def searched(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr(label_issues, "find_label_suspects", searched)
    monkeypatch.setattr(near_duplicates, "straddling_pairs", searched)
    app.switch_page("pages/preprocess.py").run()
    assert not app.data_editor
    app.switch_page("pages/data.py").run()
    assert not app.exception, [e.value for e in app.exception]
    after = _table(app).value
    assert after.equals(before) and (after["action"][: min(10, len(after))] == "drop").all()
    assert any("test rows have a near-duplicate" in m.value for m in app.markdown)


def test_results_are_dropped_when_the_preprocessing_changes(reviewed):
    import dataclasses

    app = reviewed
    config = app.session_state["lab_config"]
    app.session_state["lab_config"] = dataclasses.replace(
        config, preprocessing=dataclasses.replace(config.preprocessing, lowercase=not config.preprocessing.lowercase))
    app.run()
    assert not app.data_editor
    assert any("changed since the last search" in i.value for i in app.info)
    assert app.button(key="cleaning_find")


def test_the_comparison_names_runs_by_id_and_shows_no_server_path(reviewed, tmp_path):
    """Two saved runs of one retrain-and-compare loop (the golden run, twice): the table names them by run id."""
    import shutil

    from support.paths import GOLDEN

    runs = tmp_path / "runs"
    rows = list(range(120))
    for variant, run_id in (("original", "20261206-201540-aaaaaa"), ("cleaned", "20261206-201541-bbbbbb")):
        folder = runs / run_id
        shutil.copytree(GOLDEN / "run", folder)
        info = json.loads((folder / "run.json").read_text())
        info.update(id=run_id, tags={"cleaning": "loop1234", "variant": variant})
        (folder / "run.json").write_text(json.dumps(info))
        if variant == "cleaned":
            (folder / "original_rows.json").write_text(json.dumps(rows))
            (folder / "cleaning.json").write_text(json.dumps({"test_rows_edited": []}))
    app = reviewed
    app.session_state["lab_cleaning"]["loop"] = "loop1234"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    compared = next(frame.value for frame in app.dataframe if "test macro-F1" in frame.value.columns)
    assert list(compared["run id"]) == ["20261206-201540-aaaaaa", "20261206-201541-bbbbbb"]
    shown = [str(value) for frame in app.dataframe for value in frame.value.to_numpy().ravel()]
    shown += [e.value for kind in ("markdown", "caption", "error", "info", "warning") for e in getattr(app, kind)]
    assert not [text for text in shown if str(tmp_path) in text or str(runs) in text]
