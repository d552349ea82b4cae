"""What every figure shares: colours, reading a number, sorting by an index column, and bars grouped per class.

Colours: Okabe–Ito for categories (colour-blind safe), ``blues`` for sequential values, ``blueorange`` (centred
at 0) for signed values. Text drawn over coloured cells takes its colour from a data column computed by the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
SEQUENTIAL_SCHEME = "blues"
DIVERGING_SCHEME = "blueorange"
SPLIT_COLOURS = {"training": OKABE_ITO[0], "validation": OKABE_ITO[1], "training (batches)": OKABE_ITO[4]}
NARROW_CONTENT_WIDTH = 560  # px of page content on a 1024-px screen (a classroom projector) with the sidebar open
DARK_TEXT, LIGHT_TEXT = "#1a1a1a", "#ffffff"

# Streamlit draws charts with Vega-Lite's "fit" autosize, where a fixed height is the *total* height (title, axes
# and legend included) and offset bands get squashed. Fixed heights add this room; bar charts by class use a
# per-bar step instead, which fit leaves alone.
CHROME = 70
LEGEND = 30

# Text sizes in px for a 1024-px projector at the back of a room. Streamlit's theme draws axis labels at 12 px and
# Vega's text marks default to 11 px; bar labels were 10 px and 20-px confusion-matrix cells 9 px. SMALL_TEXT_PX is
# the floor, for text that must fit a cramped cell.
AXIS_LABEL_PX = 13
AXIS_TITLE_PX = 14
LEGEND_PX = 13
TEXT_PX = 13
SMALL_TEXT_PX = 12
# A bar chart's plot (one band per bar) is at least this tall: with its title and axis (~120 px) the chart stands at
# least 200 px, where two classes at 24-26 px a bar made a 150-px strip.
MIN_BAND_PLOT_PX = 90
BAND_PADDING = 0.1  # Vega-Lite's inner padding between bands, as a fraction of the step


def number(value) -> float | None:
    """A finite float, or None for None / NaN / ±inf / anything that is not a number."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def readable(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart with the projector's text sizes as its top-level config (axes, legends, text marks without a size
    of their own); Streamlit's theme fills in everything else. Every builder returns its chart through this, last:
    a configured chart can no longer be layered."""
    return (
        chart.configure_axis(labelFontSize=AXIS_LABEL_PX, titleFontSize=AXIS_TITLE_PX)
        .configure_legend(labelFontSize=LEGEND_PX, titleFontSize=LEGEND_PX)
        .configure_text(fontSize=TEXT_PX)
    )


def bands(count: int, step: int) -> tuple[alt.Scale, alt.Step]:
    """The band scale and the height step for ``count`` horizontal bars ``step`` px apart, so the plot is at least
    :data:`MIN_BAND_PLOT_PX` tall: the outer padding grows first (bars keep their thickness), up to one step (Vega's
    limit), then the step. Vega-Lite sizes a stepped plot as
    ``step × (count − paddingInner + 2 × paddingOuter)``."""
    outer = min(1.0, max(BAND_PADDING / 2, (MIN_BAND_PLOT_PX / step - (count - BAND_PADDING)) / 2))
    step = max(step, MIN_BAND_PLOT_PX / (count - BAND_PADDING + 2 * outer))
    return alt.Scale(paddingInner=BAND_PADDING, paddingOuter=round(outer, 3)), alt.Step(round(step, 1))


def by(field: str, order: str = "ascending") -> alt.EncodingSortField:
    """Sort by an integer index column carried in the data (never by a list of user strings)."""
    return alt.EncodingSortField(field=field, op="min", order=order)


def category_scale(domain: Sequence[str] | None = None) -> alt.Scale:
    """Okabe–Ito colours; ``domain`` is only ever the figures' own labels, never user data."""
    if domain is None:
        return alt.Scale(range=OKABE_ITO)
    colours = [SPLIT_COLOURS.get(d, OKABE_ITO[i % len(OKABE_ITO)]) for i, d in enumerate(domain)]
    return alt.Scale(domain=list(domain), range=colours)


def text_colour() -> dict:
    """White text on dark cells, near-black elsewhere, from the boolean ``dark_cell`` column (no colour scale,
    so the layer does not merge with the cells' colour scale)."""
    return alt.condition(alt.datum.dark_cell, alt.value(LIGHT_TEXT), alt.value(DARK_TEXT))


def bars_per_class(frame: pd.DataFrame, member: str, *, x: alt.X, legend: alt.Legend, legend_title: str | None,
                   tooltip: list, title: str) -> alt.Chart:
    """Horizontal bars grouped per class (in ``class_index`` order), one bar per ``member`` within each group (in
    ``<member>_index`` order, coloured by it). ``frame`` holds ``class``, ``class_index``, ``member`` and
    ``<member>_index`` columns and whatever ``x`` and ``tooltip`` read."""
    member_sort = by(f"{member}_index")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=by("class_index"), title="class", axis=alt.Axis(labelLimit=200)),
            yOffset=alt.YOffset(f"{member}:N", sort=member_sort),
            x=x,
            color=alt.Color(f"{member}:N", sort=member_sort, title=legend_title, scale=category_scale(), legend=legend),
            tooltip=tooltip,
        )
        .properties(width="container", height=alt.Step(11),  # per bar: "fit" autosize squashes offset bands
                    title=title)
    )
