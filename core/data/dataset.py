"""A labelled text dataset built from a table: the columns picked (or guessed), rows without a text or label
dropped, and data that cannot be classified refused with one sentence that says what to do.

Reading files is :mod:`core.data.reading`'s job and guessing columns :mod:`core.data.columns`'; both are re-exported
here so ``from core.data.dataset import read_csv_bytes, build_dataset`` reads the whole path.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from core.data.columns import FREE_TEXT_LABEL_WORDS, ID_LIKE_MIN_DISTINCT, LETTER, as_text, guess_columns
from core.data.memory import release_free_memory
from core.data.reading import Table, read_csv_bytes, read_csv_path
from core.errors import DataError
from core.errors import shown as _shown

_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")


@dataclass(frozen=True)
class Dataset:
    """Texts with their class labels, plus the facts a triage report and a run record need.

    ``rows_missing_text`` counts rows dropped for an empty text; ``rows_missing_label`` counts rows that had a
    text but no label, so ``rows_total == len(texts) + rows_missing_text + rows_missing_label``.
    """

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    class_names: tuple[str, ...]
    text_column: str
    label_column: str
    source_name: str
    rows_total: int
    rows_missing_text: int
    rows_missing_label: int
    encoding: str
    delimiter: str
    skipped_lines: int
    data_hash: str
    encoding_confidence: Optional[float] = None  # None: certain (see Table); else how sure the detection was
    encoding_note: str = ""
    sampled_from_rows: Optional[int] = None  # rows in the file when only a random sample was read

    @functools.cached_property
    def y(self) -> np.ndarray:
        """Class ids (int64), each an index into ``class_names``; read-only because it is cached."""
        index = {name: i for i, name in enumerate(self.class_names)}
        ids = np.fromiter((index[label] for label in self.labels), dtype=np.int64, count=len(self.labels))
        ids.setflags(write=False)
        return ids

    def __len__(self) -> int:
        return len(self.texts)



def build_dataset(table: Table, text_column: Optional[str] = None, label_column: Optional[str] = None) -> Dataset:
    """Pick the columns (guessing the ones not given), drop rows missing a text or label, and validate."""
    frame = table.frame
    text_column = _existing_column(frame, text_column) if text_column else None
    label_column = _existing_column(frame, label_column) if label_column else None
    if text_column and text_column == label_column:
        raise DataError(f"{_shown(text_column)} was chosen as both the text and the label column: "
                        "choose two different columns.")
    if not (text_column and label_column):
        guess = guess_columns(frame, text_column=text_column, label_column=label_column)
        text_column, label_column = guess.text_column, guess.label_column

    texts = as_text(frame[text_column])
    labels = as_text(frame[label_column]).str.strip()
    missing_text = texts.str.strip().eq("")
    missing_label = labels.eq("") & ~missing_text
    keep = ~(missing_text | missing_label)
    # Filtering copies the column: skip it when every row is kept (the usual case for big, clean files).
    kept_texts, kept_labels = (texts, labels) if keep.all() else (texts[keep], labels[keep])
    _check_texts(kept_texts, text_column, label_column, rows_with_text=int((~missing_text).sum()))
    _check_labels(kept_labels, label_column)

    text_tuple = tuple(kept_texts.tolist())
    del texts, kept_texts
    label_tuple = _shared_labels(kept_labels)
    dataset = Dataset(
        texts=text_tuple,
        labels=label_tuple,
        class_names=class_order(set(label_tuple)),
        text_column=text_column,
        label_column=label_column,
        source_name=table.source_name,
        rows_total=len(frame),
        rows_missing_text=int(missing_text.sum()),
        rows_missing_label=int(missing_label.sum()),
        encoding=table.encoding,
        delimiter=table.delimiter,
        skipped_lines=table.skipped_lines,
        data_hash=data_hash(text_tuple, label_tuple),
        encoding_confidence=table.encoding_confidence,
        encoding_note=table.encoding_note,
        sampled_from_rows=table.sampled_from_rows,
    )
    release_free_memory()  # the column copies made above
    return dataset


def _shared_labels(labels: pd.Series) -> tuple[str, ...]:
    """The labels as a tuple whose equal values are one string object (a class name), not one copy per row."""
    codes, uniques = pd.factorize(labels)
    names = [str(name) for name in uniques]
    return tuple(map(names.__getitem__, codes.tolist()))


def load_dataset(
    source: str | os.PathLike | bytes,
    text_column: Optional[str] = None,
    label_column: Optional[str] = None,
    source_name: Optional[str] = None,
) -> Dataset:
    """Read a CSV (a path or its bytes) and build the dataset in one call."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        table = read_csv_bytes(bytes(source), source_name=source_name or "data.csv")
    else:
        table = read_csv_path(source)
        if source_name:
            table = dataclasses.replace(table, source_name=source_name)
    return build_dataset(table, text_column, label_column)


