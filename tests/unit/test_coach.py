"""The training coach on synthetic curves and metrics: every rule fires when it should and stays quiet when not."""

from __future__ import annotations

import math

import pytest

from core.config import ExperimentConfig, apply_overrides
from core.teaching.coach import Diagnosis, diagnose

DEFAULT = ExperimentConfig()
NO_EARLY_STOPPING = apply_overrides(DEFAULT, ["training.early_stopping=false"])


def keys(diagnoses) -> list[str]:
    return [d.key for d in diagnoses]


def only(diagnoses, key: str) -> Diagnosis:
    found = [d for d in diagnoses if d.key == key]
    assert len(found) == 1, keys(diagnoses)
    return found[0]


def changed_settings(before: ExperimentConfig, after: ExperimentConfig) -> list[str]:
    def flat(raw: dict, prefix: str = "") -> dict:
        out = {}
        for key, value in raw.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out

    old, new = flat(before.to_dict()), flat(after.to_dict())
    return [key for key in old if old[key] != new[key]]


def assert_one_change(diagnosis: Diagnosis, config: ExperimentConfig) -> ExperimentConfig:
    assert len(diagnosis.overrides) == 1
    changed = apply_overrides(config, list(diagnosis.overrides))
    assert changed_settings(config, changed) == [diagnosis.overrides[0].split("=")[0]]
    return changed


HEALTHY = {
    "loss": [1.20, 0.85, 0.62, 0.48, 0.40, 0.35],
    "accuracy": [0.45, 0.66, 0.78, 0.84, 0.87, 0.89],
    "val_loss": [1.05, 0.80, 0.66, 0.60, 0.58, 0.585],
    "val_accuracy": [0.55, 0.70, 0.76, 0.79, 0.80, 0.80],
}
GOOD_METRICS = {
    "test": {
        "macro_f1": 0.61,
        "confusion": {"labels": ["a", "b", "c"], "counts": [[10, 1, 0], [2, 8, 1], [0, 1, 3]]},
    },
    "baseline": {"available": True, "macro_f1": 0.60},
    "vectorizing": {"max_length": 71, "suggested_max_length": 71, "truncated_share": 0.05},
}


def test_a_healthy_run_gets_no_diagnosis():
    assert diagnose(HEALTHY, metrics=GOOD_METRICS, config=DEFAULT, position_bias=0.1) == []
    assert diagnose(HEALTHY, live=True) == []
    assert diagnose({}) == []


# ------------------------------------------------------------------------------------------------ overfitting

OVERFITTING = {
    "loss": [1.10, 0.80, 0.55, 0.40, 0.30, 0.21],
    "accuracy": [0.50, 0.70, 0.80, 0.88, 0.92, 0.95],
    "val_loss": [0.90, 0.70, 0.62, 0.66, 0.74, 0.81],
    "val_accuracy": [0.60, 0.68, 0.70, 0.69, 0.68, 0.67],
}


def test_overfitting_names_the_epochs_and_numbers():
    diagnosis = only(diagnose(OVERFITTING, config=NO_EARLY_STOPPING), "overfitting")
    assert diagnosis.severity == "warning"
    assert diagnosis.evidence == (
        "validation loss rose from 0.62 (epoch 3) to 0.81 (epoch 6) while training loss fell from 0.55 to 0.21."
    )
    assert diagnosis.overrides == ("training.early_stopping=true",)
    assert_one_change(diagnosis, NO_EARLY_STOPPING)


def test_overfitting_suggestion_depends_on_the_config():
    # Early stopping already on (so the best weights were kept: info) → one dropout step up.
    with_stopping = only(diagnose(OVERFITTING, config=DEFAULT), "overfitting")
    assert with_stopping.severity == "info"
    assert with_stopping.overrides == ("model.dropout=0.6",)
    low_dropout = apply_overrides(DEFAULT, ["model.dropout=0.2"])
    assert only(diagnose(OVERFITTING, config=low_dropout), "overfitting").overrides == ("model.dropout=0.3",)
    # Dropout at the top of the steps → a stronger L2 penalty; then → fewer units.
    maxed = apply_overrides(DEFAULT, ["model.dropout=0.7", "model.l2=0.0001"])
    assert only(diagnose(OVERFITTING, config=maxed), "overfitting").overrides == ("model.l2=0.001",)
    strong = apply_overrides(maxed, ["model.l2=0.01"])
    diagnosis = only(diagnose(OVERFITTING, config=strong), "overfitting")
    assert diagnosis.overrides == ("model.lstm_units=32",)
    assert_one_change(diagnosis, strong)


