"""How faithful each explanation method is, measured instead of asserted.

ERASER's comprehensiveness and sufficiency (DeYoung et al. 2020) and AOPC over a deletion curve, against a random
token order, and how strongly each method's scores follow token position (attention over recurrent states often
tracks position: Jain & Wallace 2019). The methods themselves are in :mod:`core.evidence.explain`.

Each score comes with a bootstrap interval over the texts (seeded; the same resamples for every method, so the
comparison is paired), and methods whose AOPC intervals overlap the best one's are *tied*: on 200 FPB test texts
integrated gradients, occlusion and gradient × input were within 0.017 AOPC of each other and another sample of 200
picked another winner (DESIGN §7), so a single "most faithful" name would be noise. Among tied methods the cheapest
(measured seconds) is shown first.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from core.evidence.explain import (
    EXPLANATION_METHODS,
    K_PERCENTS,
    MAX_DELETION_STEPS,
    MAX_FAITHFULNESS_TEXTS,
    MOST_FAITHFUL_RULE,
    RANDOM,
    Explainer,
    class_indices_of,
    compose,
    method_title,
    real_lengths,
    validated_ids,
)
from core.records import Record

INTERVAL_LEVEL = 0.90  # the bootstrap percentile interval drawn around every score
BOOTSTRAP_RESAMPLES = 1000
EXPLAIN_CHUNK = 50  # texts explained per call: a stop request is noticed between calls (integrated gradients: seconds)
PREDICT_CHUNK = 4096  # perturbed texts scored per call, for the same reason


def tie_rule(level: float = INTERVAL_LEVEL) -> str:
    return (f"the method with the highest AOPC among those that beat random token order (comprehensiveness above "
            f"random order's and a {level:.0%} AOPC interval entirely above random order's); methods whose {level:.0%} "
            "AOPC intervals overlap its interval are tied with it, and then none is called the most faithful: the "
            "cheapest of them (measured seconds) is shown first")


class MeasurementStopped(Exception):
    """Raised by :func:`measure_faithfulness` when its ``should_stop()`` turned true: the report is abandoned."""


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)  # JSON stores NaN as null (core.runs.store.write_json)


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(_float(value) for value in values)


_NAN_AS_NULL = {"load": _float}  # a score that may be NaN (e.g. AOPC with no deletion step): null in the JSON
_NANS_AS_NULLS = {"load": _floats}


@dataclass(frozen=True)
class FaithfulnessRow(Record):
    """ERASER scores of one method (or of random order) on the sample; probabilities are of the explained class.

    comprehensiveness: p(y|x) − p(y|x without the top-k% tokens), mean over k and texts (higher = more faithful);
    sufficiency: p(y|x) − p(y|only the top-k% tokens) (lower = more faithful); aopc: mean probability drop along the
    deletion curve, most important token first (higher = more faithful). ``seconds``: time to compute the method's
    explanations for the sample (0 for random order).
    """

    method: str
    comprehensiveness: float = field(metadata=_NAN_AS_NULL)
    sufficiency: float = field(metadata=_NAN_AS_NULL)
    aopc: float = field(metadata=_NAN_AS_NULL)
    comprehensiveness_by_k: tuple[float, ...] = field(metadata=_NANS_AS_NULLS)
    sufficiency_by_k: tuple[float, ...] = field(metadata=_NANS_AS_NULLS)
    n_texts: int
    seconds: float = field(metadata=_NAN_AS_NULL)

    @property
    def title(self) -> str:
        return method_title(self.method)


@dataclass(frozen=True)
class Interval(Record):
    """A bootstrap percentile interval of a mean over texts (NaN ends: the score is undefined on the sample)."""

    low: float = field(metadata=_NAN_AS_NULL)
    high: float = field(metadata=_NAN_AS_NULL)

    @property
    def finite(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def overlaps(self, other: "Interval") -> bool:
        return self.finite and other.finite and self.low <= other.high and other.low <= self.high

    def above(self, other: "Interval") -> bool:
        return self.finite and other.finite and self.low > other.high


@dataclass(frozen=True)
class ScoreIntervals(Record):
    """The intervals of one row's three scores (same resamples of the texts for every row: a paired comparison)."""

    method: str
    comprehensiveness: Interval
    sufficiency: Interval
    aopc: Interval


