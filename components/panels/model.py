"""The Model page's pieces: every architecture and training lever, the live size, and a pre-flight estimate.

Sizes and estimates are computed analytically (core.model.estimate) so this page never waits for TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os

import pandas as pd
import streamlit as st

from components.frame import cached, state
from components.frame.common import metric_columns
from components.frame.config_widgets import choice_with_settings, config_input, recommended_button, settings_grid
from components.frame.safe import plain
from core.choices.vectors import VECTOR_SETS
from core.config import ExperimentConfig, apply_overrides, field_info, setting_in_words
from core.data.dataset import Dataset
from core.errors import ConfigError, UserError

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
    with settings_grid():
        config_input("model", "embedding_dim")
        config_input("model", "lstm_units")
        config_input("model", "lstm_layers")
        config_input("model", "bidirectional")
        config_input("model", "subword_buckets")
        config_input("model", "dropout")
        config_input("model", "embedding_dropout")
        with st.container():  # the slider and its warning: one cell
            recurrent = config_input("model", "recurrent_dropout")
            if recurrent > 0:
                st.warning("Recurrent dropout disables the fused cuDNN kernel and the unmasked fast path: expect "
                           "training several times slower.")
        config_input("model", "l2")
    attention = choice_with_settings("model", "attention", columns="auto")  # long titles: the choice spans the page
    st.caption(plain(attention.texts.what))


def bag_of_words_inputs() -> None:
    """The two bag-of-words levers: a trained n-gram path beside the LSTM, and a blend whose weight is chosen on
    validation. Each record's what/when/risk texts are shown under its choice."""
    with st.container(border=True):
        st.markdown("**Bag-of-words help**")
        path = choice_with_settings("model", "ngram_path", columns="auto")
        st.caption(plain(f"{path.texts.what} When: {path.texts.when} Risk: {path.texts.risk}"))
        blend = choice_with_settings("model", "blend")
        st.caption(plain(f"{blend.texts.what} When: {blend.texts.when} Risk: {blend.texts.risk}"))


NO_VECTORS = "none"
OWN_FILE = "file"


def _vector_choices() -> dict[str, str]:
    """The word-vectors sources in order, with their titles: none, each built-in set, the user's own file."""
    return {NO_VECTORS: "None (learn every vector from scratch)", **{r.key: r.title for r in VECTOR_SETS},
            OWN_FILE: "My own file (GloVe, word2vec or fastText text)"}


def _vector_source(current: str | None) -> str:
    if current in VECTOR_SETS:
        return current
    if current:
        return OWN_FILE
    return OWN_FILE if state.vector_source() == OWN_FILE else NO_VECTORS


def _choose_vectors(key: str) -> None:
    """The source widget changed: a built-in set's key goes into model.word_vectors; none or a file (whose path the
    next widget asks for) clears it."""
    choice = st.session_state[key]
    state.set_vector_source(choice)
    errors = state.field_errors()
    try:
        state.update_field("model", "word_vectors", None if choice in (NO_VECTORS, OWN_FILE) else choice)
        errors.pop("model.word_vectors", None)
    except ConfigError as exc:
        errors["model.word_vectors"] = str(exc)
        st.session_state[key] = _vector_source(state.config().model.word_vectors)


def word_vector_inputs(data: Dataset, key: str) -> None:
    """Start the embedding from pretrained vectors: the built-in offline GloVe set or the user's own file (a path on
    this server). Nothing is downloaded."""
    config = state.config()
    with st.expander("Start from pretrained word vectors", expanded=bool(config.model.word_vectors)):
        choices = _vector_choices()
        widget = f"model_vector_source_{state.widget_version()}"
        if widget not in st.session_state:
            st.session_state[widget] = _vector_source(config.model.word_vectors)
        choice = st.selectbox("Word vectors", list(choices), format_func=choices.get, key=widget,
                              on_change=_choose_vectors, args=(widget,),
                              help=field_info("model", "word_vectors")["help"])
        if choice in VECTOR_SETS:
            st.caption(plain(VECTOR_SETS.get(choice).texts.what))
        elif choice == OWN_FILE:
            st.caption("A path to a text file on this server; tokens it lacks start from random vectors.")
            config_input("model", "word_vectors", label="Word-vectors file")
        error = state.field_errors().get("model.word_vectors")
        if error and choice != OWN_FILE:
            st.error(plain(error))
        if not state.config().model.word_vectors:
            return
        _vector_settings()
        _coverage(data, key)