@pytest.mark.parametrize(
    "history",
    [
        HEALTHY,
        # One epoch of rise after the best is noise, not a trend.
        {"loss": [1.0, 0.7, 0.55, 0.45], "val_loss": [0.9, 0.7, 0.62, 0.70]},
        # Both losses rise: that is not the model memorising the training set.
        {"loss": [1.0, 0.7, 0.55, 0.60, 0.66], "val_loss": [0.9, 0.7, 0.62, 0.70, 0.75]},
        # A rise too small to matter.
        {"loss": [1.0, 0.7, 0.55, 0.45, 0.40], "val_loss": [0.9, 0.7, 0.620, 0.625, 0.630]},
        # No validation curve at all.
        {"loss": [1.0, 0.7, 0.55, 0.45, 0.40]},
    ],
)
def test_overfitting_stays_quiet(history):
    assert "overfitting" not in keys(diagnose(history, config=NO_EARLY_STOPPING))


# ------------------------------------------------------------------------------------------------ underfitting

STILL_LEARNING = {
    "loss": [1.30, 1.10, 0.95, 0.84],
    "accuracy": [0.35, 0.45, 0.55, 0.62],
    "val_loss": [1.20, 1.05, 0.95, 0.88],
    "val_accuracy": [0.40, 0.50, 0.56, 0.60],
}
FLAT_AND_HIGH = {
    "loss": [1.30, 0.95, 0.90, 0.89, 0.885],
    "accuracy": [0.35, 0.50, 0.52, 0.525, 0.53],
    "val_loss": [1.20, 0.99, 0.97, 0.965, 0.962],
    "val_accuracy": [0.40, 0.50, 0.51, 0.51, 0.51],
}


def test_underfitting_while_still_learning_suggests_more_epochs():
    diagnosis = only(diagnose(STILL_LEARNING, config=DEFAULT), "underfitting")
    assert "0.55 at epoch 3" in diagnosis.evidence and "0.62 at epoch 4" in diagnosis.evidence
    assert diagnosis.overrides == ("training.epochs=30",)
    assert_one_change(diagnosis, DEFAULT)


def test_underfitting_flat_and_high_suggests_room_or_less_dropout():
    diagnosis = only(diagnose(FLAT_AND_HIGH, config=DEFAULT), "underfitting")
    assert "epochs 3-5" in diagnosis.evidence and "0.53" in diagnosis.evidence
    assert diagnosis.overrides == ("model.dropout=0.4",)
    light = apply_overrides(DEFAULT, ["model.dropout=0.2"])
    diagnosis = only(diagnose(FLAT_AND_HIGH, config=light), "underfitting")
    assert diagnosis.overrides == ("model.lstm_units=128",)
    assert_one_change(diagnosis, light)
    # The flat case is about the curve so far, so it may speak while training runs.
    assert "underfitting" in keys(diagnose(FLAT_AND_HIGH, live=True))


def test_underfitting_stays_quiet():
    assert "underfitting" not in keys(diagnose(HEALTHY, config=DEFAULT))
    # "Still rising" judges a finished run: mid-training every curve is still rising.
    assert "underfitting" not in keys(diagnose(STILL_LEARNING, config=DEFAULT, live=True))
    # Validation has stopped improving: more epochs would not help.
    stalled = dict(STILL_LEARNING, val_loss=[1.20, 0.90, 0.95, 0.99])
    assert "underfitting" not in keys(diagnose(stalled, config=DEFAULT))
    # Too short to judge.
    assert "underfitting" not in keys(diagnose({k: v[:2] for k, v in FLAT_AND_HIGH.items()}, config=DEFAULT))


