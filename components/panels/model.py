"""The Model page's pieces: every architecture and training lever, the live size, and a pre-flight estimate.

Sizes and estimates are computed analytically (core.model.estimate) so this page never waits for TensorFlow.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from components.frame import cached, state
from components.frame.config_widgets import choice_with_settings, config_input, recommended_button
from components.frame.safe import plain
from core.config import ExperimentConfig, apply_overrides, setting_in_words
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


def bag_of_words_inputs() -> None:
    """The two bag-of-words levers: a trained n-gram path beside the LSTM, and a blend whose weight is chosen on
    validation. Each record's what/when/risk texts are shown under its choice."""
    with st.container(border=True):
        st.markdown("**Bag-of-words help**")
        path = choice_with_settings("model", "ngram_path", columns=2)
        st.caption(plain(f"{path.texts.what} When: {path.texts.when} Risk: {path.texts.risk}"))
        blend = choice_with_settings("model", "blend")
        st.caption(plain(f"{blend.texts.what} When: {blend.texts.when} Risk: {blend.texts.risk}"))


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


def size_and_estimate(data: Dataset, key: str) -> None:
    from core.model.estimate import estimate_epoch, format_seconds, model_summary, saved_parameter_count

    config = state.config()
    vocabulary = cached.vocabulary_for(key, data, config)
    train_counts = cached.split_for(key, data, config).class_counts("train", data.y, len(data.class_names))
    shape = dict(vocab_size=vocabulary.vocabulary_size, num_classes=len(data.class_names), max_length=vocabulary.max_length)
    estimate = estimate_epoch(config, train_counts=train_counts, **shape)
    cols = st.columns(4)
    cols[0].metric("Parameters", _count(saved_parameter_count(config, **shape)),
                   help="Of the saved model: with a k-fold ensemble, all k members together.")
    prefix = {"at most": "≤ ", "about": "≈ "}.get(estimate.rows_kind, "")
    cols[1].metric("Rows per epoch", f"{prefix}{estimate.rows_trained:,}",
                   help="Training rows after the chosen resampling (the resampler's own preview).")
    cols[2].metric("Epoch time", format_seconds(estimate.seconds_per_epoch),
                   help=f"An estimate: about {estimate.samples_per_second:,.0f} samples/s on a 2-core CPU like this server's.")
    cols[3].metric("Memory (estimate)", f"{estimate.memory_mb:,.0f} MB")
    folds = max(1, config.split.k_folds)
    total = estimate.seconds_per_epoch * config.training.epochs * folds
    st.caption(plain(f"Up to {config.training.epochs} epochs" + (f" × {folds} folds" if folds > 1 else "") +
                     f": at most {format_seconds(total)} of training; early stopping usually ends sooner."))
    for note in estimate.notes:
        st.caption(plain(note))
    with st.expander("Model summary"):
        rows = [{"layer": r.name, "kind": r.kind, "output shape": r.output_shape, "parameters": r.parameters}
                for r in model_summary(config.model, **shape)]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        breakdown = pd.DataFrame({"part": list(estimate.memory_breakdown), "MB": list(estimate.memory_breakdown.values())})
        st.dataframe(breakdown.round(1), hide_index=True)


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
        value = float(value) if isinstance(value, str) and "." in value else int(value) if isinstance(value, str) else value
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
                                         "validation split, and blends the LSTM with a bag-of-words model whose "
                                         "weight the run chooses on held-out rows; says what it changed and why.")
    note = st.session_state.get(RECOMMENDATION_NOTE)
    if note:
        changes, reasons = note
        st.info(plain("Changed: " + ("; ".join(_in_words(change) for change in changes) if changes
                                     else "nothing (already as recommended)") + "."))
        st.markdown("\n".join(f"- {plain(reason)}" for reason in reasons))