@dataclass(frozen=True)
class PositionBias(Record):
    """How strongly a method's scores follow token position, over texts with ≥ 3 tokens and non-constant scores.

    spearman: mean Spearman correlation between position and score (+1: always rising toward the end);
    last_token_share: share of those texts whose highest score is on the last token. None when no text qualifies.
    For random order the "scores" rank tokens in the random order, so its share is the chance level (~1/length).
    """

    method: str
    spearman: Optional[float]
    last_token_share: Optional[float]
    n_texts: int


# A row's standing, in the words of the table's verdict column (short: the column stays in view at 1024 px).
MOST_FAITHFUL, TIED, BELOW_RANDOM, NOISE_OF_RANDOM, BELOW_BEST, REFERENCE, NOT_SCORED = (
    "most faithful", "tied for best", "below random order", "within noise of random", "beats random, below the best",
    "reference", "not scored")


@dataclass(frozen=True, kw_only=True)
class FaithfulnessReport(Record):
    """Fields after ``seconds`` were added with the intervals: a report written before them loads with them empty."""

    rows: tuple[FaithfulnessRow, ...]  # one per method, in registry order
    random: FaithfulnessRow  # the reference: a seeded random token order per text
    position_bias: tuple[PositionBias, ...] = ()  # one per method (and, since the intervals, random order last)
    # method key chosen by ``rule``; None when none beats random order or several tie
    most_faithful: Optional[str] = None
    rule: str = MOST_FAITHFUL_RULE
    verdict: str  # one plain sentence
    k_percents: tuple[float, ...] = K_PERCENTS
    max_deletion_steps: int = MAX_DELETION_STEPS
    n_texts: int
    seed: int = 0
    seconds: float = field(default=0.0, metadata=_NAN_AS_NULL)
    intervals: Optional[tuple[ScoreIntervals, ...]] = None  # one per row, random order last
    interval_level: Optional[float] = None  # e.g. 0.9 for a 90% percentile interval
    resamples: Optional[int] = None  # bootstrap resamples of the texts
    tied: Optional[tuple[str, ...]] = None  # the methods tied for the highest AOPC (two or more), else empty
    shown_first: Optional[str] = None  # the method pages show first: the most faithful, or the cheapest of the tied

    def row(self, method: str) -> FaithfulnessRow:
        if method == RANDOM:
            return self.random
        for row in self.rows:
            if row.method == method:
                return row
        raise KeyError(method)

    def bias(self, method: str) -> Optional[PositionBias]:
        return next((bias for bias in self.position_bias if bias.method == method), None)

    def interval(self, method: str) -> Optional[ScoreIntervals]:
        return next((interval for interval in self.intervals or () if interval.method == method), None)

    @property
    def first(self) -> Optional[str]:
        """The method to show first: the most faithful one, or the cheapest of those tied for best; None when no
        method beats random order (a report written before ties were measured: its most faithful method)."""
        return self.shown_first or self.most_faithful

    def below_random(self, method: str) -> bool:
        """Whether the method's top tokens matter less than random ones: comprehensiveness below random order's,
        beyond noise when the report has intervals (random order's interval lies above the method's); a report
        written before intervals were measured compares the point scores."""
        row = self.row(method)
        if method == RANDOM or not row.comprehensiveness < self.random.comprehensiveness:
            return False
        own, reference = self.interval(method), self.interval(RANDOM)
        if own is None or reference is None:
            return True
        return reference.comprehensiveness.above(own.comprehensiveness)

    def standing(self, method: str) -> str:
        """A few words for the table: most faithful, tied for best, below random order, ... (see the constants)."""
        row = self.row(method)
        if method == RANDOM:
            return REFERENCE
        if not (math.isfinite(row.comprehensiveness) and math.isfinite(row.aopc)):
            return NOT_SCORED
        if method == self.most_faithful:
            return MOST_FAITHFUL
        if method in (self.tied or ()):
            return TIED
        if self.below_random(method):
            return BELOW_RANDOM
        own, reference = self.interval(method), self.interval(RANDOM)
        if own is not None and reference is not None and not own.aopc.above(reference.aopc):
            return NOISE_OF_RANDOM
        return BELOW_BEST if (self.most_faithful or self.tied) else NOISE_OF_RANDOM

    def notes(self) -> tuple[str, ...]:
        """Plain sentences the verdict leaves out: each method whose top tokens matter less than random ones."""
        notes = []
        for row in self.rows:
            if math.isfinite(row.comprehensiveness) and self.below_random(row.method):
                possessive = "Attention's" if row.method == "attention" else f"{row.title}'s"
                notes.append(f"{possessive} top tokens matter less than random ones: deleting them lowers the "
                             f"predicted probability by {row.comprehensiveness:.3f} on average (comprehensiveness), "
                             f"against {self.random.comprehensiveness:.3f} for as many random tokens.")
        return tuple(notes)


