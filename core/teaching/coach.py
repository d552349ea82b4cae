"""The training coach: plain-language diagnoses of a run's curves and results, each with ONE thing to try.

:func:`diagnose` reads what training records per epoch (``history``: loss, accuracy, val_loss, val_accuracy, ...)
and, after a run, its ``metrics.json`` dict. Each rule either stays quiet or returns one :class:`Diagnosis`: a short
title, one sentence of evidence that names epochs and numbers, and one suggestion whose ``overrides`` (in
:func:`core.config.apply_overrides` form) re-run the experiment with exactly one setting changed, chosen relative to
the run's own config. With ``live=True`` only the curves are read, so the coach can speak while training runs.

The thresholds below are deliberately conservative: a coach that cries wolf on every bumpy curve is ignored.
Plain Python only (no Keras, no scikit-learn), so the dashboard can import this on any page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from core.config import ExperimentConfig, apply_overrides, field_info, setting_in_words
from core.errors import ConfigError
from core.records import Record

WARNING = "warning"
INFO = "info"
SEVERITIES = (WARNING, INFO)

# Overfitting: validation loss must have risen for at least this many epochs after its best epoch, by more than
# this much (absolute, and relative to its best value), so one noisy epoch does not count.
OVERFIT_MIN_EPOCHS = 2
OVERFIT_MIN_RISE = 0.02
OVERFIT_MIN_RELATIVE_RISE = 0.03
# Underfitting: "low" final training accuracy, and what "still rising" / "flat" mean per epoch.
UNDERFIT_ACCURACY = 0.8
STILL_RISING = 0.01  # training accuracy gained at least this much in the last epoch
FLAT_RELATIVE_CHANGE = 0.02  # a loss that moved less than 2 % over the last three epochs is flat
FLAT_WINDOW = 3
# Learning rate too high: an epoch whose training loss exceeds the previous one by 10 % (and 0.05) is a spike.
SPIKE_RELATIVE = 0.10
SPIKE_ABSOLUTE = 0.05
BLIND_GUESS_MARGIN = 0.01  # a training loss within this of ln(classes) has learned nothing
# Learning rate too low: over at least this many epochs the training loss moved less than 3 % in all.
BARELY_MOVES_EPOCHS = 3
BARELY_MOVES_RELATIVE = 0.03
# Below the baseline: seed-to-seed swings of 0.03 macro-F1 are common here (DESIGN.md section 6).
BASELINE_NOISE_MARGIN = 0.03
# Truncation: more than 10 % of training texts cut; when the share is unknown (max_length set by hand), a length
# under half the suggestion is certainly heavy.
TRUNCATION_SHARE = 0.10
TRUNCATION_UNKNOWN_RATIO = 0.5
# Attention that follows position: |Spearman rho| between token position and attention weight above this.
POSITION_BIAS_RHO = 0.5

DROPOUT_STEPS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass(frozen=True)
class Diagnosis(Record):
    key: str  # stable rule id, e.g. "overfitting"
    severity: str  # "warning" or "info"
    title: str  # short, e.g. "Overfitting"
    evidence: str  # one sentence naming epochs and numbers
    suggestion: str  # one sentence: what to try and why
    overrides: tuple[str, ...] = field(default_factory=tuple)  # apply_overrides form; re-runs with one setting changed

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"diagnosis severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")


@dataclass(frozen=True)
class _Context:
    history: dict[str, list[float]]
    metrics: dict
    config: ExperimentConfig
    live: bool
    position_bias: Optional[float]
    num_classes: Optional[int]


def diagnose(
    history: dict[str, list[float]],
    *,
    metrics: dict | None = None,
    config: ExperimentConfig | None = None,
    live: bool = False,
    position_bias: float | None = None,
    num_classes: int | None = None,
) -> list[Diagnosis]:
    """Every rule that fires on this run, warnings first, in a stable order.

    ``metrics`` is a run's metrics.json dict; ``config`` the run's config (defaults when None), from which each
    suggestion picks its one change. ``position_bias`` is the Spearman rho between token position and attention
    weight (falls back to ``metrics["explanations"]["position_bias"]``). ``num_classes`` (falls back to the classes
    in ``metrics``) tells the loss of a blind guess, ln(classes). ``live=True`` reads only ``history``.
    """
    if metrics is not None and hasattr(metrics, "to_dict"):
        metrics = metrics.to_dict()  # a core.runs.results.RunMetrics record: read it as metrics.json holds it
    if position_bias is None and metrics and isinstance(metrics.get("explanations"), dict):
        position_bias = _number(metrics["explanations"].get("position_bias"))
    if num_classes is None and metrics and not live:
        num_classes = len((metrics.get("split") or {}).get("class_names") or []) or None
    context = _Context(
        history={key: list(values) for key, values in (history or {}).items()},
        metrics={} if live or metrics is None else metrics,
        config=config or ExperimentConfig(),
        live=live,
        position_bias=None if live else position_bias,
        num_classes=num_classes,
    )
    found = [diagnosis for rule in RULES if (diagnosis := rule(context)) is not None]
    if any(d.key.startswith("learning_rate_") for d in found):
        # A wrong learning rate explains a model that did not learn; "underfitting" would send the learner to
        # capacity or epochs instead.
        found = [d for d in found if d.key != "underfitting"]
    return sorted(found, key=lambda d: SEVERITIES.index(d.severity))


def settings_in_words(assignments: Sequence[str], config: ExperimentConfig | None = None) -> list[str]:
    """``section.field=value`` assignments as a person reads them, with the widgets' labels and values:
    ``["model.bidirectional=true"]`` -> ``["Bidirectional: on"]``. Each value is read back from ``config`` (default:
    the defaults) with the assignments applied, so it is the typed value a run gets ("none" for an optional length
    reads "automatic"). Keys stay in JSON, the CLI and links; people read these."""
    base = config or ExperimentConfig()
    together = _applied(base, list(assignments))  # some settings are valid only together (k-fold and its ensemble)
    words = []
    for assignment in assignments:
        key, _, text = assignment.partition("=")
        key = key.strip()
        found = _setting(together, key) if together is not None else _setting(_applied(base, [assignment]), key)
        words.append(setting_in_words(key, found if found is not _MISSING else _written(text)))
    return words


_MISSING = object()


def _applied(config: ExperimentConfig, assignments: list[str]) -> Optional[dict]:
    try:
        return apply_overrides(config, assignments).to_dict()
    except ConfigError:
        return None


def _setting(raw: Optional[dict], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _written(text: str) -> Any:
    """A value as an assignment writes it, when no config takes it: true/false and numbers typed, else the text."""
    import json

    try:
        return json.loads(text.strip())
    except ValueError:
        return text.strip()


# ------------------------------------------------------------------------------------------------ helpers


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _finite_series(history: dict, key: str) -> Optional[list[float]]:
    """The curve as floats, or None when it is missing or holds NaN/inf (the spike rule reports those)."""
    values = history.get(key)
    if not values:
        return None
    floats = [float(v) for v in values]
    return floats if all(math.isfinite(v) for v in floats) else None


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _clamped(section: str, name: str, value: float) -> float:
    info = field_info(section, name)
    return min(max(value, info.get("min", value)), info.get("max", value))


def _rate(value: float) -> str:
    """A learning rate or penalty written short and exact enough to round-trip: 0.001, 5e-05."""
    return f"{value:.3g}"


def _change(config: ExperimentConfig, assignment: str) -> tuple[str, ...]:
    """The one override, checked: a suggestion that would not produce a valid config is a bug in this module."""
    apply_overrides(config, [assignment])
    return (assignment,)


def _raise_dropout(config: ExperimentConfig) -> Optional[str]:
    higher = [step for step in DROPOUT_STEPS if step > config.model.dropout + 1e-9]
    return f"model.dropout={higher[0]}" if higher else None


def _lower_dropout(config: ExperimentConfig) -> Optional[str]:
    lower = [step for step in DROPOUT_STEPS if step < config.model.dropout - 1e-9]
    return f"model.dropout={lower[-1]}" if lower else None


# Strategy and attention keys live in their registry records (tests/test_architecture.py): the coach finds the one
# it needs by what a record does, so a new strategy is picked up without touching this module.


def _resampler(key: str):
    from core.choices.resampling import RESAMPLERS

    return RESAMPLERS.get(key)


def _strategy_title(key: str) -> str:
    return _resampler(key).title.lower()


def _recommended_strategy() -> str:
    """The config's default strategy: the recommended first lever for imbalance (loss weights, nothing invented)."""
    from core.config import ResamplingConfig

    return ResamplingConfig().strategy


