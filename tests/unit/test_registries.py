"""The registries: one contract over every record of each, and a fake strategy registered in one place showing up
everywhere (config, CLI help, estimate, the Resample page, a real run)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from core.choices.attention import ATTENTION_KINDS
from core.choices.normalizers import NORMALIZERS
from core.choices.optimization import LR_SCHEDULES, OPTIMIZERS, make_optimizer, schedule_callbacks
from core.choices.resampling import RESAMPLERS, ResampledTraining, Resampler, RowRequest, preview_counts
from core.config import SECTIONS, ExperimentConfig, apply_overrides, field_info
from core.errors import ConfigError
from core.registry import Registry, Texts
from support.fakes import csv_bytes, generated_texts, tiny_config
from support.paths import APP  # noqa: E402

# registry -> (config section, field it supplies choices for)
REGISTRIES = {
    "resampling": (RESAMPLERS, "resampling", "strategy"),
    "optimizers": (OPTIMIZERS, "training", "optimizer"),
    "schedules": (LR_SCHEDULES, "training", "lr_schedule"),
    "normalizers": (NORMALIZERS, "preprocessing", "normalizer"),
    "attention": (ATTENTION_KINDS, "model", "attention"),
}


@pytest.mark.parametrize("name", REGISTRIES)
def test_every_record_has_its_texts_and_reads_only_real_settings(name):
    registry, section, field = REGISTRIES[name]
    assert field_info(section, field)["choices"] == registry.keys()  # the config's choices are the registry's keys
    assert registry.field == f"{section}.{field}"
    section_fields = {f.name for f in dataclasses.fields(SECTIONS[section])}
    for record in registry:
        assert record.title.strip() and isinstance(record.texts, Texts)
        assert all(text.strip().endswith((".", ")"))
                   for text in (record.texts.what, record.texts.when, record.texts.risk)), record.key
        assert set(record.settings) <= section_fields, (record.key, record.settings)


def test_an_unknown_choice_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"training\.optimizer must be one of adam, adamw, rmsprop, sgd; got 'lion'"):
        OPTIMIZERS.get("lion")
    with pytest.raises(ConfigError, match="model.attention must be one of none, additive, multihead"):
        apply_overrides(ExperimentConfig(), ["model.attention=transformer"])


def test_a_registry_refuses_a_duplicate_key():
    registry: Registry = Registry("section.field", "thing")
    record = dataclasses.make_dataclass("R", ["key", "title"])("a", "A")
    registry.register(record)
    with pytest.raises(ValueError, match="twice"):
        registry.register(record)


@pytest.mark.slow
@pytest.mark.parametrize("schedule", LR_SCHEDULES.keys())
@pytest.mark.parametrize("optimizer", OPTIMIZERS.keys())
def test_every_optimizer_and_schedule_builds_and_steps(optimizer, schedule):
    import keras

    config = apply_overrides(ExperimentConfig(), [f"training.optimizer={optimizer}", f"training.lr_schedule={schedule}",
                                                   "training.epochs=4"]).training
    steps_per_epoch = 5
    built = make_optimizer(config, steps_per_epoch)
    weight = keras.Variable(np.ones(3, dtype="float32"))
    rates = []
    for _ in range(2 * steps_per_epoch):
        rates.append(float(keras.ops.convert_to_numpy(built.learning_rate)))
        built.apply_gradients([(keras.ops.ones((3,)), weight)])
    assert np.all(keras.ops.convert_to_numpy(weight) < 1.0)  # each optimizer moved the weight against the gradient
    assert rates[0] == pytest.approx(config.learning_rate)
    decays = schedule in ("exponential", "cosine")
    assert (rates[-1] < rates[0]) == decays, rates
    assert all(isinstance(callback, keras.callbacks.Callback) for callback in schedule_callbacks(config))
    assert OPTIMIZERS.get(optimizer).slots(config) in (0, 1, 2)


@pytest.mark.parametrize("normalizer", NORMALIZERS.keys())
def test_every_normalizer_makes_a_word_function_offline(normalizer):
    function, label = NORMALIZERS.get(normalizer).make()
    assert label
    if function is not None:
        assert isinstance(function("landings"), str) and function("landings")


@pytest.mark.slow
@pytest.mark.parametrize("attention", ATTENTION_KINDS.keys())
def test_every_attention_kind_builds_and_its_estimate_matches_keras(attention):
    from core.model.classifier import build_classifier
    from core.model.estimate import parameter_count

    config = apply_overrides(ExperimentConfig(), [f"model.attention={attention}", "model.attention_heads=2",
                                                   "model.lstm_units=8", "model.embedding_dim=8"]).model
    record = ATTENTION_KINDS.get(attention)
    models = build_classifier(config, vocab_size=50, num_classes=3, max_length=7)
    assert models.model.count_params() == parameter_count(config, vocab_size=50, num_classes=3, max_length=7)
    assert (models.explainer is not None) == record.weights
    if record.weights:
        probabilities, weights = models.explainer.predict(np.array([[2, 3, 4, 0, 0, 0, 0]], dtype="int32"), verbose=0)
        assert weights.shape == (1, 7) and weights[0, 3:].max() == 0.0


# --- a fake strategy, registered in one place ---------------------------------------------------------------------


def _halve_largest(request: RowRequest) -> ResampledTraining:
    """Keep every other row of the largest class (deterministic, so its preview is exact)."""
    largest = int(request.counts.argmax())
    rows = np.flatnonzero(request.y == largest)
    keep = np.sort(np.concatenate([np.flatnonzero(request.y != largest), rows[::2]]))
    return ResampledTraining(request.x[keep], request.y[keep], False, None, [], [], "fake halving")


def _halve_preview(counts, config) -> list[int]:
    largest = int(np.argmax(counts))
    return [(c + 1) // 2 if i == largest else c for i, c in enumerate(counts)]


FAKE = Resampler(
    key="halve_largest", title="Halve the largest class (test double)", run=_halve_largest, preview=_halve_preview,
    texts=Texts(what="Keeps every other row of the largest class.", when="Only in this test.", risk="None at all."),
)


@pytest.fixture
def fake_strategy():
    RESAMPLERS.register(FAKE)
    yield FAKE
    RESAMPLERS.unregister(FAKE.key)


def test_a_registered_strategy_appears_in_config_cli_and_estimate(fake_strategy, capsys):
    from core.cli import entry as cli
    from core.model.estimate import estimate_epoch

    config = apply_overrides(ExperimentConfig(), ["resampling.strategy=halve_largest"])
    assert config.resampling.strategy == "halve_largest"
    with pytest.raises(SystemExit):
        cli.main(["config", "--help"])
    assert "halve_largest (Halve the largest class (test double))" in capsys.readouterr().out
    assert cli.main(["config", "--schema"]) == 0
    assert '"halve_largest"' in capsys.readouterr().out
    estimate = estimate_epoch(config, train_counts=[100, 30, 5], vocab_size=500, num_classes=3, max_length=20)
    assert estimate.rows_trained == 50 + 30 + 5 and estimate.rows_kind == "exact"
    assert preview_counts([100, 30, 5], config.resampling) == ([50, 30, 5], "exact")


@pytest.mark.slow
def test_a_registered_strategy_appears_on_the_resample_page_and_trains(fake_strategy, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes
    from core.training.experiment import run_experiment

    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "runs"))
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page("pages/resample.py").run()
    strategy = next(box for box in app.selectbox if box.label == "Strategy")
    assert "halve_largest" in strategy.options or "Halve the largest class (test double)" in strategy.options
    strategy.set_value("halve_largest").run()
    assert not app.exception
    shown = " ".join(m.value for m in app.markdown)
    assert "Keeps every other row of the largest class" in shown.replace("\\", "")
    compared = next(frame for frame in app.dataframe if "what it does" in frame.value.columns)
    assert "Halve the largest class (test double)" in compared.value["strategy"].tolist()

    dataset = build_dataset(read_csv_bytes(csv_bytes(generated_texts({"sports": 40, "tech": 16, "food": 10}, seed=3))))
    result = run_experiment(dataset, tiny_config("resampling.strategy=halve_largest", "training.epochs=1"),
                            runs_dir=None)
    assert result.metrics.resampling.method == "fake halving"
    assert result.metrics.resampling.train_after == _halve_preview(result.metrics.resampling.train_before, None)


# --- the Model page's rows per epoch is what the training job trains on ----------------------------------------------


def _metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


@pytest.mark.slow
def test_the_model_page_rows_per_epoch_equal_the_trained_rows_for_every_strategy(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from test_resampling import assert_preview_holds

    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes
    from core.training.experiment import run_experiment

    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "runs"))
    raw = csv_bytes(generated_texts({"sports": 60, "tech": 24, "food": 12, "rare": 4}, seed=6))
    dataset = build_dataset(read_csv_bytes(raw))
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.segmented_control(key="data_source_choice").set_value("Upload a CSV").run()
    app.file_uploader(key="data_upload").set_value(("rows.csv", raw, "text/csv")).run()
    for strategy in RESAMPLERS.keys():
        config = tiny_config(f"resampling.strategy={strategy}", "training.epochs=1", "data.text_column=text",
                             "data.label_column=label")
        app.session_state["lab_config"] = config
        app.switch_page("pages/model.py").run()
        assert not app.exception, strategy
        shown = _metric(app, "Rows per epoch")
        page_rows = int(re.sub(r"[^\d]", "", shown))
        kind = {"≤": "at most", "≈": "about"}.get(shown[0], "exact")
        result = run_experiment(dataset, config, runs_dir=None)
        trained = result.metrics.resampling.train_after
        assert sum(trained) == len(result.trained.resampled.y)
        assert kind == RESAMPLERS.get(strategy).preview_kind, strategy
        assert_preview_holds([page_rows], kind, [sum(trained)])
