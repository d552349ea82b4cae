"""Figures of explanations: the token heatmap (Altair), and the faithfulness chart and table of a run."""

from __future__ import annotations

from collections.abc import Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402

from components.figures.common import (  # noqa: E402
    CHROME,
    DIVERGING_SCHEME,
    OKABE_ITO,
    SEQUENTIAL_SCHEME,
    SMALL_TEXT_PX,
    number,
    readable,
    text_colour,
)
from core.evidence.explain import RANDOM, method_title  # noqa: E402
from core.evidence.faithfulness import FaithfulnessReport, FaithfulnessRow  # noqa: E402

MAX_TOKEN_CHARS = 14
_METRICS = (
    ("comprehensiveness", "Comprehensiveness (higher = more faithful)"),
    ("sufficiency", "Sufficiency (lower = more faithful)"),
    ("aopc", "AOPC (higher = more faithful)"),
)


def _display_token(token: str) -> str:
    return token if len(token) <= MAX_TOKEN_CHARS else token[:MAX_TOKEN_CHARS] + "…"


def token_heatmap(
    tokens: Sequence[str],
    weights: Sequence[float],
    *,
    tokens_per_row: int = 12,
    title: str | None = None,
    diverging: bool | None = None,
) -> alt.LayerChart:
    """Tokens in reading order, wrapped into rows, each cell coloured by its weight.

    Attention weights (≥ 0) use a sequential scale from 0; signed values (occlusion importance) use a diverging
    scale centred at 0 — when ``diverging`` is True, or when it is None and any weight is negative. Tokens longer
    than 14 characters are shortened on the cell; the tooltip has the full token and the weight (3 decimals).
    Non-finite weights are drawn as 0 and shown as "n/a".

    ``title`` is drawn as a text mark fed from the chart's data (not as a Vega title), so even a title that
    contains a class name stays plain text; still, prefer titles made of the app's own words.
    """
    tokens = [str(token) for token in tokens]
    weights = list(weights)
    if len(tokens) != len(weights):
        raise ValueError(f"{len(tokens)} tokens but {len(weights)} weights")
    if tokens_per_row < 1:
        raise ValueError("tokens_per_row must be at least 1")
    numbers = [number(w) for w in weights]
    finite = [n for n in numbers if n is not None]
    signed = diverging if diverging is not None else any(n < 0 for n in finite)
    if signed:
        extent = max((abs(n) for n in finite), default=0.0) or 1.0
        scale = alt.Scale(scheme=DIVERGING_SCHEME, domain=[-extent, extent], domainMid=0)
        strength = [abs(n or 0.0) / extent for n in numbers]
    else:
        low = min(0.0, min(finite, default=0.0))
        high = max(finite, default=0.0)
        high = high if high > low else low + 1.0
        scale = alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[low, high])
        strength = [((n or 0.0) - low) / (high - low) for n in numbers]
    frame = pd.DataFrame(
        {
            "position": range(len(tokens)),
            "row": [i // tokens_per_row for i in range(len(tokens))],
            "col": [i % tokens_per_row for i in range(len(tokens))],
            "token": tokens,
            "shown": [_display_token(t) for t in tokens],
            "weight": [n if n is not None else 0.0 for n in numbers],
            "weight_text": [f"{n:.3f}" if n is not None else "n/a" for n in numbers],
            "dark_cell": [s > 0.6 for s in strength],
        }
    )
    frame = frame.astype({"position": int, "row": int, "col": int, "weight": float})
    rows = max(1, -(-len(tokens) // tokens_per_row))
    columns = min(tokens_per_row, max(1, len(tokens)))
    axis_off = alt.Axis(labels=False, ticks=False, domain=False, title=None, grid=False)
    base = alt.Chart(frame).encode(
        x=alt.X("col:O", axis=axis_off, scale=alt.Scale(domain=list(range(columns)), paddingInner=0.06)),
        y=alt.Y("row:O", axis=axis_off, scale=alt.Scale(domain=list(range(rows)), paddingInner=0.12)),
        tooltip=[alt.Tooltip("token:N", title="token"), alt.Tooltip("weight_text:N", title="weight"),
                 alt.Tooltip("position:Q", title="position")],
    )
    cells = base.mark_rect(cornerRadius=3).encode(
        color=alt.Color("weight:Q", scale=scale, title="importance" if signed else "weight",
                        legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=220))
    )
    cell_room = alt.expr(f"max(8, width / {columns} - 8)")
    text = base.mark_text(baseline="middle", fontSize=SMALL_TEXT_PX, limit=cell_room).encode(
        text=alt.Text("shown:N"), color=text_colour()
    )
    layers = [cells, text]
    if title:
        heading = pd.DataFrame({"heading": [str(title)]})
        layers.append(
            alt.Chart(heading)
            .mark_text(align="left", baseline="bottom", fontSize=13, fontWeight="bold")
            .encode(x=alt.value(0), y=alt.value(-6), text="heading:N")
        )
    chart = alt.layer(*layers).properties(width="container", height=rows * 30 + 20 + CHROME,
                                          view=alt.ViewBackground(stroke=None))
    return readable(chart)


# --------------------------------------------------------------------------------------------- faithfulness


def _rounded(value) -> float | None:
    finite = number(value)
    return None if finite is None else round(finite, 3)


def faithfulness_table(report: FaithfulnessReport) -> pd.DataFrame:
    """One row per method plus the random-order reference (NaN-free: undefined values are empty cells)."""
    records = []
    for row in (*report.rows, report.random):
        bias = report.bias(row.method)
        records.append({
            "Method": "Random order (reference)" if row.method == RANDOM else row.title,
            "Comprehensiveness ↑": _rounded(row.comprehensiveness),
            "Sufficiency ↓": _rounded(row.sufficiency),
            "AOPC ↑": _rounded(row.aopc),
            "Position ρ": None if bias is None else _rounded(bias.spearman),
            "Top on last token": None if bias is None else _rounded(bias.last_token_share),
            "Seconds": _rounded(row.seconds),
        })
    return pd.DataFrame(records)


def _chart_rows(rows: Sequence[FaithfulnessRow]) -> list[dict]:
    return [
        {"method": method_title(row.method), "order": index, "metric": label, "metric_order": rank,
         "value": _rounded(getattr(row, field)), "reference": row.method == RANDOM}
        for index, row in enumerate(rows)
        for rank, (field, label) in enumerate(_METRICS)
    ]


def faithfulness_chart(report: FaithfulnessReport) -> alt.LayerChart:
    """Grouped bars per method (one per metric); the random order is a faded bar and a dashed line per metric."""
    frame = pd.DataFrame(_chart_rows([*report.rows, report.random]))
    frame = frame[frame["value"].notna()]
    colour = alt.Color("metric:N", title=None, sort=[label for _, label in _METRICS],
                       scale=alt.Scale(domain=[label for _, label in _METRICS], range=OKABE_ITO[:3]),
                       legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))
    tooltip = [alt.Tooltip("method:N", title="Method"), alt.Tooltip("metric:N", title="Score"),
               alt.Tooltip("value:Q", title="Value", format=".3f")]
    bars = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("method:N", title=None, sort=alt.EncodingSortField("order", order="ascending"),
                axis=alt.Axis(labelLimit=160)),
        yOffset=alt.YOffset("metric:N", sort=alt.EncodingSortField("metric_order", order="ascending")),
        x=alt.X("value:Q", title="Probability difference of the explained class"),
        color=colour,
        opacity=alt.condition("datum.reference", alt.value(0.4), alt.value(1.0)),
        tooltip=tooltip,
    )
    reference = alt.Chart(frame[frame["reference"]]).mark_rule(strokeDash=[4, 3], strokeWidth=1.5).encode(
        x="value:Q", color=colour, tooltip=tooltip,
    )
    return readable(alt.layer(bars, reference).properties(height=alt.Step(10)))
