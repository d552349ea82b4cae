"""Altair figure builders: plain data in, a chart out; no Streamlit, no global state.

Every string that comes from a user's CSV (class names, tokens, run labels) travels only as a *data value* in the
chart's dataset. None is ever put into a title, axis title, sort array, scale domain, ``labelExpr`` or any other
Vega expression, so markup-like or expression-like text (``<img onerror=…>``, ``"; alert(1)//``, ``{{x}}``,
``$x$``) is drawn literally. Orders that must follow the caller's order are carried by integer index columns and
``EncodingSortField``s, never by lists of names. Titles and axis titles are this module's own words.

Colours: Okabe–Ito for categories (colour-blind safe), ``blues`` for sequential values, ``blueorange`` (centred
at 0) for signed values. Text drawn over coloured cells takes its colour from a data column computed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import numpy as np
import pandas as pd

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
SEQUENTIAL_SCHEME = "blues"
DIVERGING_SCHEME = "blueorange"
SPLIT_COLOURS = {"training": OKABE_ITO[0], "validation": OKABE_ITO[1], "training (batches)": OKABE_ITO[4]}
CONFUSION_MODES = ("counts", "percent")
MAX_TOKEN_CHARS = 14
MAX_HISTOGRAM_BINS = 60
NARROW_CONTENT_WIDTH = 560  # px of page content on a 1024-px screen (a classroom projector) with the sidebar open
_DARK_TEXT, _LIGHT_TEXT = "#1a1a1a", "#ffffff"


def _number(value) -> float | None:
    """A finite float, or None for None / NaN / ±inf / anything that is not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# Streamlit draws charts with Vega-Lite's "fit" autosize, where a fixed height is the *total* height (title, axes
# and legend included) and offset bands get squashed. Fixed heights below add this room; bar charts by class use
# a per-bar step instead, which fit leaves alone.
_CHROME = 70
_LEGEND = 30



def _category_scale(domain: Sequence[str] | None = None) -> alt.Scale:
    """Okabe–Ito colours; ``domain`` is only ever this module's own labels, never user data."""
    if domain is None:
        return alt.Scale(range=OKABE_ITO)
    colours = [SPLIT_COLOURS.get(d, OKABE_ITO[i % len(OKABE_ITO)]) for i, d in enumerate(domain)]
    return alt.Scale(domain=list(domain), range=colours)


def _text_colour() -> dict:
    """White text on dark cells, near-black elsewhere, from the boolean ``dark_cell`` column (no colour scale,
    so the layer does not merge with the cells' colour scale)."""
    return alt.condition(alt.datum.dark_cell, alt.value(_LIGHT_TEXT), alt.value(_DARK_TEXT))


def _by(field: str, order: str = "ascending") -> alt.EncodingSortField:
    return alt.EncodingSortField(field=field, op="min", order=order)


# --------------------------------------------------------------------------------------------------- data set-up


def class_distribution(classes: list[dict]) -> alt.LayerChart:
    """Horizontal bars of rows per class, largest first, labelled "count (share%)".

    ``classes`` items: ``{"class": str, "count": int, "share": float}`` with share a fraction of all rows.
    """
    frame = pd.DataFrame(
        {
            "class": [str(item["class"]) for item in classes],
            "count": [int(_number(item.get("count")) or 0) for item in classes],
            "share": [_number(item.get("share")) or 0.0 for item in classes],
        }
    )
    frame["label"] = [f"{count:,} ({share:.1%})" for count, share in zip(frame["count"], frame["share"])]
    sort = _by("count", "descending")
    base = alt.Chart(frame).encode(
        y=alt.Y("class:N", sort=sort, title="class", axis=alt.Axis(labelLimit=200)),
        x=alt.X("count:Q", title="rows", axis=alt.Axis(tickMinStep=1)),
        tooltip=[
            alt.Tooltip("class:N", title="class"),
            alt.Tooltip("count:Q", title="rows", format=","),
            alt.Tooltip("share:Q", title="share", format=".1%"),
        ],
    )
    bars = base.mark_bar(color=OKABE_ITO[0])
    labels = base.mark_text(align="left", baseline="middle", dx=4).encode(text=alt.Text("label:N"))
    return alt.layer(bars, labels).properties(width="container", height=alt.Step(26), title="rows per class")


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
    share = _number(truncated_share)
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
            color=alt.Color("part:N", title=None, scale=_category_scale(["kept whole", "cut"]),
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
    return alt.layer(bars, rule, text).properties(width="container", height=220 + _CHROME + _LEGEND, title="text lengths")


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
                         "stage_index": stage_index, "count": int(_number(value) or 0)})
    frame = pd.DataFrame(rows, columns=["class", "class_index", "stage", "stage_index", "count"])
    stage_sort = _by("stage_index")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=_by("class_index"), title="class", axis=alt.Axis(labelLimit=200)),
            yOffset=alt.YOffset("stage:N", sort=stage_sort),
            x=alt.X("count:Q", title="rows", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("stage:N", sort=stage_sort, title="stage", scale=_category_scale(),
                            legend=alt.Legend(orient="top", columns=1)),  # side by side, four stages overflow a narrow column
            tooltip=[
                alt.Tooltip("class:N", title="class"),
                alt.Tooltip("stage:N", title="stage"),
                alt.Tooltip("count:Q", title="rows", format=","),
            ],
        )
        .properties(width="container", height=alt.Step(11),  # per bar: "fit" autosize squashes offset bands
                    title="rows per class at each stage")
    )


