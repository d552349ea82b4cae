"""Token explanations drawn over the text itself, and the faithfulness table + chart.

The shading is HTML built here: every token goes through ``html.escape(token, quote=True)`` and becomes element
*text*; attributes carry only numbers this module computes and clamps (rgb channels 0-255, a score formatted with
``%.3f``). It is shown with ``st.html``, which Streamlit 1.67 sanitises with DOMPurify and whose JavaScript it
ignores by default — a second guard, not the first. Tokens wrap like a sentence on narrow screens.

Colour scales (one per kind of score, see ``core.evidence.explain``):
- signed (occlusion, gradients): red pushes toward the class, blue against it, white is 0; symmetric around 0,
  full colour at the largest |score| of the text.
- attention: grey at exactly the uniform weight 1/n (every token weighed equally), purple above it (darkest at the
  text's largest weight), white below it — so "more than its share" reads differently from "less".
"""

from __future__ import annotations

import html
import math
from typing import Optional, Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import pandas as pd
import streamlit as st

from components.charts import OKABE_ITO
from components.safe import plain
from core.evidence.explain import ATTENTION_KIND, RANDOM, SIGNED, FaithfulnessReport, FaithfulnessRow, method_title

KINDS = (SIGNED, ATTENTION_KIND)
RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
TOWARD: RGB = (202, 0, 32)  # red: pushes toward the explained class
AGAINST: RGB = (5, 113, 176)  # blue: pushes against it
UNIFORM: RGB = (217, 217, 217)  # neutral grey: exactly the uniform attention weight 1/n
ABOVE: RGB = (84, 39, 143)  # purple: more than the uniform weight
_DARK_TEXT: RGB = (26, 26, 26)
_JUMP_ABOVE = 0.25  # any visible departure from 1/n starts part of the way to its end colour
_JUMP_BELOW = 0.5  # (further for "below": light grey next to the marker's grey is hard to tell apart)
_UNIFORM_TOLERANCE = 1e-3  # relative: float32 weights of a truly uniform text are not exactly 1/n
_METRICS = (
    ("comprehensiveness", "Comprehensiveness (higher = more faithful)"),
    ("sufficiency", "Sufficiency (lower = more faithful)"),
    ("aopc", "AOPC (higher = more faithful)"),
)


def _finite(value) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, value))


def _mix(start: RGB, end: RGB, amount: float) -> RGB:
    amount = _clamp(amount)
    return tuple(int(round(_clamp(a + (b - a) * amount, 0.0, 255.0))) for a, b in zip(start, end))  # type: ignore[return-value]


def _text_colour(background: RGB) -> RGB:
    """Dark text on light backgrounds, white on dark ones (relative luminance)."""
    red, green, blue = (channel / 255.0 for channel in background)
    return WHITE if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5 else _DARK_TEXT


def token_colours(scores: Sequence[float], kind: str) -> list[RGB]:
    """The background colour of each token (non-finite scores are drawn as 0)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    numbers = [_finite(score) or 0.0 for score in scores]
    if not numbers:
        return []
    if kind == SIGNED:
        extent = max(abs(n) for n in numbers) or 1.0
        return [_mix(WHITE, TOWARD if n > 0 else AGAINST, abs(n) / extent) for n in numbers]
    uniform = 1.0 / len(numbers)
    highest = max(numbers)
    colours = []
    for weight in numbers:
        if abs(weight - uniform) <= _UNIFORM_TOLERANCE * uniform:
            colours.append(UNIFORM)
        elif weight > uniform:
            share = (weight - uniform) / (highest - uniform)
            colours.append(_mix(UNIFORM, ABOVE, _JUMP_ABOVE + (1 - _JUMP_ABOVE) * share))
        else:
            colours.append(_mix(UNIFORM, WHITE, _JUMP_BELOW + (1 - _JUMP_BELOW) * (uniform - weight) / uniform))
    return colours


def _rgb(colour: RGB) -> str:
    return "rgb({},{},{})".format(*(int(_clamp(c, 0, 255)) for c in colour))


def _swatch(colour: RGB, label: str) -> str:
    """A legend entry: a coloured square followed by this module's own words."""
    return (f'<span style="display:inline-block;width:0.9em;height:0.9em;margin:0 0.3em 0 0.6em;'
            f'vertical-align:-0.1em;border:1px solid rgb(160,160,160);background-color:{_rgb(colour)}"></span>'
            f"{html.escape(label, quote=True)}")