def _lifts_small_classes(record) -> bool:
    """Whether the strategy gives a small class more rows (by repeating or synthesising them)."""
    from core.config import ResamplingConfig

    return record.preview([10, 2], ResamplingConfig())[1] > 2


def _row_oversampler() -> Optional[str]:
    """The first strategy that repeats real rows of the small classes (no synthetic rows, no loss weights)."""
    from core.choices.resampling import RESAMPLERS

    for record in RESAMPLERS:
        if not record.embedded and record.weights is None and _lifts_small_classes(record):
            return record.key
    return None


def _attention_without_pooling() -> str:
    """The attention kind that reads the last LSTM state instead of weighing tokens."""
    from core.choices.attention import ATTENTION_KINDS

    return next(kind.key for kind in ATTENTION_KINDS if not kind.pools)


def _epochs_label(first: int, last: int) -> str:
    return f"epoch {first}" if first == last else f"epochs {first}-{last}"


# ------------------------------------------------------------------------------------------------ rules


def _overfitting(context: _Context) -> Optional[Diagnosis]:
    val_loss = _finite_series(context.history, "val_loss")
    loss = _finite_series(context.history, "loss")
    if val_loss is None or loss is None or len(val_loss) != len(loss):
        return None
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    last = len(val_loss) - 1
    rise = val_loss[last] - val_loss[best]
    rising_long_enough = last - best >= OVERFIT_MIN_EPOCHS
    rose_clearly = rise > max(OVERFIT_MIN_RISE, OVERFIT_MIN_RELATIVE_RISE * val_loss[best])
    if not (rising_long_enough and rose_clearly and loss[last] < loss[best]):
        return None
    evidence = (
        f"validation loss rose from {_fmt(val_loss[best])} (epoch {best + 1}) to {_fmt(val_loss[last])} "
        f"(epoch {last + 1}) while training loss fell from {_fmt(loss[best])} to {_fmt(loss[last])}."
    )
    config = context.config
    # With early stopping on, the kept weights are the best epoch's: the rise is worth knowing, not alarming.
    severity = INFO if config.training.early_stopping else WARNING
    if not config.training.early_stopping:
        suggestion = (
            "Turn on early stopping: it ends training when validation "
            "loss stops improving and keeps the best epoch's weights."
        )
        change = "training.early_stopping=true"
    elif (raised := _raise_dropout(config)) is not None:
        suggestion = (
            f"Raise dropout from {config.model.dropout:g} to {raised.split('=')[1]}, "
            "so the model cannot lean on memorised details of the training texts."
        )
        change = raised
    elif config.model.l2 < 1e-3:
        penalty = _rate(_clamped("model", "l2", max(config.model.l2 * 10, 1e-4)))
        suggestion = (
            f"Raise the L2 penalty from {_rate(config.model.l2)} to {penalty} to keep the output weights small."
        )
        change = f"model.l2={penalty}"
    else:
        units = max(1, config.model.lstm_units // 2)
        suggestion = (
            f"Halve the LSTM units from {config.model.lstm_units} to "
            f"{units}: a smaller model has less room to memorise."
        )
        change = f"model.lstm_units={units}"
    return Diagnosis("overfitting", severity, "Overfitting", evidence, suggestion, _change(config, change))


def _underfitting(context: _Context) -> Optional[Diagnosis]:
    accuracy = _finite_series(context.history, "accuracy")
    loss = _finite_series(context.history, "loss")
    if accuracy is None or loss is None or len(accuracy) < FLAT_WINDOW or accuracy[-1] >= UNDERFIT_ACCURACY:
        return None
    if _barely_moves(loss, accuracy) is not None:
        return None  # the whole curve is flat: a learning rate that is too low explains it better
    config = context.config
    val_loss = _finite_series(context.history, "val_loss")
    last = len(accuracy)
    still_rising = accuracy[-1] - accuracy[-2] >= STILL_RISING
    validation_still_best = val_loss is None or val_loss[-1] <= min(val_loss) + 1e-9
    if still_rising and validation_still_best and not context.live:
        epochs = int(_clamped("training", "epochs", max(config.training.epochs, last) * 2))
        evidence = (
            f"training accuracy was still rising at the last epoch ({_fmt(accuracy[-2])} at epoch {last - 1}, "
            f"{_fmt(accuracy[-1])} at epoch {last})"
            + (f" and validation loss was at its lowest ({_fmt(val_loss[-1])})." if val_loss else ".")
        )
        suggestion = (
            f"Train longer: raise the epoch limit from {config.training.epochs} to "
            f"{epochs} (early stopping still ends it when validation stops improving)."
        )
        return Diagnosis("underfitting", WARNING, "Still learning when training ended", evidence, suggestion,
                         _change(config, f"training.epochs={epochs}"))
    window = loss[-FLAT_WINDOW:]
    flat = _relative_change(window) < FLAT_RELATIVE_CHANGE
    validation_flat = val_loss is None or _relative_change(val_loss[-FLAT_WINDOW:]) < FLAT_RELATIVE_CHANGE
    if not (flat and validation_flat):
        return None
    first = last - FLAT_WINDOW + 1
    evidence = (
        f"training loss stayed near {_fmt(window[-1])} over {_epochs_label(first, last)} with training accuracy "
        f"only {_fmt(accuracy[-1])}"
        + (f", and validation loss near {_fmt(val_loss[-1])}." if val_loss else ".")
    )
    lowered = _lower_dropout(config) if config.model.dropout >= 0.5 else None
    if lowered is not None:
        suggestion = (
            f"Lower dropout from {config.model.dropout:g} to {lowered.split('=')[1]}: "
            "the model may be held back more than it needs."
        )
        change = lowered
    else:
        units = int(_clamped("model", "lstm_units", config.model.lstm_units * 2))
        suggestion = f"Give the model more room: double the LSTM units from {config.model.lstm_units} to {units}."
        change = f"model.lstm_units={units}"
    return Diagnosis("underfitting", WARNING, "Underfitting", evidence, suggestion, _change(config, change))


def _relative_change(values: Sequence[float]) -> float:
    scale = max(abs(values[0]), 1e-12)
    return (max(values) - min(values)) / scale


def _barely_moves(loss: Sequence[float], accuracy: Optional[Sequence[float]]) -> Optional[float]:
    """The relative change of the whole loss curve when it is too small to be learning, else None.

    A converged run is flat too, so the curve only counts while training accuracy is still low."""
    if len(loss) < BARELY_MOVES_EPOCHS or (accuracy and accuracy[-1] >= UNDERFIT_ACCURACY):
        return None
    change = _relative_change(loss)
    return change if change < BARELY_MOVES_RELATIVE else None


def _learning_rate_too_high(context: _Context) -> Optional[Diagnosis]:
    config = context.config
    halved = _rate(_clamped("training", "learning_rate", config.training.learning_rate / 2))
    suggestion = (
        f"Halve the learning rate from {_rate(config.training.learning_rate)} "
        f"to {halved}, so each step stops overshooting."
    )
    overrides = _change(config, f"training.learning_rate={halved}")
    for key, name in (("loss", "training loss"), ("val_loss", "validation loss")):
        values = context.history.get(key) or []
        for epoch, value in enumerate(values, start=1):
            if not math.isfinite(float(value)):
                evidence = (
                    f"{name} became {'NaN' if math.isnan(float(value)) else 'infinite'} "
                    f"at epoch {epoch}: the weights blew up."
                )
                return Diagnosis("learning_rate_too_high", WARNING, "Learning rate too high",
                                 evidence, suggestion, overrides)
    loss = _finite_series(context.history, "loss")
    if loss is None:
        return None
    for epoch in range(1, len(loss)):
        before, after = loss[epoch - 1], loss[epoch]
        if after - before > max(SPIKE_ABSOLUTE, SPIKE_RELATIVE * before):
            evidence = (
                f"training loss jumped from {_fmt(before)} (epoch {epoch}) to "
                f"{_fmt(after)} (epoch {epoch + 1}), where it should only fall."
            )
            return Diagnosis("learning_rate_too_high", WARNING, "Learning rate too high",
                             evidence, suggestion, overrides)
    # Steps so large that the model never beats a blind guess (uniform probabilities: loss ln(classes)); a rate
    # that is too low also sits there, but barely moves, and the rule below names it instead.
    classes = context.num_classes
    accuracy = _finite_series(context.history, "accuracy")
    if classes and classes >= 2 and len(loss) >= BARELY_MOVES_EPOCHS and _barely_moves(loss, accuracy) is None:
        chance = math.log(classes)
        lowest = min(range(len(loss)), key=loss.__getitem__)
        if loss[lowest] >= chance - BLIND_GUESS_MARGIN:
            evidence = (
                f"training loss never fell below {_fmt(chance)}, the loss of a blind guess among {classes} classes "
                f"(its lowest was {_fmt(loss[lowest])} at epoch {lowest + 1})."
            )
            return Diagnosis("learning_rate_too_high", WARNING, "Learning rate too high",
                             evidence, suggestion, overrides)
    return None


def _learning_rate_too_low(context: _Context) -> Optional[Diagnosis]:
    loss = _finite_series(context.history, "loss")
    if loss is None or _barely_moves(loss, _finite_series(context.history, "accuracy")) is None:
        return None
    config = context.config
    raised = _rate(_clamped("training", "learning_rate", config.training.learning_rate * 10))
    evidence = (
        f"training loss barely moved over {len(loss)} epochs, from {_fmt(loss[0])} (epoch 1) to "
        f"{_fmt(loss[-1])} (epoch {len(loss)}), a change of {_relative_change(loss) * 100:.1f}%."
    )
    suggestion = f"Raise the learning rate tenfold, from {_rate(config.training.learning_rate)} to {raised}."
    return Diagnosis("learning_rate_too_low", WARNING, "Learning rate too low", evidence, suggestion,
                     _change(config, f"training.learning_rate={raised}"))


def _below_baseline(context: _Context) -> Optional[Diagnosis]:
    baseline = context.metrics.get("baseline") or {}
    test = context.metrics.get("test") or {}
    ours, theirs = _number(test.get("macro_f1")), _number(baseline.get("macro_f1"))
    if not baseline.get("available", theirs is not None) or ours is None or theirs is None:
        return None
    gap = theirs - ours
    if gap <= BASELINE_NOISE_MARGIN:
        return None
    evidence = (
        f"test macro-F1 was {_fmt(ours)}, {_fmt(gap)} below the {_fmt(theirs)} of the TF-IDF + logistic regression "
        f"baseline on the same split (more than the {_fmt(BASELINE_NOISE_MARGIN)} that seeds alone can swing)."
    )
    config = context.config
    model = config.model
    recommended = _recommended_strategy()
    if _resampler(config.resampling.strategy).embedded and not _resampler(recommended).embedded:
        suggestion = (
            f"Switch resampling to {_strategy_title(recommended)}: "
            "synthetic rows cost macro-F1 on most sets measured here."
        )
        change = f"resampling.strategy={recommended}"
    elif model.l2 >= 1e-3:
        suggestion = (
            f"Lower the L2 penalty from {_rate(model.l2)} to 0.0001: a strong penalty held the output layer back."
        )
        change = "model.l2=0.0001"
    elif not model.bidirectional:
        suggestion = "Read the texts both ways (bidirectional LSTM): words late in a text then inform the start too."
        change = "model.bidirectional=true"
    elif (raised := _raise_dropout(config)) is not None:
        suggestion = (
            f"Raise dropout from {model.dropout:g} to {raised.split('=')[1]}: "
            "on small data an LSTM varies a lot, and dropout steadies it."
        )
        change = raised
    else:
        units = max(1, model.lstm_units // 2)
        suggestion = f"Halve the LSTM units from {model.lstm_units} to {units}: a smaller model suits a small dataset."
        change = f"model.lstm_units={units}"
    return Diagnosis("below_baseline", WARNING, "Below the simple baseline", evidence, suggestion,
                     _change(config, change))


def _class_never_predicted(context: _Context) -> Optional[Diagnosis]:
    test = context.metrics.get("test") or {}
    confusion = test.get("confusion") or {}
    counts, labels = confusion.get("counts"), confusion.get("labels")
    if not counts or not labels:
        return None
    missing = [
        (labels[column], sum(counts[column]))
        for column in range(len(labels))
        if sum(counts[column]) > 0 and all(row[column] == 0 for row in counts)
    ]
    if not missing:
        return None
    named = ", ".join(f"'{name}' ({support} test rows)" for name, support in missing)
    plural = len(missing) > 1
    evidence = (
        f"the model never predicted {named}: {'their' if plural else 'its'} column of the confusion matrix is all zero."
    )
    config = context.config
    current = _resampler(config.resampling.strategy)
    recommended = _recommended_strategy()
    oversampler = _row_oversampler()
    if current.weights is None and not _lifts_small_classes(current) and current.key != recommended:
        suggestion = (
            f"Switch resampling to {_strategy_title(recommended)}, so every class "
            "counts equally in the loss and a small class cannot be ignored."
        )
        change = f"resampling.strategy={recommended}"
    elif current.weights is not None and oversampler is not None:
        suggestion = (
            f"Switch resampling to {_strategy_title(oversampler)}, so the model "
            "sees the small classes' rows as often as the largest class's."
        )
        change = f"resampling.strategy={oversampler}"
    elif config.training.monitor != "val_macro_f1":
        suggestion = (
            "Let early stopping follow validation macro-F1, which drops "
            "when a class is never predicted (loss hardly notices)."
        )
        change = "training.monitor=val_macro_f1"
    else:
        epochs = int(_clamped("training", "epochs", config.training.epochs * 2))
        suggestion = (
            f"Train longer (epoch limit {config.training.epochs} to {epochs}): small classes are usually learned last."
        )
        change = f"training.epochs={epochs}"
    title = "Classes never predicted" if plural else "A class is never predicted"
    return Diagnosis("class_never_predicted", WARNING, title, evidence, suggestion, _change(config, change))


def _heavy_truncation(context: _Context) -> Optional[Diagnosis]:
    vectorizing = context.metrics.get("vectorizing") or {}
    max_length = _number(vectorizing.get("max_length"))
    suggested = _number(vectorizing.get("suggested_max_length"))
    share = _number(vectorizing.get("truncated_share"))
    if max_length is None:
        return None
    config = context.config
    if share is not None:
        if share <= TRUNCATION_SHARE:
            return None
        evidence = (
            f"{_percent(share)} of training texts are longer than the "
            f"{int(max_length)} tokens kept, so their endings never reach the model."
        )
        if config.vectorizing.max_length is None and suggested is not None and suggested < 400:
            suggestion = "Let the suggested length cover 99% of training texts instead of fewer."
            change = "vectorizing.length_percentile=99"
        else:
            longer = int(_clamped("vectorizing", "max_length", max_length * 2))
            suggestion = (
                f"Keep more tokens per text: raise the maximum length from {int(max_length)} to {longer} tokens."
            )
            change = f"vectorizing.max_length={longer}"
    else:
        if suggested is None or max_length > TRUNCATION_UNKNOWN_RATIO * suggested:
            return None
        evidence = (
            f"texts were cut at {int(max_length)} tokens, less than half the suggested {int(suggested)} that covers "
            f"{config.vectorizing.length_percentile:g}% of training texts, so many endings never reach the model."
        )
        suggestion = f"Raise the maximum length from {int(max_length)} to the suggested {int(suggested)} tokens."
        change = f"vectorizing.max_length={int(suggested)}"
    # An unknown share under half the suggested length is heavy by construction; a known one is judged by size.
    severity = WARNING if share is None or share > 2 * TRUNCATION_SHARE else INFO
    return Diagnosis("heavy_truncation", severity, "Texts cut short", evidence, suggestion, _change(config, change))


def _attention_follows_position(context: _Context) -> Optional[Diagnosis]:
    rho = context.position_bias
    if rho is None or not math.isfinite(rho) or abs(rho) <= POSITION_BIAS_RHO:
        return None
    where = "later" if rho > 0 else "earlier"
    evidence = (
        f"attention weight and token position correlate with Spearman rho {rho:.2f}: the heatmap mostly lights up "
        f"{where} tokens whatever the words are."
    )
    config = context.config
    if not config.model.bidirectional:
        suggestion = (
            "Read the texts both ways: a one-way LSTM packs what it has "
            "read into its last states, which pulls attention to the end."
        )
        change = "model.bidirectional=true"
    else:
        without = _attention_without_pooling()
        suggestion = (
            "Trust leave-one-token-out (occlusion) importance over this heatmap, "
            "and check how much attention adds by re-running without it."
        )
        change = f"model.attention={without}"
    return Diagnosis("attention_follows_position", INFO, "Attention follows position", evidence, suggestion,
                     _change(config, change))


# Causes before symptoms: "below the baseline" comes after the rules that may explain it.
RULES: tuple[Callable[[_Context], Optional[Diagnosis]], ...] = (
    _learning_rate_too_high,
    _learning_rate_too_low,
    _overfitting,
    _underfitting,
    _class_never_predicted,
    _heavy_truncation,
    _below_baseline,
    _attention_follows_position,
)