def _top_count(percent: float, length: int) -> int:
    """Tokens in the top k%: at least one, rounding up (round() first so that 20% of 5 is 1, not 2)."""
    return min(length, max(1, math.ceil(round(percent * length / 100.0, 9))))


def _ranking(scores: np.ndarray) -> np.ndarray:
    """Positions, most important first (highest score; ties: earlier position first, so the order is deterministic)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


@dataclass(frozen=True)
class _Plan:
    """For one (method, text): which variant rows hold each k's comprehensiveness/sufficiency and each deletion step."""

    text: int
    comprehensive: tuple[int, ...]
    sufficient: tuple[int, ...]
    deletion: tuple[int, ...]


class _VariantBatch:
    """Collects the variants of every method and text, each distinct one once, for one batched prediction."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        self.rows: list[np.ndarray] = []
        self.owners: list[int] = []  # the text each variant row comes from
        self._seen: dict[tuple[int, bytes], int] = {}

    def add(self, text: int, kept: np.ndarray) -> int:
        kept = np.sort(kept)
        key = (text, kept.astype(np.int32).tobytes())
        if key not in self._seen:
            self._seen[key] = len(self.rows)
            self.rows.append(compose(self.ids[text], [kept])[0])
            self.owners.append(text)
        return self._seen[key]

    def plan(self, text: int, order: np.ndarray, k_percents: Sequence[float], max_steps: int) -> _Plan:
        length = len(order)
        tops = [_top_count(k, length) for k in k_percents]
        return _Plan(
            text=text,
            comprehensive=tuple(self.add(text, order[top:]) for top in tops),
            sufficient=tuple(self.add(text, order[:top]) for top in tops),
            deletion=tuple(self.add(text, order[step:]) for step in range(1, min(length - 1, max_steps) + 1)),
        )


def _score_plans(plans: list[_Plan], full: np.ndarray, variant_probability: np.ndarray, method: str,
                 seconds: float) -> tuple[FaithfulnessRow, dict[str, np.ndarray]]:
    """The row, and each text's own three scores (NaN AOPC for a text with no deletion step) for the bootstrap.

    ``full[text]``: p(y|x); ``variant_probability[i]``: p(y|variant i), y being the variant's text's class."""
    comprehensive = np.array([full[p.text] - variant_probability[list(p.comprehensive)] for p in plans])
    sufficient = np.array([full[p.text] - variant_probability[list(p.sufficient)] for p in plans])
    per_text_aopc = np.array([float(np.mean(full[p.text] - variant_probability[list(p.deletion)])) if p.deletion
                              else float("nan") for p in plans])
    curves = per_text_aopc[np.isfinite(per_text_aopc)]
    by_k_comp, by_k_suff = comprehensive.mean(axis=0), sufficient.mean(axis=0)
    row = FaithfulnessRow(
        method=method,
        comprehensiveness=float(by_k_comp.mean()), sufficiency=float(by_k_suff.mean()),
        aopc=float(np.mean(curves)) if len(curves) else float("nan"),
        comprehensiveness_by_k=tuple(float(v) for v in by_k_comp), sufficiency_by_k=tuple(float(v) for v in by_k_suff),
        n_texts=len(plans), seconds=round(seconds, 4),
    )
    per_text = {"comprehensiveness": comprehensive.mean(axis=1), "sufficiency": sufficient.mean(axis=1),
                "aopc": per_text_aopc}
    return row, per_text


def bootstrap_intervals(per_text: dict[str, dict[str, np.ndarray]], *, resamples: int = BOOTSTRAP_RESAMPLES,
                        level: float = INTERVAL_LEVEL, seed: int = 0) -> dict[str, ScoreIntervals]:
    """Percentile intervals of each row's mean scores over ``resamples`` resamples of the texts (with replacement).

    ``per_text[method][score]`` holds one value per text (NaN: undefined for that text, left out of its resample's
    mean). Every row uses the same resamples, so two rows' intervals compare like for like.
    """
    if resamples < 1 or not 0 < level < 1:
        raise ValueError("resamples must be positive and level a fraction in (0, 1)")
    texts = len(next(iter(per_text.values()))["aopc"])
    picks = np.random.default_rng([seed, 7]).integers(0, texts, size=(resamples, texts))  # not the token order's stream
    tail = 100.0 * (1.0 - level) / 2.0
    intervals = {}
    for method, scores in per_text.items():
        bounds = {}
        for name, values in scores.items():
            values = np.asarray(values, dtype=np.float64)
            resampled = values[picks]
            counts = np.isfinite(resampled).sum(axis=1)
            sums = np.where(np.isfinite(resampled), resampled, 0.0).sum(axis=1)
            means = sums[counts > 0] / counts[counts > 0]
            low, high = np.percentile(means, [tail, 100.0 - tail]) if len(means) else (float("nan"), float("nan"))
            bounds[name] = Interval(float(low), float(high))
        intervals[method] = ScoreIntervals(method, **bounds)
    return intervals


def position_bias(scores: Sequence[np.ndarray], method: str) -> PositionBias:
    """Mean Spearman ρ between token position and score, and how often the top score sits on the last token."""
    from scipy.stats import rankdata

    correlations, last = [], []
    for row in scores:
        row = np.asarray(row, dtype=np.float64)
        if len(row) < 3 or not np.all(np.isfinite(row)) or np.ptp(row) == 0:
            continue
        ranks = rankdata(row)
        positions = np.arange(len(row), dtype=np.float64)
        correlations.append(float(np.corrcoef(positions, ranks)[0, 1]))
        last.append(float(np.argmax(row) == len(row) - 1))
    if not correlations:
        return PositionBias(method, None, None, 0)
    return PositionBias(method, float(np.mean(correlations)), float(np.mean(last)), len(correlations))


def _order_scores(orders: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Scores that rank each text's tokens in the given order (first = highest), to measure an order like a method."""
    scores = []
    for order in orders:
        row = np.empty(len(order), dtype=np.float64)
        row[order] = np.arange(len(order), 0, -1, dtype=np.float64)
        scores.append(row)
    return scores


