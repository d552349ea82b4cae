"""Rebalancing the training split (and only the training split).

One public verb, :func:`resample_training`, dispatched through a registry whose errors list the valid choices.
Random over/undersampling pick whole rows; the SMOTE family interpolates in a continuous space — each sequence's
token embeddings from a briefly trained, then frozen, embedding layer — because interpolating token IDs invents
tokens. The caller supplies that embedding function, so this module needs no Keras.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.utils.class_weight import compute_class_weight

from core.config import RESAMPLING_STRATEGIES, ResamplingConfig
from core.errors import ConfigError

Embedder = Callable[[np.ndarray], np.ndarray]  # token IDs (n, steps) → embeddings (n, steps, dim), zeros on padding
UNDERSAMPLE_FLOOR = 20  # undersampling never cuts a class below this many rows
SYNTHETIC = ("smote", "borderline_smote", "adasyn")

EXPLANATIONS: dict[str, dict[str, str]] = {
    "none": {
        "title": "No resampling",
        "what": "Trains on the training split as it is.",
        "when": "Classes are roughly balanced, or you want the honest starting point to compare against.",
        "risk": "On imbalanced data the model can score well on accuracy by favouring the majority class.",
    },
    "class_weights": {
        "title": "Class weights (balanced)",
        "what": "Keeps every row but weighs each class's loss by n_rows / (n_classes × class_rows), so each class counts equally.",
        "when": "The recommended first lever for imbalance: no rows are invented or thrown away.",
        "risk": "Very large weights on tiny classes make training noisier; watch the validation curve.",
    },
    "random_over": {
        "title": "Random oversampling",
        "what": "Duplicates randomly chosen rows of the smaller classes until every class matches the largest.",
        "when": "Small datasets where every minority row is precious.",
        "risk": "The model sees the same minority texts many times and can memorise them (overfitting).",
    },
    "random_under": {
        "title": "Random undersampling",
        "what": f"Drops random rows of the larger classes down to the smallest class's size (never below {UNDERSAMPLE_FLOOR} rows).",
        "when": "Large datasets where the majority class has far more rows than needed and training time matters.",
        "risk": "Throws information away; with a tiny smallest class it leaves very little to learn from.",
    },
    "smote": {
        "title": "SMOTE",
        "what": "Creates synthetic minority examples on the line between a row and one of its k nearest neighbours of the same class.",
        "when": "A minority class has a few dozen rows or more and you want more varied examples than duplicates.",
        "risk": "Synthetic points between dissimilar texts can blur class boundaries.",
    },
    "borderline_smote": {
        "title": "Borderline-SMOTE",
        "what": "Like SMOTE, but only interpolates from minority rows near the class boundary (those whose neighbours are mostly of other classes).",
        "when": "Classes overlap and the hard cases lie on the boundary.",
        "risk": "Generates nothing for a class with no boundary rows, and can amplify label noise near the boundary.",
    },
    "adasyn": {
        "title": "ADASYN",
        "what": "Like SMOTE, but creates more synthetic rows for minority examples that are harder to learn (more neighbours of other classes).",
        "when": "Some minority regions are much harder than others.",
        "risk": "Focuses on noisy or mislabelled rows as eagerly as on genuinely hard ones.",
    },
}

SYNTHETIC_SPACE = (
    "SMOTE-family methods cannot interpolate token IDs (the midpoint of 'theft' and 'laptop' is a random word), so "
    "the engine first trains a small bag-of-embeddings classifier on the training split, freezes its embedding, and "
    "represents every training text as its sequence of token vectors. Synthetic texts are interpolated in that "
    "space (their length interpolated too), and the LSTM trains on these vectors with that embedding frozen, so real "
    "and synthetic examples live in the same space. Validation and test rows are never resampled."
)


@dataclass
class ResampledTraining:
    """What the model trains on, and the audit trail of how it was made."""

    x: np.ndarray  # token IDs (n, steps), or embeddings (n, steps, dim) when ``embedded``
    y: np.ndarray
    embedded: bool
    class_weight: Optional[dict[int, float]]
    counts_before: list[int]
    counts_after: list[int]
    method: str  # what actually ran, e.g. "SMOTE (k=1)"
    notes: list[str] = field(default_factory=list)


def resample_training(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    config: ResamplingConfig,
    seed: int,
    embed: Optional[Embedder] = None,
) -> ResampledTraining:
    """Rebalance the training rows ``x, y`` per ``config.strategy``."""
    strategy = STRATEGIES.get(config.strategy)
    if strategy is None:
        raise ConfigError(f"resampling.strategy must be one of {', '.join(RESAMPLING_STRATEGIES)}; got {config.strategy!r}.")
    if config.strategy in SYNTHETIC and embed is None:
        raise ValueError("SMOTE-family resampling needs an embedding function")
    counts_before = np.bincount(y, minlength=num_classes).tolist()
    result = strategy(x, y, num_classes, config, seed, embed)
    result.counts_before = counts_before
    result.counts_after = np.bincount(result.y, minlength=num_classes).tolist()
    return result


def _none(x, y, num_classes, config, seed, embed) -> ResampledTraining:
    return ResampledTraining(x, y, False, None, [], [], "none")


def _class_weights(x, y, num_classes, config, seed, embed) -> ResampledTraining:
    present = np.unique(y)
    weights = compute_class_weight("balanced", classes=present, y=y)
    class_weight = {int(c): float(w) for c, w in zip(present, weights)}
    return ResampledTraining(x, y, False, class_weight, [], [], "class weights (balanced)")


def _pick_rows(x, y, sampler) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(len(y)).reshape(-1, 1)
    picked, y_new = sampler.fit_resample(rows, y)
    return x[picked[:, 0]], np.asarray(y_new)


def _random_over(x, y, num_classes, config, seed, embed) -> ResampledTraining:
    x_new, y_new = _pick_rows(x, y, RandomOverSampler(random_state=seed))
    return ResampledTraining(x_new, y_new, False, None, [], [], "random oversampling")


def _random_under(x, y, num_classes, config, seed, embed) -> ResampledTraining:
    counts = np.bincount(y, minlength=num_classes)
    present = counts[counts > 0]
    target = max(int(present.min()), UNDERSAMPLE_FLOOR)
    strategy = {int(c): min(int(counts[c]), target) for c in np.flatnonzero(counts)}
    notes = []
    if target > present.min():
        notes.append(f"Classes were cut to {target} rows, not to the smallest class ({present.min()}), to keep enough to learn from.")
    x_new, y_new = _pick_rows(x, y, RandomUnderSampler(sampling_strategy=strategy, random_state=seed))
    return ResampledTraining(x_new, y_new, False, None, [], [], "random undersampling", notes)


def _flatten_with_lengths(embedded: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """One row per text: its token vectors flattened, plus its length in a last column that interpolates linearly
    alongside them (scaled tiny so it does not sway the nearest-neighbour search)."""
    lengths = (ids != 0).sum(axis=1).astype(np.float32)
    flat = embedded.reshape(len(embedded), -1).astype(np.float32)
    return np.hstack([flat, (lengths * 1e-6).reshape(-1, 1)])


def _unflatten(flat: np.ndarray, steps: int, dim: int) -> np.ndarray:
    lengths = np.clip(np.rint(flat[:, -1] / 1e-6), 1, steps).astype(np.int64)
    sequences = flat[:, :-1].reshape(len(flat), steps, dim).copy()
    sequences[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0  # keep the padding strictly at the end
    return sequences


def _synthetic(x, y, num_classes, config, seed, embed) -> ResampledTraining:
    notes: list[str] = []
    embedded = embed(x)
    steps, dim = embedded.shape[1], embedded.shape[2]
    flat = _flatten_with_lengths(embedded, x)
    counts = np.bincount(y, minlength=num_classes)
    majority = int(counts.max())
    # Interpolation needs two rows of a class: a class with one training row is duplicated instead.
    single = [int(c) for c in np.flatnonzero(counts == 1)]
    interpolable = np.isin(y, np.flatnonzero(counts >= 2))
    to_grow = [c for c in np.flatnonzero(counts >= 2) if counts[c] < majority]
    method_name = {"smote": "SMOTE", "borderline_smote": "Borderline-SMOTE", "adasyn": "ADASYN"}[config.strategy]
    flat_new, y_new = flat[interpolable], y[interpolable]
    method = method_name
    if to_grow and len(np.unique(y_new)) >= 2:
        smallest = int(counts[to_grow].min())
        k = min(config.k_neighbors, smallest - 1)
        if k < config.k_neighbors:
            notes.append(f"k_neighbors lowered from {config.k_neighbors} to {k}: the smallest class to grow has {smallest} training rows.")
        flat_new, y_new, method = _run_synthetic(config.strategy, flat_new, y_new, k, seed, notes)
    if single:
        copies = [np.repeat(flat[y == c], majority, axis=0) for c in single]
        flat_new = np.vstack([flat_new, *copies])
        y_new = np.concatenate([y_new, np.repeat(single, majority)])
        notes.append(f"{len(single)} class(es) with a single training row were duplicated instead: interpolation needs two rows.")
    sequences = _unflatten(flat_new, steps, dim)
    return ResampledTraining(sequences, np.asarray(y_new, dtype=np.int64), True, None, [], [], method, notes)


def _run_synthetic(strategy: str, flat, y, k: int, seed: int, notes: list[str]):
    label = {"smote": "SMOTE", "borderline_smote": "Borderline-SMOTE", "adasyn": "ADASYN"}[strategy]
    if strategy == "smote":
        sampler = SMOTE(k_neighbors=k, random_state=seed)
    elif strategy == "borderline_smote":
        sampler = BorderlineSMOTE(k_neighbors=k, m_neighbors=min(10, len(y) - 1), random_state=seed)
    else:
        sampler = ADASYN(n_neighbors=k, random_state=seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flat_new, y_new = sampler.fit_resample(flat, y)
        return flat_new, np.asarray(y_new), f"{label} (k={k})"
    except (RuntimeError, ValueError) as exc:
        if strategy == "smote":
            raise
        notes.append(f"{label} could not run on this data ({exc}); plain SMOTE was used instead.")
        flat_new, y_new = SMOTE(k_neighbors=k, random_state=seed).fit_resample(flat, y)
        return flat_new, np.asarray(y_new), f"SMOTE (k={k}, fallback from {label})"


STRATEGIES: dict[str, Callable[..., ResampledTraining]] = {
    "none": _none,
    "class_weights": _class_weights,
    "random_over": _random_over,
    "random_under": _random_under,
    "smote": _synthetic,
    "borderline_smote": _synthetic,
    "adasyn": _synthetic,
}


def preview_counts(y_train: np.ndarray, num_classes: int, config: ResamplingConfig, seed: int) -> tuple[list[int], bool]:
    """Training class counts after resampling, without training anything; the flag says whether they are exact.

    Row-picking strategies run for real on row indices (cheap). SMOTE brings every class to the majority count.
    Borderline-SMOTE and ADASYN decide per row during training, so their counts here are the upper bound.
    """
    if config.strategy in SYNTHETIC:
        counts = np.bincount(y_train, minlength=num_classes)
        target = int(counts.max())
        return [target if c > 0 else 0 for c in counts.tolist()], config.strategy == "smote"
    rows = np.arange(len(y_train)).reshape(-1, 1)
    return resample_training(rows, np.asarray(y_train), num_classes, config, seed).counts_after, True
