"""Guessing which column holds the texts and which the class labels.

:func:`guess_columns` prefers the longest, most varied texts and a column of few repeating short values; names
like "review" or "label" tip the balance, and the reason for the guess is said in one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import pandas as pd

from core.errors import DataError
from core.errors import shown as _shown

# Column names that usually hold the text or the class (compared in lower case, per word of the name).
TEXT_NAMES = frozenset(
    "text texts review reviews message messages content comment comments body description sentence tweet "
    "summary remarks remark narrative document abstract title utterance query question note notes".split()
)
LABEL_NAMES = frozenset(
    "label labels class classes category categories target y sentiment intent type topic effect "
    "tag genre outcome rating stars".split()
)

_GUESS_SAMPLE_ROWS = 5000  # word counts for guessing are estimated from this many rows
_MAX_LABEL_CLASSES = 100  # a column with more distinct values is not guessed as the label
ID_LIKE_MIN_DISTINCT = 20  # below this, "distinct on every row" is too weak a signal to refuse
FREE_TEXT_LABEL_WORDS = 10  # labels whose median value is longer than this many words are free text

LETTER = r"[^\W\d_]"  # any letter in any script


@dataclass(frozen=True)
class ColumnGuess:
    text_column: str
    label_column: str
    reason: str



def as_text(column: pd.Series) -> pd.Series:
    """Cells as strings with missing ones empty (CSV tables already are; hand-made frames may not be)."""
    return column.fillna("").astype(str)



@dataclass(frozen=True)
class _ColumnProfile:
    name: str
    filled: float  # share of rows with a non-blank value
    distinct: int  # distinct non-blank values (stripped)
    filled_rows: int
    mean_words: float
    median_words: float
    mean_chars: float
    letters: float  # share of non-blank values containing a letter
    numeric: float  # share of non-blank values that parse as numbers


def _profile(frame: pd.DataFrame, name: str) -> _ColumnProfile:
    column = as_text(frame[name])
    stripped = column.str.strip()
    values = stripped[stripped.ne("")]
    if values.empty:
        return _ColumnProfile(name, 0.0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    sample = values.sample(n=_GUESS_SAMPLE_ROWS, random_state=0) if len(values) > _GUESS_SAMPLE_ROWS else values
    words = sample.str.count(r"\S+")
    return _ColumnProfile(
        name=name,
        filled=len(values) / max(len(column), 1),
        distinct=int(values.nunique()),
        filled_rows=len(values),
        mean_words=float(words.mean()),
        median_words=float(words.median()),
        mean_chars=float(sample.str.len().mean()),
        letters=float(sample.str.contains(LETTER, regex=True).mean()),
        numeric=float(pd.to_numeric(sample, errors="coerce").notna().mean()),
    )


def _name_words(name: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", name.lower())) - {""}


def _name_score(name: str, vocabulary: frozenset[str]) -> float:
    """2 for a name that is a known word ("label"), 1 for a name containing one ("true_label"), else 0."""
    normalized = re.sub(r"[^a-z0-9]+", "", name.lower())
    if normalized in vocabulary:
        return 2.0
    return 1.0 if _name_words(name) & vocabulary else 0.0


def _text_length(profile: _ColumnProfile) -> float:
    """Length in word units; scripts written without spaces (Chinese, Japanese) count ~5 characters a word."""
    return max(profile.mean_words, profile.mean_chars / 5)


def _text_score(profile: _ColumnProfile) -> float:
    if profile.filled_rows == 0 or profile.letters < 0.5:
        return -1.0  # not a text column at all
    uniqueness = profile.distinct / profile.filled_rows
    named = 1.5 if _name_score(profile.name, TEXT_NAMES) else 1.0
    return _text_length(profile) * (0.5 + 0.5 * uniqueness) * profile.filled * named


def _could_be_label(profile: _ColumnProfile) -> bool:
    """A few distinct values that repeat across rows, and short ones (not free text).

    A single-valued column qualifies too (scored last), so that build_dataset can say "every row has the
    label X" instead of a vaguer "no label column".
    """
    if not 1 <= profile.distinct <= _MAX_LABEL_CLASSES or profile.median_words > FREE_TEXT_LABEL_WORDS:
        return False
    repeats_a_lot = profile.distinct <= 0.5 * profile.filled_rows
    small_but_repeating = profile.distinct <= ID_LIKE_MIN_DISTINCT and profile.distinct < profile.filled_rows
    return repeats_a_lot or small_but_repeating


def _label_score(profile: _ColumnProfile) -> float:
    if profile.distinct < 2:
        return -10.0  # a constant column is a label of last resort
    score = 2.0 * _name_score(profile.name, LABEL_NAMES) + profile.filled
    score += 0.5 * profile.letters  # class names are usually words ...
    if profile.numeric > 0.9 and profile.distinct > 10:
        score -= 1.0  # ... and a column of many different numbers is a measurement, not a class
    return score - 0.1 * min(profile.mean_words, 10) - 0.005 * profile.distinct


def guess_columns(
    frame: pd.DataFrame, *, text_column: Optional[str] = None, label_column: Optional[str] = None
) -> ColumnGuess:
    """Guess the text column (longest, most varied texts) and the label column (few repeating values).

    Pass ``text_column`` or ``label_column`` to fix one and guess only the other; names like "review" or
    "label" tip the balance.
    """
    columns = [str(name) for name in frame.columns]
    if len(columns) < 2:
        raise DataError("The data needs at least two columns, one with texts and one with labels: "
                        "add the missing column.")
    profiles = {name: _profile(frame, name) for name in columns}
    text_candidates = [text_column] if text_column else sorted(
        (name for name in columns if name != label_column and _text_score(profiles[name]) >= 0),
        key=lambda name: -_text_score(profiles[name]),
    )
    if not text_candidates:
        raise DataError("No column holds texts with words in them: check the file, or choose the text column yourself.")
    label_candidates = [label_column] if label_column else sorted(
        (name for name in columns if _could_be_label(profiles[name])),
        key=lambda name: -_label_score(profiles[name]),
    )
    for text in text_candidates:
        label = next((name for name in label_candidates if name != text), None)
        if label is not None:
            return ColumnGuess(text, label, _guess_reason(profiles, text, label, text_candidates))
    if label_candidates:  # the only wordy columns are the label candidates themselves
        raise DataError(
            f"No column besides {_shown(label_candidates[0])} holds texts with words: "
            "add a text column, or choose the columns yourself."
        )
    raise DataError(
        f"No column looks like a class label (2 to {_MAX_LABEL_CLASSES} distinct values that repeat across rows): "
        "add a label column, or choose the label column yourself."
    )


def _guess_reason(profiles: dict[str, _ColumnProfile], text: str, label: str, ranked_texts: list[str]) -> str:
    text_profile, label_profile = profiles[text], profiles[label]
    longest = max(ranked_texts, key=lambda name: _text_length(profiles[name]))
    words = f"about {text_profile.mean_words:.0f} words on average"
    text_part = (f"{_shown(text)} has the longest texts ({words})" if text == longest
                 else f"{_shown(text)} is named like a text column ({words})")
    label_part = f"{_shown(label)} has {label_profile.distinct} distinct values"
    if _name_score(label, LABEL_NAMES):
        label_part += " and is named like a label"
    return f"{text_part}; {label_part}."

