"""The Model page's pieces: every architecture and training lever, the live size, and a pre-flight estimate.

Sizes and estimates are computed analytically (core.model.estimate) so this page never waits for TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os

import pandas as pd
import streamlit as st

from components.frame import cached, state
from components.frame.config_widgets import choice_with_settings, config_input, recommended_button
from components.frame.safe import plain
from core.config import ExperimentConfig, apply_overrides
from core.data.dataset import Dataset
from core.errors import UserError

PRACTICE = """
- **Softmax + cross-entropy** is the output for multi-class problems (one probability per class, summing to 1).
- **Dropout 0.2–0.5** after the embedding and each LSTM layer is the main defence against overfitting small data.
- **Adam with a decaying learning rate** (cosine or exponential) converges reliably; lower the rate if the loss jumps.
- **L2 on the dense output layer** (1e-4 to 1e-3) keeps the final weights small without slowing the LSTM.
- **Bidirectional** reading usually helps classification; a **second layer** rarely pays off under ~10k rows.
- **Attention pooling** lets the model weigh the words that matter, and gives you the heatmaps on the Evaluate page.
- **Early stopping** on validation loss, restoring the best weights, makes the epoch count a ceiling, not a guess.
"""


def architecture_inputs() -> None:
    left, right = st.columns(2)
    with left:
        config_input("model", "embedding_dim")
        config_input("model", "lstm_units")
        config_input("model", "lstm_layers")
        config_input("model", "bidirectional")
        config_input("model", "subword_buckets")
    with right:
        config_input("model", "dropout")
        recurrent = config_input("model", "recurrent_dropout")
        if recurrent > 0:
            st.warning("Recurrent dropout disables the fused cuDNN kernel and the unmasked fast path: expect training several times slower.")
        config_input("model", "l2")
    attention = choice_with_settings("model", "attention", columns=2)
    st.caption(plain(attention.texts.what))


def word_vector_inputs(data: Dataset, key: str) -> None:
    """Start the embedding from the user's own vectors file (a path on this server; nothing is downloaded)."""
    config = state.config()
    with st.expander("Start from word vectors (GloVe, word2vec or fastText text file)", expanded=bool(config.model.word_vectors)):
        st.caption("A path to a text file on this server. Its vectors' dimension must equal the embedding size; "
                   "tokens it lacks keep random vectors. Leave empty to learn every vector from scratch.")
        path = config_input("model", "word_vectors")
        if not path:
            return
        config_input("model", "freeze_word_vectors")
        coverage, problem = cached.word_vector_coverage(key, data, state.config())
        if problem:
            st.error(plain(problem))
        elif coverage is not None:
            st.caption(plain(f"{coverage.source}: {coverage.found:,} of the training vocabulary's "
                             f"{coverage.vocabulary_tokens:,} tokens have a vector ({coverage.coverage:.0%}), "
                             f"{coverage.dim} dimensions" + (", matched lowercased" if coverage.lowercased else "") + "."))


def training_inputs() -> None:
    left, right = st.columns(2)
    with left:
        choice_with_settings("training", "optimizer")
        config_input("training", "learning_rate")
        choice_with_settings("training", "lr_schedule")
    with right:
        config_input("training", "batch_size")
        config_input("training", "epochs")
        if config_input("training", "early_stopping"):
            config_input("training", "monitor")
            config_input("training", "patience")


def _count(number: int) -> str:
    """'853,252', or '1.71 M' from a million up (a metric tile holds about seven characters at 1024 px)."""
    return f"{number / 1e6:.2f} M" if number >= 1_000_000 else f"{number:,}"


@st.cache_data(max_entries=32, show_spinner=False)
def _run_shape(key: str, shape_json: str, _data: Dataset):
    from core.model.estimate import run_shape

    config = ExperimentConfig.from_json(shape_json)
    processed = cached.processed_for(key, _data, config)[0]
    return run_shape(processed, _data.y, _data.class_names, config, cached.split_for(key, _data, config))


def run_shape_for(key: str, data: Dataset, config: ExperimentConfig):
    """The rows, vocabulary and lengths each model of a run with ``config`` gets (core.model.estimate.run_shape),
    cached on the settings they depend on."""
    relevant = ExperimentConfig(seed=config.seed, preprocessing=config.preprocessing, split=config.split,
                                vectorizing=config.vectorizing)
    return _run_shape(key, relevant.to_json(), data)


