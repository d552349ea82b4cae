"""What sits between the LSTM and the softmax, one registry record per kind.

A record builds its Keras layers (Keras imported only then), and also describes them for the Model page's
pre-flight figures without Keras: the layers' summary rows, the multiply-adds of one sample's forward pass and the
activations a training step keeps. ``core.model.classifier`` and ``core.model.estimate`` both read the records, so
the parameter count stays exact (tests/test_estimate.py compares it with Keras) when a kind is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from core.registry import Registry, Texts

if TYPE_CHECKING:
    from core.config import ModelConfig

ATTENTION_LAYER = "attention"  # the pooling layer's name; its second output holds the per-token weights

SummaryRow = tuple[str, str, str, int]  # (Keras layer name, class name, output shape, parameters)
Applier = Callable[[Any], tuple[Any, Optional[Any]]]  # sequence tensor -> (pooled tensor, attention weights or None)


@dataclass(frozen=True)
class AttentionKind:
    """``pools``: the kind pools a whole sequence (so the LSTM returns every step); ``weights``: it yields
    per-token weights for heatmaps. ``check`` returns one sentence when the model settings cannot work with it."""

    key: str
    title: str
    texts: Texts
    build: Callable[["ModelConfig", int, int], Applier]  # (config, LSTM output width, seed) -> applier
    summary: Callable[["ModelConfig", int, int], list[SummaryRow]]  # (config, steps, width)
    multiply_adds: Callable[["ModelConfig", int, int], float]
    activation_floats: Callable[["ModelConfig", int, int], float]
    settings: tuple[str, ...] = ()  # model.* fields this kind reads
    pools: bool = False
    weights: bool = False
    check: Callable[["ModelConfig"], Optional[str]] = lambda config: None


ATTENTION_KINDS: Registry[AttentionKind] = Registry("model.attention", "attention kind")


def _shape(*dims: int | str) -> str:
    return "(" + ", ".join(["None", *(str(d) for d in dims)]) + ")"


def key_dim(config: "ModelConfig", width: int) -> int:
    return max(1, width // config.attention_heads)


# --------------------------------------------------------------------------------------------- none


def _last_state(config, width, seed) -> Applier:
    return lambda x: (x, None)


ATTENTION_KINDS.register(AttentionKind(
    key="none", title="None (last LSTM state)", build=_last_state,
    summary=lambda config, steps, width: [], multiply_adds=lambda config, steps, width: 0.0,
    activation_floats=lambda config, steps, width: 0.0,
    texts=Texts(
        what=(
            "The LSTM's state after the last real token (both directions' ends when bidirectional) represents the text."
        ),
        when="Short texts, or the fastest model.",
        risk="Long texts: early words fade from the final state; no heatmap of attention weights.",
    ),
))


# --------------------------------------------------------------------------------------------- additive pooling


def _additive_pooling(config, width, seed) -> Applier:
    from core.layers import AttentionPooling

    pooling = AttentionPooling(config.attention_units, name=ATTENTION_LAYER)
    return lambda x: pooling(x)


def _additive_rows(config, steps, width) -> list[SummaryRow]:
    units = config.attention_units
    return [(ATTENTION_LAYER, "AttentionPooling", f"[{_shape(width)}, {_shape(steps)}]", width * units + 2 * units)]


def _additive_multiply_adds(config, steps, width) -> float:
    return steps * width * config.attention_units + 2 * steps * config.attention_units + 3 * steps * width


def _additive_activations(config, steps, width) -> float:
    return 2 * steps * config.attention_units + 3 * steps


ATTENTION_KINDS.register(AttentionKind(
    key="additive", title="Additive attention pooling", build=_additive_pooling, summary=_additive_rows,
    multiply_adds=_additive_multiply_adds, activation_floats=_additive_activations,
    settings=("attention_units",), pools=True, weights=True,
    texts=Texts(
        what="Scores every LSTM step with a small network and averages the steps by those scores (Bahdanau-style).",
        when="The recommended default: uses every step, and its weights can be drawn over the tokens.",
        risk=(
            "Its weights are not a faithful explanation: over recurrent states they often follow position "
            "(see Evaluate's faithfulness table)."
        ),
    ),
))


# --------------------------------------------------------------------------------------------- multi-head


def _self_attention_then_pooling(config, width, seed) -> Applier:
    from keras import layers

    self_attention = layers.MultiHeadAttention(num_heads=config.attention_heads, key_dim=key_dim(config, width),
                                               seed=seed, name="self_attention")
    add = layers.Add(name="self_attention_residual")
    norm = layers.LayerNormalization(name="self_attention_norm")
    pool = _additive_pooling(config, width, seed)
    return lambda x: pool(norm(add([x, self_attention(x, x)])))


def _multihead_rows(config, steps, width) -> list[SummaryRow]:
    heads, size = config.attention_heads, key_dim(config, width)
    projections = 3 * (width * heads * size + heads * size)  # query, key, value (value_dim = key_dim)
    output = heads * size * width + width
    return [
        ("self_attention", "MultiHeadAttention", _shape(steps, width), projections + output),
        ("self_attention_residual", "Add", _shape(steps, width), 0),
        ("self_attention_norm", "LayerNormalization", _shape(steps, width), 2 * width),
        *_additive_rows(config, steps, width),
    ]


def _multihead_multiply_adds(config, steps, width) -> float:
    heads, size = config.attention_heads, key_dim(config, width)
    total = 4 * steps * width * heads * size  # query/key/value/output projections
    total += 2 * steps * steps * heads * size + 5 * steps * steps * heads  # scores, softmax, weighted sum
    total += 8 * steps * width  # residual and layer normalisation
    return total + _additive_multiply_adds(config, steps, width)


def _multihead_activations(config, steps, width) -> float:
    heads, size = config.attention_heads, key_dim(config, width)
    return (3 * steps * heads * size + 2 * steps * steps * heads + 6 * steps * width
            + _additive_activations(config, steps, width))


def _heads_fit(config) -> Optional[str]:
    if config.lstm_units * (2 if config.bidirectional else 1) < config.attention_heads:
        return "model.attention_heads exceeds the LSTM output size; use fewer heads or more lstm_units."
    return None


ATTENTION_KINDS.register(AttentionKind(
    key="multihead", title="Multi-head self-attention + pooling", build=_self_attention_then_pooling,
    summary=_multihead_rows, multiply_adds=_multihead_multiply_adds, activation_floats=_multihead_activations,
    settings=("attention_units", "attention_heads"), pools=True, weights=True, check=_heads_fit,
    texts=Texts(
        what=(
            "Lets every step attend to every other (several heads, a residual connection and layer normalisation), "
            "then pools additively."
        ),
        when="Long texts where distant words interact; more data than usual.",
        risk="More parameters and time (quadratic in length); on small data it usually overfits.",
    ),
))
