"""The verdict rule of a lever study: each lever's paired differences (lever − reference, same seeds) in validation
macro-F1, judged by a 90% paired t-interval and the smallest difference that matters."""

from __future__ import annotations

import math
import statistics
from typing import Optional, Sequence

from core import lazy

HELPS, HURTS, WITHIN_NOISE = "helps", "hurts", "within noise"
MIN_EFFECT = 0.01  # macro-F1: smaller differences do not matter next to seed-to-seed swings of 0.03-0.09
CONFIDENCE = 0.90  # two-sided paired t-interval, so each verdict direction has a 5 % false-alarm rate
VERDICT_RULE = (
    "A lever helps (or hurts) when the 90% paired t-interval of its validation macro-F1 minus the reference's, "
    "over the same seeds, lies entirely above (or below) zero and the mean difference is at least 0.01; "
    "otherwise it is within noise."
)


def paired_verdict(deltas: Sequence[float]) -> tuple[str, Optional[float], Optional[float]]:
    """(verdict, interval low, interval high) for paired differences, under :data:`VERDICT_RULE`."""
    n = len(deltas)
    if n < 2:
        return WITHIN_NOISE, None, None
    lazy.load("scipy")
    from scipy.stats import t as student_t

    mean = statistics.fmean(deltas)
    half = float(student_t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * statistics.stdev(deltas) / math.sqrt(n)
    low, high = mean - half, mean + half
    if low > 0 and mean >= MIN_EFFECT:
        return HELPS, low, high
    if high < 0 and mean <= -MIN_EFFECT:
        return HURTS, low, high
    return WITHIN_NOISE, low, high
