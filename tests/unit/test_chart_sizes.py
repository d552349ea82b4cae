"""Every chart builder draws text a projector can show and a plot tall enough to read: axis labels, axis and legend
titles, legend labels and text marks of at least 12 px, set in the chart's own config (which overrides Streamlit's
theme) or on the mark. tests/browser/test_browser_layout.py measures the same in the browser."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.figures import common, data_setup, evaluation, explanations, study, training
from support.paths import GOLDEN

MIN_TEXT_PX = 12
HISTORY = {"loss": [1.2, 0.8, 0.6], "val_loss": [1.3, 0.9, 0.95], "accuracy": [0.4, 0.6, 0.7],
           "val_accuracy": [0.35, 0.55, 0.6]}


def _faithfulness():
    from core.evidence.faithfulness import FaithfulnessReport

    return FaithfulnessReport.from_dict(json.loads((GOLDEN / "run" / "faithfulness.json").read_text(encoding="utf-8")))


def _sweep():
    axes = [{"name": "model.dropout", "kind": "float", "low": 0.0, "high": 0.6, "log": False, "choices": None},
            {"name": "objective", "kind": "objective", "low": None, "high": None, "log": False, "choices": None}]
    rows = [row for trial in range(3) for row in (
        {"trial": trial, "axis": "model.dropout", "value": 0.1 * trial, "label": f"{0.1 * trial:.1f}",
         "position": trial / 2, "objective": 0.5 + 0.05 * trial},
        {"trial": trial, "axis": "objective", "value": 0.5 + 0.05 * trial, "label": f"{0.5 + 0.05 * trial:.3f}",
         "position": trial / 2, "objective": 0.5 + 0.05 * trial})]
    return axes, rows


CLASSES = [{"class": name, "count": count, "share": count / 100} for name, count in (("a", 60), ("b", 30), ("c", 10))]
BUILDERS = {
    "class_distribution": lambda: data_setup.class_distribution(CLASSES),
    "length_histogram": lambda: data_setup.length_histogram(list(range(1, 80)), max_length=60, truncated_share=0.2),
    "split_counts": lambda: data_setup.split_counts(["a", "b"], {"train (before)": [5, 3], "test": [1, 1]}),
    "confusion_matrix": lambda: evaluation.confusion_matrix(["a", "b"], [[3, 1], [0, 4]], [[0.75, 0.25], [0, 1]]),
    "confusion_matrix 21 classes": lambda: evaluation.confusion_matrix(
        [f"c{i}" for i in range(21)], np.eye(21, dtype=int).tolist(), np.eye(21).tolist()),
    "per_class_scores": lambda: evaluation.per_class_scores(
        [{"class": "a", "precision": 0.5, "recall": 0.4, "f1": 0.45, "support": 3}]),
    "probability_bars": lambda: evaluation.probability_bars({"a": 0.7, "b": 0.3}),
    "metric_comparison": lambda: evaluation.metric_comparison(
        [{"run": "r", "metric": "accuracy", "value": 0.5}],
        baselines=[{"run": "r", "metric": "accuracy", "value": 0.4}]),
    "variant_values": lambda: evaluation.variant_values(
        [{"variant": "a", "value": 0.5}, {"variant": "b", "value": None}]),
    "training_curves": lambda: training.training_curves(HISTORY, best_epoch=2,
                                                        batch_points=[{"epoch_fraction": 0.5, "loss": 1.0}]),
    "training_curves cut short": lambda: training.training_curves({"loss": [1.0, 0.9], "val_loss": [1.1]}),
    "run_curves": lambda: training.run_curves([{"run": "a", "history": HISTORY}]),
    "token_heatmap": lambda: explanations.token_heatmap(["a", "b"], [0.1, -0.2], title="heading"),
    "faithfulness_chart": lambda: explanations.faithfulness_chart(_faithfulness()),
    "lever_effects": lambda: study.lever_effects(
        [{"lever": "x", "mean": 0.01, "sd": 0.01, "low": 0.0, "high": 0.02, "verdict": "helps", "n": 3}],
        min_effect=0.01),
    "final_comparison": lambda: study.final_comparison(
        [{"arm": "x", "kind": "reference", "mean": 0.6, "sd": 0.02, "n": 3}]),
    "sweep_history": lambda: study.sweep_history([{"trial": 0, "value": 0.5, "state": "complete"}]),
    "parallel_coordinates": lambda: study.parallel_coordinates(*_sweep(), best_trial=1),
    "importance_bars": lambda: study.importance_bars({"model.dropout": 0.7, "model.lstm_units": 0.3}),
}


def _sizes(node, path=""):
    """Every font size set anywhere in the spec, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("fontSize", "labelFontSize", "titleFontSize") and isinstance(value, (int, float)):
                yield f"{path}.{key}", value
            yield from _sizes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _sizes(item, f"{path}[{index}]")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_chart_draws_text_of_at_least_12_px(name):
    specification = BUILDERS[name]().to_dict()
    config = specification["config"]
    assert config["axis"]["labelFontSize"] >= MIN_TEXT_PX and config["axis"]["titleFontSize"] >= MIN_TEXT_PX
    assert config["legend"]["labelFontSize"] >= MIN_TEXT_PX and config["legend"]["titleFontSize"] >= MIN_TEXT_PX
    assert config["text"]["fontSize"] >= MIN_TEXT_PX  # text marks without a size of their own
    small = [(where, size) for where, size in _sizes(specification) if size < MIN_TEXT_PX]
    assert not small, small


