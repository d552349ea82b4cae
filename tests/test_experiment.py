"""End-to-end engine behaviour on tiny generated data: sealing of the test split, progress, stop, k-fold, seeds."""

import threading

import numpy as np
import pytest

import core.resampling
from core.data import build_dataset, read_csv_bytes
from core.experiment import STATUS_STOPPED, run_experiment, split_rows

from conftest import csv_bytes, generated_texts, tiny_config


def _with_test_only_tokens(dataset_rows, config):
    """Mark every test row with a token that appears nowhere else, so any leak is visible."""
    dataset = build_dataset(read_csv_bytes(csv_bytes(dataset_rows)))
    split = split_rows(dataset, config)
    texts = dict(zip(range(len(dataset.texts)), dataset.texts))
    rows = [(texts[i] + (f" sealedtoken{i}" if i in set(split.test.tolist()) else ""), dataset.labels[i]) for i in range(len(texts))]
    return build_dataset(read_csv_bytes(csv_bytes(rows))), split


@pytest.mark.parametrize("strategy", ["random_over", "smote"])
def test_nothing_from_the_test_split_reaches_training(monkeypatch, strategy):
    config = tiny_config(f"resampling.strategy={strategy}")
    rows = generated_texts({"sports": 40, "tech": 15, "rare": 2}, seed=5)
    dataset, split = _with_test_only_tokens(rows, config)
    seen = {}
    original = core.resampling.resample_training

    def spy(x, y, num_classes, cfg, seed, embed=None):
        seen["x"], seen["y"] = x.copy(), y.copy()
        return original(x, y, num_classes, cfg, seed, embed)

    monkeypatch.setattr(core.resampling, "resample_training", spy)
    result = run_experiment(dataset, config, runs_dir=None)
    vocabulary = result.trained.vectorized.vocabulary
    assert not [t for t in vocabulary.tokens if t.startswith("sealedtoken")]  # vocabulary: training rows only
    # the resampler received exactly the training rows, encoded; nothing synthesized can come from elsewhere
    assert len(seen["y"]) == len(split.train)
    assert np.array_equal(seen["y"], dataset.y[split.train])
    assert np.array_equal(seen["x"], result.trained.vectorized.x["train"])
    # resampling changed training counts only; validation and test counts are the split's
    counts = result.metrics.split
    assert counts.test == np.bincount(dataset.y[split.test], minlength=3).tolist()
    assert counts.validation == np.bincount(dataset.y[split.validation], minlength=3).tolist()
    assert result.metrics.resampling.train_before == counts.train
    assert result.metrics.resampling.train_after != counts.train
    assert result.metrics.test.support == len(split.test)


def test_progress_events_flow_to_the_listener(imbalanced_dataset):
    events = []
    result = run_experiment(imbalanced_dataset, tiny_config(), listener=events.append, runs_dir=None)
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in epochs] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1", "learning_rate"} <= set(epochs[0].logs)
    assert sum(k == "batch" for k in kinds) >= 2  # progress_every_batches=1: one per batch
    assert result.history["loss"] == [e.logs["loss"] for e in epochs]


def test_stop_ends_after_the_current_batch_and_keeps_the_model(imbalanced_dataset, tmp_path):
    stop = threading.Event()
    batches = []

    def listener(event):
        if event.kind == "batch":
            batches.append(event)
            stop.set()  # ask to stop as soon as the first batch is done

    result = run_experiment(imbalanced_dataset, tiny_config("training.epochs=5"), listener=listener, stop=stop, runs_dir=tmp_path)
    assert result.status == STATUS_STOPPED
    assert len(batches) == 1  # no second batch ran
    assert result.metrics.training.epochs_run == 1 and result.metrics.training.stopped_by_user
    assert result.run_dir is not None and (result.run_dir / "model.keras").is_file()
    assert result.metrics.test.support > 0  # the kept model was evaluated


def test_same_seed_same_metrics(balanced_dataset):
    config = tiny_config("seed=11")
    first = run_experiment(balanced_dataset, config, runs_dir=None)
    second = run_experiment(balanced_dataset, config, runs_dir=None)
    assert first.history == second.history
    assert first.metrics.test == second.metrics.test


def test_k_fold_reports_each_fold_and_resamples_inside_folds(monkeypatch, imbalanced_dataset):
    calls = []
    original = core.resampling.resample_training

    def spy(x, y, num_classes, cfg, seed, embed=None):
        calls.append(len(y))
        return original(x, y, num_classes, cfg, seed, embed)

    monkeypatch.setattr(core.resampling, "resample_training", spy)
    config = tiny_config("split.k_folds=3", "resampling.strategy=random_over", "training.epochs=1")
    result = run_experiment(imbalanced_dataset, config, runs_dir=None)
    folds = result.metrics.folds
    split = split_rows(imbalanced_dataset, config)
    development = len(split.train) + len(split.validation)
    assert folds.k == 3 and len(folds.per_fold) == 3
    assert folds.test["macro_f1"].sd >= 0
    assert len(calls) == 3 and all(n < development for n in calls)  # each fold's training part only


def test_impossible_k_fold_is_a_config_error():
    from core.errors import ConfigError

    from conftest import make_dataset

    dataset = make_dataset({"sports": 30, "tech": 8, "rare": 2})  # only one class has 10 non-test rows
    with pytest.raises(ConfigError, match="k_folds"):
        run_experiment(dataset, tiny_config("split.k_folds=10"), runs_dir=None)