# ------------------------------------------------------------------------------------------------ learning rate


def test_learning_rate_too_high_on_a_loss_spike():
    history = {"loss": [1.00, 0.62, 1.15, 0.90], "accuracy": [0.5, 0.7, 0.5, 0.6]}
    diagnosis = only(diagnose(history, config=DEFAULT), "learning_rate_too_high")
    assert diagnosis.evidence.startswith("training loss jumped from 0.62 (epoch 2) to 1.15 (epoch 3)")
    assert diagnosis.overrides == ("training.learning_rate=0.001",)
    assert_one_change(diagnosis, DEFAULT)
    assert "learning_rate_too_high" in keys(diagnose(history, live=True))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_learning_rate_too_high_on_nan_or_inf(bad):
    history = {"loss": [1.0, 0.8, bad, bad], "val_loss": [1.0, 0.9, bad, bad]}
    diagnoses = diagnose(history, config=DEFAULT)
    diagnosis = only(diagnoses, "learning_rate_too_high")
    assert "at epoch 3" in diagnosis.evidence
    assert ("NaN" if math.isnan(bad) else "infinite") in diagnosis.evidence
    assert keys(diagnoses) == ["learning_rate_too_high"]  # the curve rules ignore a broken curve


def test_learning_rate_too_high_when_the_loss_never_beats_a_blind_guess():
    # Measured with learning rate 0.3 on the 4-class FAA data (lessons/03-learning-rate.toml).
    history = {"loss": [1.49, 1.41, 1.42, 1.41, 1.42, 1.43], "accuracy": [0.27, 0.31, 0.31, 0.33, 0.28, 0.30]}
    config = apply_overrides(DEFAULT, ["training.learning_rate=0.3"])
    diagnosis = only(diagnose(history, config=config, num_classes=4), "learning_rate_too_high")
    assert diagnosis.evidence == (
        "training loss never fell below 1.39, the loss of a blind guess among 4 classes"
        " (its lowest was 1.41 at epoch 2)."
    )
    assert diagnosis.overrides == ("training.learning_rate=0.15",)
    metrics = {"split": {"class_names": ["a", "b", "c", "d"]}}
    assert "learning_rate_too_high" in keys(diagnose(history, metrics=metrics, config=config))
    # Without the number of classes there is no blind-guess level to compare with.
    assert "learning_rate_too_high" not in keys(diagnose(history, config=config))
    # A curve that falls below the blind guess is learning; one that barely moves is a rate too low.
    assert "learning_rate_too_high" not in keys(diagnose(HEALTHY, config=config, num_classes=4))
    flat = {"loss": [1.386, 1.385, 1.384, 1.383], "accuracy": [0.25, 0.25, 0.26, 0.25]}
    assert keys(diagnose(flat, config=config, num_classes=4)) == ["learning_rate_too_low"]


def test_learning_rate_too_high_stays_quiet_on_small_wiggles():
    history = {"loss": [1.0, 0.6, 0.35, 0.38, 0.30, 0.20, 0.23]}  # +0.03 per wiggle: dropout noise
    assert "learning_rate_too_high" not in keys(diagnose(history, config=DEFAULT))


def test_learning_rate_too_low_when_the_loss_barely_moves():
    history = {"loss": [1.386, 1.385, 1.383, 1.381, 1.380], "accuracy": [0.24, 0.25, 0.25, 0.26, 0.25]}
    config = apply_overrides(DEFAULT, ["training.learning_rate=0.00005"])
    diagnoses = diagnose(history, config=config)
    diagnosis = only(diagnoses, "learning_rate_too_low")
    assert "from 1.39 (epoch 1) to 1.38 (epoch 5)" in diagnosis.evidence
    assert diagnosis.overrides == ("training.learning_rate=0.0005",)
    assert_one_change(diagnosis, config)
    assert "underfitting" not in keys(diagnoses)  # one cause, one diagnosis


