"""What a trial is scored on: validation macro-F1 for every verdict and ranking; the sealed test split read only for
the reference and the combined config of a lever study."""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from core.errors import RunError

OBJECTIVE = "validation macro-F1"


def objective_value(metrics: Mapping[str, Any]) -> float:
    """Validation macro-F1 of a run: the k-fold mean when k-fold is on. Never reads the test split."""
    folds = metrics.get("folds")
    if folds:
        return float(folds["validation"]["macro_f1"]["mean"])
    validation = metrics.get("validation")
    if not validation:
        raise RunError("The run has no validation rows to score; raise split.validation_fraction.")
    return float(validation["macro_f1"])


def _sealed_test_scores(metrics: Mapping[str, Any]) -> dict:
    """The test-split scores of a run. Called ONLY for the reference and the combined config (see
    :mod:`core.evidence.study`): no lever verdict and no sweep ranking ever reads them."""
    test, baseline = metrics["test"], metrics.get("baseline") or {}
    return {
        "macro_f1": float(test["macro_f1"]),
        "accuracy": float(test["accuracy"]),
        "baseline_macro_f1": (
            float(baseline["macro_f1"])
            if baseline.get("available", True) and baseline.get("macro_f1") is not None
            else None
        ),
        "baseline_fitted_on": baseline.get("fitted_on"),
    }


def _epoch_score(logs: Mapping[str, Any]) -> Optional[float]:
    for key in ("val_macro_f1", "val_accuracy"):
        value = logs.get(key)
        if value is not None and math.isfinite(float(value)):
            return float(value)
    return None
