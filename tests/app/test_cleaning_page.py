"""The Data page's label-noise review and the relabel-and-retrain loop, driven through AppTest."""

import json
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
    app.session_state["lab_config"] = tiny_config("training.epochs=1", "data.text_column=text", "data.label_column=label")
    app.run()
    app.button(key="cleaning_find").click().run()
    assert not app.exception, [e.value for e in app.exception]
    [editor] = app.data_editor
    suspects = editor.value
    assert len(suspects) >= 3 and {"action", "new label", "text", "given", "suggested", "confidence"} <= set(suspects.columns)
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
