"""Chart builders: valid Vega-Lite (altair 6 validates in ``to_dict``), edge data, and user text only as data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from components.figures import common, data_setup, evaluation, explanations, training
from support.charts import HOSTILE, assert_only_data, dataset_rows, spec

HISTORY = {
    "loss": [1.2, 0.8, 0.6],
    "val_loss": [1.3, 0.9, 0.95],
    "accuracy": [0.4, 0.6, 0.7],
    "val_accuracy": [0.35, 0.55, 0.6],
    "val_macro_f1": [0.3, 0.5, 0.52],
    "learning_rate": [1e-3, 1e-3, 5e-4],
}


def find_params(node):
    if isinstance(node, dict):
        yield from node.get("params", [])
        for value in node.values():
            yield from find_params(value)
    elif isinstance(node, list):
        for item in node:
            yield from find_params(item)


HOSTILE_CASES = {
    "class_distribution": lambda: data_setup.class_distribution(
        [{"class": name, "count": 10 - i, "share": (10 - i) / 40} for i, name in enumerate(HOSTILE)]
    ),
    "split_counts": lambda: data_setup.split_counts(
        HOSTILE, {"train (before)": [5, 4, 3, 2, 1], "train (after)": [5] * 5, "validation": [1] * 5, "test": [1] * 5}
    ),
    "confusion_matrix": lambda: evaluation.confusion_matrix(
        HOSTILE, np.eye(5, dtype=int).tolist(), np.eye(5).tolist(), mode="percent"
    ),
    "per_class_scores": lambda: evaluation.per_class_scores(
        [{"class": name, "precision": 0.5, "recall": 0.4, "f1": 0.45, "support": 3} for name in HOSTILE]
    ),
    "token_heatmap": lambda: explanations.token_heatmap(HOSTILE, [0.1, -0.2, 0.3, 0.0, 0.5], title=HOSTILE[0]),
    "probability_bars": lambda: evaluation.probability_bars({name: 0.2 for name in HOSTILE}),
    "run_curves": lambda: training.run_curves([{"run": name, "history": HISTORY} for name in HOSTILE]),
    "metric_comparison": lambda: evaluation.metric_comparison(
        [{"run": name, "metric": metric, "value": 0.5} for name in HOSTILE for metric in ("accuracy", "macro_f1")]
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CASES))
def test_user_strings_are_data_only(name):
    specification = spec(HOSTILE_CASES[name]())
    assert "labelExpr" not in str(specification)
    assert_only_data(specification, HOSTILE)


EDGE_CASES = {
    "class_distribution empty": lambda: data_setup.class_distribution([]),
    "class_distribution single": lambda: data_setup.class_distribution([{"class": "a", "count": 3, "share": 1.0}]),
    "length_histogram empty": lambda: data_setup.length_histogram([], max_length=10, truncated_share=0.0),
    "length_histogram one": lambda: data_setup.length_histogram([7], max_length=10, truncated_share=float("nan")),
    "split_counts empty": lambda: data_setup.split_counts([], {}),
    "split_counts single": lambda: data_setup.split_counts(["a"], {"train (before)": [3], "test": [1]}),
    "training_curves nan": lambda: training.training_curves(
        {"loss": [1.0, float("nan"), None, 0.5], "val_loss": [float("inf"), 1.0, 0.9, None]}, best_epoch=2
    ),
    "training_curves lr": lambda: training.training_curves(HISTORY, metric="learning_rate"),
    "training_curves val only": lambda: training.training_curves(HISTORY, metric="macro_f1", best_epoch=3),
    "confusion_matrix empty": lambda: evaluation.confusion_matrix([], [], []),
    "confusion_matrix single": lambda: evaluation.confusion_matrix(["a"], [[0]], [[float("nan")]], selectable=False),
    "per_class_scores empty": lambda: evaluation.per_class_scores([]),
    "per_class_scores nan": lambda: evaluation.per_class_scores(
        [{"class": "a", "precision": float("nan"), "recall": None, "f1": 0.0, "support": 0}]
    ),
    "token_heatmap empty": lambda: explanations.token_heatmap([], []),
    "token_heatmap nan": lambda: explanations.token_heatmap(["a", "b"], [float("nan"), 0.0]),
    "probability_bars empty": lambda: evaluation.probability_bars({}),
    "probability_bars nan": lambda: evaluation.probability_bars({"a": float("nan"), "b": 0.4}),
    "run_curves empty": lambda: training.run_curves([]),
    "run_curves uneven": lambda: training.run_curves(
        [{"run": "a", "history": HISTORY}, {"run": "b", "history": {"loss": [1.0]}}, {"run": "c", "history": {}}]
    ),
    "metric_comparison empty": lambda: evaluation.metric_comparison([]),
    "metric_comparison nan": lambda: evaluation.metric_comparison([{"run": "a", "metric": "accuracy", "value": None}]),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_data_gives_a_valid_chart(name):
    spec(EDGE_CASES[name]())


def test_class_distribution_labels_are_computed_and_sorted_by_count():
    specification = spec(data_setup.class_distribution(
        [{"class": "small", "count": 38, "share": 0.04}, {"class": "big", "count": 1516, "share": 0.96}]
    ))
    labels = {row["class"]: row["label"] for row in dataset_rows(specification)}
    assert labels == {"small": "38 (4.0%)", "big": "1,516 (96.0%)"}
    assert specification["layer"][0]["encoding"]["y"]["sort"] == {"field": "count", "op": "min", "order": "descending"}


def test_length_histogram_pre_bins_100k_lengths():
    lengths = np.random.default_rng(0).lognormal(3.5, 0.7, 100_000).astype(int) + 1
    specification = spec(data_setup.length_histogram(lengths, max_length=73, truncated_share=0.049))
    rows = dataset_rows(specification)
    bins = [row for row in rows if "count" in row]
    assert len(rows) < 200
    assert sum(row["count"] for row in bins) == 100_000
    assert any(row.get("note") == "max length 73 cuts 4.9%" for row in rows)
    assert any(row["bin"].startswith("≥") for row in bins)  # the long tail is one bin, not hundreds


def test_split_counts_keeps_stage_and_class_order():
    stages = {"train (before)": [9, 1], "train (after)": [9, 9], "validation": [2, 1], "test": [2, 1]}
    specification = spec(data_setup.split_counts(["zeta", "alpha"], stages))
    rows = dataset_rows(specification)
    assert [(r["stage"], r["stage_index"]) for r in rows[::2]] == [(s, i) for i, s in enumerate(stages)]
    assert [(r["class"], r["class_index"]) for r in rows[:2]] == [("zeta", 0), ("alpha", 1)]
    assert specification["encoding"]["yOffset"]["sort"]["field"] == "stage_index"
    with pytest.raises(ValueError, match="counts for 2 classes"):
        data_setup.split_counts(["a", "b"], {"test": [1]})


def test_training_curves_waits_then_plots_epochs_best_and_batches():
    assert spec(training.training_curves({}))["title"] == "waiting for the first epoch"
    single = spec(training.training_curves({"loss": [0.9], "val_loss": [1.0]}, best_epoch=1))
    points = {(r["epoch"], r["split"]) for r in dataset_rows(single) if "split" in r}
    assert points == {(1, "training"), (1, "validation")}
    full = spec(training.training_curves(
        {"loss": [1.0, float("nan"), 0.5], "val_loss": [1.1, 0.9, 1.0]},
        best_epoch=2,
        batch_points=[{"epoch_fraction": 0.5, "loss": 1.3, "accuracy": None}, {"epoch_fraction": 1.0, "loss": 1.0}],
    ))
    rows = dataset_rows(full)
    splits = {r["split"] for r in rows if "split" in r}
    assert splits == {"training", "validation", "training (batches)"}
    assert not any(r.get("value") is not None and not math.isfinite(r["value"]) for r in rows)
    assert any(r.get("note") == "best epoch 2" for r in rows)
    batch_without_accuracy = [{"epoch_fraction": 0.5, "loss": 1.0}]
    accuracy = spec(training.training_curves(HISTORY, metric="accuracy", batch_points=batch_without_accuracy))
    assert "training (batches)" not in {r.get("split") for r in dataset_rows(accuracy)}


def test_confusion_matrix_selection_order_and_modes():
    labels = ["zeta", "alpha", "mid"]
    counts = [[5, 1, 0], [2, 3, 0], [0, 0, 4]]
    normalized = [[5 / 6, 1 / 6, 0], [0.4, 0.6, 0], [0, 0, 1]]
    specification = spec(evaluation.confusion_matrix(labels, counts, normalized))
    cell = [p for p in find_params(specification) if p.get("name") == "cell"]
    assert len(cell) == 1
    assert cell[0]["select"]["type"] == "point" and cell[0]["select"]["fields"] == ["true", "predicted"]
    rows = dataset_rows(specification)
    assert [r["true"] for r in rows[::3]] == labels and [r["predicted"] for r in rows[:3]] == labels
    assert [r["text"] for r in rows[:3]] == ["5", "1", "0"]
    percent = dataset_rows(spec(evaluation.confusion_matrix(labels, counts, normalized, mode="percent")))
    assert [r["text"] for r in percent[:3]] == ["83%", "17%", "0%"]
    assert not list(find_params(spec(evaluation.confusion_matrix(labels, counts, normalized, selectable=False))))
    with pytest.raises(ValueError, match="counts, percent"):
        evaluation.confusion_matrix(labels, counts, normalized, mode="share")
    with pytest.raises(ValueError):
        evaluation.confusion_matrix(labels, counts[:2], normalized)


@pytest.mark.parametrize("classes", [2, 4, 8, 21, 30])
def test_confusion_matrix_fits_a_projector_width_with_the_sidebar_open(classes):
    """The matrix is drawn at its natural size (fixed cell steps); cells plus row labels must fit the ~560 px a
    1024-px screen leaves beside the sidebar up to 21 classes, and cells never shrink below a readable 20 px."""
    labels = [f"class {i} with a long descriptive name" for i in range(classes)]
    counts = [[1] * classes for _ in range(classes)]
    normalized = [[1 / classes] * classes for _ in range(classes)]
    specification = spec(evaluation.confusion_matrix(labels, counts, normalized))
    cell = specification["width"]["step"]
    assert specification["height"]["step"] == cell >= 20
    label_limit = specification["layer"][0]["encoding"]["y"]["axis"]["labelLimit"]
    if classes <= 21:
        assert cell * classes + label_limit <= 560
    legend = specification["layer"][0]["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom"  # a legend on the right would add ~100 px of width


def colour_scale(specification: dict) -> dict:
    return specification["layer"][0]["encoding"]["color"]["scale"]


def test_token_heatmap_layout_truncation_and_scales():
    tokens = [f"w{i}" for i in range(399)] + ["supercalifragilistic"]
    specification = spec(explanations.token_heatmap(tokens, list(np.linspace(0, 1, 400)), tokens_per_row=12))
    rows = dataset_rows(specification)
    assert len(rows) == 400 and rows[-1]["row"] == 33 and rows[-1]["col"] == 3
    assert rows[-1]["token"] == "supercalifragilistic" and rows[-1]["shown"] == "supercalifragi…"
    assert rows[1]["weight_text"] == "0.003"
    assert colour_scale(specification)["scheme"] == common.SEQUENTIAL_SCHEME

    signed = colour_scale(spec(explanations.token_heatmap(["a", "b"], [-0.5, 0.2])))
    assert signed["scheme"] == common.DIVERGING_SCHEME and signed["domainMid"] == 0
    assert signed["domain"] == [-0.5, 0.5]
    assert colour_scale(spec(explanations.token_heatmap(["a"], [0.2], diverging=True)))["scheme"] == (
        common.DIVERGING_SCHEME
    )
    with pytest.raises(ValueError):
        explanations.token_heatmap(["a", "b"], [0.1])


def test_probability_bars_highlight_the_top_class():
    rows = dataset_rows(spec(evaluation.probability_bars({"a": 0.1, "b": 0.7, "c": 0.2})))
    assert [r["class"] for r in rows if r["rank"] == "top class"] == ["b"]


def test_the_figures_stay_free_of_streamlit():
    for path in Path(common.__file__).parent.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "import streamlit" not in source and "from streamlit" not in source, path.name
