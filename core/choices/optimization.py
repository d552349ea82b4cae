"""Optimizers and learning-rate schedules, one registry record each.

Each record says what the choice does and which ``training.*`` settings it reads (the Model page shows exactly
those), and makes its Keras object on demand (Keras is imported only then: this module is imported by the first
page through the config). ``core.training.fit`` asks the records for the optimizer, the schedule and any callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from core.registry import Registry, Texts

if TYPE_CHECKING:
    from core.config import TrainingConfig

GRADIENT_CLIP_NORM = 1.0  # LSTM gradients can spike on long texts; clipping keeps one bad batch from wrecking training


@dataclass(frozen=True)
class Optimizer:
    key: str
    title: str
    texts: Texts
    make: Callable[[Any, "TrainingConfig"], Any]  # (learning rate or schedule, config) -> keras optimizer
    slots: Callable[["TrainingConfig"], int]  # state tensors kept per weight (for the memory estimate)
    settings: tuple[str, ...] = ()  # training.* fields this optimizer reads


@dataclass(frozen=True)
class Schedule:
    key: str
    title: str
    texts: Texts
    rate: Callable[["TrainingConfig", int], Any]  # (config, steps per epoch) -> float or keras schedule
    callbacks: Callable[["TrainingConfig"], list] = lambda config: []  # needs validation data to act
    settings: tuple[str, ...] = ()


OPTIMIZERS: Registry[Optimizer] = Registry("training.optimizer", "optimizer")
LR_SCHEDULES: Registry[Schedule] = Registry("training.lr_schedule", "learning-rate schedule")


def make_optimizer(config: "TrainingConfig", steps_per_epoch: int):
    """The configured optimizer, driven by the configured schedule, with gradient clipping."""
    rate = LR_SCHEDULES.get(config.lr_schedule).rate(config, steps_per_epoch)
    return OPTIMIZERS.get(config.optimizer).make(rate, config)


def schedule_callbacks(config: "TrainingConfig") -> list:
    """Callbacks the schedule needs during fit (only when there is validation data to watch)."""
    return LR_SCHEDULES.get(config.lr_schedule).callbacks(config)


# --------------------------------------------------------------------------------------------- optimizers


def _adam(rate, config):
    import keras

    return keras.optimizers.Adam(rate, clipnorm=GRADIENT_CLIP_NORM)


def _adamw(rate, config):
    import keras

    return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay, clipnorm=GRADIENT_CLIP_NORM)


def _rmsprop(rate, config):
    import keras

    return keras.optimizers.RMSprop(rate, clipnorm=GRADIENT_CLIP_NORM)


def _sgd(rate, config):
    import keras

    return keras.optimizers.SGD(rate, momentum=config.momentum, nesterov=config.momentum > 0,
                                clipnorm=GRADIENT_CLIP_NORM)


OPTIMIZERS.register(Optimizer(
    key="adam", title="Adam", make=_adam, slots=lambda config: 2,
    texts=Texts(
        what="Adapts each weight's step from running averages of its gradients and their squares.",
        when="The dependable default for LSTMs; works well with little tuning.",
        risk="A learning rate that is too high still makes the loss jump; lower it if it does.",
    ),
))
OPTIMIZERS.register(Optimizer(
    key="adamw", title="AdamW", make=_adamw, slots=lambda config: 2, settings=("weight_decay",),
    texts=Texts(
        what="Adam with decoupled weight decay: every weight shrinks a little each step.",
        when="Larger models that overfit; an alternative to L2 on the output layer.",
        risk="Too much decay underfits; it also decays the embedding.",
    ),
))
OPTIMIZERS.register(Optimizer(
    key="rmsprop", title="RMSprop", make=_rmsprop, slots=lambda config: 1,
    texts=Texts(
        what="Scales each step by a running average of squared gradients (Adam without momentum).",
        when="A classic choice for recurrent networks; try it when Adam oscillates.",
        risk="Without momentum it can be slower to settle.",
    ),
))
OPTIMIZERS.register(Optimizer(
    key="sgd", title="SGD with momentum", make=_sgd, slots=lambda config: 1 if config.momentum > 0 else 0,
    settings=("momentum",),
    texts=Texts(
        what="Plain gradient steps with (Nesterov) momentum.",
        when="Teaching: shows why adaptive optimizers exist; sometimes generalises well with a tuned schedule.",
        risk="Needs a much higher learning rate than Adam (try 0.05) and more epochs.",
    ),
))


# --------------------------------------------------------------------------------------------- schedules


def _constant(config, steps_per_epoch):
    return config.learning_rate


def _exponential(config, steps_per_epoch):
    import keras

    return keras.optimizers.schedules.ExponentialDecay(config.learning_rate, steps_per_epoch, config.decay_rate)


def _cosine(config, steps_per_epoch):
    import keras

    return keras.optimizers.schedules.CosineDecay(config.learning_rate, steps_per_epoch * config.epochs, alpha=0.05)


def _plateau_callbacks(config) -> list:
    import keras

    return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=config.plateau_factor,
                                              patience=config.plateau_patience, min_lr=config.learning_rate * 1e-3)]


LR_SCHEDULES.register(Schedule(
    key="constant", title="Constant", rate=_constant,
    texts=Texts(
        what="The same learning rate for every step.",
        when="Short runs, or when comparing other levers without a schedule in the way.",
        risk="Adam may keep bouncing around the minimum late in training.",
    ),
))
LR_SCHEDULES.register(Schedule(
    key="exponential", title="Exponential decay", rate=_exponential, settings=("decay_rate",),
    texts=Texts(
        what="Multiplies the learning rate by the decay rate after every epoch.",
        when="Long runs where later epochs should take smaller steps.",
        risk="A small decay rate shrinks the steps to nothing within a few epochs.",
    ),
))
LR_SCHEDULES.register(Schedule(
    key="cosine", title="Cosine decay", rate=_cosine,
    texts=Texts(
        what="Lowers the learning rate along a half cosine from its start to 5% of it at the last planned epoch.",
        when="The recommended default: large steps early, careful steps late.",
        risk="Tied to the planned epochs: with early stopping the rate may still be high when training stops.",
    ),
))
LR_SCHEDULES.register(Schedule(
    key="plateau", title="Reduce on plateau", rate=_constant, callbacks=_plateau_callbacks,
    settings=("plateau_factor", "plateau_patience"),
    texts=Texts(
        what="Keeps the rate until validation loss stops improving, then multiplies it by the factor.",
        when="You do not know how many epochs training needs.",
        risk="Reacts to noise in a small validation split; needs validation data at all.",
    ),
))
