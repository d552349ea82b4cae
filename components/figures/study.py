"""Altair figures of lever studies and sweeps: plain data in, a chart out; no Streamlit, no global state.

Same conventions as every figure (:mod:`components.figures`): lever titles, trial labels, setting names and choices
travel only as *data values*; titles, axis titles and scale domains hold this module's own words; orders are carried
by integer index columns and ``EncodingSortField``s, never by lists of names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core import lazy

lazy.load("altair")  # sessions are threads: the first import of Altair happens once, under a lock
import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402

from components.figures.common import (  # noqa: E402
    CHROME,
    OKABE_ITO,
    SMALL_TEXT_PX,
    TEXT_PX,
    bands,
    by,
    number,
    readable,
)

VERDICT_COLOURS = {"helps": OKABE_ITO[2], "hurts": OKABE_ITO[5], "within noise": "#8c8c8c"}
BEST_COLOUR = OKABE_ITO[1]
OBJECTIVE_AXIS = "objective"  # the engine's name of the parallel-coordinates axis that holds the score


def short_setting(name: str) -> str:
    """'model.lstm_units' → 'lstm units' (the axis label); the objective axis gets its plain name."""
    if name == OBJECTIVE_AXIS:
        return "validation macro-F1"
    section, _, leaf = str(name).rpartition(".")
    if leaf == "strategy" and section:  # "strategy" alone does not say of what
        leaf = section
    return leaf.replace("_", " ")


# ------------------------------------------------------------------------------------------------ lever study


def lever_effects(rows: Sequence[Mapping], *, min_effect: float) -> alt.LayerChart:
    """Mean paired difference (lever − reference) in validation macro-F1 per lever, in the caller's order.

    ``rows`` items: ``{"lever": str, "mean": float, "sd": float|None, "low": float|None, "high": float|None,
    "verdict": "helps"|"hurts"|"within noise", "n": int}``; rows without a mean yet are left out. A dot marks the
    mean, a thick bar ± 1 sd over seeds, a thin line the 90% interval the verdict uses; the grey band is the
    ±``min_effect`` too small to matter.
    """
    records = []
    for index, item in enumerate(rows):
        mean = number(item.get("mean"))
        if mean is None:
            continue
        sd = number(item.get("sd")) or 0.0
        low, high = number(item.get("low")), number(item.get("high"))
        records.append({
            "lever": str(item.get("lever", "")), "order": index, "mean": mean, "sd": number(item.get("sd")),
            "sd_low": mean - sd, "sd_high": mean + sd,
            "low": low if low is not None else mean, "high": high if high is not None else mean,
            "verdict": str(item.get("verdict", "within noise")), "n": int(number(item.get("n")) or 0),
        })
    frame = pd.DataFrame(records,
                         columns=["lever", "order", "mean", "sd", "sd_low", "sd_high", "low", "high", "verdict", "n"])
    scale, step = bands(len(frame), 30)
    y = alt.Y("lever:N", sort=by("order"), title=None, axis=alt.Axis(labelLimit=320, labelFontSize=13), scale=scale)
    x_title = "Δ validation macro-F1 vs the reference"
    verdicts = list(VERDICT_COLOURS)
    colour = alt.Color("verdict:N", title="verdict",
                       scale=alt.Scale(domain=verdicts, range=list(VERDICT_COLOURS.values())),
                       legend=alt.Legend(orient="top"))
    tooltip = [
        alt.Tooltip("lever:N", title="lever"),
        alt.Tooltip("verdict:N", title="verdict"),
        alt.Tooltip("mean:Q", title="mean Δ", format="+.3f"),
        alt.Tooltip("sd:Q", title="sd over seeds", format=".3f"),
        alt.Tooltip("low:Q", title="90% interval from", format="+.3f"),
        alt.Tooltip("high:Q", title="90% interval to", format="+.3f"),
        alt.Tooltip("n:Q", title="seeds"),
    ]
    band = pd.DataFrame({"from": [-abs(min_effect)], "to": [abs(min_effect)]})
    base = alt.Chart(frame).encode(y=y, tooltip=tooltip)
    layers = [
        # padding: no dot half off the edge
        alt.Chart(band).mark_rect(color="#e6e6e6", opacity=0.7).encode(
            x=alt.X("from:Q", title=x_title, scale=alt.Scale(padding=14)), x2="to:Q"),
        alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#555555").encode(x="zero:Q"),
        base.mark_rule(strokeWidth=1.5).encode(x=alt.X("low:Q", title=x_title), x2="high:Q", color=colour),
        base.mark_rule(strokeWidth=7, opacity=0.55).encode(x="sd_low:Q", x2="sd_high:Q", color=colour),
        base.mark_point(filled=True, size=90, opacity=1).encode(x="mean:Q", color=colour),
    ]
    title = ("waiting for paired results" if frame.empty
             else "effect of each lever (dot: mean; thick: ± 1 sd; thin: 90% interval)")
    return readable(alt.layer(*layers).properties(width="container", height=step, title=title))


ARM_COLOURS = {"combined": OKABE_ITO[2], "reference": OKABE_ITO[0], "baseline": "#8c8c8c"}


def final_comparison(arms: Sequence[Mapping]) -> alt.LayerChart:
    """Test macro-F1, mean ± sd over the seeds, for the few configs scored on the sealed test split.

    ``arms`` items: ``{"arm": str, "kind": "combined"|"reference"|"baseline", "mean": float|None, "sd": float|None,
    "n": int}`` in the order to draw; ``kind`` picks the colour.
    """
    records = []
    for index, item in enumerate(arms):
        mean = number(item.get("mean"))
        if mean is None:
            continue
        sd = number(item.get("sd"))
        kind = item.get("kind") if item.get("kind") in ARM_COLOURS else "baseline"
        records.append({"arm": str(item.get("arm", "")), "kind": kind, "order": index, "mean": mean, "sd": sd,
                        "from": max(0.0, mean - (sd or 0.0)), "to": min(1.0, mean + (sd or 0.0)),
                        "n": int(number(item.get("n")) or 0),
                        "label": f"{mean:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")})
    frame = pd.DataFrame(records, columns=["arm", "kind", "order", "mean", "sd", "from", "to", "n", "label"])
    scale, step = bands(len(frame), 40)
    y = alt.Y("arm:N", sort=by("order"), title=None, axis=alt.Axis(labelLimit=260, labelFontSize=13), scale=scale)
    x = alt.X("mean:Q", title="test macro-F1 (mean over seeds)", scale=alt.Scale(domain=[0, 1]))
    tooltip = [alt.Tooltip("arm:N", title="settings"), alt.Tooltip("mean:Q", title="mean", format=".3f"),
               alt.Tooltip("sd:Q", title="sd", format=".3f"), alt.Tooltip("n:Q", title="seeds")]
    base = alt.Chart(frame).encode(y=y, tooltip=tooltip)
    colour = alt.Color("kind:N", legend=None,
                       scale=alt.Scale(domain=list(ARM_COLOURS), range=list(ARM_COLOURS.values())))
    layers = [
        base.mark_bar(opacity=0.85).encode(x=x, color=colour),
        base.mark_rule(strokeWidth=2, color="#333333").encode(x="from:Q", x2="to:Q"),
        base.mark_text(align="left", dx=6, dy=-9, fontSize=12, color="#333333").encode(x="to:Q", text="label:N"),
    ]
    return readable(alt.layer(*layers).properties(width="container", height=step, title="the sealed test split"))


# ------------------------------------------------------------------------------------------------ sweep


def sweep_history(trials: Sequence[Mapping]) -> alt.LayerChart:
    """Validation macro-F1 of each finished trial (dots) and the best so far (a step line).

    ``trials`` items: ``{"trial": int, "value": float|None, "state": str}``; only trials with a value are drawn.
    """
    points = sorted(
        ({"trial": int(item["trial"]), "value": value, "state": str(item.get("state", ""))}
         for item in trials if (value := number(item.get("value"))) is not None),
        key=lambda row: row["trial"],
    )
    best, running = [], None
    for row in points:
        running = row["value"] if running is None else max(running, row["value"])
        best.append({"trial": row["trial"], "best": running})
    frame = pd.DataFrame(points, columns=["trial", "value", "state"])
    best_frame = pd.DataFrame(best, columns=["trial", "best"])
    x = alt.X("trial:Q", title="trial", axis=alt.Axis(tickMinStep=1, format="d"))
    layers = [
        alt.Chart(frame).mark_point(filled=True, size=60, color=OKABE_ITO[0]).encode(
            x=x, y=alt.Y("value:Q", title="validation macro-F1", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("trial:Q", title="trial"),
                     alt.Tooltip("value:Q", title="validation macro-F1", format=".3f"),
                     alt.Tooltip("state:N", title="state")]),
        alt.Chart(best_frame).mark_line(interpolate="step-after", color=BEST_COLOUR, strokeWidth=2).encode(
            x=x, y="best:Q", tooltip=[alt.Tooltip("best:Q", title="best so far", format=".3f")]),
    ]
    title = "waiting for the first finished trial" if frame.empty else "each trial (dots) and the best so far (line)"
    return readable(alt.layer(*layers).properties(width="container", height=200 + CHROME, title=title))


def _tick_rows(axes: Sequence[Mapping], objectives: Sequence[float]) -> list[dict]:
    """The words at each axis's ends (ranges) or at each choice (lists)."""
    rows = []
    for index, axis in enumerate(axes):
        name, kind = str(axis.get("name", "")), axis.get("kind")
        title = short_setting(name)
        if kind == "categorical":
            choices = list(axis.get("choices") or [])
            for k, choice in enumerate(choices):
                position = k / (len(choices) - 1) if len(choices) > 1 else 0.5
                rows.append({"axis": title, "axis_index": index, "position": position, "tick": short_value(choice)})
        elif kind == OBJECTIVE_AXIS:
            if objectives:
                low, high = min(objectives), max(objectives)
                rows += [{"axis": title, "axis_index": index, "position": 0.0 if high > low else 0.5,
                          "tick": f"{low:.3f}"}]
                if high > low:
                    rows.append({"axis": title, "axis_index": index, "position": 1.0, "tick": f"{high:.3f}"})
        else:
            for position, bound in ((0.0, axis.get("low")), (1.0, axis.get("high"))):
                if number(bound) is not None:
                    rows.append({"axis": title, "axis_index": index, "position": position, "tick": short_value(bound)})
    return rows


