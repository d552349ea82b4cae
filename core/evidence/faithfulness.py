"""How faithful each explanation method is, measured instead of asserted.

ERASER's comprehensiveness and sufficiency (DeYoung et al. 2020) and AOPC over a deletion curve, against a random
token order, and how strongly each method's scores follow token position (attention over recurrent states often
tracks position: Jain & Wallace 2019). The methods themselves are in :mod:`core.evidence.explain`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

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
class PositionBias(Record):
    """How strongly a method's scores follow token position, over texts with ≥ 3 tokens and non-constant scores.

    spearman: mean Spearman correlation between position and score (+1: always rising toward the end);
    last_token_share: share of those texts whose highest score is on the last token. None when no text qualifies.
    """

    method: str
    spearman: Optional[float]
    last_token_share: Optional[float]
    n_texts: int


@dataclass(frozen=True, kw_only=True)
class FaithfulnessReport(Record):
    rows: tuple[FaithfulnessRow, ...]  # one per method, in registry order
    random: FaithfulnessRow  # the reference: a seeded random token order per text
    position_bias: tuple[PositionBias, ...] = ()  # one per method
    most_faithful: Optional[str] = None  # method key chosen by ``rule``; None when no method beats random order
    rule: str = MOST_FAITHFUL_RULE
    verdict: str  # one plain sentence
    k_percents: tuple[float, ...] = K_PERCENTS
    max_deletion_steps: int = MAX_DELETION_STEPS
    n_texts: int
    seed: int = 0
    seconds: float = field(default=0.0, metadata=_NAN_AS_NULL)

    def row(self, method: str) -> FaithfulnessRow:
        if method == RANDOM:
            return self.random
        for row in self.rows:
            if row.method == method:
                return row
        raise KeyError(method)

    def bias(self, method: str) -> Optional[PositionBias]:
        return next((bias for bias in self.position_bias if bias.method == method), None)


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
    """Collects the variants of every method and text, each distinct one once, for a single ``predict`` call."""

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
                 seconds: float) -> FaithfulnessRow:
    """``full[text]``: p(y|x); ``variant_probability[i]``: p(y|variant i), y being the variant's text's class."""
    comprehensive = np.array([full[p.text] - variant_probability[list(p.comprehensive)] for p in plans])
    sufficient = np.array([full[p.text] - variant_probability[list(p.sufficient)] for p in plans])
    curves = [float(np.mean(full[p.text] - variant_probability[list(p.deletion)])) for p in plans if p.deletion]
    by_k_comp, by_k_suff = comprehensive.mean(axis=0), sufficient.mean(axis=0)
    return FaithfulnessRow(
        method=method,
        comprehensiveness=float(by_k_comp.mean()), sufficiency=float(by_k_suff.mean()),
        aopc=float(np.mean(curves)) if curves else float("nan"),
        comprehensiveness_by_k=tuple(float(v) for v in by_k_comp), sufficiency_by_k=tuple(float(v) for v in by_k_suff),
        n_texts=len(plans), seconds=round(seconds, 4),
    )


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


def _verdict(rows: Sequence[FaithfulnessRow], random_row: FaithfulnessRow, most_faithful: Optional[str],
             biases: Sequence[PositionBias]) -> str:
    attention_bias = next((b for b in biases if b.method == "attention" and b.spearman is not None), None)
    tail = f"; {_position_phrase(attention_bias)}" if attention_bias else ""
    if most_faithful is not None:
        best = next(row for row in rows if row.method == most_faithful)
        return (f"The most faithful explanation for this model is {best.title.lower()}: deleting its top tokens "
                f"lowers the predicted probability by {best.aopc:.2f} on average, against {random_row.aopc:.2f} for random "
                f"order{tail}.")
    finite = [row for row in rows if math.isfinite(row.aopc)]
    if not finite:
        return f"No explanation could be scored on these texts (each needs at least two tokens){tail}."
    best = max(finite, key=lambda row: row.aopc)
    return (f"No explanation beats random token order for this model: deleting the top tokens of the best one "
            f"({best.title}) lowers the predicted probability by {best.aopc:.2f} on average, against "
            f"{random_row.aopc:.2f} for random order{tail}.")


def _most_faithful(rows: Sequence[FaithfulnessRow], random_row: FaithfulnessRow) -> Optional[str]:
    beating = [row for row in rows if math.isfinite(row.comprehensiveness) and math.isfinite(row.aopc)
               and row.comprehensiveness > random_row.comprehensiveness]
    return max(beating, key=lambda row: row.aopc).method if beating else None


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
) -> FaithfulnessReport:
    """Score each explanation method's faithfulness on encoded texts (ERASER + AOPC, random order as reference).

    ``class_indices`` (None: the model's predicted classes) are the classes explained and scored. ``methods``
    (None: every available one). At most ``max_texts`` rows are used (a seeded sample). All perturbed variants are
    predicted in one batched call.
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
    if methods is None:
        methods = available.keys()
    for method in methods:
        EXPLANATION_METHODS.get(method)
        if available.reason(method):
            raise ValueError(available.reason(method))
    rng = np.random.default_rng(seed)
    sample = np.arange(len(ids))
    if len(ids) > max_texts:
        sample = np.sort(rng.choice(len(ids), size=max_texts, replace=False))
    if class_indices is not None:
        class_indices = class_indices_of(class_indices, len(ids), explainer.num_classes)[sample]
    ids = ids[sample]
    probabilities = explainer.predict(ids)
    classes = probabilities.argmax(axis=1) if class_indices is None else class_indices
    full = probabilities[np.arange(len(ids)), classes]
    lengths = real_lengths(ids)

    scores: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    for method in methods:
        began = time.perf_counter()
        scores[method] = explainer.explain(ids, classes, method)
        seconds[method] = time.perf_counter() - began
    orders = {method: [_ranking(row) for row in rows] for method, rows in scores.items()}
    orders[RANDOM] = [rng.permutation(length) for length in lengths]

    batch = _VariantBatch(ids)
    plans = {key: [batch.plan(text, order, k_percents, max_deletion_steps) for text, order in enumerate(rows)]
             for key, rows in orders.items()}
    variant_probabilities = explainer.predict(np.stack(batch.rows))
    variant_probability = variant_probabilities[np.arange(len(batch.rows)), classes[np.asarray(batch.owners)]]

    rows = tuple(_score_plans(plans[m], full, variant_probability, m, seconds[m]) for m in methods)
    random_row = _score_plans(plans[RANDOM], full, variant_probability, RANDOM, 0.0)
    biases = tuple(position_bias(scores[m], m) for m in methods)
    most = _most_faithful(rows, random_row)
    return FaithfulnessReport(
        rows=rows, random=random_row, position_bias=biases, most_faithful=most, rule=MOST_FAITHFUL_RULE,
        verdict=_verdict(rows, random_row, most, biases), k_percents=tuple(float(k) for k in k_percents),
        max_deletion_steps=int(max_deletion_steps), n_texts=len(ids), seed=int(seed),
        seconds=round(time.perf_counter() - started, 3),
    )