def test_learning_rate_too_low_stays_quiet():
    converged = {"loss": [0.050, 0.049, 0.049, 0.048], "accuracy": [0.98, 0.98, 0.99, 0.99]}
    assert "learning_rate_too_low" not in keys(diagnose(converged, config=DEFAULT))
    too_short = {"loss": [1.386, 1.385], "accuracy": [0.25, 0.25]}
    assert "learning_rate_too_low" not in keys(diagnose(too_short, config=DEFAULT))
    assert "learning_rate_too_low" not in keys(diagnose(HEALTHY, config=DEFAULT))


def test_raising_the_learning_rate_respects_its_maximum():
    history = {"loss": [1.386, 1.385, 1.384], "accuracy": [0.25, 0.25, 0.25]}
    config = apply_overrides(DEFAULT, ["training.learning_rate=0.5"])
    diagnosis = only(diagnose(history, config=config), "learning_rate_too_low")
    assert diagnosis.overrides == ("training.learning_rate=1",)
    assert_one_change(diagnosis, config)


# ------------------------------------------------------------------------------------------------ results rules


def metrics_with(**parts) -> dict:
    return {**GOOD_METRICS, **parts}


def test_below_baseline_says_by_how_much():
    metrics = metrics_with(test={**GOOD_METRICS["test"], "macro_f1": 0.41},
                           baseline={"available": True, "macro_f1": 0.55})
    diagnosis = only(diagnose(HEALTHY, metrics=metrics, config=DEFAULT), "below_baseline")
    assert diagnosis.evidence.startswith("test macro-F1 was 0.41, 0.14 below the 0.55 of the TF-IDF")
    assert_one_change(diagnosis, DEFAULT)
    smote = apply_overrides(DEFAULT, ["resampling.strategy=smote"])
    assert only(diagnose(HEALTHY, metrics=metrics, config=smote), "below_baseline").overrides == (
        "resampling.strategy=class_weights",
    )
    one_way = apply_overrides(DEFAULT, ["model.bidirectional=false"])
    assert only(diagnose(HEALTHY, metrics=metrics, config=one_way), "below_baseline").overrides == (
        "model.bidirectional=true",
    )


def test_below_baseline_stays_quiet_within_noise_or_without_a_baseline():
    within_noise = metrics_with(test={**GOOD_METRICS["test"], "macro_f1": 0.52},
                                baseline={"available": True, "macro_f1": 0.535})
    assert "below_baseline" not in keys(diagnose(HEALTHY, metrics=within_noise, config=DEFAULT))
    unavailable = metrics_with(test={**GOOD_METRICS["test"], "macro_f1": 0.2}, baseline={"available": False})
    assert "below_baseline" not in keys(diagnose(HEALTHY, metrics=unavailable, config=DEFAULT))
    far_below = metrics_with(test={**GOOD_METRICS["test"], "macro_f1": 0.2})
    assert "below_baseline" not in keys(diagnose(HEALTHY, metrics=far_below, config=DEFAULT, live=True))


def test_a_class_never_predicted():
    confusion = {"labels": ["a", "rare", "c"], "counts": [[10, 0, 1], [3, 0, 1], [0, 0, 4]]}
    metrics = metrics_with(test={**GOOD_METRICS["test"], "confusion": confusion})
    none = apply_overrides(DEFAULT, ["resampling.strategy=none"])
    diagnosis = only(diagnose(HEALTHY, metrics=metrics, config=none), "class_never_predicted")
    assert "'rare' (4 test rows)" in diagnosis.evidence
    assert diagnosis.overrides == ("resampling.strategy=class_weights",)
    assert only(diagnose(HEALTHY, metrics=metrics, config=DEFAULT), "class_never_predicted").overrides == (
        "resampling.strategy=random_over",
    )
    assert_one_change(diagnosis, none)


def test_a_class_never_predicted_stays_quiet():
    assert "class_never_predicted" not in keys(diagnose(HEALTHY, metrics=GOOD_METRICS, config=DEFAULT))
    # A class absent from the test split that is also never predicted is not the model's fault.
    absent = {"labels": ["a", "gone", "c"], "counts": [[10, 0, 1], [0, 0, 0], [1, 0, 4]]}
    metrics = metrics_with(test={**GOOD_METRICS["test"], "confusion": absent})
    assert "class_never_predicted" not in keys(diagnose(HEALTHY, metrics=metrics, config=DEFAULT))