def short_value(value) -> str:
    """A setting's value in few characters: 'on'/'off', three significant digits, or the value itself."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def parallel_coordinates(axes: Sequence[Mapping], parallel: Sequence[Mapping], *,
                         best_trial: int | None = None) -> alt.LayerChart:
    """One line per finished trial across the searched settings and, last, its score; colour = the score.

    ``axes`` and ``parallel`` are :class:`core.evidence.study.SweepResult`'s: ``axes`` items
    ``{"name", "kind", "low", "high", "choices"}``; ``parallel`` rows
    ``{"trial", "axis", "label", "position" (0..1), "objective"}`` in long form.
    ``best_trial`` is drawn thick, on top, in orange.
    """
    order = {str(axis.get("name")): index for index, axis in enumerate(axes)}
    records = []
    for row in parallel:
        name = str(row.get("axis"))
        position, objective = number(row.get("position")), number(row.get("objective"))
        if name not in order or position is None or objective is None:
            continue
        trial = int(row.get("trial"))
        records.append({"trial": trial, "axis": short_setting(name), "axis_index": order[name], "position": position,
                        "label": short_value(row["value"]) if "value" in row else str(row.get("label", "")),
                        "objective": objective, "best": trial == best_trial})
    frame = pd.DataFrame(records, columns=["trial", "axis", "axis_index", "position", "label", "objective", "best"])
    objectives = frame["objective"].tolist()
    ticks = pd.DataFrame(_tick_rows(axes, objectives), columns=["axis", "axis_index", "position", "tick"])
    # Each axis a two-point line from 0 to 1 (a rule with constant y ends would need its own y scale, and mixing
    # it with the lines' scale left the whole chart blank in the browser).
    rules = pd.DataFrame([{"axis": short_setting(str(a.get("name", ""))), "axis_index": i, "position": end}
                          for i, a in enumerate(axes) for end in (0.0, 1.0)],
                         columns=["axis", "axis_index", "position"])
    x = alt.X("axis:N", sort=by("axis_index"), title=None,
              # Slanted: a dozen level names side by side do not fit a 560-px column, and Vega hides overlapping ones.
              axis=alt.Axis(labelAngle=-30, labelAlign="right", labelOverlap=False, labelLimit=140, labelFontSize=12,
                            domain=False, ticks=False))
    y = alt.Y("position:Q", title=None, scale=alt.Scale(domain=[0, 1]), axis=None)
    tooltip = [alt.Tooltip("trial:Q", title="trial"), alt.Tooltip("axis:N", title="setting"),
               alt.Tooltip("label:N", title="value"),
               alt.Tooltip("objective:Q", title="validation macro-F1", format=".3f")]
    lines = alt.Chart(frame[~frame["best"]]).mark_line(strokeWidth=1.5, opacity=0.7).encode(
        x=x, y=y, detail="trial:N", order="axis_index:Q", tooltip=tooltip,
        color=alt.Color("objective:Q", title="validation macro-F1", scale=alt.Scale(scheme="viridis"),
                        legend=alt.Legend(orient="top", gradientLength=240)))
    best = alt.Chart(frame[frame["best"]]).mark_line(strokeWidth=4, color=BEST_COLOUR, point=True).encode(
        x=x, y=y, detail="trial:N", order="axis_index:Q", tooltip=tooltip)
    layers = [
        alt.Chart(rules).mark_line(color="#9a9a9a", strokeWidth=1).encode(x=x, y=y, detail="axis_index:N"),
        lines,
        best,
        alt.Chart(ticks).mark_text(align="left", dx=4, fontSize=SMALL_TEXT_PX, color="#333333").encode(
            x=x, y=y, text="tick:N"),
    ]
    title = ("waiting for finished trials" if frame.empty
             else "each finished trial across the settings it tried (thick orange: the best)")
    # Streamlit's "fit" sizing leaves slanted labels out of its sum: the padding keeps them inside the frame.
    return readable(alt.layer(*layers).properties(width="container", height=480 + CHROME, title=title,
                                                  padding={"left": 5, "top": 5, "right": 5, "bottom": 40}))


def importance_bars(importances: Mapping[str, float]) -> alt.LayerChart:
    """Share of the score's variation each setting explains (Optuna's importance), largest first."""
    rows = [{"setting": short_setting(str(name)), "full": str(name), "share": share, "label": f"{share:.0%}"}
            for name, value in importances.items() if (share := number(value)) is not None]
    frame = pd.DataFrame(rows, columns=["setting", "full", "share", "label"])
    scale, step = bands(len(frame), 24)
    base = alt.Chart(frame).encode(
        y=alt.Y("setting:N", sort=by("share", "descending"), title=None,
                axis=alt.Axis(labelLimit=200, labelFontSize=13), scale=scale),
        x=alt.X("share:Q", title="importance (shares sum to 1)", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("full:N", title="setting"), alt.Tooltip("share:Q", title="importance", format=".1%")],
    )
    layers = [base.mark_bar(color=OKABE_ITO[0]),
              base.mark_text(align="left", dx=4, fontSize=TEXT_PX).encode(text="label:N")]
    return readable(alt.layer(*layers).properties(width="container", height=step))