def _position_phrase(bias: PositionBias) -> str:
    rho = bias.spearman
    strength = abs(rho)
    if strength >= 0.5:
        words = "follows token position"
    elif strength >= 0.2:
        words = "partly follows token position"
    else:
        words = "does not follow token position"
    sign = "−" if rho < 0 else ""
    return f"attention {words} (ρ = {sign}{strength:.2f})"


def _names(titles: Sequence[str]) -> str:
    titles = [title.lower() for title in titles]
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


@dataclass(frozen=True)
class _Standing:
    most_faithful: Optional[str]
    tied: tuple[str, ...]
    first: Optional[str]


def _standing(rows: Sequence[FaithfulnessRow], random_row: FaithfulnessRow,
              intervals: dict[str, ScoreIntervals]) -> _Standing:
    reference = intervals[RANDOM].aopc
    beating = [row for row in rows if math.isfinite(row.comprehensiveness) and math.isfinite(row.aopc)
               and row.comprehensiveness > random_row.comprehensiveness and intervals[row.method].aopc.above(reference)]
    if not beating:
        return _Standing(None, (), None)
    best = max(beating, key=lambda row: row.aopc)
    tied = [row for row in beating if row is best or intervals[row.method].aopc.overlaps(intervals[best.method].aopc)]
    if len(tied) == 1:
        return _Standing(best.method, (), best.method)
    cheapest = min(tied, key=lambda row: row.seconds if math.isfinite(row.seconds) else math.inf)
    return _Standing(None, tuple(row.method for row in tied), cheapest.method)


