"""Evaluate's account of a blended run: the blend's label and weight, and each part's own test score beside it, so
nobody reads a blend's score as the LSTM's."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.frame.safe import plain
from core.runs.results import RunMetrics

SCORES = {"macro_f1": "Macro-F1", "accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy"}


def parts_table(metrics: RunMetrics) -> pd.DataFrame:
    """One row per model scored on the same sealed test rows: the blend, the LSTM alone, the bag of words alone and
    the fair baseline (short names, so every score stays in view at 1024 px; :func:`parts_note` says what each is)."""
    blend = metrics.blend
    rows = [(blend.label + " — this run", metrics.test), ("LSTM alone", blend.lstm_alone),
            ("Bag of words alone", blend.bag_of_words_alone)]
    table = [{"model": name, **{title: round(getattr(scores, key), 3) for key, title in SCORES.items()}}
             for name, scores in rows]
    if metrics.baseline.available:
        table.append({"model": "Fair baseline",
                      **{title: round(getattr(metrics.baseline, key), 3) for key, title in SCORES.items()}})
    return pd.DataFrame(table)


def parts_note(metrics: RunMetrics) -> str:
    """What the bag of words alone and the fair baseline are, in one or two sentences."""
    blend = metrics.blend
    if blend.words is None:  # a run blended before the part became the fair baseline's model
        note = "Bag of words alone: TF-IDF + LR over the LSTM's vocabulary and hashed word pairs."
    else:
        read = f"; texts read up to {blend.tokens_read:,} tokens" if blend.tokens_read else ""
        note = (f"Bag of words alone: the fair baseline's model, refitted inside the blend ({blend.words:,} words, "
                f"{blend.word_pairs:,} word pairs{read}).")
    if metrics.baseline.available:
        note += f" Fair baseline: {metrics.baseline.description}, fitted on {metrics.baseline.fitted_on}, whole texts."
    return note


def weight_sentence(metrics: RunMetrics) -> str:
    blend = metrics.blend
    scores = ", ".join(f"{weight} → {score:.3f}" for weight, score in blend.candidates.items())
    where = f"Chosen on {blend.chosen_on}, never on the test split"
    return (f"{blend.label}: the LSTM's probabilities count {blend.weight:.0%} and the bag-of-words model's "
            f"{1 - blend.weight:.0%}. {where}" + (f" (macro-F1 there by LSTM weight: {scores})." if scores else ".")
            + f" The bag-of-words model was then refitted on {blend.fitted_on}.")


def blend_parts(metrics: RunMetrics) -> None:
    """Nothing for a run without a blend."""
    if metrics.blend is None:
        return
    st.info(plain(weight_sentence(metrics)))
    st.dataframe(parts_table(metrics), hide_index=True, width="stretch",
                 column_config={"model": st.column_config.TextColumn(pinned=True)})
    st.caption(plain(parts_note(metrics)))
