"""The pre-flight estimate: a sane cost model, the run estimate of every kind of run, and no Keras import (the
parameter counts against Keras models are in tests/system/test_estimate_keras.py)."""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys

import pytest

from core.config import ExperimentConfig, ModelConfig, apply_overrides
from core.model import estimate, run_estimate
from support.paths import ROOT  # noqa: E402

# (subword_buckets, extension_size, vector_dim): pretrained words appended as fixed rows, vectors projected when
# their size differs from embedding_dim (16 here).

def test_l2_does_not_change_the_count():
    counts = {estimate.parameter_count(ModelConfig(l2=l2), vocab_size=500, num_classes=3, max_length=40)
              for l2 in (0.0, 1e-4, 0.5)}
    assert len(counts) == 1


SIZES = {"vocab_size": 5000, "num_classes": 4, "max_length": 100}


def seconds(*overrides: str, rows: int = 1000, **size_overrides) -> float:
    config = apply_overrides(ExperimentConfig(), list(overrides))
    return estimate.estimate_epoch(config, train_counts=[rows // 2, rows - rows // 2],
                                   **{**SIZES, **size_overrides}).seconds_per_epoch


def test_more_work_takes_longer():
    base = seconds()
    assert seconds("model.lstm_units=128") > base
    assert seconds(max_length=200) > base
    assert seconds(rows=2000) > base
    assert seconds("model.lstm_layers=2") > base
    assert seconds("model.embedding_dim=300") > base
    assert seconds("model.attention=multihead") > base
    assert seconds("model.recurrent_dropout=0.2") > base
    assert seconds("model.bidirectional=true") > seconds("model.bidirectional=false")
    assert seconds("training.batch_size=16") > seconds("training.batch_size=128")  # per-step overhead


def test_estimate_is_self_consistent():
    config = ExperimentConfig()
    result = estimate.estimate_epoch(config, train_counts=[600, 600], **SIZES)
    assert result.seconds_per_epoch > 0
    assert result.samples_per_second == pytest.approx(1200 / result.seconds_per_epoch)
    assert result.memory_mb == pytest.approx(sum(result.memory_breakdown.values()))
    assert result.memory_mb > estimate.RUNTIME_BASELINE_MB  # the runtime baseline is included
    assert any("2-core CPU" in note for note in result.notes)


def test_smote_trains_on_more_rows_and_more_memory():
    counts = [600, 300, 200, 100]
    plain = estimate.estimate_epoch(ExperimentConfig(), train_counts=counts, **SIZES)
    smote_config = apply_overrides(ExperimentConfig(), ["resampling.strategy=smote"])
    smote = estimate.estimate_epoch(smote_config, train_counts=counts, **SIZES)
    assert plain.rows_trained == 1200
    assert smote.rows_trained == 2400  # every class grown to the majority
    assert smote.memory_breakdown["training data"] > plain.memory_breakdown["training data"]
    assert smote.memory_mb > plain.memory_mb
    assert smote.seconds_per_epoch > plain.seconds_per_epoch
    assert any("embedded sequences" in note and "2,400 x 100 x 128" in note for note in smote.notes)
    given = estimate.estimate_epoch(smote_config, train_counts=counts, rows_after_resampling=3000, **SIZES)
    assert given.rows_trained == 3000


def test_rows_after_resampling_per_strategy():
    counts = [500, 40, 5, 0]

    def rows(strategy):
        return estimate.resampled_rows(apply_overrides(ExperimentConfig(), [f"resampling.strategy={strategy}"]), counts)

    assert rows("class_weights") == (545, "exact")
    assert rows("random_over") == (1500, "exact")
    assert rows("random_under") == (20 + 20 + 5, "exact")
    assert rows("adasyn") == (1500, "about")
    adasyn = estimate.estimate_epoch(apply_overrides(ExperimentConfig(), ["resampling.strategy=adasyn"]),
                                     train_counts=counts, **SIZES)
    assert adasyn.rows_trained == 1500 and adasyn.rows_kind == "about"
    assert any("decides while training" in note for note in adasyn.notes)


def test_recurrent_dropout_note():
    slow = estimate.estimate_epoch(apply_overrides(ExperimentConfig(), ["model.recurrent_dropout=0.25"]),
                                   train_counts=[400, 400], **SIZES)
    fast = estimate.estimate_epoch(ExperimentConfig(), train_counts=[400, 400], **SIZES)
    assert any("Recurrent dropout" in note and "cuDNN" in note for note in slow.notes)
    assert not any("Recurrent dropout" in note for note in fast.notes)


def test_k_folds_multiply_the_total():
    config, run = _run("split.k_folds=5")
    per_model = run.epoch_seconds * run.expected_epochs + run.epoch.first_epoch_extra_seconds
    assert (run.trained_models == 5
            and run.parts["epochs"] + run.parts["tracing"] == pytest.approx(5 * per_model, rel=0.02))


def test_default_model_lands_near_the_measured_throughput():
    """Calibration anchor: the default config at 1,200 rows took 3.1 s per epoch on the 2-core machine."""
    assert 2.0 < seconds(rows=1200) < 4.5


@pytest.mark.parametrize(
    "value, text",
    [(0, "0.0 s"), (0.84, "0.8 s"), (9.4, "9.4 s"), (42.4, "42 s"), (59.6, "1 min"), (185, "3 min 5 s"),
     (7620, "2 h 7 min")],
)
def test_format_seconds(value, text):
    assert estimate.format_seconds(value) == text


def test_importing_the_estimate_does_not_import_keras():
    code = (
        "import sys, core.model.estimate\n"
        "heavy = sorted(name for name in ('keras', 'tensorflow', 'torch', 'jax', 'sklearn', 'streamlit')"
        " if name in sys.modules)\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_results_are_frozen():
    row = estimate.model_summary(ModelConfig(), vocab_size=10, num_classes=2, max_length=4)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.parameters = 1


# --- the run estimate: one record for every page, single models and ensembles alike ---------------------------------

from core.data.splitting import stratified_folds, stratified_split  # noqa: E402
from core.text.vectorizing import build_vocabulary  # noqa: E402
from support.fakes import csv_bytes, generated_texts  # noqa: E402


@functools.lru_cache(maxsize=None)
def _corpus():
    """Generated rows, each pair of rows sharing a rare word, so vocabularies of different rows differ."""
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes
    from core.text.preprocessing import preprocess

    rows = generated_texts({"sports": 60, "tech": 40, "food": 25}, seed=2)
    rows = [(f"{text} rare{i % 50}x", label) for i, (text, label) in enumerate(rows)]
    dataset = build_dataset(read_csv_bytes(csv_bytes(rows), source_name="generated.csv"))
    return dataset, preprocess(dataset.texts, ExperimentConfig().preprocessing)[0]


def _run(*overrides: str) -> tuple[ExperimentConfig, "run_estimate.RunEstimate"]:
    dataset, processed = _corpus()
    config = apply_overrides(ExperimentConfig(), list(overrides))
    return config, run_estimate.estimate_run(config,
                                             run_estimate.run_shape(processed, dataset.y, dataset.class_names, config))


def test_a_k_fold_ensemble_counts_each_folds_rows_the_shared_vocabulary_and_every_member():
    dataset, processed = _corpus()
    config, run = _run("split.k_folds=5", "split.ensemble=true")
    split = stratified_split(dataset.y, config.split, config.seed, dataset.class_names)
    development = [*split.train, *split.validation]
    folds = stratified_folds(dataset.y[development], 5, config.seed)
    vocabulary = build_vocabulary([processed[i] for i in development], config.vectorizing.max_vocab_size,
                                  config.vectorizing.min_token_frequency).size  # what experiment.vectorize builds
    per_member = estimate.parameter_count(config.model, vocab_size=vocabulary, num_classes=3, max_length=run.max_length)
    assert run.vocabulary_size == vocabulary != build_vocabulary([processed[i] for i in split.train], 20000, 2).size
    assert run.rows_per_epoch == max(len(train) for train, _ in folds) < len(split.train)  # not the training split's
    assert "development rows × 4/5" in run.rows_basis
    assert (run.members, run.trained_models) == (5, 5)
    assert run.parameters == 5 * per_member and run.parameters_kind == "exact"


def test_a_blend_adds_its_frozen_table_to_every_member_and_its_fits_to_the_time():
    from core.choices.ngrams import blend_parameters

    config, plain = _run("split.k_folds=4", "split.ensemble=true")
    blended_config, blended = _run("split.k_folds=4", "split.ensemble=true", "model.blend=validated")
    dataset, processed = _corpus()
    shape = run_estimate.run_shape(processed, dataset.y, dataset.class_names, blended_config)
    words, pairs = shape.bag_of_words
    assert words > blended.vocabulary_size and pairs > 0  # every development word, also those below the floor
    table = blend_parameters(blended_config.model, 3, words, pairs)
    assert blended.parameters == plain.parameters + 4 * table
    assert blended.parts["blend"] > 0 == plain.parts["blend"]
    assert blended.seconds > plain.seconds


def test_seeds_and_a_kept_fold_are_counted_as_the_run_trains_and_saves_them():
    _, seeds = _run("split.ensemble_seeds=3")
    assert (seeds.members, seeds.trained_models, seeds.rows_basis) == (3, 3, "the training split")
    _, kept = _run("split.k_folds=3")  # one model saved, three trained, each fold with its own vocabulary
    assert (kept.members, kept.trained_models) == (1, 3)
    assert kept.parameters == kept.parameters_per_member
    assert any("best fold" in note for note in kept.notes)


def test_the_run_time_adds_up_its_parts_and_says_about_for_times_and_at_most_only_for_bounds():
    config, run = _run()
    assert run.seconds == pytest.approx(sum(run.parts.values()))
    assert run.cpu_seconds == pytest.approx(run_estimate.CPU_SECONDS_PER_SECOND * run.seconds)
    assert run.expected_epochs == run_estimate.EXPECTED_EPOCHS < run.epochs == config.training.epochs
    assert run.seconds_all_epochs == pytest.approx(run.seconds + run.epoch_seconds * (run.epochs - run.expected_epochs))
    text = run.time_text()
    assert text.startswith("about ") and "at most" not in text and f"if all {run.epochs} run" in text
    assert f"≈ {run.cpu_seconds:,.0f} CPU-seconds" in text
    _, fixed = _run("training.early_stopping=false", "training.epochs=2")
    assert (fixed.expected_epochs == 2 and fixed.seconds == fixed.seconds_all_epochs
            and "if all" not in fixed.time_text())
    dataset, processed = _corpus()
    inside = run_estimate.estimate_run(config,
                                       run_estimate.run_shape(processed, dataset.y, dataset.class_names, config),
                                       process_start=False)
    assert run.seconds - inside.seconds == pytest.approx(run_estimate.PROCESS_START_SECONDS)


def test_a_studys_runs_add_up_and_a_sweep_sizes_later_trials_from_draws():
    _, small = _run("model.lstm_units=16")
    _, large = _run("model.lstm_units=128")
    levers = run_estimate.estimate_study([small, large] * 2)
    assert levers.runs == 4
    assert levers.seconds == pytest.approx(2 * (small.seconds + large.seconds) + 4 * run_estimate.TRIAL_SECONDS)
    sweep = run_estimate.estimate_study([small, large, large], runs=10, sampled=2)
    assert sweep.seconds == pytest.approx(small.seconds + 9 * large.seconds + 10 * run_estimate.TRIAL_SECONDS)
    assert (sweep.cheapest, sweep.dearest) == (small.seconds, large.seconds)
    assert "10 runs" in sweep.time_text() and "drawn at random from the search space" in sweep.time_text()


def test_random_draws_stay_in_the_searched_ranges_and_repeat_with_the_seed():
    from core.evidence.study import default_space

    space = default_space()
    draws = run_estimate.random_settings(space.params, 30, seed=4)
    assert draws == run_estimate.random_settings(space.params, 30, seed=4) != run_estimate.random_settings(
        space.params, 30, seed=5
    )
    for draw in draws:
        assert all(spec.contains(draw[spec.name]) for spec in space.params)
        space.config_for(ExperimentConfig(), draw)  # a valid config
    assert len({draw["model.lstm_units"] for draw in draws}) > 10


def test_a_busy_server_stretches_the_wall_time_it_says():
    assert run_estimate.slowdown(0.0, 2) == 1.0 and run_estimate.busy_note(0.3, 2) == ""
    assert run_estimate.slowdown(6.0, 2) < run_estimate.slowdown(14.0, 2)
    assert "load average 14.0 on 2 cores" in run_estimate.busy_note(14.0, 2)


def test_the_recommendation_states_the_estimate_the_model_page_shows():
    from core.training.recommend import recommend

    dataset, processed = _corpus()
    recommendation = recommend(dataset)
    config = apply_overrides(ExperimentConfig(), list(recommendation.overrides))
    run = run_estimate.estimate_run(config, run_estimate.run_shape(processed, dataset.y, dataset.class_names, config))
    assert recommendation.estimated_cpu_seconds == round(run.cpu_seconds, 1)
    assert any(run.time_text() in reason for reason in recommendation.reasons)
