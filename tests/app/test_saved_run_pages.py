"""AppTest of the pages that read saved runs, on the golden run written by the previous release (no training): the
fast loop covers Evaluate and Runs as well as the pages before them. Evaluate never waits for the model: a run
without a faithfulness report opens at once and fills it in when the report is written beside it."""

from __future__ import annotations

import shutil
import threading
import time

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


class BusyModelServer:
    """A model server that is still starting: answers only once ``ready`` is set (each test sets it at its end)."""

    def __init__(self, ready: threading.Event) -> None:
        self.ready = ready
        self.asked: list[str] = []

    def predict(self, run_dir, texts, methods=None):
        from core.evidence.inference import (
            Predictor,  # noqa: F401 - what the real server answers with
            TextPrediction,
            TokenScores,
        )

        self.asked.extend(texts)
        self.ready.wait(60)
        tokens = texts[0].split()[:6] or ["[UNK]"]
        return [TextPrediction(text=texts[0], label="tech", confidence=0.6,
                               probabilities={"food": 0.2, "sports": 0.2, "tech": 0.6},
                               tokens=tokens, explanations=[TokenScores("occlusion", "signed", [0.1] * len(tokens))])]

    def faithfulness(self, run_dir, **kwargs):  # what the page asked before it measured in the background
        self.ready.wait(60)
        raise AssertionError("faithfulness is measured in the background, not by the model server")


class StandInProcess:
    def __init__(self) -> None:
        self.exitcode = None

    def is_alive(self) -> bool:
        return True

    def terminate(self) -> None:
        pass


@pytest.fixture
def unmeasured_run(saved_run, monkeypatch):
    """The golden run without its faithfulness report, a model server still starting and a follow-up measurer
    whose process is a stand-in (it never writes the report: the test does)."""
    from components.frame import cached
    from components.panels import explain
    from core.evidence.inference import FAITHFULNESS_FILE, FaithfulnessMeasurer

    (saved_run / FAITHFULNESS_FILE).unlink()
    ready = threading.Event()
    server = BusyModelServer(ready)
    launched: list[str] = []
    measurer = FaithfulnessMeasurer(launch=lambda run_dir: launched.append(run_dir) or StandInProcess())
    monkeypatch.setattr(cached, "inference_server", lambda: server)
    monkeypatch.setattr(explain, "measurer", lambda: measurer)
    yield saved_run, server, launched
    ready.set()


def _page_text(at) -> str:
    """Every sentence on the page, progress lines included, unescaped."""
    sentences = [e.value for kind in ("markdown", "caption", "subheader", "warning") for e in getattr(at, kind)]
    sentences += [e.proto.text for e in at.get("progress")]
    return " ".join(sentences).replace("\\", "")


def test_evaluate_opens_a_run_without_a_faithfulness_report_at_once_and_fills_it_in_when_written(unmeasured_run):
    from core.evidence.inference import FAITHFULNESS_FILE

    run_dir, server, launched = unmeasured_run
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.session_state["lab_selected_run"] = str(run_dir)
    began = time.perf_counter()
    at.switch_page("pages/evaluate.py").run()
    seconds = time.perf_counter() - began
    _no_failure(at)
    assert seconds < 15, seconds  # the model server blocks for 60 s: the page did not wait for it
    assert {"Macro-F1", "Accuracy"} <= {m.label for m in at.metric} and at.get("vega_lite_chart")  # scores, matrix
    text = _page_text(at)
    assert "Measuring how faithful each explanation is: starting a process and loading the model" in text
    assert "the model server is starting" in text and server.asked  # asked, not waited for
    assert launched == [str(run_dir)] and not at.error
    shadings = len(at.get("html"))  # the replay's examples so far

    # The measurement writes its report; the poller redraws the page (here: the next run), the model answers.
    shutil.copy(GOLDEN / "run" / FAITHFULNESS_FILE, run_dir / FAITHFULNESS_FILE)
    server.ready.set()
    time.sleep(0.2)
    at.run()
    _no_failure(at)
    text = _page_text(at)
    assert "Measuring how faithful" not in text and "the model server is starting" not in text
    assert "most faithful" in text.lower() and at.dataframe  # the verdict and the table
    assert len(at.get("html")) == shadings + 1  # the example, explained by the one method the stand-in gives
    assert launched == [str(run_dir)]  # never started twice


def test_the_typed_text_example_comes_from_the_runs_own_test_texts(saved_run):
    from core.runs.store import load_run

    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_selected_run"] = str(saved_run)
    at.switch_page("pages/evaluate.py").run()
    _no_failure(at)
    placeholder = at.text_area(key="typed_text").placeholder
    texts = [p.text for p in load_run(saved_run).predictions]
    assert placeholder.startswith("e.g. ") and "bird" not in placeholder
    assert any(text.startswith(placeholder[5:].rstrip("…")) for text in texts)


def test_the_example_is_the_most_confident_right_answer_among_the_shorter_texts_on_one_line():
    from components.panels.evaluate import EXAMPLE_CHARACTERS, example_text
    from core.runs.results import Prediction

    def prediction(text, true, predicted, confidence):
        return Prediction(text=text, true=true, predicted=predicted, confidence=confidence,
                          probabilities=[confidence], row=0)

    tweets = [prediction("@united my bag is lost\nagain #fail", "negative", "negative", 0.91),
              prediction("thanks @delta great crew", "positive", "negative", 0.99),  # wrong: never the example
              prediction(" ".join(["word"] * 40), "negative", "negative", 0.999)]  # too long to be a good example
    assert example_text(tweets) == "@united my bag is lost again #fail"
    long_one = [prediction("x" * 10 + " " + "y" * 200, "a", "a", 0.5)]
    assert example_text(long_one).endswith("…") and len(example_text(long_one)) <= EXAMPLE_CHARACTERS + 1
    assert example_text([]) == ""


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
    assert list(table["model"][1:]) == ["LSTM alone", "Bag of words alone", "Fair baseline"]
    captions = " ".join(e.value for e in at.caption)
    assert "hashed word pairs" in captions  # a run blended before the part became the baseline's model


def test_a_blended_runs_bag_of_words_part_is_named_the_fair_baselines_model_with_its_size(saved_run):
    import json

    from components.panels.blend import parts_note
    from core.runs.results import RunMetrics

    metrics = json.loads((saved_run / "metrics.json").read_text(encoding="utf-8"))
    metrics["blend"] = {"weight": 0.3, "chosen_on": "the validation split (18 rows)", "candidates": {},
                        "lstm_alone": metrics["test"], "bag_of_words_alone": metrics["test"],
                        "words": 1234, "word_pairs": 5678, "tokens_read": 2000}
    note = parts_note(RunMetrics.from_dict(metrics))
    assert note.startswith("Bag of words alone: the fair baseline's model, refitted inside the blend (1,234 words, "
                           "5,678 word pairs; texts read up to 2,000 tokens). Fair baseline: TF-IDF")


def test_the_run_picker_names_built_in_data_by_its_title(saved_run):
    import json

    info = json.loads((saved_run / "run.json").read_text(encoding="utf-8"))
    info["data"] = "builtin:faa-bird-strikes-effect"
    (saved_run / "run.json").write_text(json.dumps(info), encoding="utf-8")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["lab_selected_run"] = str(saved_run)
    at.switch_page("pages/evaluate.py").run()
    _no_failure(at)
    picker = next(box for box in at.selectbox if box.label == "Run")
    assert "FAA wildlife strikes: what the crew did (built-in)" in picker.options[0]
    assert "builtin:" not in picker.options[0]
