"""Figures of evaluation: the confusion matrix, per-class scores, class probabilities, metrics compared across
runs, and a lesson's value per variant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402

from components.figures.common import (  # noqa: E402
    CHROME,
    LEGEND,
    NARROW_CONTENT_WIDTH,
    OKABE_ITO,
    SEQUENTIAL_SCHEME,
    SMALL_TEXT_PX,
    TEXT_PX,
    bands,
    bars_per_class,
    by,
    category_scale,
    number,
    readable,
    text_colour,
)

CONFUSION_MODES = ("counts", "percent")


def confusion_matrix(
    labels: Sequence[str],
    counts: Sequence[Sequence[int]],
    normalized: Sequence[Sequence[float]],
    *,
    mode: str = "counts",
    selectable: bool = True,
) -> alt.LayerChart:
    """Heatmap, rows = true class, columns = predicted class, both in ``labels`` order.

    Cells are coloured by the row-normalised share (so small classes read as clearly as big ones); the text
    shows the count (``mode="counts"``) or that share (``mode="percent"``); the tooltip shows both. With
    ``selectable`` a point selection named ``"cell"`` on ``["true", "predicted"]`` lets
    ``st.altair_chart(chart, on_select="rerun")`` report the clicked cell.
    """
    if mode not in CONFUSION_MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(CONFUSION_MODES)}")
    size = len(labels)
    if len(counts) != size or len(normalized) != size or any(len(r) != size for r in [*counts, *normalized]):
        raise ValueError(f"counts and normalized must both be {size} × {size} for {size} labels")
    rows = []
    for i, true_label in enumerate(labels):
        for j, predicted_label in enumerate(labels):
            count = int(number(counts[i][j]) or 0)
            share = number(normalized[i][j]) or 0.0
            rows.append(
                {
                    "true": str(true_label),
                    "predicted": str(predicted_label),
                    "true_index": i,
                    "predicted_index": j,
                    "count": count,
                    "share": share,
                    "outcome": "correct" if i == j else "confused",
                    "text": f"{count:,}" if mode == "counts" else f"{share:.0%}",
                    "dark_cell": share > 0.5,
                }
            )
    frame = pd.DataFrame(rows, columns=["true", "predicted", "true_index", "predicted_index", "count", "share",
                                        "outcome", "text", "dark_cell"])
    # Shown at its natural size (stretching squeezes fixed steps to nothing), so it must fit a 1024-px projector
    # with the sidebar open: 21 classes get 20-px cells, 120-px row labels, the legend below.
    label_limit = 160 if size <= 6 else 120
    cell_size = max(20, min(64, (NARROW_CONTENT_WIDTH - label_limit) // max(1, size)))
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=by("predicted_index"), title="predicted class",
                axis=alt.Axis(orient="top", labelAngle=-40, labelLimit=label_limit, labelOverlap=False)),
        y=alt.Y("true:N", sort=by("true_index"), title="true class",
                axis=alt.Axis(labelLimit=label_limit, labelOverlap=False)),
        tooltip=[
            alt.Tooltip("true:N", title="true"),
            alt.Tooltip("predicted:N", title="predicted"),
            alt.Tooltip("count:Q", title="texts", format=","),
            alt.Tooltip("share:Q", title="share of true class", format=".1%"),
        ],
    )
    rect = base.mark_rect(stroke="#ffffff", strokeWidth=1).encode(
        color=alt.Color("share:Q", title="share of true class",
                        scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[0, 1]),
                        legend=alt.Legend(format="%", orient="bottom", gradientLength=min(200, cell_size * size))),
    )
    if selectable:
        cell = alt.selection_point(name="cell", fields=["true", "predicted"])
        rect = rect.add_params(cell).encode(opacity=alt.condition(cell, alt.value(1.0), alt.value(0.45)))
    diagonal = (
        alt.Chart(frame)
        .transform_filter(alt.datum.outcome == "correct")
        .mark_rect(fillOpacity=0, stroke=OKABE_ITO[5], strokeWidth=2)
        .encode(x=alt.X("predicted:N", sort=by("predicted_index")), y=alt.Y("true:N", sort=by("true_index")))
    )
    text = base.mark_text(baseline="middle", fontSize=TEXT_PX if cell_size >= 28 else SMALL_TEXT_PX).encode(
        text=alt.Text("text:N"), color=text_colour()
    )
    title = "confusion matrix (counts)" if mode == "counts" else "confusion matrix (% of each true class)"
    chart = alt.layer(rect, diagonal, text).properties(width=alt.Step(cell_size), height=alt.Step(cell_size),
                                                       title=title)
    return readable(chart)


def per_class_scores(per_class: list[dict]) -> alt.Chart:
    """Precision, recall and F1 per class as grouped horizontal bars on 0–1; the tooltip adds support."""
    metrics = ("precision", "recall", "f1")
    rows = [
        {"class": str(item["class"]), "class_index": i, "score": score, "score_index": k,
         "value": number(item.get(score)), "support": int(number(item.get("support")) or 0)}
        for i, item in enumerate(per_class)
        for k, score in enumerate(metrics)
    ]
    frame = pd.DataFrame(rows, columns=["class", "class_index", "score", "score_index", "value", "support"])
    return readable(bars_per_class(
        frame, "score",
        x=alt.X("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
        legend=alt.Legend(orient="top"),
        legend_title=None,
        tooltip=[
            alt.Tooltip("class:N", title="class"),
            alt.Tooltip("score:N", title="score"),
            alt.Tooltip("value:Q", title="value", format=".3f"),
            alt.Tooltip("support:Q", title="test texts", format=","),
        ],
        title="precision, recall and F1 per class",
    ))


def probability_bars(probabilities: Mapping[str, float]) -> alt.Chart:
    """One bar per class, most probable first, on 0–1; the top class is highlighted."""
    items = [(str(name), number(value)) for name, value in probabilities.items()]
    top = max(range(len(items)), key=lambda i: items[i][1] if items[i][1] is not None else -1.0, default=None)
    frame = pd.DataFrame(
        {
            "class": [name for name, _ in items],
            "probability": [value for _, value in items],
            "rank": ["top class" if i == top else "other" for i in range(len(items))],
        }
    )
    scale, step = bands(len(frame), 24)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=by("probability", "descending"), title=None, axis=alt.Axis(labelLimit=200),
                    scale=scale),
            x=alt.X("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("rank:N", legend=None,
                            scale=alt.Scale(domain=["top class", "other"], range=[OKABE_ITO[0], "#b0b0b0"])),
            tooltip=[
                alt.Tooltip("class:N", title="class"),
                alt.Tooltip("probability:Q", title="probability", format=".1%"),
            ],
        )
        .properties(width="container", height=step, title="class probabilities")
    )
    return readable(chart)


BASELINE_HALF_THICKNESS = 0.004  # in score units: about 3 px on a 0-0.7 axis 240 px tall


def metric_comparison(rows: list[dict], *, baselines: list[dict] | None = None) -> alt.LayerChart:
    """Grouped bars: one group per metric (first-seen order), one bar per run (colour), value labels on top.

    ``rows`` items: ``{"run": str, "metric": str, "value": float}``. ``baselines`` (same shape, optional) adds a
    black tick across each run's bar at that run's baseline score for the metric, so "did it beat the yardstick?"
    reads off the chart; runs on different data or splits keep their own baseline.
    """
    metric_order: dict[str, int] = {}
    run_order: dict[str, int] = {}
    records = []
    for item in rows:
        metric, run = str(item.get("metric", "")), str(item.get("run", ""))
        metric_order.setdefault(metric, len(metric_order))
        run_order.setdefault(run, len(run_order))
        value = number(item.get("value"))
        records.append({"metric": metric, "metric_index": metric_order[metric], "run": run,
                        "run_index": run_order[run], "value": value,
                        "label": f"{value:.3f}" if value is not None else "n/a"})
    frame = pd.DataFrame(records, columns=["metric", "metric_index", "run", "run_index", "value", "label"])
    run_sort = by("run_index")
    x = alt.X("metric:N", sort=by("metric_index"), title=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    base = alt.Chart(frame).encode(
        x=x,
        xOffset=alt.XOffset("run:N", sort=run_sort),
        y=alt.Y("value:Q", title="value"),
        tooltip=[alt.Tooltip("run:N", title="run"), alt.Tooltip("metric:N", title="metric"),
                 alt.Tooltip("value:Q", title="value", format=".4~g")],
    )
    bars = base.mark_bar().encode(
        color=alt.Color("run:N", sort=run_sort, title="run", scale=category_scale(),
                        legend=alt.Legend(orient="top", labelLimit=240, columns=2))
    )
    labels = base.mark_text(baseline="bottom", dy=-2, fontSize=SMALL_TEXT_PX).encode(text=alt.Text("label:N"))
    layers = [bars, labels]
    title = "metrics by run"
    ticks = _baseline_frame(baselines or [], metric_order, run_order)
    if len(ticks):
        # A thin bar rather than a tick mark: bars follow the run's offset within the group, ticks span the group.
        layers.append(
            alt.Chart(ticks).mark_bar(color="#1a1a1a").encode(
                x=x,
                xOffset=alt.XOffset("run:N", sort=run_sort),
                y=alt.Y("low:Q"),
                y2=alt.Y2("high:Q"),
                tooltip=[alt.Tooltip("run:N", title="run"), alt.Tooltip("metric:N", title="metric"),
                         alt.Tooltip("value:Q", title="baseline", format=".4~g")],
            )
        )
        title = "metrics by run (black tick: baseline)"
    return readable(alt.layer(*layers).properties(width="container", height=240 + CHROME + LEGEND,
                                                  title=title))


def _baseline_frame(baselines: list[dict], metric_order: dict[str, int], run_order: dict[str, int]) -> pd.DataFrame:
    """Baseline values for the bars that exist (a baseline for a run or metric not drawn is dropped)."""
    records = []
    for item in baselines:
        metric, run = str(item.get("metric", "")), str(item.get("run", ""))
        value = number(item.get("value"))
        if metric in metric_order and run in run_order and value is not None:
            records.append({"metric": metric, "metric_index": metric_order[metric], "run": run,
                            "run_index": run_order[run], "value": value,
                            "low": value - BASELINE_HALF_THICKNESS, "high": value + BASELINE_HALF_THICKNESS})
    return pd.DataFrame(records, columns=["metric", "metric_index", "run", "run_index", "value", "low", "high"])


def value_label(value: float | None) -> str:
    """Counts (vocabulary sizes) as whole numbers, shares and scores to three decimals; "…" while unknown."""
    if value is None:
        return "…"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"


def variant_values(rows: list[dict]) -> alt.LayerChart:
    """One horizontal bar per variant of a lesson for one metric, in the lesson's order, value written beside it.

    ``rows`` items: ``{"variant": str, "value": float | None}`` (a variant still training has None: no bar, "…").
    The metric's name is the caller's to say in text: lesson files are written by teachers, so it never goes into
    the chart's title.
    """
    frame = pd.DataFrame(
        [{"variant": str(item.get("variant", "")), "order": index, "value": number(item.get("value")),
          "label": value_label(number(item.get("value")))}
         for index, item in enumerate(rows)],
        columns=["variant", "order", "value", "label"],
    )
    scale, step = bands(len(frame), 30)
    base = alt.Chart(frame).encode(
        y=alt.Y("variant:N", sort=by("order"), title=None, axis=alt.Axis(labelLimit=240), scale=scale),
        tooltip=[alt.Tooltip("variant:N", title="variant"), alt.Tooltip("label:N", title="value")],
    )
    bars = base.mark_bar(color=OKABE_ITO[0]).encode(x=alt.X("value:Q", title="value"))
    labels = base.mark_text(align="left", baseline="middle", dx=4).encode(
        x=alt.X("value:Q"), text=alt.Text("label:N")
    )
    return readable(alt.layer(bars, labels).properties(width="container", height=step, title="value by variant"))
