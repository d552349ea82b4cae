"""Reading a chart's Vega-Lite spec in tests: its data rows, and the check that user text appears only as data."""

from __future__ import annotations

import altair as alt

HOSTILE = ['<img src=x onerror=alert(1)>', '"; alert(1)//', "{{x}}", "$x$", "' + datum.x + '"]


def spec(chart) -> dict:
    assert isinstance(chart, (alt.Chart, alt.LayerChart))
    return chart.to_dict()


def dataset_rows(specification: dict) -> list[dict]:
    return [row for rows in specification.get("datasets", {}).values() for row in rows]


def strings_outside_datasets(node, *, top: bool = True):
    if isinstance(node, dict):
        for key, value in node.items():
            if top and key == "datasets":
                continue
            yield key
            yield from strings_outside_datasets(value, top=False)
    elif isinstance(node, list):
        for item in node:
            yield from strings_outside_datasets(item, top=False)
    elif isinstance(node, str):
        yield node


def assert_only_data(specification: dict, texts) -> None:
    """Each text is a value in the datasets, and no part of it shows up anywhere else in the spec."""
    values = {str(v) for row in dataset_rows(specification) for v in row.values()}
    for text in texts:
        assert text in values, f"{text!r} missing from the data"
    for found in strings_outside_datasets(specification):
        for text in texts:
            for fragment in (text, "alert(1)", "onerror", "{{x}}", "$x$", "datum.x"):
                assert fragment not in found, f"{fragment!r} leaked outside the data: {found!r}"