def _verdict(rows: Sequence[FaithfulnessRow], random_row: FaithfulnessRow, standing: _Standing,
             intervals: dict[str, ScoreIntervals], biases: Sequence[PositionBias], level: float) -> str:
    attention_bias = next((b for b in biases if b.method == "attention" and b.spearman is not None), None)
    tail = f"; {_position_phrase(attention_bias)}" if attention_bias else ""
    by_method = {row.method: row for row in rows}
    if standing.most_faithful is not None:
        best, interval = by_method[standing.most_faithful], intervals[standing.most_faithful].aopc
        return (f"The most faithful explanation for this model is {best.title.lower()}: deleting its top tokens "
                f"lowers the predicted probability by {best.aopc:.3f} on average ({level:.0%} interval "
                f"{interval.low:.3f}–{interval.high:.3f}), against {random_row.aopc:.3f} for random order{tail}.")
    if standing.tied:
        lows = [intervals[method].aopc.low for method in standing.tied]
        highs = [intervals[method].aopc.high for method in standing.tied]
        return (f"No single method is the most faithful explanation for this model: "
                f"{_names([by_method[m].title for m in standing.tied])} are tied within noise (their {level:.0%} "
                f"intervals of AOPC overlap, {min(lows):.3f}–{max(highs):.3f}, against {random_row.aopc:.3f} "
                f"for random order); the cheapest, {by_method[standing.first].title.lower()}, is shown first{tail}.")
    finite = [row for row in rows if math.isfinite(row.aopc)]
    if not finite:
        return f"No explanation could be scored on these texts (each needs at least two tokens){tail}."
    best = max(finite, key=lambda row: row.aopc)
    return (f"No explanation beats random token order for this model beyond noise: deleting the top tokens of the "
            f"best one ({best.title}) lowers the predicted probability by {best.aopc:.3f} on average, against "
            f"{random_row.aopc:.3f} for random order{tail}.")


class _Steps:
    """Progress in stages (with a share within the current one) and the stop check, between pieces of work."""

    def __init__(self, stages: int, progress: Optional[Callable[[str, float], None]],
                 should_stop: Optional[Callable[[], bool]]) -> None:
        self.stages, self.progress, self.should_stop = stages, progress, should_stop

    def __call__(self, words: str, stage: int, within: float = 0.0) -> None:
        if self.should_stop is not None and self.should_stop():
            raise MeasurementStopped(words)
        if self.progress is not None:
            self.progress(words, min(1.0, (stage + within) / self.stages))


def _explain_in_chunks(explainer: Explainer, ids: np.ndarray, classes: np.ndarray, method: str, steps: _Steps,
                       stage: int) -> tuple[list[np.ndarray], float]:
    """The method's scores for every text, ``EXPLAIN_CHUNK`` texts at a time, and the seconds spent explaining."""
    scores, seconds = [], 0.0
    for start in range(0, len(ids), EXPLAIN_CHUNK):
        steps(f"explaining with {method_title(method).lower()}", stage, start / len(ids))
        began = time.perf_counter()
        scores.extend(explainer.explain(ids[start:start + EXPLAIN_CHUNK], classes[start:start + EXPLAIN_CHUNK], method))
        seconds += time.perf_counter() - began
    return scores, seconds


def _predict_in_chunks(explainer: Explainer, rows: np.ndarray, steps: _Steps, stage: int) -> np.ndarray:
    parts = []
    for start in range(0, len(rows), PREDICT_CHUNK):
        steps(f"scoring {len(rows):,} texts with tokens deleted", stage, start / len(rows))
        parts.append(explainer.predict(rows[start:start + PREDICT_CHUNK]))
    return np.concatenate(parts)


