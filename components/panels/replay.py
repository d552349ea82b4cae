"""Evaluate's replay: an epoch slider that shows the confusion matrix, per-class F1 and a few examples' token weights
as they were at that epoch, from what training stored in ``replay.json`` (core.training.experiment's replay record).

Everything here is the VALIDATION split at that epoch: the test split stays sealed until training ends and is scored
once, so the headline above the replay never moves with the slider.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.figures import evaluation
from components.frame.safe import plain
from components.panels.explain import render_token_shading

# replay method → the shading kind (components.figures.shading)
KINDS = {"attention": "attention", "occlusion": "signed"}
METHOD_WORDS = {
    "attention": "attention weights (how much each token was weighed; not proof of what mattered)",
    "occlusion": "leave-one-token-out importance (how much the predicted class's probability drops without each token)",
}


def epochs_available(replay: dict) -> list[int]:
    """The 1-based epochs whose validation predictions were stored (an epoch cut short by Stop has none)."""
    return [epoch for epoch, predicted in enumerate(replay.get("predictions_by_epoch") or [], start=1)
            if predicted is not None]


def epoch_metrics(replay: dict, epoch: int, class_names: list[str]):
    """The validation split's metrics (core.runs.results.ClassificationMetrics) from the predictions stored at
    ``epoch``."""
    import numpy as np

    from core.model.evaluation import classification_metrics

    predicted = replay["predictions_by_epoch"][epoch - 1]
    if predicted is None:
        raise ValueError(f"epoch {epoch} has no stored validation predictions")
    labels = np.asarray(replay["labels"], dtype=np.int64)
    one_hot = (np.eye(len(class_names))[np.asarray(predicted, dtype=np.int64)] if len(predicted)
               else np.zeros((0, len(class_names))))
    return classification_metrics(labels, one_hot, class_names)


def example_rows(replay: dict, epoch: int, class_names: list[str]) -> list[dict]:
    """The stored examples at ``epoch``: tokens, weights, true and predicted class (empty when none were kept)."""
    examples = replay.get("examples") or {}
    by_epoch = examples.get("by_epoch") or []
    if epoch - 1 >= len(by_epoch) or not by_epoch[epoch - 1]:
        return []
    stored = by_epoch[epoch - 1]
    labels = replay.get("labels") or []
    rows = []
    for index, (position, tokens) in enumerate(zip(examples.get("positions") or [], examples.get("tokens") or [])):
        weights = stored["weights"][index] if index < len(stored.get("weights", [])) else []
        if len(weights) != len(tokens):
            continue
        predicted = stored["predicted"][index] if index < len(stored.get("predicted", [])) else None
        rows.append({"tokens": tokens, "weights": weights,
                     "true": class_names[labels[position]] if position < len(labels) else "?",
                     "predicted": class_names[predicted] if predicted is not None else "?"})
    return rows


def replay_section(run, *, key: str = "replay") -> None:
    replay = run.replay
    epochs = epochs_available(replay or {})
    if not epochs:
        st.info("This run has no stored replay (it was saved by an older version, or stopped before its first "
                "epoch ended).")
        return
    if len(epochs) > 1:
        epoch = st.select_slider("Epoch", options=epochs, value=epochs[-1], key=f"{key}_epoch",
                                 help="Move it to see how the model's validation predictions changed while it learned.")
    else:
        epoch = epochs[0]
    total = len(replay.get("labels") or [])
    st.caption(plain(f"Validation split at epoch {epoch} of {len(replay['predictions_by_epoch'])} ({total} texts). "
                     "The headline scores above are the sealed test split's, scored once after training; they do not "
                     "move with this slider."))
    metrics = epoch_metrics(replay, epoch, run.class_names)
    matrix = metrics.confusion
    with st.container(key=f"{key}_cm"):
        st.altair_chart(evaluation.confusion_matrix(matrix.labels, matrix.counts, matrix.normalized, selectable=False),
                        width="content")
    st.caption(plain(f"Validation macro-F1 {metrics.macro_f1:.3f}, accuracy {metrics.accuracy:.3f} at epoch {epoch}."))
    st.dataframe(per_class_table(metrics), hide_index=True, width="stretch",
                 column_config={"class": st.column_config.TextColumn(pinned=True)})
    examples = example_rows(replay, epoch, run.class_names)
    method = (replay.get("examples") or {}).get("method")
    if examples and method in KINDS:
        st.markdown(f"**Example texts at epoch {epoch}** — {plain(METHOD_WORDS[method])}")
        for index, example in enumerate(examples):
            verdict = "right" if example["true"] == example["predicted"] else "wrong"
            render_token_shading(example["tokens"], example["weights"], kind=KINDS[method],
                                 key=f"{key}_example_{index}",
                                 caption=f"True {example['true']}, predicted {example['predicted']} "
                                         f"at epoch {epoch} ({verdict})")


def per_class_table(metrics) -> pd.DataFrame:
    """Class first (what a row is about), then F1 (what decides), then precision, recall and support."""
    return pd.DataFrame([{"class": row.name, "F1": round(row.f1, 3), "precision": round(row.precision, 3),
                          "recall": round(row.recall, 3), "support": row.support} for row in metrics.per_class],
                        columns=["class", "F1", "precision", "recall", "support"])

