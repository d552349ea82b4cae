"""Fitting the classifier: optimizer and schedule, early stopping, live progress events and a cooperative stop.

The listener is any callable taking a :class:`ProgressEvent`. It hears one event when training starts, one every
``progress_every_batches`` batches, one per epoch (with validation metrics and the early-stopping state) and one at
the end. The stop signal is anything with ``is_set()`` (a ``threading.Event`` or a ``multiprocessing.Event``):
training ends after the current batch, keeps the finished epochs, and the model keeps its best weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import keras
import numpy as np
from keras import layers
from sklearn.metrics import f1_score

from core.choices.optimization import make_optimizer, schedule_callbacks
from core.choices.resampling import balanced_class_weights
from core.config import ModelConfig, TrainingConfig
from core.model.classifier import EMBEDDING, ClassifierModels
from core.progress import WARMUP, Listener, ProgressEvent, StopSignal
from core.training.batching import LengthBatches, batches_per_epoch, can_plan_ahead, predict_trimmed, tf_length_batches

_determinism_enabled = False


@dataclass
class TrainingOutcome:
    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: Optional[int]  # 1-based epoch whose weights the model holds, when early stopping tracked one
    stopped_by_user: bool
    early_stopped: bool
    duration_s: float
    samples_per_second: float
    partial_epoch: Optional[int] = None  # 1-based epoch cut short by Stop, if any
    # The validation probabilities of the weights the model ends with (the best epoch's when early stopping restored
    # them), or None when that epoch was never scored (cut short): the caller then scores the model itself.
    validation_probabilities: Optional[np.ndarray] = None
    validation_predictions_by_epoch: list[Optional[list[int]]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Same seed, same metrics on CPU: Python, NumPy and backend seeds, and TensorFlow's deterministic ops."""
    global _determinism_enabled
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow" and not _determinism_enabled:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        # Each run builds fresh models, so predict() retraces; TensorFlow warns about it on stderr. It is expected.
        tf.get_logger().setLevel("ERROR")
        _determinism_enabled = True


def _floats(logs: dict | None) -> dict[str, float]:
    return {key: float(value) for key, value in (logs or {}).items() if np.ndim(value) == 0}


class _Validation(keras.callbacks.Callback):
    """Scores the validation rows once per epoch, in one prediction pass: val_loss (cross-entropy plus the model's
    regularisation, as Keras reports it), val_accuracy and val_macro_f1 (for early stopping on imbalanced data, and
    for studies that report it each epoch).

    An epoch cut short by a stop request gets no validation scores: it is partial, so early stopping never picks it
    as the best epoch (Keras skips an epoch whose monitored value is missing).
    """

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray, batch_size: int, progress: "_Progress") -> None:
        super().__init__()
        self.x_val, self.y_val, self.batch_size, self.progress = x_val, np.asarray(y_val), batch_size, progress
        self.by_epoch: list[Optional[np.ndarray]] = []  # validation probabilities after each epoch (None: partial)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.progress.epoch_is_partial():
            self.by_epoch.append(None)
            return
        probabilities = np.asarray(predict_trimmed(self.model, self.x_val, self.batch_size * 4), dtype=np.float64)
        self.by_epoch.append(probabilities)
        picked = np.clip(probabilities[np.arange(len(self.y_val)), self.y_val], 1e-7, 1.0)
        regularisation = sum(float(keras.ops.convert_to_numpy(loss)) for loss in self.model.losses)
        predicted = probabilities.argmax(axis=1)
        logs["val_loss"] = float(-np.log(picked).mean()) + regularisation
        logs["val_accuracy"] = float((predicted == self.y_val).mean())
        logs["val_macro_f1"] = float(f1_score(self.y_val, predicted, average="macro", zero_division=0))


class _EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's early stopping, silent about (and blind to) an epoch cut short by a stop request."""

    def __init__(self, epoch_is_partial: Callable[[], bool], **options) -> None:
        super().__init__(**options)
        self.epoch_is_partial = epoch_is_partial

    def on_epoch_end(self, epoch, logs=None):
        if not self.epoch_is_partial():
            super().on_epoch_end(epoch, logs)