# ---------------------------------------------------------------------------------------------------- training


def _epoch_x(last_epoch) -> alt.X:
    """Epoch axis with whole-number ticks only (explicit values up to 20 epochs, else a minimum step of 1)."""
    last_epoch = int(last_epoch) if last_epoch == last_epoch else 0
    if 0 < last_epoch <= 20:
        axis = alt.Axis(values=list(range(1, last_epoch + 1)), format="d")
    else:
        axis = alt.Axis(tickMinStep=1, format="d")
    return alt.X("epoch:Q", title="epoch", axis=axis, scale=alt.Scale(zero=False))


CUT_SHORT = "cut short"


def partial_epoch_in(history: Mapping[str, Sequence], metric: str) -> int | None:
    """The epoch a Stop cut short, read from the history's shape: its last ``metric`` entry has no validation
    score (an epoch cut short is never validated), so ``val_<metric>`` is exactly one entry shorter."""
    training, validation = history.get(metric) or [], history.get(f"val_{metric}")
    if validation is not None and len(training) >= 1 and len(validation) == len(training) - 1:
        return len(training)
    return None


def _history_frame(history: Mapping[str, Sequence], metric: str, partial_epoch: int | None = None) -> pd.DataFrame:
    rows = []
    for split, key in (("training", metric), ("validation", f"val_{metric}")):
        for epoch, value in enumerate(history.get(key) or [], start=1):
            number = _number(value)
            if number is not None:
                cut = epoch == partial_epoch
                rows.append({"epoch": epoch, "value": number, "split": split, "cut_short": cut,
                             "epoch_label": f"{epoch} ({CUT_SHORT})" if cut else str(epoch)})
    return pd.DataFrame(rows, columns=["epoch", "value", "split", "cut_short", "epoch_label"])


def _cut_short_layers(frame: pd.DataFrame, x, y, colour, tooltip, *, detail: str | None = None) -> list:
    """A hollow point and a "cut short" note at an epoch a Stop ended early, reached by a dotted segment."""
    cut = frame[frame["cut_short"]]
    if cut.empty:
        return []
    encoding = dict(x=x, y=y, color=colour, tooltip=tooltip)
    if detail:
        encoding["detail"] = detail
    keys = ["split"] + ([detail.split(":")[0]] if detail else [])
    last_full = frame[~frame["cut_short"]].merge(cut[keys], on=keys)
    last_full = last_full[last_full["epoch"] == last_full["epoch"].groupby([last_full[k] for k in keys]).transform("max")]
    segment = pd.concat([last_full, cut], ignore_index=True)
    return [
        alt.Chart(segment).mark_line(strokeWidth=2, strokeDash=[2, 3]).encode(order="epoch:Q", **encoding),
        alt.Chart(cut).mark_point(size=110, filled=False, strokeWidth=2, fill="#ffffff", fillOpacity=1).encode(**encoding),
        alt.Chart(cut.assign(note=CUT_SHORT)).mark_text(align="center", baseline="bottom", dy=-9, fontSize=11,
                                                        color="#444444").encode(x=x, y=y, text="note:N"),
    ]