def test_heavy_truncation():
    known = metrics_with(vectorizing={"max_length": 40, "suggested_max_length": 40, "truncated_share": 0.18})
    diagnosis = only(diagnose(HEALTHY, metrics=known, config=DEFAULT), "heavy_truncation")
    assert "18% of training texts" in diagnosis.evidence and "40 tokens" in diagnosis.evidence
    assert diagnosis.overrides == ("vectorizing.length_percentile=99",)
    assert_one_change(diagnosis, DEFAULT)
    # Cut by hand far below the suggestion: the share is not recorded, the cut is still obviously heavy.
    by_hand = apply_overrides(DEFAULT, ["vectorizing.max_length=4"])
    cut = metrics_with(vectorizing={"max_length": 4, "suggested_max_length": 71, "truncated_share": None})
    diagnosis = only(diagnose(HEALTHY, metrics=cut, config=by_hand), "heavy_truncation")
    assert diagnosis.overrides == ("vectorizing.max_length=71",) and diagnosis.severity == "warning"
    assert_one_change(diagnosis, by_hand)


def test_heavy_truncation_stays_quiet():
    assert "heavy_truncation" not in keys(diagnose(HEALTHY, metrics=GOOD_METRICS, config=DEFAULT))
    near = metrics_with(vectorizing={"max_length": 60, "suggested_max_length": 71, "truncated_share": None})
    assert "heavy_truncation" not in keys(diagnose(HEALTHY, metrics=near, config=DEFAULT))
    heavy = metrics_with(vectorizing={"max_length": 40, "suggested_max_length": 40, "truncated_share": 0.5})
    assert "heavy_truncation" not in keys(diagnose(HEALTHY, metrics=heavy, config=DEFAULT, live=True))


def test_attention_that_follows_position():
    one_way = apply_overrides(DEFAULT, ["model.bidirectional=false"])
    diagnosis = only(diagnose(HEALTHY, config=one_way, position_bias=0.72), "attention_follows_position")
    assert "0.72" in diagnosis.evidence and "later" in diagnosis.evidence
    assert diagnosis.overrides == ("model.bidirectional=true",)
    earlier = only(diagnose(HEALTHY, config=DEFAULT, position_bias=-0.8), "attention_follows_position")
    assert "earlier" in earlier.evidence and earlier.overrides == ("model.attention=none",)
    # Read from the run's explanations record when not passed in.
    from_metrics = diagnose(HEALTHY, metrics=metrics_with(explanations={"position_bias": 0.9}), config=DEFAULT)
    assert "attention_follows_position" in keys(from_metrics)


def test_attention_position_stays_quiet():
    assert "attention_follows_position" not in keys(diagnose(HEALTHY, config=DEFAULT, position_bias=0.3))
    assert "attention_follows_position" not in keys(diagnose(HEALTHY, config=DEFAULT))
    assert "attention_follows_position" not in keys(diagnose(HEALTHY, config=DEFAULT, live=True, position_bias=0.9))


# ------------------------------------------------------------------------------------------------ the record


def test_warnings_come_first_and_every_suggestion_is_one_valid_change():
    metrics = metrics_with(
        test={"macro_f1": 0.2, "confusion": {"labels": ["a", "b"], "counts": [[5, 0], [4, 0]]}},
        vectorizing={"max_length": 40, "suggested_max_length": 40, "truncated_share": 0.15},
    )
    diagnoses = diagnose(OVERFITTING, metrics=metrics, config=NO_EARLY_STOPPING, position_bias=0.8)
    assert set(keys(diagnoses)) == {"overfitting", "below_baseline", "class_never_predicted", "heavy_truncation",
                                    "attention_follows_position"}
    severities = [d.severity for d in diagnoses]
    assert severities == sorted(severities, key=["warning", "info"].index)
    for diagnosis in diagnoses:
        assert_one_change(diagnosis, NO_EARLY_STOPPING)
        assert diagnosis.evidence.endswith(".") and diagnosis.suggestion.endswith(".")


