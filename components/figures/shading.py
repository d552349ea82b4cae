"""Token explanations drawn over the text itself, as HTML: tokens shaded by their scores, and a legend.

The shading is HTML built here: every token goes through ``html.escape(token, quote=True)`` and becomes element
*text*; attributes carry only numbers this module computes and clamps (rgb channels 0-255, a score formatted with
``%.3f``). A page shows it with ``st.html`` (components.panels.explain), which Streamlit 1.67 sanitises with
DOMPurify and whose JavaScript it ignores by default — a second guard, not the first. Tokens wrap like a sentence on
narrow screens.

Colour scales (one per kind of score, see ``core.evidence.explain``):
- signed (occlusion, gradients): red pushes toward the class, blue against it, white is 0; symmetric around 0,
  full colour at the largest |score| of the text.
- attention: grey at exactly the uniform weight 1/n (every token weighed equally), purple above it (darkest at the
  text's largest weight), white below it — so "more than its share" reads differently from "less".
"""

from __future__ import annotations

import html
from typing import Sequence

from components.figures.common import number
from core.evidence.explain import ATTENTION_KIND, SIGNED

KINDS = (SIGNED, ATTENTION_KIND)
RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
TOWARD: RGB = (202, 0, 32)  # red: pushes toward the explained class
AGAINST: RGB = (5, 113, 176)  # blue: pushes against it
UNIFORM: RGB = (217, 217, 217)  # neutral grey: exactly the uniform attention weight 1/n
ABOVE: RGB = (84, 39, 143)  # purple: more than the uniform weight
_DARK_TEXT: RGB = (26, 26, 26)
_JUMP_ABOVE = 0.25  # any visible departure from 1/n starts part of the way to its end colour
_JUMP_BELOW = 0.5  # (further for "below": light grey next to the marker's grey is hard to tell apart)
_UNIFORM_TOLERANCE = 1e-3  # relative: float32 weights of a truly uniform text are not exactly 1/n


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, value))


def _mix(start: RGB, end: RGB, amount: float) -> RGB:
    amount = _clamp(amount)
    return tuple(int(round(_clamp(a + (b - a) * amount, 0.0, 255.0))) for a, b in zip(start, end))  # type: ignore[return-value]


def _text_colour(background: RGB) -> RGB:
    """Dark text on light backgrounds, white on dark ones (relative luminance)."""
    red, green, blue = (channel / 255.0 for channel in background)
    return WHITE if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5 else _DARK_TEXT


def token_colours(scores: Sequence[float], kind: str) -> list[RGB]:
    """The background colour of each token (non-finite scores are drawn as 0)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    numbers = [number(score) or 0.0 for score in scores]
    if not numbers:
        return []
    if kind == SIGNED:
        extent = max(abs(n) for n in numbers) or 1.0
        return [_mix(WHITE, TOWARD if n > 0 else AGAINST, abs(n) / extent) for n in numbers]
    uniform = 1.0 / len(numbers)
    highest = max(numbers)
    colours = []
    for weight in numbers:
        if abs(weight - uniform) <= _UNIFORM_TOLERANCE * uniform:
            colours.append(UNIFORM)
        elif weight > uniform:
            share = (weight - uniform) / (highest - uniform)
            colours.append(_mix(UNIFORM, ABOVE, _JUMP_ABOVE + (1 - _JUMP_ABOVE) * share))
        else:
            colours.append(_mix(UNIFORM, WHITE, _JUMP_BELOW + (1 - _JUMP_BELOW) * (uniform - weight) / uniform))
    return colours


def _rgb(colour: RGB) -> str:
    return "rgb({},{},{})".format(*(int(_clamp(c, 0, 255)) for c in colour))


def _swatch(colour: RGB, label: str) -> str:
    """A legend entry: a coloured square followed by this module's own words."""
    return (f'<span style="display:inline-block;width:0.9em;height:0.9em;margin:0 0.3em 0 0.6em;'
            f'vertical-align:-0.1em;border:1px solid rgb(160,160,160);background-color:{_rgb(colour)}"></span>'
            f"{html.escape(label, quote=True)}")


def _legend(scores: Sequence[float], kind: str) -> str:
    numbers = [n for n in (number(score) for score in scores) if n is not None]
    if kind == SIGNED:
        extent = max((abs(n) for n in numbers), default=0.0)
        entries = [_swatch(TOWARD, "pushes toward the class"), _swatch(WHITE, "no effect (0)"),
                   _swatch(AGAINST, "pushes against it")]
        note = f"Full colour = ±{extent:.3g}, the largest |score| in this text."
    else:
        count = len(scores)
        entries = [_swatch(ABOVE, "more than the uniform weight"),
                   _swatch(UNIFORM, f"uniform weight 1/{count} = {1.0 / max(count, 1):.3f}"),
                   _swatch(WHITE, "less than uniform")]
        note = f"Darkest = {max(numbers, default=0.0):.3f}, the largest weight in this text."
    return (f'<div class="token-shading-legend" style="font-size:0.8em;margin-top:0.4em;line-height:1.8">'
            f'{"".join(entries)}<span style="margin-left:0.6em">{html.escape(note, quote=True)}</span></div>')


def token_shading_html(tokens: Sequence[str], scores: Sequence[float], kind: str) -> str:
    """The text as inline, wrapping, shaded tokens plus a legend; tokens are escaped text, styles are numbers only."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    tokens = [str(token) for token in tokens]
    if len(tokens) != len(scores):
        raise ValueError(f"{len(tokens)} tokens but {len(scores)} scores")
    spans = []
    for token, score, colour in zip(tokens, scores, token_colours(scores, kind)):
        finite = number(score)
        value = "n/a" if finite is None else f"{finite:.3f}"
        spans.append(
            f'<span title="{value}" style="background-color:{_rgb(colour)};color:{_rgb(_text_colour(colour))};'
            f'padding:0.1em 0.25em;border-radius:0.25em;unicode-bidi:isolate;display:inline-block;max-width:100%;'
            f'overflow-wrap:anywhere">'
            f"{html.escape(token, quote=True)}</span>"
        )
    body = " ".join(spans) if spans else "<em>(no tokens)</em>"
    return (f'<div class="token-shading" style="line-height:2.1;white-space:normal">{body}</div>'
            f"{_legend(scores, kind)}")