def training_curves(
    history: Mapping[str, Sequence[float]],
    *,
    metric: str = "loss",
    best_epoch: int | None = None,
    batch_points: list[dict] | None = None,
    partial_epoch: int | None = None,
) -> alt.LayerChart:
    """``metric`` and ``val_<metric>`` per epoch (1-based), optional best-epoch marker and within-epoch progress.

    ``batch_points`` items carry ``epoch_fraction`` = ``(epoch - 1) + batch / batches`` (so the end of epoch *e*
    lands on x = *e*) and the batch's metric value under ``metric``; points without it are skipped.
    ``partial_epoch`` (an epoch cut short by Stop; read from the history's shape when not given, see
    :func:`partial_epoch_in`) is drawn as a hollow point reached by a dotted line, noted "cut short".
    ``metric`` is a Keras history key chosen by the app (it appears in the axis title), never user text.
    """
    partial_epoch = partial_epoch if partial_epoch is not None else partial_epoch_in(history, metric)
    frame = _history_frame(history, metric, partial_epoch)
    splits = ["training", "validation"]
    batches = pd.DataFrame(
        [
            {"epoch": float(x), "value": float(y), "split": "training (batches)"}
            for point in (batch_points or [])
            if (x := _number(point.get("epoch_fraction"))) is not None and (y := _number(point.get(metric))) is not None
        ],
        columns=["epoch", "value", "split"],
    )
    if len(batches):
        splits.insert(1, "training (batches)")
    # Two entries a row, the long "training (batches)" beside "training" (a legend column is as wide as its longest
    # label): three side by side overflow a half-width chart on a 1024-px projector.
    colour = alt.Color("split:N", title=None, scale=_category_scale(splits),
                       legend=alt.Legend(orient="top", columns=2, labelFontSize=11, symbolSize=60, columnPadding=8))
    x = _epoch_x(frame["epoch"].max() if len(frame) else 0)
    y = alt.Y("value:Q", title=metric.replace("_", " "), scale=alt.Scale(zero=False))
    value_tip = alt.Tooltip("value:Q", title=metric, format=".4~g")
    tooltip = [alt.Tooltip("split:N", title="curve"), alt.Tooltip("epoch_label:N", title="epoch"), value_tip]

    layers = []
    if len(batches):
        batch_tooltip = [alt.Tooltip("split:N", title="curve"), alt.Tooltip("epoch:Q", title="epoch", format=".2f"), value_tip]
        layers.append(
            alt.Chart(batches).mark_line(strokeWidth=1, opacity=0.55).encode(x=x, y=y, color=colour, tooltip=batch_tooltip)
        )
    full = frame[~frame["cut_short"]]
    layers.append(
        alt.Chart(full)
        .mark_line(point=True, strokeWidth=2)
        .encode(x=x, y=y, color=colour, order="epoch:Q", tooltip=tooltip)
    )
    layers += _cut_short_layers(frame, x, y, colour, tooltip)
    if best_epoch is not None and len(frame):
        validation = frame[frame["split"] == "validation"]
        marker = pd.DataFrame({"epoch": [int(best_epoch)], "note": [f"best epoch {int(best_epoch)}"]})
        layers.append(alt.Chart(marker).mark_rule(strokeDash=[4, 3], color="#666666").encode(x="epoch:Q"))
        layers.append(
            alt.Chart(marker)
            .mark_text(align="left", baseline="top", dx=4, color="#666666")
            .encode(x="epoch:Q", y=alt.value(4), text="note:N")
        )
        best = validation[validation["epoch"] == int(best_epoch)]
        if len(best):
            layers.append(
                alt.Chart(best)
                .mark_point(size=120, filled=False, strokeWidth=2, color=SPLIT_COLOURS["validation"])
                .encode(x="epoch:Q", y="value:Q", tooltip=tooltip)
            )
    title = "waiting for the first epoch" if frame.empty else f"{metric.replace('_', ' ')} per epoch"
    return alt.layer(*layers).properties(width="container", height=220 + _CHROME + _LEGEND, title=title)


