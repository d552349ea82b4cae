"""AppTest of the pages that read saved runs, on the golden run written by the previous release (no training): the
fast loop covers Evaluate and Runs as well as the pages before them."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from core.errors import UserError
from support.paths import APP, GOLDEN


class NoModelServer:
    """Stands in for the inference server (a process holding TensorFlow): the fast loop never starts one."""

    def predict(self, run_dir, texts, methods=None):
        raise UserError("The model server is not started in this test.")

    def faithfulness(self, run_dir):
        raise AssertionError("the faithfulness report saved beside the run must be read, not measured again")


@pytest.fixture
def saved_run(tmp_path, monkeypatch):
    from components.frame import cached

    monkeypatch.setattr(cached, "inference_server", NoModelServer)
    runs = tmp_path / "runs"
    shutil.copytree(GOLDEN / "run", runs / "20261206-201540-dbd788")
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(runs))
    return runs / "20261206-201540-dbd788"


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_runs_lists_the_saved_run_and_evaluate_opens_it_with_its_scores(saved_run):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/runs.py").run()
    _no_failure(at)
    table = at.dataframe[0].value
    assert len(table) == 1
    at.session_state["lab_selected_run"] = str(saved_run)
    at.switch_page("pages/evaluate.py").run()
    _no_failure(at)
    metrics = {m.label: m.value for m in at.metric}
    assert {"Macro-F1", "Accuracy"} <= set(metrics)
    assert any(b.label == "Download test predictions (CSV)" for b in at.get("download_button"))
    text = " ".join(e.value for kind in ("markdown", "caption", "subheader") for e in getattr(at, kind))
    assert "faithful" in text.lower()  # the report saved beside the run, read without the model server
    assert [e.value.replace("\\", "") for e in at.error] == ["The model server is not started in this test."]


def test_a_blended_run_is_labelled_a_blend_with_each_part_scored_beside_it(saved_run):
    """A blend's score is never shown as the LSTM's: Evaluate names the blend and its weight, and scores the LSTM
    alone, the bag of words alone and the fair baseline on the same rows."""
    import json

    metrics = json.loads((saved_run / "metrics.json").read_text(encoding="utf-8"))
    lstm, bag = dict(metrics["test"], macro_f1=0.61), dict(metrics["test"], macro_f1=0.74)
    metrics["blend"] = {"weight": 0.3, "chosen_on": "the validation split (18 rows)",
                        "candidates": {f"{w / 10:.1f}": 0.5 + w / 100 for w in range(11)},
                        "lstm_alone": lstm, "bag_of_words_alone": bag}
    (saved_run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_selected_run"] = str(saved_run)
    at.switch_page("pages/evaluate.py").run()
    _no_failure(at)
    info = " ".join(e.value for e in at.info).replace("\\", "")
    assert "LSTM + bag-of-words blend (weight 0.3)" in info and "never on the test split" in info
    table = next(frame.value for frame in at.dataframe if "model" in frame.value.columns)
    assert list(table["Macro-F1"][1:3]) == [0.61, 0.74]
    assert table["model"][0].startswith("LSTM + bag-of-words blend (weight 0.3)")