def _legend(scores: Sequence[float], kind: str) -> str:
    numbers = [n for n in (_finite(score) for score in scores) if n is not None]
    if kind == SIGNED:
        extent = max((abs(n) for n in numbers), default=0.0)
        entries = [_swatch(TOWARD, "pushes toward the class"), _swatch(WHITE, "no effect (0)"),
                   _swatch(AGAINST, "pushes against it")]
        note = f"Full colour = ±{extent:.3g}, the largest |score| in this text."
    else:
        count = len(scores)
        entries = [_swatch(ABOVE, "more than the uniform weight"),
                   _swatch(UNIFORM, f"uniform weight 1/{count} = {1.0 / max(count, 1):.3f}"),
                   _swatch(WHITE, "less than uniform")]
        note = f"Darkest = {max(numbers, default=0.0):.3f}, the largest weight in this text."
    return (f'<div class="token-shading-legend" style="font-size:0.8em;margin-top:0.4em;line-height:1.8">'
            f'{"".join(entries)}<span style="margin-left:0.6em">{html.escape(note, quote=True)}</span></div>')


def token_shading_html(tokens: Sequence[str], scores: Sequence[float], kind: str) -> str:
    """The text as inline, wrapping, shaded tokens plus a legend; tokens are escaped text, styles are numbers only."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    tokens = [str(token) for token in tokens]
    if len(tokens) != len(scores):
        raise ValueError(f"{len(tokens)} tokens but {len(scores)} scores")
    spans = []
    for token, score, colour in zip(tokens, scores, token_colours(scores, kind)):
        number = _finite(score)
        value = "n/a" if number is None else f"{number:.3f}"
        spans.append(
            f'<span title="{value}" style="background-color:{_rgb(colour)};color:{_rgb(_text_colour(colour))};'
            f'padding:0.1em 0.25em;border-radius:0.25em;unicode-bidi:isolate;display:inline-block;max-width:100%;'
            f'overflow-wrap:anywhere">'
            f"{html.escape(token, quote=True)}</span>"
        )
    body = " ".join(spans) if spans else "<em>(no tokens)</em>"
    return (f'<div class="token-shading" style="line-height:2.1;white-space:normal">{body}</div>'
            f"{_legend(scores, kind)}")


def render_token_shading(tokens: Sequence[str], scores: Sequence[float], *, kind: str, key: str,
                         caption: Optional[str] = None) -> None:
    """Draw one explained text; ``caption`` is plain text (escaped here)."""
    with st.container(key=key):
        st.html(token_shading_html(tokens, scores, kind))
        if caption:
            st.caption(plain(caption))


# --------------------------------------------------------------------------------------------- faithfulness


def _number_or_none(value) -> Optional[float]:
    number = _finite(value)
    return None if number is None else round(number, 3)


def faithfulness_table(report: FaithfulnessReport) -> pd.DataFrame:
    """One row per method plus the random-order reference (NaN-free: undefined values are empty cells)."""
    records = []
    for row in (*report.rows, report.random):
        bias = report.bias(row.method)
        records.append({
            "Method": "Random order (reference)" if row.method == RANDOM else row.title,
            "Comprehensiveness ↑": _number_or_none(row.comprehensiveness),
            "Sufficiency ↓": _number_or_none(row.sufficiency),
            "AOPC ↑": _number_or_none(row.aopc),
            "Position ρ": None if bias is None else _number_or_none(bias.spearman),
            "Top on last token": None if bias is None else _number_or_none(bias.last_token_share),
            "Seconds": _number_or_none(row.seconds),
        })
    return pd.DataFrame(records)


def _chart_rows(rows: Sequence[FaithfulnessRow]) -> list[dict]:
    return [
        {"method": method_title(row.method), "order": index, "metric": label, "metric_order": rank,
         "value": _number_or_none(getattr(row, field)), "reference": row.method == RANDOM}
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
    return alt.layer(bars, reference).properties(height=alt.Step(10))


def render_faithfulness(report: FaithfulnessReport, key: str) -> None:
    """The one-sentence verdict, the table and the chart of one faithfulness report."""
    with st.container(key=key):
        st.markdown(plain(report.verdict))
        st.dataframe(faithfulness_table(report), hide_index=True, width="stretch")
        st.altair_chart(faithfulness_chart(report), width="stretch")
        ks = ", ".join(f"{k:g}" for k in report.k_percents)
        st.caption(plain(
            f"Measured on {report.n_texts} texts, explaining the predicted class. Comprehensiveness: how much the "
            f"probability drops without the top-k% tokens; sufficiency: how much it drops with only them (k = {ks}%); "
            f"AOPC: the mean drop while deleting tokens most important first (up to {report.max_deletion_steps}). "
            f"Dashed lines and faded bars: random token order. Position ρ: how strongly scores rise with token "
            f"position. Most faithful = {report.rule}."
        ))