def run_curves(runs: list[dict], *, metric: str = "loss") -> alt.LayerChart:
    """One colour per run; solid = training, dashed = validation. Runs may have different numbers of epochs.

    ``runs`` items: ``{"run": str, "history": dict}`` and optionally ``"partial_epoch"`` (an epoch cut short by
    Stop; read from the history's shape when absent), drawn as a hollow point noted "cut short". Two runs with the
    same label share a colour but keep separate lines.
    """
    frames = []
    for run_index, item in enumerate(runs):
        history = item.get("history") or {}
        partial = item.get("partial_epoch")
        frame = _history_frame(history, metric, partial if partial is not None else partial_epoch_in(history, metric))
        frame["run"] = str(item.get("run", ""))
        frame["run_index"] = run_index
        frames.append(frame)
    columns = ["epoch", "value", "split", "cut_short", "epoch_label", "run", "run_index"]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    frame = frame.astype({"epoch": int, "value": float, "run_index": int, "cut_short": bool})
    x = _epoch_x(frame["epoch"].max() if len(frame) else 0)
    y = alt.Y("value:Q", title=metric.replace("_", " "), scale=alt.Scale(zero=False))
    colour = alt.Color("run:N", sort=_by("run_index"), title="run", scale=_category_scale(),
                       legend=alt.Legend(orient="top", labelLimit=240, columns=2))
    tooltip = [
        alt.Tooltip("run:N", title="run"),
        alt.Tooltip("split:N", title="curve"),
        alt.Tooltip("epoch_label:N", title="epoch"),
        alt.Tooltip("value:Q", title=metric, format=".4~g"),
    ]
    lines = (
        alt.Chart(frame[~frame["cut_short"]])
        .mark_line(point=alt.OverlayMarkDef(size=20, filled=False), strokeWidth=2)
        .encode(
            x=x,
            y=y,
            color=colour,
            strokeDash=alt.StrokeDash(
                "split:N",
                title=None,
                scale=alt.Scale(domain=["training", "validation"], range=[[1, 0], [6, 4]]),
                # Below the plot: beside the run legend at the top it was clipped on narrow screens.
                legend=alt.Legend(symbolType="stroke", symbolStrokeColor="#666666", symbolStrokeWidth=2, orient="bottom"),
            ),
            detail="run_index:N",
            order="epoch:Q",
            tooltip=tooltip,
        )
    )
    layers = [lines, *_cut_short_layers(frame, x, y, colour, tooltip, detail="run_index:N")]
    return alt.layer(*layers).properties(width="container", height=240 + _CHROME + _LEGEND,
                                         title=f"{metric.replace('_', ' ')} per epoch, by run")


# -------------------------------------------------------------------------------------------------- evaluation


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
            count = int(_number(counts[i][j]) or 0)
            share = _number(normalized[i][j]) or 0.0
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
        x=alt.X("predicted:N", sort=_by("predicted_index"), title="predicted class",
                axis=alt.Axis(orient="top", labelAngle=-40, labelLimit=label_limit, labelOverlap=False)),
        y=alt.Y("true:N", sort=_by("true_index"), title="true class",
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
        .encode(x=alt.X("predicted:N", sort=_by("predicted_index")), y=alt.Y("true:N", sort=_by("true_index")))
    )
    text = base.mark_text(baseline="middle", fontSize=11 if cell_size >= 28 else 9).encode(
        text=alt.Text("text:N"), color=_text_colour()
    )
    title = "confusion matrix (counts)" if mode == "counts" else "confusion matrix (% of each true class)"
    return alt.layer(rect, diagonal, text).properties(
        width=alt.Step(cell_size), height=alt.Step(cell_size), title=title
    )


def per_class_scores(per_class: list[dict]) -> alt.Chart:
    """Precision, recall and F1 per class as grouped horizontal bars on 0–1; the tooltip adds support."""
    metrics = ("precision", "recall", "f1")
    rows = [
        {"class": str(item["class"]), "class_index": i, "score": score, "score_index": k,
         "value": _number(item.get(score)), "support": int(_number(item.get("support")) or 0)}
        for i, item in enumerate(per_class)
        for k, score in enumerate(metrics)
    ]
    frame = pd.DataFrame(rows, columns=["class", "class_index", "score", "score_index", "value", "support"])
    score_sort = _by("score_index")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=_by("class_index"), title="class", axis=alt.Axis(labelLimit=200)),
            yOffset=alt.YOffset("score:N", sort=score_sort),
            x=alt.X("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("score:N", sort=score_sort, title=None, scale=_category_scale(),
                            legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("class:N", title="class"),
                alt.Tooltip("score:N", title="score"),
                alt.Tooltip("value:Q", title="value", format=".3f"),
                alt.Tooltip("support:Q", title="test texts", format=","),
            ],
        )
        .properties(width="container", height=alt.Step(11),  # per bar: "fit" autosize squashes offset bands
                    title="precision, recall and F1 per class")
    )


