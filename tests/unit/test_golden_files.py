"""Files written by the previous release (tests/golden/, see make_golden_files.py) load in today's code, and today's
code writes them back byte for byte, so the previous release still reads what this one writes.

Every Record class in core (found by walking core's sources, so a new record is covered without a new test) loads a
dict with a key it does not know, a dict without each of its defaulted keys, and names a missing required key.
Fast tier: nothing here imports TensorFlow, trains or starts a process; the one test that loads the golden model is
marked slow.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import math
import types
import typing
from typing import Any, Union, get_args, get_origin

import pytest

from core.records import Record
from support.paths import ROOT  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
RUN = GOLDEN / "run"
UNKNOWN_KEY = "a_key_from_a_newer_release"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------- the run folder


def test_the_golden_run_loads_as_the_app_loads_it_and_is_listed():
    from core.runs.store import list_runs, load_run

    run = load_run(RUN)  # everything but the model (which loads on first use)
    assert run.info.status == "completed" and run.info.id and run.info.rows == 120 and run.info.classes == 3
    assert run.class_names == ["food", "sports", "tech"] and run.config.model.attention == "additive"
    assert run.metrics.test.macro_f1 == run.info.test_macro_f1 and len(run.metrics.test.per_class) == 3
    assert run.metrics.training.epochs_run == run.info.epochs_run == len(run.history["loss"])
    assert run.vocabulary.tokens[:2] == ("[PAD]", "[UNK]") and run.vocabulary.size == 38
    predictions = run.predictions
    assert len(predictions) == 24 and all(p.true in run.class_names and p.predicted in run.class_names
                                          for p in predictions)
    assert all(len(p.probabilities) == 3 for p in predictions)
    assert run._model is None  # the model was never loaded
    assert [summary.run_id for summary in list_runs(GOLDEN)] == [run.info.id]


def test_the_golden_replay_holds_what_the_replay_page_reads():
    from core.runs.store import load_run

    replay = load_run(RUN).replay
    rows = len(replay["validation_rows"])
    assert rows and len(replay["labels"]) == rows
    assert replay["predictions_by_epoch"] and all(epoch is None or len(epoch) == rows
                                                  for epoch in replay["predictions_by_epoch"])
    assert replay["examples"]


def test_the_golden_faithfulness_report_is_read_from_the_file_not_measured_again():
    from core.evidence.inference import run_faithfulness
    from core.runs.store import load_run

    class NoModel:  # measuring again would need the model: reaching it fails the test
        def faithfulness(self, *args, **kwargs):
            raise AssertionError("faithfulness.json was not read")

    report = run_faithfulness(load_run(RUN), NoModel())
    assert report.n_texts == 24 and [row.method for row in report.rows] == [
        "attention", "occlusion", "gradient_x_input", "integrated_gradients"]
    assert report.bias("attention") is not None and report.row("random").method == "random"
    assert all(len(row.comprehensiveness_by_k) == len(report.k_percents) for row in report.rows)
    assert report.most_faithful in (None, *(row.method for row in report.rows)) and report.verdict.endswith(".")


@pytest.mark.parametrize("name",
                         ["run.json", "metrics.json", "predictions.json", "vocabulary.json", "faithfulness.json"])
def test_today_writes_the_golden_run_records_back_byte_for_byte_but_for_empty_new_fields(name, tmp_path):
    from core.evidence.faithfulness import FaithfulnessReport
    from core.runs.results import Prediction, RunInfo, RunMetrics
    from core.runs.store import write_json
    from core.text.vectorizing import Vocabulary

    read = {
        "run.json": RunInfo.from_dict, "metrics.json": RunMetrics.from_dict, "vocabulary.json": Vocabulary.from_dict,
        "faithfulness.json": FaithfulnessReport.from_dict,
        "predictions.json": lambda raw: [Prediction.from_dict(item) for item in raw],
    }[name]
    record = read(golden(f"run/{name}"))
    payload = [item.to_dict() for item in record] if isinstance(record, list) else record.to_dict()
    write_json(tmp_path / name, payload)  # the run store's own writer (NaN as null)
    written = (tmp_path / name).read_text(encoding="utf-8")
    # Fields added since (empty in a file that predates them, e.g. a run's blend) are the only difference allowed:
    # without them, today's writer gives the same bytes.
    added = {key: None for key in json.loads(written) if isinstance(payload, dict) and key not in golden(f"run/{name}")}
    assert all(payload[key] is None for key in added), f"fields added since must be empty in an old file: {added}"
    trimmed = ({key: value for key, value in payload.items() if key not in added}
               if isinstance(payload, dict) else payload)
    write_json(tmp_path / name, trimmed)
    assert (tmp_path / name).read_bytes() == (RUN / name).read_bytes()


def test_a_null_score_in_a_faithfulness_file_reads_back_as_nan():
    from core.evidence.faithfulness import FaithfulnessReport

    raw = golden("run/faithfulness.json")
    raw["random"]["aopc"] = None
    raw["rows"][0]["comprehensiveness_by_k"][0] = None
    report = FaithfulnessReport.from_dict(raw)
    assert math.isnan(report.random.aopc) and math.isnan(report.rows[0].comprehensiveness_by_k[0])
    assert report.to_dict()["random"]["aopc"] is None


# --------------------------------------------------------------------------------------------- a lesson result


def test_the_golden_lesson_result_loads_checks_and_writes_back_byte_for_byte():
    from core.teaching.lessons import LessonResult, check

    raw = golden("lesson_result.json")
    result = LessonResult.from_dict(raw)
    assert result.lesson.id == "preprocessing" and result.lesson.source == result.source == "04-preprocessing.toml"
    assert [outcome.name for outcome in result.variants] == [variant.name for variant in result.lesson.variants]
    assert all(outcome.status == "completed" and outcome.values["vocabulary_size"] > 0 for outcome in result.variants)
    holds, sentence = check(result)
    assert isinstance(holds, bool) and sentence.endswith(".")
    assert json.dumps(result.to_dict(), indent=1) == (GOLDEN / "lesson_result.json").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------- every Record class


def record_classes() -> list[type]:
    """Every Record subclass defined in core: the modules whose source imports Record are imported (none of them
    loads TensorFlow), then the subclasses are walked, so a record defined in a new module is found too."""
    for path in sorted((ROOT / "core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.ImportFrom) and node.module == "core.records" for node in ast.walk(tree)):
            parts = path.relative_to(ROOT).with_suffix("").parts
            importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    found, stack = [], list(Record.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("core.") and dataclasses.is_dataclass(cls):
            found.append(cls)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


# Full dicts for the records a made-up dict would not satisfy (a validated field or one read by its own parser), and
# real ones from the golden files where they exist. Any other record gets a dict made from its type hints.
SAMPLES = {
    "RunInfo": lambda: golden("run/run.json"),
    "RunMetrics": lambda: golden("run/metrics.json"),
    "Prediction": lambda: golden("run/predictions.json")[0],
    "Vocabulary": lambda: golden("run/vocabulary.json"),
    "FaithfulnessReport": lambda: golden("run/faithfulness.json"),
    "LessonResult": lambda: golden("lesson_result.json"),
    "Racing": lambda: {"rule": "successive halving", "start_seeds": 1, "keep": 3},  # the one rule a study can name
    "Diagnosis": lambda: {"key": "overfitting", "severity": "warning", "title": "Overfitting", "evidence": "e.",
                          "suggestion": "s.", "overrides": ["training.early_stopping=true"]},
}


def made_up(hint: Any) -> Any:
    """A JSON value of the type ``hint`` (one item for a collection)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return made_up(next(arg for arg in args if arg is not type(None)))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return full_dict(hint)
    if origin in (list, tuple):
        return [made_up(args[0])] if args else []
    if origin is dict:
        return {"1": made_up(args[1])} if args else {}
    return {bool: True, int: 1, float: 0.5, str: "text", dict: {}, list: []}.get(hint, "text")


