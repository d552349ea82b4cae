"""End-to-end engine behaviour on tiny generated data: sealing of the test split, progress, stop, k-fold, seeds."""

import threading

import numpy as np
import pytest

import core.choices.resampling
from core.data.dataset import build_dataset
from core.data.reading import read_csv_bytes
from core.training.experiment import STATUS_STOPPED, run_experiment, split_rows
from support.fakes import csv_bytes, generated_texts, tiny_config


def _with_test_only_tokens(dataset_rows, config):
    """Mark every test row with a token that appears nowhere else, so any leak is visible."""
    dataset = build_dataset(read_csv_bytes(csv_bytes(dataset_rows)))
    split = split_rows(dataset, config)
    texts = dict(zip(range(len(dataset.texts)), dataset.texts))
    rows = [(texts[i] + (f" sealedtoken{i}" if i in set(split.test.tolist()) else ""), dataset.labels[i])
            for i in range(len(texts))]
    return build_dataset(read_csv_bytes(csv_bytes(rows))), split


@pytest.mark.parametrize("strategy", ["random_over", "smote"])
def test_nothing_from_the_test_split_reaches_training(monkeypatch, strategy):
    config = tiny_config(f"resampling.strategy={strategy}")
    rows = generated_texts({"sports": 40, "tech": 15, "rare": 2}, seed=5)
    dataset, split = _with_test_only_tokens(rows, config)
    seen = {}
    original = core.choices.resampling.resample_training

    def spy(x, y, num_classes, cfg, seed, embed=None):
        seen["x"], seen["y"] = x.copy(), y.copy()
        return original(x, y, num_classes, cfg, seed, embed)

    monkeypatch.setattr(core.choices.resampling, "resample_training", spy)
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
    phases = [e.phase for e in events if e.kind == "phase"]
    assert [p for p in dict.fromkeys(phases)] == ["preparing", "building", "evaluating"]  # runs_dir=None: nothing saved
    kinds = [e.kind for e in events if e.kind != "phase"]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert events[-1].kind == "phase" and events[-1].phase == "evaluating"  # the last thing said: what happens now
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in epochs] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1", "learning_rate"} <= set(epochs[0].logs)
    assert sum(k == "batch" for k in kinds) >= 2  # progress_every_batches=1: one per batch
    assert all(e.epoch_seconds and e.epoch_seconds > 0 and not e.partial for e in epochs)
    assert result.history["loss"] == [e.logs["loss"] for e in epochs]


def test_stop_ends_after_the_current_batch_and_keeps_the_model(imbalanced_dataset, tmp_path):
    stop = threading.Event()
    batches = []

    def listener(event):
        if event.kind == "batch":
            batches.append(event)
            stop.set()  # ask to stop as soon as the first batch is done

    result = run_experiment(imbalanced_dataset, tiny_config("training.epochs=5"), listener=listener, stop=stop,
                            runs_dir=tmp_path)
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
    original = core.choices.resampling.resample_training

    def spy(x, y, num_classes, cfg, seed, embed=None):
        calls.append(len(y))
        return original(x, y, num_classes, cfg, seed, embed)

    monkeypatch.setattr(core.choices.resampling, "resample_training", spy)
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
    from support.fakes import make_dataset

    dataset = make_dataset({"sports": 30, "tech": 8, "rare": 2})  # only one class has 10 non-test rows
    with pytest.raises(ConfigError, match="k_folds"):
        run_experiment(dataset, tiny_config("split.k_folds=10"), runs_dir=None)


def test_a_stop_mid_epoch_marks_that_epoch_partial_and_never_best(imbalanced_dataset, tmp_path):
    """Stop during epoch 3: the cut-short epoch is drawn (in the history) but flagged, gets no validation score,
    and early stopping's best epoch is a full one."""
    stop = threading.Event()
    epochs_seen = []

    def listener(event):
        if event.kind == "epoch":
            epochs_seen.append(event)
        if event.kind == "batch" and event.epoch == 3 and event.batch == 1:
            stop.set()

    config = tiny_config("training.epochs=6", "training.patience=6", "training.batch_size=8")
    result = run_experiment(imbalanced_dataset, config, listener=listener, stop=stop, runs_dir=tmp_path)
    assert result.status == STATUS_STOPPED
    assert [e.partial for e in epochs_seen] == [False, False, True]
    assert "val_loss" not in epochs_seen[-1].logs and "val_loss" in epochs_seen[0].logs
    training = result.trained.outcome
    assert training.partial_epoch == 3 and training.best_epoch in (1, 2)
    assert len(result.history["loss"]) == 3 and len(result.history["val_loss"]) == 2


def test_data_that_cannot_be_scored_is_refused_before_training(tmp_path):
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_bytes
    from core.errors import DataError

    one_row_per_class = build_dataset(read_csv_bytes(b"text,label\nthe goal was great,sports\nnew laptop chip,tech\n"),
                                      "text", "label")
    with pytest.raises(DataError, match="single row"):
        run_experiment(one_row_per_class, tiny_config(), runs_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing saved


def test_k_fold_saves_each_non_test_rows_out_of_fold_probabilities(imbalanced_dataset, tmp_path):
    from core.evidence.label_issues import lstm_out_of_fold
    from core.runs.store import load_run

    config = tiny_config("split.k_folds=3", "training.epochs=1")
    result = run_experiment(imbalanced_dataset, config, runs_dir=tmp_path)
    out_of_fold = load_run(result.run_dir).attachment("out_of_fold")
    split = split_rows(imbalanced_dataset, config)
    foldable = np.bincount(imbalanced_dataset.y[np.concatenate([split.train, split.validation])]) >= 3
    expected = [r for r in np.concatenate([split.train, split.validation]) if foldable[imbalanced_dataset.y[r]]]
    assert sorted(out_of_fold["rows"]) == sorted(int(r) for r in expected)  # each held out exactly once
    assert all(abs(sum(p) - 1) < 1e-3 for p in out_of_fold["probabilities"])
    aligned = lstm_out_of_fold(np.sort(np.concatenate([split.train, split.validation])), out_of_fold, 3)
    assert aligned.shape[1] == 3 and np.isfinite(aligned).all(axis=1).sum() == len(expected)
