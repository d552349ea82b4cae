"""Rebalancing the training split (and only the training split), one registry record per strategy.

One public verb, :func:`resample_training`, dispatched through :data:`RESAMPLERS`. Each :class:`Resampler` record
holds its texts, the ``resampling.*`` settings it uses, how it changes the class counts (:meth:`Resampler.preview`,
exact or an upper bound) and how it runs. Random over/undersampling pick whole rows; the SMOTE family interpolates
in a continuous space — each sequence's token embeddings from a briefly trained, then frozen, embedding layer —
because interpolating token IDs invents tokens. The caller supplies that embedding function, so this module needs
no Keras; imbalanced-learn is imported only when a sampler runs (this module is imported by the first page).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import numpy as np

from core import lazy
from core.registry import Registry, Texts

if TYPE_CHECKING:
    from core.config import ResamplingConfig

Embedder = Callable[[np.ndarray], np.ndarray]  # token IDs (n, steps) → embeddings (n, steps, dim), zeros on padding
UNDERSAMPLE_FLOOR = 20  # undersampling never cuts a class below this many rows
EXACT, AT_MOST, ABOUT = "exact", "at most", "about"  # how a preview relates to the rows training receives

EMBEDDING_SPACE = (
    "Interpolating token IDs is meaningless (the midpoint of 'theft' and 'laptop' is a random word), so the engine "
    "first trains a small bag-of-embeddings classifier on the training split, freezes its embedding, and represents "
    "every training text as its sequence of token vectors. Synthetic texts are interpolated in that space (their "
    "length interpolated too), and the LSTM trains on these vectors with that embedding frozen, so real and "
    "synthetic examples live in the same space. Validation and test rows are never resampled."
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


@dataclass(frozen=True)
class RowRequest:
    """Everything a strategy may use: the training rows and the settings."""

    x: np.ndarray
    y: np.ndarray
    num_classes: int
    config: "ResamplingConfig"
    seed: int
    embed: Optional[Embedder]

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=self.num_classes)


@dataclass(frozen=True)
class Resampler:
    """One resampling strategy: what it is, what it uses, what it does to the counts, and how it runs.

    ``preview(counts, config)`` returns the training class counts after resampling without touching any row;
    ``preview_kind`` says how training's real counts relate to them: "exact", "at most" (an upper bound) or
    "about" (within rounding of each class).
    ``embedded`` strategies need the continuous embedding space (the caller passes ``embed``).
    """

    key: str
    title: str
    texts: Texts
    run: Callable[[RowRequest], ResampledTraining]
    preview: Callable[[Sequence[int], "ResamplingConfig"], list[int]]
    preview_kind: str = EXACT
    settings: tuple[str, ...] = ()  # names of the resampling.* fields this strategy reads
    embedded: bool = False
    weights: Optional[Callable[[Sequence[int]], dict[int, float]]] = None  # per-class loss weights from class counts


RESAMPLERS: Registry[Resampler] = Registry("resampling.strategy", "resampling strategy")


def balanced_class_weights(counts: Sequence[int]) -> dict[int, float]:
    """n_rows / (n_classes_present × class_rows) for each present class: every class weighs the same in the loss
    (scikit-learn's "balanced"). The one place this formula lives."""
    counts = np.asarray(counts, dtype=np.float64)
    present = np.flatnonzero(counts > 0)
    total = counts.sum()
    return {int(c): float(total / (len(present) * counts[c])) for c in present}


def dampened_class_weights(counts: Sequence[int]) -> dict[int, float]:
    """The square root of the balanced weights, rescaled so the weighted rows still add up to the row count (the
    loss keeps its scale, so the learning rate means the same): a 60:1 imbalance becomes about 7.7:1 instead of 60:1.

    Measured on a question-type corpus, balanced weights cost a 1.6 % class 0.17 F1 (its few rows' huge weights made
    training noisy) while no weights let larger classes swamp it; the square root sits between the two."""
    balanced = balanced_class_weights(counts)
    if not balanced:
        return {}
    counts = np.asarray(counts, dtype=np.float64)
    root = {c: float(np.sqrt(w)) for c, w in balanced.items()}
    scale = counts.sum() / sum(counts[c] * w for c, w in root.items())
    return {c: w * scale for c, w in root.items()}


def resample_training(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    config: "ResamplingConfig",
    seed: int,
    embed: Optional[Embedder] = None,
) -> ResampledTraining:
    """Rebalance the training rows ``x, y`` per ``config.strategy``."""
    resampler = RESAMPLERS.get(config.strategy)
    if resampler.embedded and embed is None:
        raise ValueError(f"{resampler.title} needs an embedding function")
    counts_before = np.bincount(y, minlength=num_classes).tolist()
    result = resampler.run(RowRequest(x, y, num_classes, config, seed, embed))
    result.counts_before = counts_before
    result.counts_after = np.bincount(result.y, minlength=num_classes).tolist()
    return result


def preview_counts(train_counts: Sequence[int], config: "ResamplingConfig") -> tuple[list[int], str]:
    """Training class counts after resampling, without training anything, and how exact they are
    (:data:`EXACT`, :data:`AT_MOST` or :data:`ABOUT`)."""
    resampler = RESAMPLERS.get(config.strategy)
    return resampler.preview([int(c) for c in train_counts], config), resampler.preview_kind


# --------------------------------------------------------------------------------------------- previews


def _unchanged(counts: Sequence[int], config) -> list[int]:
    return list(counts)


def _every_class_to_majority(counts: Sequence[int], config) -> list[int]:
    majority = max(counts) if counts else 0
    return [majority if c > 0 else 0 for c in counts]


def _undersample_target(counts: Sequence[int]) -> int:
    present = [c for c in counts if c > 0]
    return max(min(present), UNDERSAMPLE_FLOOR) if present else 0


def _under_counts(counts: Sequence[int], config) -> list[int]:
    target = _undersample_target(counts)
    return [min(c, target) for c in counts]


# --------------------------------------------------------------------------------------------- runners


def _as_is(request: RowRequest) -> ResampledTraining:
    return ResampledTraining(request.x, request.y, False, None, [], [], "none")


def _weighted(
    weights: Callable[[Sequence[int]], dict[int, float]], method: str
) -> Callable[[RowRequest], ResampledTraining]:
    """Every row kept; each class's loss weighted by ``weights(counts)``."""

    def run(request: RowRequest) -> ResampledTraining:
        return ResampledTraining(request.x, request.y, False, weights(request.counts.tolist()), [], [], method)

    return run


def _pick_rows(x: np.ndarray, y: np.ndarray, sampler) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(len(y)).reshape(-1, 1)
    picked, y_new = sampler.fit_resample(rows, y)
    return x[picked[:, 0]], np.asarray(y_new)


def _random_over(request: RowRequest) -> ResampledTraining:
    lazy.load("imblearn")
    from imblearn.over_sampling import RandomOverSampler

    x_new, y_new = _pick_rows(request.x, request.y, RandomOverSampler(random_state=request.seed))
    return ResampledTraining(x_new, y_new, False, None, [], [], "random oversampling")


def _random_under(request: RowRequest) -> ResampledTraining:
    lazy.load("imblearn")
    from imblearn.under_sampling import RandomUnderSampler

    counts = request.counts
    target = _undersample_target(counts.tolist())
    strategy = {int(c): min(int(counts[c]), target) for c in np.flatnonzero(counts)}
    smallest = int(counts[counts > 0].min())
    notes = []
    if target > smallest:
        notes.append(f"Classes were cut to {target} rows, not to the smallest class ({smallest}), "
                     "to keep enough to learn from.")
    x_new, y_new = _pick_rows(request.x, request.y,
                              RandomUnderSampler(sampling_strategy=strategy, random_state=request.seed))
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


SamplerFactory = Callable[[int, int, int], Any]  # (k_neighbors, seed, rows) -> an imbalanced-learn sampler


def _smote_sampler(k: int, seed: int, rows: int):
    lazy.load("imblearn")
    from imblearn.over_sampling import SMOTE

    return SMOTE(k_neighbors=k, random_state=seed)


def _interpolate(title: str, make_sampler: SamplerFactory, flat, y, k: int, seed: int, notes: list[str]):
    """Run one SMOTE-family sampler; a variant that cannot run on this data falls back to plain SMOTE and says so."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flat_new, y_new = make_sampler(k, seed, len(y)).fit_resample(flat, y)
        return flat_new, np.asarray(y_new), f"{title} (k={k})"
    except (RuntimeError, ValueError) as exc:
        if make_sampler is _smote_sampler:
            raise
        notes.append(f"{title} could not run on this data ({exc}); plain SMOTE was used instead.")
        flat_new, y_new = _smote_sampler(k, seed, len(y)).fit_resample(flat, y)
        return flat_new, np.asarray(y_new), f"SMOTE (k={k}, fallback from {title})"


def _synthetic_runner(title: str, make_sampler: SamplerFactory) -> Callable[[RowRequest], ResampledTraining]:
    """SMOTE-family resampling in the embedding space; tiny classes handled the same way for every variant."""

    def run(request: RowRequest) -> ResampledTraining:
        x, y, config, seed = request.x, request.y, request.config, request.seed
        notes: list[str] = []
        embedded = request.embed(x)
        steps, dim = embedded.shape[1], embedded.shape[2]
        flat = _flatten_with_lengths(embedded, x)
        counts = request.counts
        majority = int(counts.max())
        # Interpolation needs two rows of a class: a class with one training row is duplicated instead.
        single = [int(c) for c in np.flatnonzero(counts == 1)]
        interpolable = np.isin(y, np.flatnonzero(counts >= 2))
        to_grow = [c for c in np.flatnonzero(counts >= 2) if counts[c] < majority]
        flat_new, y_new, method = flat[interpolable], y[interpolable], title
        if to_grow and len(np.unique(y_new)) >= 2:
            smallest = int(counts[to_grow].min())
            k = min(config.k_neighbors, smallest - 1)
            if k < config.k_neighbors:
                notes.append(f"k_neighbors lowered from {config.k_neighbors} to {k}: "
                             f"the smallest class to grow has {smallest} training rows.")
            flat_new, y_new, method = _interpolate(title, make_sampler, flat_new, y_new, k, seed, notes)
        if single:
            copies = [np.repeat(flat[y == c], majority, axis=0) for c in single]
            flat_new = np.vstack([flat_new, *copies])
            y_new = np.concatenate([y_new, np.repeat(single, majority)])
            notes.append(f"{len(single)} class(es) with a single training row were duplicated instead: "
                         "interpolation needs two rows.")
        sequences = _unflatten(flat_new, steps, dim)
        return ResampledTraining(sequences, np.asarray(y_new, dtype=np.int64), True, None, [], [], method, notes)

    return run


def _synthetic(key: str, title: str, texts: Texts, make_sampler: SamplerFactory, *, preview_kind: str) -> Resampler:
    return Resampler(
        key=key, title=title, texts=texts, run=_synthetic_runner(title, make_sampler), preview=_every_class_to_majority,
        preview_kind=preview_kind, settings=("k_neighbors", "embedding_warmup_epochs"), embedded=True,
    )


def _borderline_sampler(k: int, seed: int, rows: int):
    lazy.load("imblearn")
    from imblearn.over_sampling import BorderlineSMOTE

    return BorderlineSMOTE(k_neighbors=k, m_neighbors=min(10, rows - 1), random_state=seed)


def _adasyn_sampler(k: int, seed: int, rows: int):
    lazy.load("imblearn")
    from imblearn.over_sampling import ADASYN

    return ADASYN(n_neighbors=k, random_state=seed)


# --------------------------------------------------------------------------------------------- the records

RESAMPLERS.register(Resampler(
    key="none", title="No resampling", run=_as_is, preview=_unchanged,
    texts=Texts(
        what="Trains on the training split as it is.",
        when="Classes are roughly balanced, or you want the honest starting point to compare against.",
        risk="On imbalanced data the model can score well on accuracy by favouring the majority class.",
    ),
))
RESAMPLERS.register(Resampler(
    key="class_weights", title="Class weights (balanced)",
    run=_weighted(balanced_class_weights, "class weights (balanced)"), preview=_unchanged,
    weights=balanced_class_weights,
    texts=Texts(
        what=(
            "Keeps every row but weighs each class's loss by n_rows / (n_classes × class_rows), "
            "so each class counts equally."
        ),
        when="The recommended first lever for imbalance: no rows are invented or thrown away.",
        risk="Very large weights on tiny classes make training noisier; watch the validation curve.",
    ),
))
RESAMPLERS.register(Resampler(
    key="class_weights_sqrt", title="Class weights (square root)",
    run=_weighted(dampened_class_weights, "class weights (square root)"), preview=_unchanged,
    weights=dampened_class_weights,
    texts=Texts(
        what=(
            "Keeps every row and weighs each class's loss by the square root of the balanced weight "
            "(rescaled so the loss keeps its size): small classes count more, but far less than with balanced weights."
        ),
        when=(
            "Strong imbalance where balanced weights make a tiny class's few rows dominate training, "
            "yet no weights let it be ignored."
        ),
        risk="A middle road: on mild imbalance it differs little from either neighbour; check validation macro-F1.",
    ),
))
RESAMPLERS.register(Resampler(
    key="random_over", title="Random oversampling", run=_random_over, preview=_every_class_to_majority,
    texts=Texts(
        what="Duplicates randomly chosen rows of the smaller classes until every class matches the largest.",
        when="Small datasets where every minority row is precious.",
        risk="The model sees the same minority texts many times and can memorise them (overfitting).",
    ),
))
RESAMPLERS.register(Resampler(
    key="random_under", title="Random undersampling", run=_random_under, preview=_under_counts,
    texts=Texts(
        what=(
            "Drops random rows of the larger classes down to the smallest class's size "
            f"(never below {UNDERSAMPLE_FLOOR} rows)."
        ),
        when="Large datasets where the majority class has far more rows than needed and training time matters.",
        risk="Throws information away; with a tiny smallest class it leaves very little to learn from.",
    ),
))
RESAMPLERS.register(_synthetic(
    "smote", "SMOTE", make_sampler=_smote_sampler, preview_kind=EXACT,
    texts=Texts(
        what=(
            "Creates synthetic minority examples on the line between a row and one of its k nearest neighbours "
            "of the same class."
        ),
        when="A minority class has a few dozen rows or more and you want more varied examples than duplicates.",
        risk="Synthetic points between dissimilar texts can blur class boundaries.",
    ),
))
RESAMPLERS.register(_synthetic(
    "borderline_smote", "Borderline-SMOTE", make_sampler=_borderline_sampler, preview_kind=AT_MOST,
    texts=Texts(
        what=(
            "Like SMOTE, but only interpolates from minority rows near the class boundary "
            "(those whose neighbours are mostly of other classes)."
        ),
        when="Classes overlap and the hard cases lie on the boundary.",
        risk="Generates nothing for a class with no boundary rows, and can amplify label noise near the boundary.",
    ),
))
RESAMPLERS.register(_synthetic(
    "adasyn", "ADASYN", make_sampler=_adasyn_sampler, preview_kind=ABOUT,
    texts=Texts(
        what=(
            "Like SMOTE, but creates more synthetic rows for minority examples that are harder to learn "
            "(more neighbours of other classes)."
        ),
        when="Some minority regions are much harder than others.",
        risk="Focuses on noisy or mislabelled rows as eagerly as on genuinely hard ones.",
    ),
))