def server_load() -> tuple[float, int]:
    """This server's one-minute load average and its processor count (for core.model.estimate.busy_note)."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        load = 0.0
    return load, os.cpu_count() or 1


def size_and_estimate(data: Dataset, key: str) -> None:
    """The run's estimate (core.model.estimate.estimate_run): the same figures and sentence the recommendation and
    the Study page show for these settings."""
    from core.model.estimate import busy_note, estimate_run, format_seconds, model_summary

    config = state.config()
    estimate = estimate_run(config, run_shape_for(key, data, config))
    cols = st.columns(4)
    members = f"{estimate.members} members × {estimate.parameters_per_member:,}" if estimate.members > 1 else "one model"
    cols[0].metric("Parameters", ("≤ " if estimate.parameters_kind == "at most" else "") + _count(estimate.parameters),
                   help=f"Of the saved model: {members}.")
    prefix = {"at most": "≤ ", "about": "≈ "}.get(estimate.rows_kind, "")
    cols[1].metric("Rows per epoch", f"{prefix}{estimate.rows_per_epoch:,}",
                   help=f"Training rows of each model per epoch: {estimate.rows_basis}.")
    cols[2].metric("Epoch time", format_seconds(estimate.epoch_seconds),
                   help="One model's epoch (training and the validation pass) on this server when nothing else runs.")
    cols[3].metric("Memory (estimate)", f"{estimate.memory_mb:,.0f} MB")
    st.caption(plain(f"The whole run: {estimate.time_text()}."))
    busy = busy_note(*server_load())
    if busy:
        st.caption(plain(busy))
    for note in estimate.notes:
        st.caption(plain(note))
    with st.expander("Model summary"):
        rows = [{"layer": r.name, "kind": r.kind, "output shape": r.output_shape, "parameters": r.parameters}
                for r in model_summary(config.model, vocab_size=estimate.vocabulary_size, num_classes=len(data.class_names),
                                       max_length=estimate.max_length)]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        breakdown = pd.DataFrame({"part": list(estimate.epoch.memory_breakdown), "MB": list(estimate.epoch.memory_breakdown.values())})
        st.dataframe(breakdown.round(1), hide_index=True)
        times = pd.DataFrame({"part of the run": list(estimate.parts), "seconds": list(estimate.parts.values())})
        st.dataframe(times.round(1), hide_index=True)


def practice_notes() -> None:
    with st.expander("What usually works"):
        st.markdown(PRACTICE)


RECOMMENDATION_NOTE = "model_recommendation_note"  # what the last "for this data" click changed, and why


@st.cache_data(max_entries=16, show_spinner="Looking at the data: lengths, imbalance, cost…")
def _recommendation(key: str, config_json: str, _data: Dataset):
    from core.training.recommend import recommend

    return recommend(_data, ExperimentConfig.from_json(config_json))


def _apply_data_recommendation(data: Dataset, key: str) -> None:
    """Model and training back to their defaults, then the settings that depend on this data (ensemble size from the
    CPU budget, class weighting picked on validation); the note under the button says what changed and why."""
    current = state.config()
    defaults = ExperimentConfig()
    base = dataclasses.replace(current, model=defaults.model, training=defaults.training)
    try:
        recommendation = _recommendation(key, base.to_json(), data)
    except UserError as exc:
        st.session_state[RECOMMENDATION_NOTE] = ([], [str(exc)])
        return
    state.set_config(apply_overrides(base, list(recommendation.overrides)))
    st.session_state[RECOMMENDATION_NOTE] = (list(recommendation.overrides), list(recommendation.reasons))


def recommended(data: Dataset, key: str) -> None:
    """Two buttons: the fixed starting point, and settings adapted to this data with the reasons shown."""
    left, right = st.columns([1, 2])
    with left:
        recommended_button(("model", "training"), key="model_recommended")
    with right:
        st.button("Recommended for this data", key="model_recommended_for_data", on_click=_apply_data_recommendation,
                  args=(data, key), help="Adapts the ensemble size to the data's rows and lengths within about five "
                                         "CPU-minutes, and picks none / square-root / balanced class weights on the "
                                         "validation split; says what it changed and why.")
    note = st.session_state.get(RECOMMENDATION_NOTE)
    if note:
        changes, reasons = note
        st.info(plain("Changed: " + (", ".join(changes) if changes else "nothing (already as recommended)") + "."))
        st.markdown("\n".join(f"- {plain(reason)}" for reason in reasons))
