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
from core.evidence.faithfulness import FaithfulnessReport  # noqa: E402

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

METHOD, VERDICT, SHOWN_FIRST = "Method", "Verdict", "shown first"
NOT_DEFINED = "n/a"


def _rounded(value) -> float | None:
    finite = number(value)
    return None if finite is None else round(finite, 3)


def _level(report: FaithfulnessReport) -> str:
    return f" ({report.interval_level:.0%} interval)" if report.intervals else ""


def score_columns(report: FaithfulnessReport) -> tuple[str, str, str]:
    """The headers of the AOPC, comprehensiveness and sufficiency columns (with the interval's level when measured)."""
    level = _level(report)
    return f"AOPC ↑{level}", f"Comprehensiveness ↑{level}", f"Sufficiency ↓{level}"


def _with_interval(value, interval) -> str:
    shown = _rounded(value)
    if shown is None:
        return NOT_DEFINED
    if interval is None or not interval.finite:
        return f"{shown:.3f}"
    return f"{shown:.3f} ({interval.low:.3f}–{interval.high:.3f})"


def _verdict_words(report: FaithfulnessReport, method: str) -> str:
    words = report.standing(method)
    return f"{words} · {SHOWN_FIRST}" if method == report.first and method in (report.tied or ()) else words


def faithfulness_table(report: FaithfulnessReport) -> pd.DataFrame:
    """One row per method plus the random-order reference, as text: the deciding columns first (method, AOPC with its
    interval, verdict), then comprehensiveness and sufficiency with theirs, the share of texts whose top-scored token
    is the last one, position ρ and seconds. Undefined values read "n/a"; random order prints its numbers too."""
    aopc, comprehensiveness, sufficiency = score_columns(report)
    records = []
    for row in (*report.rows, report.random):
        bias, interval = report.bias(row.method), report.interval(row.method)
        share = None if bias is None else number(bias.last_token_share)
        rho = None if bias is None else number(bias.spearman)
        records.append({
            METHOD: row.title,
            aopc: _with_interval(row.aopc, interval and interval.aopc),
            VERDICT: _verdict_words(report, row.method),
            comprehensiveness: _with_interval(row.comprehensiveness, interval and interval.comprehensiveness),
            sufficiency: _with_interval(row.sufficiency, interval and interval.sufficiency),
            "Top token is last": NOT_DEFINED if share is None else f"{share:.1%}",
            "Position ρ": NOT_DEFINED if rho is None else f"{rho:+.2f}",
            "Seconds": NOT_DEFINED if row.method == RANDOM or number(row.seconds) is None else f"{row.seconds:.2f}",
        })
    return pd.DataFrame(records)


def deciding_columns(report: FaithfulnessReport) -> tuple[str, str, str]:
    """The columns that decide which explanation to trust: kept in view (pinned) on a narrow screen."""
    return METHOD, score_columns(report)[0], VERDICT


def _chart_rows(report: FaithfulnessReport) -> list[dict]:
    rows = []
    for index, row in enumerate((*report.rows, report.random)):
        interval = report.interval(row.method)
        for rank, (field, label) in enumerate(_METRICS):
            bounds = getattr(interval, field) if interval is not None else None
            finite = bounds is not None and bounds.finite
            rows.append({"method": method_title(row.method), "order": index, "metric": label, "metric_order": rank,
                         "value": _rounded(getattr(row, field)), "reference": row.method == RANDOM,
                         "low": _rounded(bounds.low) if finite else None,
                         "high": _rounded(bounds.high) if finite else None})
    return rows


def faithfulness_chart(report: FaithfulnessReport) -> alt.LayerChart:
    """Grouped bars per method (one per metric) with their bootstrap intervals as whiskers; the random order is a
    faded bar and a dashed line per metric."""
    frame = pd.DataFrame(_chart_rows(report))
    frame = frame[frame["value"].notna()]
    colour = alt.Color("metric:N", title=None, sort=[label for _, label in _METRICS],
                       scale=alt.Scale(domain=[label for _, label in _METRICS], range=OKABE_ITO[:3]),
                       legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))
    tooltip = [alt.Tooltip("method:N", title="Method"), alt.Tooltip("metric:N", title="Score"),
               alt.Tooltip("value:Q", title="Value", format=".3f"),
               alt.Tooltip("low:Q", title="Interval from", format=".3f"),
               alt.Tooltip("high:Q", title="Interval to", format=".3f")]
    y = alt.Y("method:N", title=None, sort=alt.EncodingSortField("order", order="ascending"),
              axis=alt.Axis(labelLimit=160))
    y_offset = alt.YOffset("metric:N", sort=alt.EncodingSortField("metric_order", order="ascending"))
    bars = alt.Chart(frame).mark_bar().encode(
        y=y, yOffset=y_offset, x=alt.X("value:Q", title="Probability difference of the explained class"),
        color=colour, opacity=alt.condition("datum.reference", alt.value(0.4), alt.value(1.0)), tooltip=tooltip,
    )
    whiskers = alt.Chart(frame[frame["low"].notna()]).mark_rule(color="black", strokeWidth=1.2).encode(
        y=y, yOffset=y_offset, x="low:Q", x2="high:Q", tooltip=tooltip,
    )
    reference = alt.Chart(frame[frame["reference"]]).mark_rule(strokeDash=[4, 3], strokeWidth=1.5).encode(
        x="value:Q", color=colour, tooltip=tooltip,
    )
    return readable(alt.layer(bars, whiskers, reference).properties(height=alt.Step(10)))
