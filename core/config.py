"""The typed experiment config: the single source of truth that travels from the widgets or CLI to the run record.

Every field carries its help text, choices and bounds in ``metadata`` so the CLI, the dashboard's widgets and the
validation below all read the same facts. Configs are frozen; change one with ``dataclasses.replace`` or
:func:`apply_overrides`. ``ExperimentConfig.from_dict(config.to_dict()) == config`` always holds.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union, get_args, get_origin

from core.choices.attention import ATTENTION_KINDS
from core.choices.ngrams import BLENDS, NGRAM_PATHS
from core.choices.normalizers import NORMALIZERS
from core.choices.optimization import LR_SCHEDULES, OPTIMIZERS
from core.choices.resampling import RESAMPLERS
from core.choices.vectors import VECTOR_SETS
from core.errors import ConfigError
from core.registry import Registry

MONITORS = ("val_loss", "val_accuracy", "val_macro_f1")


def _field(default: Any, help: str, **limits: Any) -> Any:
    """A dataclass field whose metadata holds help text, limits (choices, min, max) and widget hints (step,
    format, slider) that every widget of the field follows.

    ``choices`` may be a :class:`~core.registry.Registry`: its keys are read when needed, so a choice registered
    later is valid (and offered by every widget) at once.
    """
    return field(default=default, metadata={"help": help, **limits})


def _resolved(metadata: Any) -> dict[str, Any]:
    """``choices`` as keys (and ``registry``, the records); ``builtin`` stays a registry: named values a free-text
    field also takes (a vector set's key, or else a file path)."""
    info = dict(metadata)
    if isinstance(info.get("choices"), Registry):
        info["registry"] = info["choices"]
        info["choices"] = info["choices"].keys()
    return info


@dataclass(frozen=True)
class DataConfig:
    text_column: Optional[str] = _field(None, "Column holding the text; empty means the engine's guess.")
    label_column: Optional[str] = _field(None, "Column holding the class label; empty means the engine's guess.")


@dataclass(frozen=True)
class PreprocessingConfig:
    lowercase: bool = _field(True, "Fold case so 'Theft' and 'theft' share one embedding.")
    strip_urls_html: bool = _field(True, "Remove URLs and HTML tags before tokenizing.")
    strip_punctuation: bool = _field(True, "Drop punctuation tokens.")
    strip_numbers: bool = _field(False, "Drop tokens made only of digits (keep them when numbers carry meaning).")
    remove_stopwords: bool = _field(False, "Drop very common words; helps bag-of-words more than LSTMs.")
    keep_negations: bool = _field(True, "When removing stop words, keep not / no / never / n't, which flip meaning.")
    normalizer: str = _field(
        "none",
        "Reduce words to a stem (Porter, Snowball, Lancaster) or a dictionary lemma; shrinks the vocabulary.",
        choices=NORMALIZERS,
    )


@dataclass(frozen=True)
class VectorizingConfig:
    max_vocab_size: int = _field(
        20000, "Largest vocabulary, counting padding and the out-of-vocabulary token.", min=3, max=1_000_000, step=1000
    )
    min_token_frequency: int = _field(
        2,
        "Tokens seen fewer times in training become out-of-vocabulary (2 stops the model memorising one-off words).",
        min=1, max=1000,
    )
    max_length: Optional[int] = _field(None, "Tokens kept per text; empty means the suggested length.", min=1, max=2000)
    length_percentile: float = _field(
        95.0, "The suggested length covers this percentile of training lengths.", min=50.0, max=100.0, step=1.0
    )


@dataclass(frozen=True)
class SplitConfig:
    validation_fraction: float = _field(
        0.15, "Share of rows for validation (early stopping, curves).", min=0.05, max=0.5, step=0.05, format="%.2f"
    )
    test_fraction: float = _field(
        0.2, "Share of rows sealed for the final test.", min=0.05, max=0.5, step=0.05, format="%.2f"
    )
    k_folds: int = _field(
        0, "Stratified k-fold cross-validation on the non-test rows; 0 or 1 means off.", min=0, max=10
    )
    ensemble: bool = _field(
        False,
        "With k-fold: average the k fold models' probabilities (saved as one model) instead of keeping the fold model "
        "that did best on its held-out part. Steadier and measured +0.02-0.05 macro-F1, at k models' cost.",
    )
    ensemble_seeds: int = _field(
        1,
        "Models trained per split (or per fold, with an ensemble) from different seeds and averaged; 1 means one. "
        "Without k-fold, the members share the training split and early-stop on the same validation split.",
        min=1, max=10,
    )


@dataclass(frozen=True)
class ResamplingConfig:
    strategy: str = _field(
        "class_weights",
        "How the training split is rebalanced; validation and test are never touched.",
        choices=RESAMPLERS,
    )
    k_neighbors: int = _field(5, "Neighbours for SMOTE-family methods; lowered for tiny classes.", min=1, max=50)
    embedding_warmup_epochs: int = _field(
        3, "Epochs of the small model whose frozen embedding gives SMOTE its continuous space.", min=1, max=50
    )


@dataclass(frozen=True)
class ModelConfig:
    embedding_dim: int = _field(128, "Size of each token's learned vector.", min=2, max=1024, step=16)
    subword_buckets: int = _field(
        0,
        "Hashed character n-gram buckets (fastText-style, 3-5 characters) whose vectors are added to each token's, so "
        "unseen and misspelled words carry meaning from their spelling; 0 turns subwords off.",
        min=0, max=2_000_000, step=1000,
    )
    word_vectors: Optional[str] = _field(
        None,
        "Pretrained vectors that start the embedding: a built-in set's key (glove-6b-50d: GloVe 6B 50-d, offline) or "
        "the path to a GloVe, word2vec or fastText text file; empty: learn every vector from scratch. Nothing is "
        "downloaded.",
        builtin=VECTOR_SETS,
    )
    freeze_word_vectors: bool = _field(
        False, "Keep the loaded word vectors fixed instead of fine-tuning them (fewer weights to fit on small data)."
    )
    extend_vocabulary: bool = _field(
        True,
        "With word vectors: after the training split's vocabulary, add the most frequent pretrained words it lacks, "
        "their vectors kept fixed, so a new text's word the vectors know is not out-of-vocabulary. Only training rows "
        "shape the vocabulary; validation and test texts are never read.",
    )
    pretrained_words: int = _field(
        50_000, "With vocabulary extension: how many pretrained words (most frequent first) to add.",
        min=1, max=2_000_000, step=5000,
    )
    project_word_vectors: bool = _field(
        True,
        "With word vectors whose size differs from embedding_dim: keep them at their own size and learn a linear map "
        "to embedding_dim. Off: their size must equal embedding_dim.",
    )
    embedding_dropout: Optional[float] = _field(
        None,
        "Dropout on the token vectors before the first LSTM; empty: the same as dropout. Pretrained vectors usually "
        "want less (0.1-0.2) than vectors learned from scratch.",
        min=0.0, max=0.9, step=0.05, format="%.2f",
    )
    lstm_units: int = _field(64, "Units per LSTM layer (per direction).", min=1, max=1024, step=16)
    lstm_layers: int = _field(1, "Stacked LSTM layers; two rarely beat one on small data.", min=1, max=4, slider=True)
    bidirectional: bool = _field(True, "Read the text both ways; usually worth its 2x cost.")
    dropout: float = _field(
        0.5,
        "Dropout after the embedding and each LSTM layer; 0.2-0.5 is typical, the high end for small datasets.",
        min=0.0, max=0.9, slider=True,
    )
    recurrent_dropout: float = _field(
        0.0, "Dropout inside the recurrence. Slow: it disables the fused cuDNN kernel.", min=0.0, max=0.9, slider=True
    )
    attention: str = _field(
        "additive",
        "Additive attention pooling weighs tokens (and gives heatmaps); multihead adds self-attention first.",
        choices=ATTENTION_KINDS,
    )
    attention_units: int = _field(64, "Hidden size of the additive attention scorer.", min=1, max=1024, step=16)
    attention_heads: int = _field(4, "Heads of the multi-head self-attention.", min=1, max=16)
    l2: float = _field(
        1e-4, "L2 penalty on the output layer's weights; 0 turns it off.", min=0.0, max=1.0, step=1e-4, format="%.5f"
    )
    ngram_path: str = _field(
        "none",
        "A linear path over the text's words and hashed word pairs, trained with the LSTM (wide and deep).",
        choices=NGRAM_PATHS,
    )
    ngram_buckets: int = _field(
        65536, "Hash buckets for the n-gram path's word pairs.",
        min=1024, max=262144, step=1024,
    )
    ngram_l2: float = _field(
        0.0, "L2 penalty on the n-gram path's weights; 0 turns it off.", min=0.0, max=1.0, step=1e-6, format="%.7f",
    )
    ngram_dropout: float = _field(
        0.0, "Share of words and pairs the n-gram path drops while training.", min=0.0, max=0.9, slider=True,
    )
    ngram_speed: float = _field(
        30.0,
        "How many times faster the n-gram path learns than the LSTM (a linear model over sparse n-grams needs a far "
        "higher rate); measured on NACE: 1x 0.73, 10x 0.92, 30x 0.996 test macro-F1 (bench/learning_quality.py).",
        min=0.1, max=1000.0, step=1.0, format="%g",
    )
    blend: str = _field(
        "none",
        "Average the LSTM's probabilities with a TF-IDF + logistic-regression model's, "
        "the weight chosen on validation.",
        choices=BLENDS,
    )


@dataclass(frozen=True)
class TrainingConfig:
    optimizer: str = _field(
        "adam", "Adam is the dependable default; AdamW adds decoupled weight decay.", choices=OPTIMIZERS
    )
    learning_rate: float = _field(2e-3, "Initial learning rate.", min=1e-6, max=1.0, step=1e-4, format="%.5f")
    lr_schedule: str = _field(
        "cosine", "How the learning rate changes: decaying schedules usually help Adam settle.", choices=LR_SCHEDULES
    )
    decay_rate: float = _field(0.9, "Exponential schedule: factor applied each epoch.", min=0.01, max=1.0, step=0.05)
    plateau_factor: float = _field(
        0.5, "Reduce-on-plateau: factor applied when validation loss stalls.", min=0.01, max=0.99, step=0.05
    )
    plateau_patience: int = _field(1, "Reduce-on-plateau: epochs without improvement before reducing.", min=0, max=50)
    weight_decay: float = _field(1e-4, "AdamW's decoupled weight decay.", min=0.0, max=1.0, step=1e-4, format="%.5f")
    momentum: float = _field(0.9, "SGD momentum.", min=0.0, max=0.999, step=0.05)
    batch_size: int = _field(64, "Examples per gradient step; 32-128 suits a CPU.", min=1, max=8192, step=16)
    epochs: int = _field(15, "Most epochs to train; early stopping usually ends sooner.", min=1, max=1000)
    early_stopping: bool = _field(
        True, "Stop when the monitored validation metric stops improving and restore the best weights."
    )
    monitor: str = _field(
        "val_loss", "Validation metric that early stopping and the best weights follow.", choices=MONITORS,
        titles={"val_loss": "Validation loss", "val_accuracy": "Validation accuracy",
                "val_macro_f1": "Validation macro-F1"},
    )
    patience: int = _field(3, "Epochs without improvement before early stopping.", min=0, max=100)
    progress_every_batches: int = _field(10, "Send a live progress update every N batches.", min=1, max=100000)


@dataclass(frozen=True)
class ExperimentConfig:
    seed: int = _field(42, "One seed for the split, resampling and weight initialisation.", min=0, max=2**31 - 1)
    data: DataConfig = field(default_factory=DataConfig)
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    vectorizing: VectorizingConfig = field(default_factory=VectorizingConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    resampling: ResamplingConfig = field(default_factory=ResamplingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, raw: Any) -> "ExperimentConfig":
        return _build(cls, raw, path="config")

    @classmethod
    def from_json(cls, text: str) -> "ExperimentConfig":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"The config is not valid JSON ({exc.msg} at line {exc.lineno}); "
                "fix the file or start from `config --defaults`."
            ) from None
        return cls.from_dict(raw)


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(ExperimentConfig)
    return {name: hint for name, hint in hints.items() if dataclasses.is_dataclass(hint)}


SECTIONS: dict[str, type] = _section_types()


def field_info(section: str, name: str) -> dict[str, Any]:
    """Help text, choices and bounds of one field, for widgets and error messages; a field whose choices come
    from a registry also gets ``registry`` (its records hold titles and explanations)."""
    cls = SECTIONS[section] if section else ExperimentConfig
    for f in dataclasses.fields(cls):
        if f.name == name:
            return _resolved(f.metadata)
    raise KeyError(f"{section}.{name}")


# What a person reads for each setting: the widget's label. Fields not listed read as their name in words
# ("embedding_dim" -> "Embedding dim"). Keys stay in JSON, the CLI and URLs; people read these.
LABELS: dict[str, str] = {
    "lstm_units": "LSTM units",
    "lstm_layers": "LSTM layers",
    "l2": "L2 penalty (output layer)",
    "strip_urls_html": "Strip URLs and HTML",
    "max_vocab_size": "Max vocabulary size",
    "min_token_frequency": "Min token frequency",
    "max_length": "Max length (tokens)",
    "length_percentile": "Suggested length percentile",
    "k_folds": "K-fold cross-validation (folds)",
    "k_neighbors": "k neighbours",
    "lr_schedule": "Learning-rate schedule",
    "learning_rate": "Learning rate",
    "progress_every_batches": "Live update every N batches",
    "embedding_warmup_epochs": "Embedding warm-up epochs (SMOTE space)",
    "subword_buckets": "Subword buckets (0 = off)",
    "word_vectors": "Word vectors",
    "extend_vocabulary": "Add pretrained words to the vocabulary",
    "pretrained_words": "Pretrained words to add",
    "project_word_vectors": "Project vectors to the embedding size",
    "embedding_dropout": "Embedding dropout (empty = dropout)",
    "ensemble": "Average the fold models (ensemble)",
    "ensemble_seeds": "Models per split, from different seeds (averaged)",
    "seed": "Seed",
    "ngram_path": "N-gram path",
    "ngram_buckets": "Word-pair buckets",
    "ngram_l2": "N-gram L2 penalty",
    "ngram_dropout": "N-gram dropout",
    "ngram_speed": "N-gram learning speed (x the LSTM's)",
    "blend": "Blend with bag-of-words",
}
SECTION_LABELS = {"resampling": "Resampling"}  # a field whose own label says too little alone ("Strategy")
SHORT_LABELS = {"strategy": "Strategy"}


def setting_label(key: str) -> str:
    """The widget label of a dotted setting: 'model.lstm_units' -> 'LSTM units'; 'resampling.strategy' ->
    'Resampling strategy'."""
    section, _, name = key.rpartition(".")
    if name in SHORT_LABELS and section in SECTION_LABELS:
        return f"{SECTION_LABELS[section]} {SHORT_LABELS[name].lower()}"
    return LABELS.get(name, name.replace("_", " ").capitalize())


def setting_value_text(key: str, value: Any) -> str:
    """A setting's value as its widget shows it: 'on'/'off', a choice's title, a number without float noise."""
    section, _, name = key.rpartition(".")
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "automatic"
    try:
        info = field_info(section, name)
    except KeyError:
        info = {}
    if "registry" in info and isinstance(value, str):
        return info["registry"].title(value)
    if "builtin" in info and isinstance(value, str) and value in info["builtin"]:
        return info["builtin"].title(value)
    if isinstance(value, str) and value in info.get("titles", {}):
        return info["titles"][value]
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def setting_in_words(key: str, value: Any) -> str:
    """'model.bidirectional', True -> 'Bidirectional: on' (what a person reads; keys stay in JSON and the CLI)."""
    return f"{setting_label(key)}: {setting_value_text(key, value)}"


def config_differences(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    """(dotted key, old value, new value) for each setting that differs between two config dicts, in order."""
    changes: list[tuple[str, Any, Any]] = []
    for name, value in after.items():
        old = before.get(name)
        if isinstance(value, Mapping):
            changes += config_differences(old if isinstance(old, Mapping) else {}, value, f"{prefix}{name}.")
        elif value != old:
            changes.append((f"{prefix}{name}", old, value))
    return changes


def config_schema() -> list[dict[str, Any]]:
    """Every setting in order: its dotted name, type, default, help, choices (with titles for registry choices)
    and bounds. The CLI's ``config --schema`` prints it; studies read ranges from it."""
    defaults = ExperimentConfig()
    entries = []
    for section in [""] + list(SECTIONS):
        cls = SECTIONS[section] if section else ExperimentConfig
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                continue
            info = field_info(section, f.name)
            base, optional = _unwrap_optional(hints[f.name])
            entry: dict[str, Any] = {
                "setting": f"{section}.{f.name}" if section else f.name,
                "type": base.__name__ + (" or empty" if optional else ""),
                "default": getattr(getattr(defaults, section) if section else defaults, f.name),
                "help": info.get("help", ""),
            }
            if "choices" in info:
                entry["choices"] = list(info["choices"])
                if "registry" in info:
                    entry["titles"] = {record.key: record.title for record in info["registry"]}
                elif "titles" in info:
                    entry["titles"] = dict(info["titles"])
            if "builtin" in info:  # named values beside free text (a path)
                entry["builtin"] = list(info["builtin"].keys())
                entry["titles"] = {record.key: record.title for record in info["builtin"]}
            for bound in ("min", "max"):
                if bound in info:
                    entry[bound] = info[bound]
            entries.append(entry)
    return entries


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _coerce(value: Any, hint: Any, path: str) -> Any:
    """Turn a JSON value into the field's type, or say which type was expected."""
    base, optional = _unwrap_optional(hint)
    if value is None or (optional and value == ""):
        if optional:
            return None
        raise ConfigError(f"{path} cannot be empty; give a {base.__name__}.")
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(f"{path} must be true or false, not {value!r}.")
    if base is int:
        if isinstance(value, bool):
            raise ConfigError(f"{path} must be a whole number, not {value!r}.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{path} must be a whole number, not {value!r}.")
    if base is float:
        if isinstance(value, bool):
            raise ConfigError(f"{path} must be a number, not {value!r}.")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{path} must be a number, not {value!r}.")
    if base is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{path} must be text, not {value!r}.")
    raise TypeError(f"unsupported config type {hint!r} at {path}")  # a bug in this module, not a user error


def _build(cls: type, raw: Any, path: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a JSON object with named settings, not {type(raw).__name__}.")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path} has no setting {unknown[0]!r}; valid settings are: {', '.join(sorted(known))}.")
    values = {}
    for name, value in raw.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, f"{path}.{name}")
        else:
            values[name] = _coerce(value, hint, f"{path}.{name}".removeprefix("config."))
    return cls(**values)


def _check_field(section: str, obj: Any) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        meta = _resolved(f.metadata)
        where = f"{section}.{f.name}" if section else f.name
        if value is None:
            continue
        if "choices" in meta and value not in meta["choices"]:
            raise ConfigError(f"{where} must be one of {', '.join(meta['choices'])}; got {value!r}.")
        if "min" in meta and value < meta["min"]:
            raise ConfigError(f"{where} must be at least {meta['min']}; got {value!r}.")
        if "max" in meta and value > meta["max"]:
            raise ConfigError(f"{where} must be at most {meta['max']}; got {value!r}.")


def validate(config: ExperimentConfig) -> None:
    """Raise ConfigError with one sentence for the first impossible setting."""
    _check_field("", config)
    for section in SECTIONS:
        _check_field(section, getattr(config, section))
    split = config.split
    if split.validation_fraction + split.test_fraction >= 0.8:
        raise ConfigError(
            "split.validation_fraction plus split.test_fraction leaves under 20% of rows for training; "
            "lower one of them."
        )
    if config.model.subword_buckets and RESAMPLERS.get(config.resampling.strategy).embedded:
        raise ConfigError("Subword vectors need token IDs, but SMOTE-family resampling trains on embedded sequences: "
                          "set model.subword_buckets to 0 or choose another resampling strategy.")
    if config.model.word_vectors and RESAMPLERS.get(config.resampling.strategy).embedded:
        raise ConfigError("Word vectors start the embedding, but SMOTE-family resampling trains its own first: clear "
                          "model.word_vectors or choose another resampling strategy.")
    if config.model.ngram_path != "none" and RESAMPLERS.get(config.resampling.strategy).embedded:
        raise ConfigError("The n-gram path reads token IDs, but SMOTE-family resampling trains on embedded "
                          "sequences: set model.ngram_path to none or choose another resampling strategy.")
    if split.ensemble and split.k_folds < 2:
        raise ConfigError(
            "split.ensemble averages the k fold models: set split.k_folds to 2 or more, or turn split.ensemble off."
        )
    if split.ensemble_seeds > 1 and split.k_folds >= 2 and not split.ensemble:
        raise ConfigError("split.ensemble_seeds averages several models, but k-fold without split.ensemble keeps one: "
                          "turn split.ensemble on or set split.ensemble_seeds to 1.")
    problem = ATTENTION_KINDS.get(config.model.attention).check(config.model)
    if problem:
        raise ConfigError(problem)


def apply_overrides(config: ExperimentConfig, assignments: list[str]) -> ExperimentConfig:
    """Apply ``section.field=value`` strings (values parsed as JSON when they can be, else as text)."""
    raw = config.to_dict()
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects section.field=value, got {assignment!r}.")
        parts = key.strip().split(".")
        target = raw
        for depth, part in enumerate(parts[:-1]):
            if part not in target or not isinstance(target[part], dict):
                valid = ", ".join(k for k, v in target.items() if isinstance(v, dict))
                raise ConfigError(f"Unknown config section {'.'.join(parts[:depth + 1])!r}; sections are: {valid}.")
            target = target[part]
        leaf = parts[-1]
        if leaf not in target or isinstance(target[leaf], dict):
            valid = ", ".join(k for k, v in target.items() if not isinstance(v, dict))
            raise ConfigError(f"Unknown setting {key.strip()!r}; settings here are: {valid}.")
        owner = SECTIONS[parts[0]] if len(parts) > 1 else ExperimentConfig
        target[leaf] = _parse_value(text.strip(), typing.get_type_hints(owner)[leaf])
    return ExperimentConfig.from_dict(raw)


def _parse_value(text: str, hint: Any) -> Any:
    """JSON when it parses, else the text itself; 'none'/'null'/'auto' mean empty only for optional settings
    (for a choice such as model.attention, "none" is a value)."""
    base, optional = _unwrap_optional(hint)
    if optional and text.lower() in ("none", "null", "auto", ""):
        return None
    if base is str:
        return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