def test_the_builders_cover_every_public_chart():
    """A new builder gets a line in BUILDERS (and so the size checks)."""
    import inspect

    public = {f"{module.__name__}.{name}" for module in (data_setup, evaluation, explanations, study, training)
              for name, function in inspect.getmembers(module, inspect.isfunction)
              if function.__module__ == module.__name__ and not name.startswith("_")
              and "Chart" in str(inspect.signature(function).return_annotation)}
    covered = {name.split()[0] for name in BUILDERS}
    assert {name.rsplit(".", 1)[1] for name in public} <= covered


def test_the_projector_sizes_come_from_one_place():
    config = data_setup.class_distribution(CLASSES).to_dict()["config"]
    assert config["axis"] == {"labelFontSize": common.AXIS_LABEL_PX, "titleFontSize": common.AXIS_TITLE_PX}
    assert config["legend"] == {"labelFontSize": common.LEGEND_PX, "titleFontSize": common.LEGEND_PX}
    assert min(common.AXIS_LABEL_PX, common.AXIS_TITLE_PX, common.LEGEND_PX, common.TEXT_PX,
               common.SMALL_TEXT_PX) >= MIN_TEXT_PX


BANDED = {
    "class_distribution": lambda n: data_setup.class_distribution(CLASSES[:1] * n),
    "probability_bars": lambda n: evaluation.probability_bars({f"c{i}": 0.1 for i in range(n)}),
    "variant_values": lambda n: evaluation.variant_values([{"variant": f"v{i}", "value": 0.5} for i in range(n)]),
    "lever_effects": lambda n: study.lever_effects(
        [{"lever": f"l{i}", "mean": 0.01, "verdict": "helps", "n": 3} for i in range(n)], min_effect=0.01),
    "final_comparison": lambda n: study.final_comparison(
        [{"arm": f"a{i}", "kind": "reference", "mean": 0.6, "n": 3} for i in range(n)]),
    "importance_bars": lambda n: study.importance_bars({f"model.s{i}": 0.1 for i in range(n)}),
}


def _plot_height(specification: dict, bars: int) -> float:
    """A stepped bar chart's plot height, as Vega-Lite computes it from the step and the band scale's padding."""
    layers = specification.get("layer", [specification])
    scale = next(layer["encoding"]["y"]["scale"] for layer in layers if "y" in layer.get("encoding", {}))
    return specification["height"]["step"] * (bars - scale["paddingInner"] + 2 * scale["paddingOuter"])


@pytest.mark.parametrize("bars", [1, 2, 3, 12])
@pytest.mark.parametrize("name", sorted(BANDED))
def test_bar_charts_keep_a_readable_height_with_few_bars(name, bars):
    """A two-class bar chart used to be a 150-px strip: the plot stays at least MIN_BAND_PLOT_PX tall (the chart,
    with its title and axis, at least 200 px), and a long one keeps its natural step per bar."""
    specification = BANDED[name](bars).to_dict()
    assert _plot_height(specification, bars) >= common.MIN_BAND_PLOT_PX - 0.5
    if bars >= 12:
        assert specification["height"]["step"] in (24, 26, 30, 40)
