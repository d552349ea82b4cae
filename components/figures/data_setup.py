"""Figures of the data set-up: rows per class, text lengths, and class counts at each stage of the split."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from components.figures.common import (  # noqa: E402
    CHROME,
    LEGEND,
    OKABE_ITO,
    bands,
    bars_per_class,
    by,
    category_scale,
    number,
    readable,
)

MAX_HISTOGRAM_BINS = 60


def class_distribution(classes: list[dict]) -> alt.LayerChart:
    """Horizontal bars of rows per class, largest first, labelled "count (share%)".

    ``classes`` items: ``{"class": str, "count": int, "share": float}`` with share a fraction of all rows.
    """
    frame = pd.DataFrame(
        {
            "class": [str(item["class"]) for item in classes],
            "count": [int(number(item.get("count")) or 0) for item in classes],
            "share": [number(item.get("share")) or 0.0 for item in classes],
        }
    )
    frame["label"] = [f"{count:,} ({share:.1%})" for count, share in zip(frame["count"], frame["share"])]
    sort = by("count", "descending")
    scale, step = bands(len(frame), 26)
    base = alt.Chart(frame).encode(
        y=alt.Y("class:N", sort=sort, title="class", axis=alt.Axis(labelLimit=200), scale=scale),
        x=alt.X("count:Q", title="rows", axis=alt.Axis(tickMinStep=1)),
        tooltip=[
            alt.Tooltip("class:N", title="class"),
            alt.Tooltip("count:Q", title="rows", format=","),
            alt.Tooltip("share:Q", title="share", format=".1%"),
        ],
    )
    bars = base.mark_bar(color=OKABE_ITO[0])
    labels = base.mark_text(align="left", baseline="middle", dx=4).encode(text=alt.Text("label:N"))
    return readable(alt.layer(bars, labels).properties(width="container", height=step, title="rows per class"))


def _histogram_step(span: float) -> int:
    """A round bin width giving at most MAX_HISTOGRAM_BINS bins over ``span`` tokens."""
    raw = max(1.0, span / MAX_HISTOGRAM_BINS)
    magnitude = 10 ** math.floor(math.log10(raw))
    for nice in (1, 2, 2.5, 5, 10):
        if nice * magnitude >= raw and float(nice * magnitude).is_integer():
            return int(nice * magnitude)
    return int(10 * magnitude)


def _length_bins(lengths: np.ndarray, max_length: int) -> pd.DataFrame:
    """Pre-binned counts (≤ MAX_HISTOGRAM_BINS + 1 rows); the long tail beyond p99.5 goes into one "≥" bin."""
    columns = ["start", "end", "count", "bin", "part"]
    if lengths.size == 0:
        dtypes = {"start": float, "end": float, "count": int, "bin": str, "part": str}
        return pd.DataFrame({column: pd.Series(dtype=dtypes[column]) for column in columns})
    lowest, highest = int(lengths.min()), int(lengths.max())
    cap = max(int(np.ceil(np.percentile(lengths, 99.5))), int(max_length), lowest)
    cap = min(highest, cap)
    step = _histogram_step(cap - lowest + 1)
    first = (lowest // step) * step
    overflow_edge = first + ((cap - first) // step + 1) * step  # first length not covered by regular bins
    index = (np.minimum(lengths, overflow_edge) - first) // step
    counts = np.bincount(index.astype(np.int64))
    rows = []
    for i, count in enumerate(counts):
        start = first + i * step
        if start >= overflow_edge:
            label = f"≥ {start} (longest {highest})"
        elif step == 1:
            label = f"{start}"
        else:
            label = f"{start}–{start + step - 1}"
        rows.append(
            {
                "start": start - 0.5,
                "end": start + step - 0.5,
                "count": int(count),
                "bin": label,
                "part": "kept whole" if start <= max_length else "cut",
            }
        )
    return pd.DataFrame(rows, columns=columns)


def length_histogram(lengths: Sequence[int], *, max_length: int, truncated_share: float) -> alt.LayerChart:
    """Histogram of token counts per text with a rule at ``max_length`` and a note of the share it cuts.

    Lengths are binned here with NumPy, so 100k texts still give a chart of a few dozen rows.
    Bars are centred on whole lengths; the rule sits at ``max_length + 0.5``, the boundary between kept and cut.
    """
    values = np.asarray(list(lengths) if not isinstance(lengths, np.ndarray) else lengths, dtype=float).ravel()
    values = np.floor(values[np.isfinite(values)]).astype(np.int64)
    max_length = int(max_length)
    bins = _length_bins(values, max_length)
    share = number(truncated_share)
    note = f"max length {max_length} cuts {share:.1%}" if share is not None else f"max length {max_length}"
    marker = pd.DataFrame({"x": [max_length + 0.5], "note": [note]})

    bars = (
        alt.Chart(bins)
        .mark_bar(binSpacing=0)
        .encode(
            x=alt.X("start:Q", title="tokens per text", scale=alt.Scale(zero=False, nice=False)),
            x2="end:Q",
            y=alt.Y("count:Q", title="texts"),
            y2=alt.datum(0),
            color=alt.Color("part:N", title=None, scale=category_scale(["kept whole", "cut"]),
                            legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("bin:N", title="tokens"), alt.Tooltip("count:Q", title="texts", format=",")],
        )
    )
    rule = alt.Chart(marker).mark_rule(color=OKABE_ITO[5], strokeWidth=2).encode(x="x:Q")
    right_half = len(bins) > 0 and max_length + 0.5 > (bins["start"].min() + bins["end"].max()) / 2
    text = (
        alt.Chart(marker)
        .mark_text(align="right" if right_half else "left", dx=-4 if right_half else 4,
                   baseline="top", color=OKABE_ITO[5], fontWeight="bold")
        .encode(x="x:Q", y=alt.value(4), text="note:N")
    )
    chart = alt.layer(bars, rule, text).properties(width="container", height=220 + CHROME + LEGEND,
                                                   title="text lengths")
    return readable(chart)


def split_counts(class_names: Sequence[str], counts: Mapping[str, Sequence[int]]) -> alt.Chart:
    """Rows per class in each stage, grouped per class (one bar per stage, in the mapping's order).

    ``counts`` maps a stage name (``"train (before)"``, ``"train (after)"``, ``"validation"``, ``"test"``) to one
    count per class, aligned with ``class_names``.
    """
    rows = []
    for stage_index, (stage, values) in enumerate(counts.items()):
        values = list(values)
        if len(values) != len(class_names):
            raise ValueError(f"stage {stage!r} has {len(values)} counts for {len(class_names)} classes")
        for class_index, (name, value) in enumerate(zip(class_names, values)):
            rows.append({"class": str(name), "class_index": class_index, "stage": str(stage),
                         "stage_index": stage_index, "count": int(number(value) or 0)})
    frame = pd.DataFrame(rows, columns=["class", "class_index", "stage", "stage_index", "count"])
    return readable(bars_per_class(
        frame, "stage",
        x=alt.X("count:Q", title="rows", axis=alt.Axis(tickMinStep=1)),
        legend=alt.Legend(orient="top", columns=1),  # side by side, four stages overflow a narrow column
        legend_title="stage",
        tooltip=[
            alt.Tooltip("class:N", title="class"),
            alt.Tooltip("stage:N", title="stage"),
            alt.Tooltip("count:Q", title="rows", format=","),
        ],
        title="rows per class at each stage",
    ))
