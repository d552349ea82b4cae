"""Checking a lesson: whether each expect clause held, in one sentence per clause that says what was measured."""

from __future__ import annotations

import math
from typing import Optional

from core.teaching.lessons.files import OPERATORS, Expectation, Operand
from core.teaching.lessons.metrics import DERIVED_METRICS, describe_metric, resolve_metric
from core.teaching.lessons.running import LessonResult


def check(result: LessonResult) -> tuple[bool, str]:
    """Whether every expect clause held, and one sentence (per clause) that says what was measured."""
    sentences, holds = [], True
    for clause in result.lesson.expect:
        clause_holds, sentence = _check_clause(clause, result)
        holds = holds and clause_holds
        sentences.append(sentence)
    return holds, " ".join(sentences)


def _value(operand: Operand, result: LessonResult) -> tuple[Optional[float], str, str]:
    """The operand's number, the metric's name and the variant's, for the sentence (the number's own for a constant)."""
    if operand.value is not None:
        return operand.value, "", "the fixed threshold"
    label = f"'{result.lesson.variant(operand.variant).label}'"
    outcome = result.variant(operand.variant)
    if outcome is None:
        return None, describe_metric(operand.metric), f"{label} (not run)"
    value = outcome.values.get(operand.metric)
    if value is None and operand.metric not in DERIVED_METRICS:
        value = resolve_metric(operand.metric, outcome.metrics, outcome.history)
    return value, describe_metric(operand.metric), label


def _check_clause(clause: Expectation, result: LessonResult) -> tuple[bool, str]:
    """E.g. "Test recall of 'Engine Shut Down' was 0.391 with 'Class weights' and 0.000 with 'No rebalancing'
    (expected higher by 0.15 or more: holds)." """
    left, left_metric, left_name = _value(clause.left, result)
    right, right_metric, right_name = _value(clause.right, result)
    direction = {">": "higher", ">=": "at least as high", "<": "lower", "<=": "at most as high"}[clause.operator]
    wanted = f"expected {direction} by {clause.margin:g} or more" if clause.margin else f"expected {direction}"
    if left is None or right is None:
        metric, name = (left_metric, left_name) if left is None else (right_metric, right_name)
        sentence = f"{metric} has no value for {name}, so the expectation cannot be checked."
        return False, sentence[0].upper() + sentence[1:]
    holds = math.isfinite(left) and math.isfinite(right) and OPERATORS[clause.operator](left, right, clause.margin)
    verdict = "holds" if holds else "does not hold"
    metric = left_metric or right_metric
    if clause.right.value is not None or clause.left.value is not None:
        measured, threshold, name = (
            (left, right, left_name) if clause.right.value is not None else (right, left, right_name)
        )
        sentence = (
            f"{metric} was {measured:.3f} with {name} against the fixed threshold {threshold:g} "
            f"({wanted}: {verdict})."
        )
    elif left_metric == right_metric:
        sentence = f"{metric} was {left:.3f} with {left_name} and {right:.3f} with {right_name} ({wanted}: {verdict})."
    else:
        sentence = (f"{left_metric} was {left:.3f} with {left_name}, {right_metric} {right:.3f} with {right_name} "
                    f"({wanted}: {verdict}).")
    return holds, sentence[0].upper() + sentence[1:]
