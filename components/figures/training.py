"""Figures of training: one run's curves per epoch (live or saved), and several runs' curves together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402

from components.figures.common import SPLIT_COLOURS, TEXT_PX, by, category_scale, number, readable  # noqa: E402

# Plot heights in px. Streamlit's default "fit" autosize makes a fixed height the *total* height, and these charts'
# legends (two of them on the runs chart), axis titles and title took 250 px of 340, leaving the lesson's loss chart
# a plot about 60-90 px tall at 1024 px. "fit-x" fits the width to the page and keeps the height for the plot alone.
CURVES_HEIGHT = 220
RUN_CURVES_HEIGHT = 240
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
EARLIER_OPACITY = 0.35


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
            finite = number(value)
            if finite is not None:
                cut = epoch == partial_epoch
                rows.append({"epoch": epoch, "value": finite, "split": split, "cut_short": cut,
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
    last_full = last_full[
        last_full["epoch"] == last_full["epoch"].groupby([last_full[k] for k in keys]).transform("max")
    ]
    segment = pd.concat([last_full, cut], ignore_index=True)
    return [
        alt.Chart(segment).mark_line(strokeWidth=2, strokeDash=[2, 3]).encode(order="epoch:Q", **encoding),
        alt.Chart(cut).mark_point(size=110, filled=False, strokeWidth=2, fill="#ffffff",
                                  fillOpacity=1).encode(**encoding),
        alt.Chart(cut.assign(note=CUT_SHORT)).mark_text(align="center", baseline="bottom", dy=-9, fontSize=TEXT_PX,
                                                        color="#444444").encode(x=x, y=y, text="note:N"),
    ]


def training_curves(
    history: Mapping[str, Sequence[float]],
    *,
    metric: str = "loss",
    best_epoch: int | None = None,
    batch_points: list[dict] | None = None,
    partial_epoch: int | None = None,
    earlier: Sequence[tuple[str, Mapping[str, Sequence[float]]]] = (),
    current: str | None = None,
) -> alt.LayerChart:
    """``metric`` and ``val_<metric>`` per epoch (1-based), optional best-epoch marker and within-epoch progress.

    ``batch_points`` items carry ``epoch_fraction`` = ``(epoch - 1) + batch / batches`` (so the end of epoch *e*
    lands on x = *e*) and the batch's metric value under ``metric``; points without it are skipped.
    ``partial_epoch`` (an epoch cut short by Stop; read from the history's shape when not given, see
    :func:`partial_epoch_in`) is drawn as a hollow point reached by a dotted line, noted "cut short".
    ``earlier`` holds ``(label, history)`` of the folds (or models) a k-fold run already trained, e.g. ``("fold 1",
    {...})``: drawn faded in the same colours, so a new fold does not blank the chart; ``current`` names the one
    ``history`` belongs to ("fold 2 of 5", in the title). Both labels are the app's own words.
    ``metric`` is a Keras history key chosen by the app (it appears in the axis title), never user text.
    """
    partial_epoch = partial_epoch if partial_epoch is not None else partial_epoch_in(history, metric)
    frame = _history_frame(history, metric, partial_epoch)
    ghosts = _earlier_frame(earlier, metric)
    splits = ["training", "validation"]
    batches = pd.DataFrame(
        [
            {"epoch": float(x), "value": float(y), "split": "training (batches)"}
            for point in (batch_points or [])
            if (x := number(point.get("epoch_fraction"))) is not None and (y := number(point.get(metric))) is not None
        ],
        columns=["epoch", "value", "split"],
    )
    if len(batches):
        splits.insert(1, "training (batches)")
    # Two entries a row, the long "training (batches)" beside "training" (a legend column is as wide as its longest
    # label): three side by side overflow a half-width chart on a 1024-px projector.
    colour = alt.Color("split:N", title=None, scale=category_scale(splits),
                       legend=alt.Legend(orient="top", columns=2, symbolSize=60, columnPadding=8))
    x = _epoch_x(max(frame["epoch"].max() if len(frame) else 0, ghosts["epoch"].max() if len(ghosts) else 0))
    y = alt.Y("value:Q", title=metric.replace("_", " "), scale=alt.Scale(zero=False))
    value_tip = alt.Tooltip("value:Q", title=metric, format=".4~g")
    tooltip = [alt.Tooltip("split:N", title="curve"), alt.Tooltip("epoch_label:N", title="epoch"), value_tip]

    layers = []
    if len(ghosts):
        ghost_tooltip = [alt.Tooltip("part:N", title="trained"), *tooltip]
        layers.append(alt.Chart(ghosts).mark_line(point=True, strokeWidth=1.5, opacity=EARLIER_OPACITY).encode(
            x=x, y=y, color=colour, detail="part_index:N", order="epoch:Q", tooltip=ghost_tooltip))
    if len(batches):
        batch_tooltip = [alt.Tooltip("split:N", title="curve"), alt.Tooltip("epoch:Q", title="epoch", format=".2f"),
                         value_tip]
        layers.append(
            alt.Chart(batches).mark_line(strokeWidth=1, opacity=0.55).encode(x=x, y=y, color=colour,
                                                                             tooltip=batch_tooltip)
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
    if frame.empty and ghosts.empty:
        title = "waiting for the first epoch"
    elif current:
        title = f"{metric.replace('_', ' ')} per epoch, {current}"  # half a page wide: the caption says what is faded
    else:
        title = f"{metric.replace('_', ' ')} per epoch"
    chart = alt.layer(*layers).properties(width="container", height=CURVES_HEIGHT, autosize=FIT_WIDTH, title=title)
    return readable(chart)


def _earlier_frame(earlier: Sequence[tuple[str, Mapping[str, Sequence[float]]]], metric: str) -> pd.DataFrame:
    frames = []
    for index, (label, curves) in enumerate(earlier):
        frame = _history_frame(curves, metric)
        frames.append(frame.assign(part=str(label), part_index=index))
    columns = ["epoch", "value", "split", "cut_short", "epoch_label", "part", "part_index"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


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
    colour = alt.Color("run:N", sort=by("run_index"), title="run", scale=category_scale(),
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
                legend=alt.Legend(
                    symbolType="stroke", symbolStrokeColor="#666666", symbolStrokeWidth=2, orient="bottom"
                ),
            ),
            detail="run_index:N",
            order="epoch:Q",
            tooltip=tooltip,
        )
    )
    layers = [lines, *_cut_short_layers(frame, x, y, colour, tooltip, detail="run_index:N")]
    chart = alt.layer(*layers).properties(width="container", height=RUN_CURVES_HEIGHT, autosize=FIT_WIDTH,
                                          title=f"{metric.replace('_', ' ')} per epoch, by run")
    return readable(chart)