def probability_bars(probabilities: Mapping[str, float]) -> alt.Chart:
    """One bar per class, most probable first, on 0–1; the top class is highlighted."""
    items = [(str(name), _number(value)) for name, value in probabilities.items()]
    top = max(range(len(items)), key=lambda i: items[i][1] if items[i][1] is not None else -1.0, default=None)
    frame = pd.DataFrame(
        {
            "class": [name for name, _ in items],
            "probability": [value for _, value in items],
            "rank": ["top class" if i == top else "other" for i in range(len(items))],
        }
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=_by("probability", "descending"), title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("rank:N", legend=None,
                            scale=alt.Scale(domain=["top class", "other"], range=[OKABE_ITO[0], "#b0b0b0"])),
            tooltip=[
                alt.Tooltip("class:N", title="class"),
                alt.Tooltip("probability:Q", title="probability", format=".1%"),
            ],
        )
        .properties(width="container", height=alt.Step(24), title="class probabilities")
    )


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
        value = _number(item.get("value"))
        records.append({"metric": metric, "metric_index": metric_order[metric], "run": run,
                        "run_index": run_order[run], "value": value,
                        "label": f"{value:.3f}" if value is not None else "n/a"})
    frame = pd.DataFrame(records, columns=["metric", "metric_index", "run", "run_index", "value", "label"])
    run_sort = _by("run_index")
    x = alt.X("metric:N", sort=_by("metric_index"), title=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    base = alt.Chart(frame).encode(
        x=x,
        xOffset=alt.XOffset("run:N", sort=run_sort),
        y=alt.Y("value:Q", title="value"),
        tooltip=[alt.Tooltip("run:N", title="run"), alt.Tooltip("metric:N", title="metric"),
                 alt.Tooltip("value:Q", title="value", format=".4~g")],
    )
    bars = base.mark_bar().encode(
        color=alt.Color("run:N", sort=run_sort, title="run", scale=_category_scale(),
                        legend=alt.Legend(orient="top", labelLimit=240, columns=2))
    )
    labels = base.mark_text(baseline="bottom", dy=-2, fontSize=10).encode(text=alt.Text("label:N"))
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
    return alt.layer(*layers).properties(width="container", height=240 + _CHROME + _LEGEND, title=title)


def _baseline_frame(baselines: list[dict], metric_order: dict[str, int], run_order: dict[str, int]) -> pd.DataFrame:
    """Baseline values for the bars that exist (a baseline for a run or metric not drawn is dropped)."""
    records = []
    for item in baselines:
        metric, run = str(item.get("metric", "")), str(item.get("run", ""))
        value = _number(item.get("value"))
        if metric in metric_order and run in run_order and value is not None:
            records.append({"metric": metric, "metric_index": metric_order[metric], "run": run,
                            "run_index": run_order[run], "value": value,
                            "low": value - BASELINE_HALF_THICKNESS, "high": value + BASELINE_HALF_THICKNESS})
    return pd.DataFrame(records, columns=["metric", "metric_index", "run", "run_index", "value", "low", "high"])


def _value_label(number: float | None) -> str:
    """Counts (vocabulary sizes) as whole numbers, shares and scores to three decimals; "…" while unknown."""
    if number is None:
        return "…"
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:.3f}"


def variant_values(rows: list[dict]) -> alt.LayerChart:
    """One horizontal bar per variant of a lesson for one metric, in the lesson's order, value written beside it.

    ``rows`` items: ``{"variant": str, "value": float | None}`` (a variant still training has None: no bar, "…").
    The metric's name is the caller's to say in text: lesson files are written by teachers, so it never goes into
    the chart's title.
    """
    frame = pd.DataFrame(
        [{"variant": str(item.get("variant", "")), "order": index, "value": _number(item.get("value")),
          "label": _value_label(_number(item.get("value")))}
         for index, item in enumerate(rows)],
        columns=["variant", "order", "value", "label"],
    )
    base = alt.Chart(frame).encode(
        y=alt.Y("variant:N", sort=_by("order"), title=None, axis=alt.Axis(labelLimit=240)),
        tooltip=[alt.Tooltip("variant:N", title="variant"), alt.Tooltip("label:N", title="value")],
    )
    bars = base.mark_bar(color=OKABE_ITO[0]).encode(x=alt.X("value:Q", title="value"))
    labels = base.mark_text(align="left", baseline="middle", dx=4).encode(
        x=alt.X("value:Q"), text=alt.Text("label:N")
    )
    return alt.layer(bars, labels).properties(width="container", height=alt.Step(30), title="value by variant")


# ----------------------------------------------------------------------------------------------- explanations


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
    numbers = [_number(w) for w in weights]
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
    text = base.mark_text(baseline="middle", fontSize=11, limit=alt.expr(f"max(8, width / {columns} - 8)")).encode(
        text=alt.Text("shown:N"), color=_text_colour()
    )
    layers = [cells, text]
    if title:
        heading = pd.DataFrame({"heading": [str(title)]})
        layers.append(
            alt.Chart(heading)
            .mark_text(align="left", baseline="bottom", fontSize=13, fontWeight="bold")
            .encode(x=alt.value(0), y=alt.value(-6), text="heading:N")
        )
    return alt.layer(*layers).properties(width="container", height=rows * 30 + 20 + _CHROME, view=alt.ViewBackground(stroke=None))