def _vector_settings() -> None:
    left, right = st.columns(2)
    with left:
        config_input("model", "freeze_word_vectors")
        config_input("model", "project_word_vectors")
    with right:
        if config_input("model", "extend_vocabulary"):
            config_input("model", "pretrained_words")


def _coverage(data: Dataset, key: str) -> None:
    config = state.config()
    coverage, problem = cached.word_vector_coverage(key, data, config)
    if problem:
        st.error(plain(problem))
    elif coverage is not None:
        words = (f"{coverage.source}: {coverage.found:,} of the training vocabulary's {coverage.vocabulary_tokens:,} "
                 f"tokens have a vector ({coverage.coverage:.0%}), {coverage.dim} dimensions"
                 + (", matched lowercased" if coverage.lowercased else "") + ".")
        if coverage.extended:
            words += f" {coverage.extended:,} more pretrained words join the vocabulary, their vectors kept fixed."
        if coverage.dim != config.model.embedding_dim:
            words += f" A learned projection maps them to the embedding's {config.model.embedding_dim} dimensions."
        st.caption(plain(words))


def training_inputs() -> None:
    with settings_grid():
        choice_with_settings("training", "optimizer", inline=True)
        config_input("training", "learning_rate")
        choice_with_settings("training", "lr_schedule", inline=True)
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
    from core.model.run_estimate import run_shape

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
    from core.model.estimate import format_seconds, model_summary
    from core.model.run_estimate import busy_note, estimate_run

    config = state.config()
    extension_size, vector_dim = 0, None  # pretrained words appended to the vocabulary, the vectors' own size
    if config.model.word_vectors:
        coverage, _ = cached.word_vector_coverage(key, data, config)
        if coverage is not None:
            extension_size, vector_dim = coverage.extended, coverage.dim
    words = dict(extension_size=extension_size, vector_dim=vector_dim)
    estimate = estimate_run(config, run_shape_for(key, data, config), **words)
    cols = metric_columns(4, min_width=150)
    members = (f"{estimate.members} members × {estimate.parameters_per_member:,}" if estimate.members > 1
               else "one model")
    cols[0].metric("Parameters", ("≤ " if estimate.parameters_kind == "at most" else "") + _count(estimate.parameters),
                   help=f"Of the saved model: {members}"
                        + ("; fixed pretrained vectors included." if extension_size else "."))
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
                for r in model_summary(config.model, vocab_size=estimate.vocabulary_size,
                                       num_classes=len(data.class_names), max_length=estimate.max_length, **words)]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        breakdown = pd.DataFrame({"part": list(estimate.epoch.memory_breakdown),
                                  "MB": list(estimate.epoch.memory_breakdown.values())})
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


def _in_words(override: str) -> str:
    """'split.k_folds=5' -> 'K-fold cross-validation (folds): 5' (people read the widgets' words, not keys)."""
    key, _, raw = override.partition("=")
    value = {"true": True, "false": False}.get(raw, raw)
    try:
        value = (float(value) if isinstance(value, str) and "." in value
                 else int(value) if isinstance(value, str) else value)
    except ValueError:
        pass
    return setting_in_words(key, value)


def recommended(data: Dataset, key: str) -> None:
    """Two buttons: the fixed starting point, and settings adapted to this data with the reasons shown."""
    left, right = st.columns([1, 2])
    with left:
        recommended_button(("model", "training"), key="model_recommended")
    with right:
        st.button("Recommended for this data", key="model_recommended_for_data", on_click=_apply_data_recommendation,
                  args=(data, key), help="Adapts the ensemble size to the data's rows and lengths within about five "
                                         "CPU-minutes, picks none / square-root / balanced class weights on the "
                                         "validation split, starts the embedding with the offline GloVe vectors "
                                         "when they know most of the words, and blends the LSTM with a "
                                         "bag-of-words model whose weight the run chooses on held-out rows; says "
                                         "what it changed and why.")
    note = st.session_state.get(RECOMMENDATION_NOTE)
    if note:
        changes, reasons = note
        st.info(plain("Changed: " + ("; ".join(_in_words(change) for change in changes) if changes
                                     else "nothing (already as recommended)") + "."))
        st.markdown("\n".join(f"- {plain(reason)}" for reason in reasons))
