"""Run records: atomic saves, listing, safe-mode reloads that predict exactly as before."""

import json

import numpy as np
import pytest

from core.errors import RunError
from core.evidence.inference import Predictor
from core.runs import store as runs_module
from core.runs.store import RUN_FILES, list_runs, load_run, zip_run
from core.training.experiment import run_experiment
from support.fakes import tiny_config


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, imbalanced_dataset):
    runs_dir = tmp_path_factory.mktemp("runs")
    result = run_experiment(imbalanced_dataset, tiny_config("model.attention=multihead", "model.attention_heads=2"),
                            runs_dir=runs_dir)
    return result, runs_dir


def test_a_run_folder_holds_every_record(saved_run):
    result, runs_dir = saved_run
    assert sorted(p.name for p in result.run_dir.iterdir()) == sorted(RUN_FILES + ("replay.json",))
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["test"]["macro_f1"] == pytest.approx(result.metrics.test.macro_f1)
    loaded = load_run(result.run_dir)
    assert loaded.metrics == result.metrics  # the typed record round-trips through metrics.json
    assert loaded.info.id == result.run_dir.name and loaded.info.test_macro_f1 == result.metrics.test.macro_f1
    assert [p.to_dict() for p in loaded.predictions] == [p.to_dict() for p in result.predictions]
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["data"]["text_column"] == "text"  # the columns actually used are recorded
    assert [run.path for run in list_runs(runs_dir)] == [result.run_dir]


def test_reloaded_run_predicts_identically_under_safe_mode(saved_run, monkeypatch):
    result, _ = saved_run
    import keras

    calls = []
    original = keras.saving.load_model

    def spy(*args, **kwargs):
        calls.append(kwargs.get("safe_mode"))
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    loaded = load_run(result.run_dir)
    texts = ["goal match team coach", "laptop server chip", "lava volcano", ""]
    fresh = Predictor(result.trained.models.model, result.trained.vectorized.vocabulary, result.class_names,
                      result.config.preprocessing, result.trained.vectorized.max_length)
    before = fresh.predict(texts, methods=["attention", "occlusion"])
    after = Predictor.from_run(loaded).predict(texts, methods=["attention", "occlusion"])
    assert calls == [True]
    for a, b in zip(before, after):
        assert a.label == b.label and a.tokens == b.tokens
        np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-6)
        for method in ("attention", "occlusion"):
            np.testing.assert_allclose(a.explanation(method).scores, b.explanation(method).scores, atol=1e-6)
        assert abs(sum(b.explanation("attention").scores) - 1) < 1e-5
    test_ids = result.trained.vectorized.x["test"]
    np.testing.assert_allclose(loaded.model.predict(test_ids, verbose=0), result.trained.test_probabilities, atol=1e-6)


def test_a_crash_mid_save_leaves_nothing_listed(saved_run, tmp_path, monkeypatch):
    result, _ = saved_run

    class Exploding:
        def save(self, path):
            raise OSError("disk full")

    with pytest.raises(OSError):
        runs_module.save_run(tmp_path, summary=result.summary, config=result.config, history={}, metrics=result.metrics,
                             predictions=[], vocabulary=result.trained.vectorized.vocabulary,
                             class_names=result.class_names, model=Exploding())
    assert list(tmp_path.iterdir()) == []
    assert list_runs(tmp_path) == []


def test_incomplete_or_foreign_folders_are_skipped(saved_run, tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "run.json").write_text('{"id": "half"}')
    (tmp_path / ".tmp-123").mkdir()
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "run.json").write_text("{not json")
    assert list_runs(tmp_path) == []
    assert list_runs(tmp_path / "does-not-exist") == []


def test_loading_a_missing_run_is_a_user_error(tmp_path):
    with pytest.raises(RunError, match="No run folder"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="not a complete run"):
        load_run(tmp_path / "empty")


def test_zip_holds_model_config_and_metrics(saved_run):
    import io
    import zipfile

    result, _ = saved_run
    names = zipfile.ZipFile(io.BytesIO(zip_run(result.run_dir))).namelist()
    assert {f"{result.run_dir.name}/{name}" for name in ("model.keras", "config.json", "metrics.json")} <= set(names)


def test_the_replay_holds_each_epochs_validation_predictions_and_example_weights(saved_run):
    result, _ = saved_run
    replay = load_run(result.run_dir).replay
    epochs = result.metrics.training.epochs_run
    assert len(replay["predictions_by_epoch"]) == epochs
    assert all(len(p) == len(replay["validation_rows"]) == len(replay["labels"])
               for p in replay["predictions_by_epoch"])
    examples = replay["examples"]
    assert examples["method"] == "attention" and len(examples["by_epoch"]) == epochs
    for epoch in examples["by_epoch"]:
        assert [len(w) for w in epoch["weights"]] == [len(t) for t in examples["tokens"]]
        assert all(abs(sum(w) - 1) < 1e-3 for w in epoch["weights"])
    # the last epoch's predictions are what the validation metrics were computed from
    import numpy as np

    last = np.array(replay["predictions_by_epoch"][(result.metrics.training.best_epoch or epochs) - 1])
    assert (last == np.array(replay["labels"])).mean() == pytest.approx(result.metrics.validation.accuracy)