class _Progress(keras.callbacks.Callback):
    """Turns Keras callbacks into ProgressEvents and a stop request into ``stop_training``."""

    def __init__(
        self, emit: Callable[..., None], stop: Optional[StopSignal], every: int, early_stopping, batches: int
    ) -> None:
        super().__init__()
        self.emit, self.stop, self.every, self.early_stopping = emit, stop, every, early_stopping
        self.batches = batches
        self.stopped_by_user = False
        self.history: dict[str, list[float]] = {}
        self.epochs_done = 0
        self.batches_this_epoch = 0
        self.epoch_started = 0.0
        self.partial_epoch: Optional[int] = None
        self.scored_rows = 0

    def epoch_is_partial(self) -> bool:
        """The epoch now ending was cut short by Stop (some of its batches never ran)."""
        return self.stopped_by_user and self.batches_this_epoch < self.batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches_this_epoch = 0
        self.epoch_started = time.perf_counter()

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            self.model.stop_training = True
            self.stopped_by_user = True

    def on_train_begin(self, logs=None):
        self.emit("start", epoch=1, batch=0, scored_rows=self.scored_rows)

    def on_train_batch_end(self, batch, logs=None):
        self.batches_this_epoch = batch + 1
        self._check_stop()
        if (batch + 1) % self.every == 0 or self.stopped_by_user:
            self.emit("batch", epoch=self.epochs_done + 1, batch=batch + 1, logs=_floats(logs))
        self._check_stop()  # a listener may have asked to stop while handling this batch

    def on_epoch_end(self, epoch, logs=None):
        partial = self.epoch_is_partial()
        self._check_stop()
        values = _floats(logs)
        values["learning_rate"] = _current_learning_rate(self.model)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        self.epochs_done = epoch + 1
        if partial:
            self.partial_epoch = epoch + 1
        best_epoch, waiting = None, 0
        if (self.early_stopping is not None and self.early_stopping.best_epoch is not None
                and self.early_stopping.best is not None):
            best_epoch, waiting = self.early_stopping.best_epoch + 1, self.early_stopping.wait
        self.emit("epoch", epoch=epoch + 1, batch=-1, logs=values, best_epoch=best_epoch,
                  epochs_without_improvement=waiting, epoch_seconds=time.perf_counter() - self.epoch_started,
                  partial=partial)


def _build_training_state(network: keras.Model, x_train: np.ndarray, y_train: np.ndarray) -> None:
    """Create the optimizer's slots and the loss and metric state before ``fit`` on TensorFlow.

    Keras's TensorFlow trainer (without a distribution strategy) leaves them to the first trace of the training
    step, and a ``tf.function`` whose first trace creates variables is traced a second time: about 0.7 s of a 4.1 s
    first epoch on the built-in data (measured). The other backends already build them this way inside ``fit``.
    The state created is the same (zeros), so the training is too: a seeded run gave identical histories, metrics
    and replays with and without this (compared field by field).
    """
    if keras.backend.backend() != "tensorflow" or len(y_train) == 0:
        return
    symbolic_build = getattr(network, "_symbolic_build", None)
    if symbolic_build is None:  # a Keras without it: the first trace builds the state, as before
        return
    try:
        symbolic_build(data_batch=(np.asarray(x_train[:1]), np.asarray(y_train[:1]), None))
    except Exception:  # noqa: BLE001 - building early is only a shortcut; fit builds whatever is missing
        pass


def _current_learning_rate(model: keras.Model) -> float:
    optimizer = model.optimizer
    rate = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate))


