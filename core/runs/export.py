"""CSV exports that are safe to open in a spreadsheet.

A cell starting with = + - @ (or tab, carriage return, NUL) is run as a formula by Excel and friends; such cells
get a leading apostrophe, the spreadsheet convention for "this is text" (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    from core.runs.results import Prediction

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV (with a BOM so spreadsheets detect the encoding), every cell made formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def predictions_csv(predictions: Sequence["Prediction"], class_names: Sequence[str]) -> bytes:
    """A run's test-split predictions: text, true and predicted class, confidence and each class's probability."""
    header = ["row", "text", "true", "predicted", "correct", "confidence", *[f"p({name})" for name in class_names]]
    rows = ([p.row, p.text, p.true, p.predicted, p.correct, p.confidence, *p.probabilities] for p in predictions)
    return to_csv(header, rows)