_HASH_CHUNK = 10_000  # strings serialised at a time: the digest never needs the whole JSON document in memory


def data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 over the (text, label) pairs in order; JSON keeps the boundaries between strings unambiguous.

    The digest is that of ``json.dumps([texts, labels], ensure_ascii=False, separators=(",", ":"))`` encoded as
    UTF-8, fed to sha256 a chunk of strings at a time.
    """
    digest = hashlib.sha256(b"[")
    for position, values in enumerate((texts, labels)):
        digest.update(b",[" if position else b"[")
        for start in range(0, len(values), _HASH_CHUNK):
            piece = json.dumps(list(values[start : start + _HASH_CHUNK]), ensure_ascii=False, separators=(",", ":"))
            digest.update((b"," if start else b"") + piece[1:-1].encode("utf-8", "surrogatepass"))
        digest.update(b"]")
    digest.update(b"]")
    return digest.hexdigest()


def _existing_column(frame: pd.DataFrame, name: str) -> str:
    """The frame's column called ``name``, forgiving surrounding spaces and (when unambiguous) case."""
    columns = [str(column) for column in frame.columns]
    wanted = " ".join(name.split())
    if wanted in columns:
        return wanted
    same_case = [column for column in columns if column.casefold() == wanted.casefold()]
    if len(same_case) == 1:
        return same_case[0]
    shown = ", ".join(_shown(column, limit=40) for column in columns[:20])
    more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
    raise DataError(f"The data has no column {_shown(name)}: choose one of {shown}{more}.")


def _check_texts(texts: pd.Series, text_column: str, label_column: str, *, rows_with_text: int) -> None:
    if rows_with_text == 0:
        raise DataError(f"The text column {_shown(text_column)} is empty on every row: "
                        "choose the column that holds the texts.")
    if texts.empty:
        raise DataError(
            f"No row with a text in {_shown(text_column)} has a label in {_shown(label_column)}: "
            "choose the column that holds the class."
        )
    if not texts.str.contains(LETTER, regex=True).any():
        raise DataError(
            f"The text column {_shown(text_column)} holds only numbers and symbols, no words: "
            "choose the column that holds the texts."
        )


def _check_labels(labels: pd.Series, label_column: str) -> None:
    distinct = labels.nunique()
    rows = len(labels)
    if distinct < 2:
        raise DataError(
            f"Every row has the label {_shown(labels.iloc[0])} in {_shown(label_column)}, "
            "so there is nothing to tell apart: choose a label column with at least two classes."
        )
    median_words = float(labels.str.count(r"\S+").median())
    if median_words > FREE_TEXT_LABEL_WORDS:
        raise DataError(
            f"{_shown(label_column)} looks like free text (about {median_words:.0f} words per value), not a class: "
            "choose the column that holds the class."
        )
    if distinct > ID_LIKE_MIN_DISTINCT and distinct > 0.5 * rows:
        raise DataError(
            f"{_shown(label_column)} has a different value on almost every row ({distinct} distinct in {rows} rows): "
            "choose the column that holds the class."
        )


def class_order(names: set[str]) -> tuple[str, ...]:
    """Sorted class names; numeric ones ("1", "2", "10") in numeric order."""
    if all(_NUMBER.fullmatch(name) for name in names):
        return tuple(sorted(names, key=lambda name: (float(name), name)))
    return tuple(sorted(names))