def train(
    models: ClassifierModels,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainingConfig,
    *,
    embedded: bool = False,
    class_weight: Optional[dict[int, float]] = None,
    listener: Optional[Listener] = None,
    stop: Optional[StopSignal] = None,
    fold: Optional[int] = None,
    folds: Optional[int] = None,
    scored_rows: int = 0,
    replay: Optional[keras.callbacks.Callback] = None,
    seed: int = 0,
    length_buckets: bool = True,
) -> TrainingOutcome:
    """Fit ``models.model`` (or, for embedded inputs from SMOTE, ``models.embedded_model``) with validation.

    With ``length_buckets`` (the default) every batch holds rows of similar length, trimmed to its longest row
    (:mod:`core.training.batching`): the same model outputs, a fraction of the LSTM steps. ``seed`` fixes the batches.
    """
    network = models.embedded_model if embedded else models.model
    batches = batches_per_epoch(len(y_train), config.batch_size)
    network.compile(
        optimizer=make_optimizer(config, batches), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    _build_training_state(network, x_train, y_train)
    started = time.perf_counter()
    has_validation = len(y_val) > 0

    def emit(kind: str, *, epoch: int, batch: int, logs: dict | None = None, **extra) -> None:
        if listener is not None:
            event = ProgressEvent(
                kind=kind, epoch=epoch, epochs=config.epochs, batch=batch if batch >= 0 else batches, batches=batches,
                logs=logs or {}, elapsed_s=time.perf_counter() - started, fold=fold, folds=folds,
                patience=config.patience if early_stopping is not None else None, **extra,
            )
            listener(event)

    early_stopping = None
    epoch_is_partial = lambda: progress.epoch_is_partial()  # noqa: E731 - progress is created just below
    if config.early_stopping and has_validation:
        mode = "min" if config.monitor == "val_loss" else "max"
        early_stopping = _EarlyStopping(epoch_is_partial, monitor=config.monitor, mode=mode, patience=config.patience,
                                        restore_best_weights=True)
    progress = _Progress(emit, stop, config.progress_every_batches, early_stopping, batches)
    progress.scored_rows = scored_rows
    # Order matters: validation scores enter the logs first, then the callbacks that read them.
    validation = _Validation(x_val, y_val, config.batch_size, progress) if has_validation else None
    callbacks: list[keras.callbacks.Callback] = [validation] if validation is not None else []
    if early_stopping is not None:
        callbacks.append(early_stopping)
    if has_validation:
        callbacks.extend(schedule_callbacks(config))
    if replay is not None:
        callbacks.append(replay)
    callbacks.append(progress)

    if stop is not None and stop.is_set():
        return TrainingOutcome({}, 0, None, True, False, 0.0, 0.0)
    if length_buckets and keras.backend.backend() == "tensorflow" and can_plan_ahead(len(y_train), config.epochs):
        bucketed = tf_length_batches(x_train, y_train, config.batch_size, seed=seed, epochs=config.epochs)
        network.fit(bucketed, epochs=config.epochs, steps_per_epoch=batches, class_weight=class_weight,
                    callbacks=callbacks, shuffle=False, verbose=0)
    elif length_buckets:
        bucketed = LengthBatches(x_train, y_train, config.batch_size, seed=seed)
        network.fit(bucketed, epochs=config.epochs, class_weight=class_weight, callbacks=callbacks, shuffle=False,
                    verbose=0)
    else:
        network.fit(
            x_train, y_train,
            epochs=config.epochs, batch_size=config.batch_size, class_weight=class_weight,
            callbacks=callbacks, shuffle=True, verbose=0,
        )
    duration = time.perf_counter() - started
    scored = early_stopping is not None and early_stopping.best is not None  # at least one full epoch was scored
    best_epoch = early_stopping.best_epoch + 1 if scored else None
    # Keras records a stopped epoch even when patience runs out on the last epoch: that run trained every epoch, so
    # it did not stop early (and "Early stopping after 15 epochs" of 15 would say it had).
    early_stopped = bool(early_stopping is not None and early_stopping.stopped_epoch > 0
                         and not progress.stopped_by_user and progress.epochs_done < config.epochs)
    outcome = TrainingOutcome(
        history=progress.history,
        epochs_run=progress.epochs_done,
        best_epoch=best_epoch,
        stopped_by_user=progress.stopped_by_user,
        early_stopped=early_stopped,
        duration_s=duration,
        samples_per_second=len(y_train) * progress.epochs_done / duration if duration > 0 else 0.0,
        partial_epoch=progress.partial_epoch,
        validation_probabilities=_final_validation(validation, best_epoch),
        validation_predictions_by_epoch=[None if p is None else p.argmax(axis=1).tolist() for p in validation.by_epoch]
        if validation is not None else [],
    )
    emit("end", epoch=progress.epochs_done, batch=-1, best_epoch=best_epoch, message=_end_message(outcome))
    return outcome


def warm_up_tracing() -> None:
    """Train a tiny model of the engine's kind (bidirectional LSTM, attention, class weights, the default
    optimizer and schedule) for one epoch of two batches, score it, and throw it away. A process's first traced
    training and prediction functions pay one-time costs (TensorFlow's lazily loaded modules, autograph, kernel
    registration) that a user's first epoch then skips: about 0.5 s of a 4.2 s first epoch on the built-in data
    (measured). Warm workers run this before their job arrives; the job's results do not change (tested)."""
    from core.config import ExperimentConfig, apply_overrides
    from core.model.classifier import build_classifier

    config = apply_overrides(ExperimentConfig(), ["model.embedding_dim=4", "model.lstm_units=2",
                                                  "model.attention_units=2", "training.epochs=1",
                                                  "training.batch_size=4"])
    seed_everything(0)
    models = build_classifier(config.model, vocab_size=20, num_classes=2, max_length=6, seed=0)
    x = np.array([[2, 3, 4, 5, 6, 7], [2, 3, 0, 0, 0, 0], [8, 9, 10, 0, 0, 0], [4, 4, 0, 0, 0, 0]] * 2, dtype="int32")
    y = np.array([0, 1, 0, 1] * 2)
    train(models, x, y, x, y, config.training, class_weight={0: 1.0, 1: 1.0})
    keras.backend.clear_session()


class ExampleReplay(keras.callbacks.Callback):
    """After every epoch, the token weights of a few fixed validation examples, so the Evaluate page can replay how
    the model's reading changed: attention weights when the model has attention, else leave-one-token-out."""

    def __init__(self, models: ClassifierModels, example_ids: np.ndarray) -> None:
        super().__init__()
        self.models, self.example_ids = models, np.asarray(example_ids)
        self.method = "attention" if models.explainer is not None else "occlusion"
        self.by_epoch: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        from core.model.evaluation import occlusion_importance, token_weights

        ids = self.example_ids
        if len(ids) == 0:
            return
        if self.method == "attention":
            # predict_on_batch: model.predict would build and tear down a tf.data iterator every epoch (~0.07 s
            # of a 0.63 s epoch for these few rows, measured); one batch needs none.
            probabilities, weights = (np.asarray(a) for a in self.models.explainer.predict_on_batch(ids))
            rows = [token_weights(weights[i], ids[i]) for i in range(len(ids))]
        else:
            predict = lambda batch: predict_trimmed(self.models.model, batch, len(batch))  # noqa: E731
            probabilities = np.asarray(predict(ids))
            rows = [occlusion_importance(predict, ids[i], int(probabilities[i].argmax())) for i in range(len(ids))]
        self.by_epoch.append({"predicted": probabilities.argmax(axis=1).tolist(),
                              "weights": [[round(float(w), 4) for w in row] for row in rows]})


def _final_validation(validation: Optional[_Validation], best_epoch: Optional[int]) -> Optional[np.ndarray]:
    """The validation probabilities of the weights training ends with: the best epoch's when early stopping
    restored them, else the last epoch's (None if that one was cut short)."""
    if validation is None or not validation.by_epoch:
        return None
    return validation.by_epoch[(best_epoch or len(validation.by_epoch)) - 1]


def _end_message(outcome: TrainingOutcome) -> str:
    if outcome.stopped_by_user:
        cut = f" (epoch {outcome.partial_epoch} cut short)" if outcome.partial_epoch else ""
        return f"Stopped by request after {outcome.epochs_run} epoch(s){cut}."
    if outcome.early_stopped:
        return f"Early stopping after {outcome.epochs_run} epochs; kept the weights of epoch {outcome.best_epoch}."
    return f"Finished {outcome.epochs_run} epoch(s)."


def warm_up_embedding(
    x_train: np.ndarray,
    y_train: np.ndarray,
    vocab_size: int,
    num_classes: int,
    model_config: ModelConfig,
    epochs: int,
    batch_size: int,
    seed: int,
    listener: Optional[Listener] = None,
) -> np.ndarray:
    """Briefly train a bag-of-embeddings classifier and return its embedding matrix (SMOTE's continuous space)."""
    token_ids = keras.Input(shape=(x_train.shape[1],), dtype="int32")
    vectors = layers.Embedding(
        vocab_size, model_config.embedding_dim, mask_zero=True, name="warmup_embedding"
    )(token_ids)
    pooled = layers.GlobalAveragePooling1D()(vectors)
    probabilities = layers.Dense(num_classes, activation="softmax")(pooled)
    warmup = keras.Model(token_ids, probabilities)
    warmup.compile(optimizer=keras.optimizers.Adam(5e-3), loss="sparse_categorical_crossentropy")
    class_weight = balanced_class_weights(np.bincount(y_train, minlength=num_classes))
    for epoch in range(epochs):
        warmup.fit(x_train, y_train, epochs=1, batch_size=batch_size, class_weight=class_weight, shuffle=True,
                   verbose=0)
        if listener is not None:
            listener(ProgressEvent(kind="batch", epoch=0, epochs=0, batch=epoch + 1, batches=epochs, phase=WARMUP,
                                   message=f"Training the embedding for SMOTE ({epoch + 1}/{epochs})"))
    return np.asarray(warmup.get_layer("warmup_embedding").get_weights()[0])


def embedder(weights: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Token IDs → token vectors, zero on padding (so the embedded model's Masking layer recovers the mask)."""

    def embed(token_ids: np.ndarray) -> np.ndarray:
        vectors = weights[token_ids].astype(np.float32)
        vectors[token_ids == 0] = 0.0
        return vectors

    return embed


def freeze_embedding(models: ClassifierModels, weights: np.ndarray) -> None:
    layer = models.model.get_layer(EMBEDDING)
    layer.set_weights([weights])
    layer.trainable = False