def measure_faithfulness(
    model,
    ids: np.ndarray,
    class_indices=None,
    methods: Optional[Sequence[str]] = None,
    *,
    k_percents: Sequence[float] = K_PERCENTS,
    max_deletion_steps: int = MAX_DELETION_STEPS,
    max_texts: int = MAX_FAITHFULNESS_TEXTS,
    seed: int = 0,
    explainer: Optional[Explainer] = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = INTERVAL_LEVEL,
    progress: Optional[Callable[[str, float], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> FaithfulnessReport:
    """Score each explanation method's faithfulness on encoded texts (ERASER + AOPC, random order as reference),
    each score with a ``level`` bootstrap interval over the texts (``resamples`` resamples, seeded).

    ``class_indices`` (None: the model's predicted classes) are the classes explained and scored. ``methods``
    (None: every available one). At most ``max_texts`` rows are used (a seeded sample). ``progress(words, fraction)``
    hears what is being done; ``should_stop()``, asked between pieces of work (a few seconds at most apart), ends the
    measurement with :class:`MeasurementStopped`.
    """
    started = time.perf_counter()
    explainer = explainer or Explainer(model)
    ids = validated_ids(ids, explainer.input_shape)
    if not len(ids):
        raise ValueError("faithfulness needs at least one text")
    if not k_percents or any(not 0 < k <= 100 for k in k_percents):
        raise ValueError("k_percents must be percentages in (0, 100]")
    if max_deletion_steps < 1 or max_texts < 1:
        raise ValueError("max_deletion_steps and max_texts must be positive")
    available = explainer.available()
    methods = tuple(available.keys() if methods is None else methods)
    for method in methods:
        EXPLANATION_METHODS.get(method)
        if available.reason(method):
            raise ValueError(available.reason(method))
    steps = _Steps(len(methods) + 3, progress, should_stop)  # classes, each method, deleted-token texts, intervals
    rng = np.random.default_rng(seed)
    sample = np.arange(len(ids))
    if len(ids) > max_texts:
        sample = np.sort(rng.choice(len(ids), size=max_texts, replace=False))
    if class_indices is not None:
        class_indices = class_indices_of(class_indices, len(ids), explainer.num_classes)[sample]
    ids = ids[sample]
    steps("predicting the sample's classes", 0)
    probabilities = explainer.predict(ids)
    classes = probabilities.argmax(axis=1) if class_indices is None else class_indices
    full = probabilities[np.arange(len(ids)), classes]
    lengths = real_lengths(ids)

    scores: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    for stage, method in enumerate(methods, start=1):
        scores[method], seconds[method] = _explain_in_chunks(explainer, ids, classes, method, steps, stage)
    orders = {method: [_ranking(row) for row in rows] for method, rows in scores.items()}
    orders[RANDOM] = [rng.permutation(length) for length in lengths]

    batch = _VariantBatch(ids)
    plans = {key: [batch.plan(text, order, k_percents, max_deletion_steps) for text, order in enumerate(rows)]
             for key, rows in orders.items()}
    variant_probabilities = _predict_in_chunks(explainer, np.stack(batch.rows), steps, len(methods) + 1)
    variant_probability = variant_probabilities[np.arange(len(batch.rows)), classes[np.asarray(batch.owners)]]

    scored = {m: _score_plans(plans[m], full, variant_probability, m, seconds[m]) for m in methods}
    scored[RANDOM] = _score_plans(plans[RANDOM], full, variant_probability, RANDOM, 0.0)
    rows = tuple(scored[m][0] for m in methods)
    random_row = scored[RANDOM][0]
    steps(f"bootstrap intervals ({resamples:,} resamples of the texts)", len(methods) + 2)
    intervals = bootstrap_intervals({key: per_text for key, (_, per_text) in scored.items()}, resamples=resamples,
                                    level=level, seed=seed)
    biases = (*(position_bias(scores[m], m) for m in methods), position_bias(_order_scores(orders[RANDOM]), RANDOM))
    standing = _standing(rows, random_row, intervals)
    return FaithfulnessReport(
        rows=rows, random=random_row, position_bias=biases, most_faithful=standing.most_faithful,
        rule=tie_rule(level), verdict=_verdict(rows, random_row, standing, intervals, biases, level),
        k_percents=tuple(float(k) for k in k_percents), max_deletion_steps=int(max_deletion_steps), n_texts=len(ids),
        seed=int(seed), seconds=round(time.perf_counter() - started, 3),
        intervals=tuple(intervals[key] for key in (*methods, RANDOM)), interval_level=float(level),
        resamples=int(resamples), tied=standing.tied, shown_first=standing.first,
    )