def full_dict(cls: type) -> dict:
    if cls.__name__ in SAMPLES:
        return SAMPLES[cls.__name__]()
    hints = typing.get_type_hints(cls)
    return {field.metadata.get("json", field.name): made_up(hints[field.name]) for field in dataclasses.fields(cls)}


RECORDS = record_classes()


def test_records_are_found_in_every_package_that_has_them():
    names = {cls.__name__ for cls in RECORDS}
    assert {"RunMetrics", "RunInfo", "TriageReport", "FaithfulnessReport", "EditList", "LabelIssueReport",
            "NearDuplicateReport", "Lever", "Diagnosis", "LessonResult", "VariantOutcome", "ProgressEvent",
            "Vocabulary", "Recommendation"} <= names


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_a_record_loads_a_dict_with_a_key_it_does_not_know(cls):
    raw = full_dict(cls)
    record = cls.from_dict({**raw, UNKNOWN_KEY: {"anything": [1, 2]}})
    assert UNKNOWN_KEY not in record.to_dict()
    assert cls.from_dict(record.to_dict()).to_dict() == record.to_dict()  # and what it writes reads back


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_a_record_loads_a_dict_without_each_defaulted_key(cls):
    raw = full_dict(cls)
    for field in dataclasses.fields(cls):
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            continue
        key = field.metadata.get("json", field.name)
        record = cls.from_dict({k: v for k, v in raw.items() if k != key})
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        if not hasattr(cls, "__post_init__"):  # (a __post_init__ may fill a field from another)
            assert getattr(record, field.name) == default, f"{cls.__name__}.{field.name}"


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_a_record_names_a_missing_required_key(cls):
    raw = full_dict(cls)
    for field in dataclasses.fields(cls):
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            key = field.metadata.get("json", field.name)
            with pytest.raises(ValueError, match=f"missing '{key}'"):
                cls.from_dict({k: v for k, v in raw.items() if k != key})


# --------------------------------------------------------------------------------------------- the model (slow)


@pytest.mark.slow
def test_the_golden_model_loads_in_safe_mode_and_predicts_what_it_predicted_then():
    from core.evidence.inference import Predictor
    from core.runs.store import load_run

    run = load_run(RUN)
    predictor = Predictor.from_run(run)  # run.model: core.runs.store.load_model, Keras safe mode
    saved = run.predictions
    now = predictor.predict([p.text for p in saved], methods=[])
    assert [p.label for p in now] == [p.predicted for p in saved]
    assert max(abs(p.confidence - s.confidence) for p, s in zip(now, saved)) < 2e-3
    typed = predictor.predict(["the team scored a late goal in the match"], methods=["attention"])[0]
    assert typed.label in run.class_names and sum(typed.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert len(typed.explanation("attention").scores) == len(typed.tokens)