def test_diagnosis_round_trips_and_rejects_an_unknown_severity():
    diagnosis = only(diagnose(OVERFITTING, config=NO_EARLY_STOPPING), "overfitting")
    raw = diagnosis.to_dict()
    assert raw["overrides"] == ["training.early_stopping=true"]
    assert Diagnosis.from_dict(raw) == diagnosis
    with pytest.raises(ValueError, match="severity"):
        Diagnosis.from_dict({**raw, "severity": "panic"})


@pytest.mark.slow
def test_diagnose_reads_a_real_run(imbalanced_dataset):
    import json

    from core.training.experiment import run_experiment
    from support.fakes import tiny_config

    config = tiny_config("training.epochs=3", "resampling.strategy=none")
    result = run_experiment(imbalanced_dataset, config, runs_dir=None)
    diagnoses = diagnose(result.history, metrics=result.metrics, config=result.config)
    for diagnosis in diagnoses:
        assert_one_change(diagnosis, result.config)
    # The metrics record and its metrics.json form give the same diagnoses.
    raw = result.metrics.to_dict() if hasattr(result.metrics, "to_dict") else result.metrics
    assert diagnose(result.history, metrics=json.loads(json.dumps(raw)), config=result.config) == diagnoses
    live = diagnose(result.history, live=True)
    assert set(keys(live)) <= {"learning_rate_too_high", "learning_rate_too_low", "overfitting", "underfitting"}


# ------------------------------------------------------------------------------------------------ in words


def test_a_change_reads_as_its_widget_label_and_value():
    from core.teaching.coach import settings_in_words

    assert settings_in_words(["model.bidirectional=true"]) == ["Bidirectional: on"]
    assert settings_in_words(["resampling.strategy=none", "vectorizing.max_length=none"]) == [
        "Resampling strategy: No resampling", "Max length (tokens): automatic"]
    assert settings_in_words(["training.monitor=val_macro_f1", "training.learning_rate=0.0001"]) == [
        "Monitor: Validation macro-F1", "Learning rate: 0.0001"]
    # Settings valid only together are read together: the ensemble needs k-fold (alone it would not apply).
    assert settings_in_words(["split.k_folds=5", "split.ensemble=true"]) == [
        "K-fold cross-validation (folds): 5", "Average the fold models (ensemble): on"]
    assert settings_in_words(["split.ensemble=true"]) == ["Average the fold models (ensemble): on"]


def test_no_suggestion_names_a_setting_by_its_key():
    """People read the coach: a suggestion says "the maximum length", never "max_length" or "model.dropout"."""
    import re

    from core.config import config_schema

    names = ({entry["setting"].rsplit(".", 1)[-1] for entry in config_schema()}
             | {entry["setting"] for entry in config_schema()})
    key = re.compile(r"\b(?:"
                     + "|".join(sorted((re.escape(n) for n in names if "_" in n or "." in n), key=len, reverse=True))
                     + r")\b")
    cases = [
        (OVERFITTING, metrics_with(test={"macro_f1": 0.2,
                                         "confusion": {"labels": ["a", "b"], "counts": [[5, 0], [4, 0]]}},
                                   vectorizing={"max_length": 40, "suggested_max_length": 40, "truncated_share": 0.15}),
         NO_EARLY_STOPPING),
        (HEALTHY, metrics_with(vectorizing={"max_length": 4, "suggested_max_length": 71, "truncated_share": None}),
         apply_overrides(DEFAULT, ["vectorizing.max_length=4"])),
        (HEALTHY, metrics_with(vectorizing={"max_length": 200, "suggested_max_length": 400, "truncated_share": 0.3}),
         apply_overrides(DEFAULT, ["vectorizing.max_length=200"])),
    ]
    said = [d.suggestion for history, metrics, config in cases
            for d in diagnose(history, metrics=metrics, config=config, position_bias=0.8)]
    assert len(said) >= 6
    assert [text for text in said if key.search(text)] == []
