"""Reading CSV files as people's files really are, and turning them into a labelled text dataset.

Two stages, each with one public verb:

* :func:`read_csv_bytes` / :func:`read_csv_path` turn raw bytes into a :class:`Table` (every cell a string):
  they refuse non-CSV content early, detect the encoding and the delimiter, and count malformed lines.
* :func:`build_dataset` picks (or :func:`guess_columns` guesses) the text and label columns and returns a
  :class:`Dataset`, refusing data that cannot be classified with one sentence that says what to do.

Cells are never evaluated or unescaped: they stay plain strings all the way through.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import json
import os
import re
import sys
import threading
import warnings
import zipfile
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from core.errors import DataError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# Column names that usually hold the text or the class (compared in lower case, per word of the name).
TEXT_NAMES = frozenset(
    "text texts review reviews message messages content comment comments body description sentence tweet "
    "summary remarks remark narrative document abstract title utterance query question note notes".split()
)
LABEL_NAMES = frozenset(
    "label labels class classes category categories target y sentiment intent type topic effect "
    "tag genre outcome rating stars".split()
)

_SAMPLE_CHARS = 64 * 1024  # enough rows to judge a delimiter, small enough to sniff instantly
_GUESS_SAMPLE_ROWS = 5000  # word counts for guessing are estimated from this many rows
_MAX_LABEL_CLASSES = 100  # a column with more distinct values is not guessed as the label
_ID_LIKE_MIN_DISTINCT = 20  # below this, "distinct on every row" is too weak a signal to refuse
_FREE_TEXT_LABEL_WORDS = 10  # labels whose median value is longer than this many words are free text

_LETTER = r"[^\W\d_]"  # any letter in any script
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")

# (prefix, what the file looks like, what to do) for formats people upload by mistake.
_MAGIC_NUMBERS: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a zip archive", "unzip it and upload the CSV inside"),
    (b"PK\x05\x06", "an empty zip archive", "upload the CSV file itself"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)", "save it as CSV and upload that"),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it and upload the CSV inside"),
    (b"BZh", "a bzip2-compressed file", "decompress it and upload the CSV inside"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it and upload the CSV inside"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "unpack it and upload the CSV inside"),
    (b"%PDF", "a PDF document", "export the table as CSV and upload that"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "upload the table as a CSV file instead"),
    (b"\xff\xd8\xff", "a JPEG image", "upload the table as a CSV file instead"),
    (b"GIF87a", "a GIF image", "upload the table as a CSV file instead"),
    (b"GIF89a", "a GIF image", "upload the table as a CSV file instead"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV and upload that"),
    (b"PAR1", "a Parquet file", "export it as CSV and upload that"),
)

# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE mark).
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)

# pandas reports skipped lines only through warnings, whose capture is process-wide: one capture at a time.
_WARNING_CAPTURE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Table:
    """A parsed CSV: every cell is text, column names are stripped and unique."""

    frame: pd.DataFrame
    source_name: str
    encoding: str
    delimiter: str
    skipped_lines: int


@dataclass(frozen=True)
class ColumnGuess:
    text_column: str
    label_column: str
    reason: str


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

    @functools.cached_property
    def y(self) -> np.ndarray:
        """Class ids (int64), each an index into ``class_names``; read-only because it is cached."""
        index = {name: i for i, name in enumerate(self.class_names)}
        ids = np.fromiter((index[label] for label in self.labels), dtype=np.int64, count=len(self.labels))
        ids.setflags(write=False)
        return ids

    def __len__(self) -> int:
        return len(self.texts)


# --------------------------------------------------------------------------------------------- reading


def read_csv_path(path: str | os.PathLike) -> Table:
    """Read a CSV file from disk; see :func:`read_csv_bytes`."""
    shown = _shown(os.fspath(path), limit=120)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise DataError(f"There is no file at {shown}: check the path and try again.") from None
    except IsADirectoryError:
        raise DataError(f"{shown} is a folder, not a file: give the path of the CSV file inside it.") from None
    except PermissionError:
        raise DataError(f"The file {shown} cannot be opened (permission denied): check its permissions.") from None
    except OSError as exc:
        reason = _shown(exc.strerror or "unknown error", quote=False)
        raise DataError(f"The file {shown} cannot be read ({reason}): check that it exists and is readable.") from None
    return read_csv_bytes(raw, source_name=os.path.basename(os.fspath(path)) or "data.csv")


def read_csv_bytes(raw: bytes, *, source_name: str = "data.csv") -> Table:
    """Parse CSV bytes: refuse non-CSV content, detect encoding and delimiter, count malformed lines."""
    _refuse_non_csv_bytes(raw)
    text, encoding = _decode(raw)
    _refuse_non_csv_text(text)
    text, delimiter = _delimiter_and_body(text)
    cells, skipped_lines = _parse(text, delimiter)
    frame = _frame_with_header(cells)
    if len(frame.columns) < 2:
        only = _shown(str(frame.columns[0])) if len(frame.columns) else "none"
        raise DataError(
            f"Only one column ({only}) was found, so the file is not split by a comma, semicolon, tab or pipe: "
            "save it with one of those delimiters and with a text column and a label column."
        )
    if skipped_lines > len(frame):
        raise DataError(
            f"Most rows ({skipped_lines} of {skipped_lines + len(frame)}) have more fields than the header, so they cannot be read: "
            f"put quotes around texts that contain the delimiter ({DELIMITER_NAMES[delimiter]}) or fix the header row."
        )
    if frame.empty:
        raise DataError("The file has a header row but no data rows: add one example per row below the header.")
    return Table(frame, source_name=source_name, encoding=encoding, delimiter=delimiter, skipped_lines=skipped_lines)


def _refuse_non_csv_bytes(raw: bytes) -> None:
    if not raw.strip():
        raise DataError("The file is empty: upload a CSV with a header row, a text column and a label column.")
    for prefix, looks_like, fix in _MAGIC_NUMBERS:
        if raw.startswith(prefix):
            if prefix == b"PK\x03\x04":
                looks_like, fix = _describe_zip(raw)
            raise DataError(f"This looks like {looks_like}, not a CSV: {fix}.")


def _describe_zip(raw: bytes) -> tuple[str, str]:
    """Office files are zip archives; their member names tell which kind (only the directory is read)."""
    try:
        names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        names = []
    if any(name.startswith("xl/") for name in names):
        return "an Excel workbook (zip)", "save it as CSV and upload that"
    if any(name.startswith("word/") for name in names):
        return "a Word document (zip)", "put the table in a CSV file and upload that"
    if "content.xml" in names:
        return "an OpenDocument file (zip)", "save it as CSV and upload that"
    return "a zip archive", "unzip it and upload the CSV inside"


def _decode(raw: bytes) -> tuple[str, str]:
    """Decode by byte-order mark, then UTF-16 without one, then strict UTF-8, cp1252 and latin-1."""
    for bom, codec, label in _BOMS:
        if raw.startswith(bom):
            return _decode_strictly(raw, codec, label), codec
    utf16_codec = _utf16_without_bom(raw)
    if utf16_codec:
        return _decode_strictly(raw, utf16_codec, "UTF-16"), utf16_codec
    if b"\x00" in raw:
        raise DataError("This file holds binary data (NUL bytes), not CSV text: export the table as a CSV file and upload that.")
    for codec in ("utf-8", "cp1252"):
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"  # every byte is a latin-1 character: the last resort never fails


def _decode_strictly(raw: bytes, codec: str, label: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise DataError(
            f"The file looks like {label} text but is damaged or mixed with another encoding: re-save it as a UTF-8 CSV and upload that."
        ) from None


def _utf16_without_bom(raw: bytes) -> Optional[str]:
    """Mostly-ASCII UTF-16 has a NUL in every other byte; which half says little- or big-endian."""
    sample = raw[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sample[0 : pairs * 2 : 2].count(0) / pairs
    odd_nuls = sample[1 : pairs * 2 : 2].count(0) / pairs
    if odd_nuls > 0.2 and even_nuls < 0.02:
        return "utf-16-le"
    if even_nuls > 0.2 and odd_nuls < 0.02:
        return "utf-16-be"
    return None


def _refuse_non_csv_text(text: str) -> None:
    if not text.strip():
        raise DataError("The file is empty: upload a CSV with a header row, a text column and a label column.")
    sample = text[:_SAMPLE_CHARS]
    # Text files have almost no control characters; binary data decoded as latin-1 has many.
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or 0x7F <= ord(ch) <= 0x9F)
    if controls > 0.01 * len(sample):
        raise DataError("This file holds binary data, not CSV text: export the table as a CSV file and upload that.")
    start = sample.lstrip()[:200].lower()
    if start.startswith(("<!doctype html", "<html")):
        raise DataError("This looks like a web page (HTML), not a CSV: save the table as CSV and upload that.")
    if start.startswith("<?xml"):
        raise DataError("This looks like an XML file, not a CSV: export the table as CSV and upload that.")
    if start.startswith(("{", "[")) and _is_json(text):
        raise DataError("This looks like a JSON file, not a CSV: convert it to a CSV with one example per row and upload that.")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _delimiter_and_body(text: str) -> tuple[str, str]:
    """Honour Excel's ``sep=;`` first line when present; otherwise sniff the delimiter."""
    first_line, _, rest = text.partition("\n")
    hint = re.fullmatch(r"\s*sep=(.)\s*", first_line, flags=re.IGNORECASE)
    if hint and hint.group(1) in DELIMITERS:
        return rest, hint.group(1)
    return text, choose_delimiter(text)


def choose_delimiter(text: str) -> str:
    """The delimiter whose rows most consistently have the header's field count (and more than one field).

    ``csv.Sniffer`` guesses from character frequencies and is easily fooled by commas inside texts; parsing
    the sample with each candidate and comparing field counts is what actually separates them.
    """
    _allow_huge_csv_fields()
    sample = text[:_SAMPLE_CHARS]
    truncated = len(text) > len(sample)
    best, best_consistency = ",", 0.0
    for delimiter in DELIMITERS:
        counts = _field_counts(sample, delimiter, drop_last_row=truncated)
        if not counts or counts[0] < 2:
            continue
        consistency = sum(count == counts[0] for count in counts) / len(counts)
        if consistency > best_consistency:  # ties keep the earlier, more common delimiter
            best, best_consistency = delimiter, consistency
    return best


def _field_counts(sample: str, delimiter: str, *, drop_last_row: bool) -> list[int]:
    """Field count of each non-blank row; the last row of a cut sample may be partial, so it is dropped."""
    counts: list[int] = []
    try:
        for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if row:
                counts.append(len(row))
    except csv.Error:
        pass  # judge on the rows read so far
    if drop_last_row and len(counts) > 1:
        counts.pop()
    return counts


@functools.cache
def _allow_huge_csv_fields() -> None:
    """The csv module refuses fields over 128 KiB by default; raise the limit once, as high as C allows."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _parse(text: str, delimiter: str) -> tuple[pd.DataFrame, int]:
    """All cells as strings (header included as row 0) and the number of malformed lines skipped."""
    try:
        return _read_cells(text, delimiter, on_bad_lines="error"), 0
    except pd.errors.ParserError as exc:
        if "Expected" not in str(exc):
            raise _parser_problem(exc) from None
    # Rows with too many fields: read again, skipping them; pandas names each one in a ParserWarning.
    with _WARNING_CAPTURE_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            cells = _read_cells(text, delimiter, on_bad_lines="warn")
        except pd.errors.ParserError as exc:
            raise _parser_problem(exc) from None
    skipped = sum(
        str(warning.message).count("Skipping line")
        for warning in caught
        if issubclass(warning.category, pd.errors.ParserWarning)
    )
    return cells, skipped


def _read_cells(text: str, delimiter: str, *, on_bad_lines: str) -> pd.DataFrame:
    # header=None: the first line fixes the field count, so pandas never silently turns column 1 into an index.
    # dtype=str + keep_default_na=False: "NA", "null" and "None" stay text, numbers keep their exact spelling.
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            on_bad_lines=on_bad_lines,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise DataError("The file is empty: upload a CSV with a header row, a text column and a label column.") from None


def _parser_problem(exc: Exception) -> DataError:
    message = str(exc)
    unclosed = re.search(r"EOF inside string starting at row (\d+)", message)
    if unclosed:
        line = int(unclosed.group(1)) + 1
        return DataError(
            f'A quoted cell that starts near line {line} is never closed, so the rest of the file would become one cell: '
            'close or remove that quote mark (") and upload the file again.'
        )
    reason = _shown(message.removeprefix("Error tokenizing data. C error: "), quote=False)
    return DataError(f"The file could not be read as CSV ({reason}): check that it is a plain CSV file.")


def _frame_with_header(cells: pd.DataFrame) -> pd.DataFrame:
    """Row 0 becomes readable, unique column names; rows and unnamed columns that are entirely empty go."""
    cells = cells.fillna("")
    header = [str(value) for value in cells.iloc[0].tolist()]
    names = _unique_column_names(header)
    frame = cells.iloc[1:].reset_index(drop=True)
    frame.columns = names
    # Spreadsheet exports add ",,," rows and a trailing delimiter's empty column: they are not data.
    blank = frame.apply(lambda column: column.str.strip().eq(""))
    frame = frame.loc[~blank.all(axis=1)].reset_index(drop=True)
    unnamed_and_empty = [name for name, raw in zip(names, header) if not raw.strip() and blank[name].all()]
    return frame.drop(columns=unnamed_and_empty)


def _unique_column_names(raw_names: list[str]) -> list[str]:
    """Stripped names; an empty one becomes "column N" and a repeated one "name (2)"."""
    names: list[str] = []
    taken: set[str] = set()
    for position, raw in enumerate(raw_names, start=1):
        base = " ".join(str(raw).split()) or f"column {position}"
        name, copy = base, 1
        while name in taken:
            copy += 1
            name = f"{base} ({copy})"
        names.append(name)
        taken.add(name)
    return names


# --------------------------------------------------------------------------------------------- guessing


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
    column = _as_text(frame[name])
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
        letters=float(sample.str.contains(_LETTER, regex=True).mean()),
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
    if not 1 <= profile.distinct <= _MAX_LABEL_CLASSES or profile.median_words > _FREE_TEXT_LABEL_WORDS:
        return False
    repeats_a_lot = profile.distinct <= 0.5 * profile.filled_rows
    small_but_repeating = profile.distinct <= _ID_LIKE_MIN_DISTINCT and profile.distinct < profile.filled_rows
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
        raise DataError("The data needs at least two columns, one with texts and one with labels: add the missing column.")
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
            f"No column besides {_shown(label_candidates[0])} holds texts with words: add a text column, or choose the columns yourself."
        )
    raise DataError(
        f"No column looks like a class label (2 to {_MAX_LABEL_CLASSES} distinct values that repeat across rows): "
        "add a label column, or choose the label column yourself."
    )


def _guess_reason(profiles: dict[str, _ColumnProfile], text: str, label: str, ranked_texts: list[str]) -> str:
    text_profile, label_profile = profiles[text], profiles[label]
    longest = max(ranked_texts, key=lambda name: _text_length(profiles[name]))
    words = f"about {text_profile.mean_words:.0f} words on average"
    text_part = f"{_shown(text)} has the longest texts ({words})" if text == longest else f"{_shown(text)} is named like a text column ({words})"
    label_part = f"{_shown(label)} has {label_profile.distinct} distinct values"
    if _name_score(label, LABEL_NAMES):
        label_part += " and is named like a label"
    return f"{text_part}; {label_part}."


# --------------------------------------------------------------------------------------------- building


def build_dataset(table: Table, text_column: Optional[str] = None, label_column: Optional[str] = None) -> Dataset:
    """Pick the columns (guessing the ones not given), drop rows missing a text or label, and validate."""
    frame = table.frame
    text_column = _existing_column(frame, text_column) if text_column else None
    label_column = _existing_column(frame, label_column) if label_column else None
    if text_column and text_column == label_column:
        raise DataError(f"{_shown(text_column)} was chosen as both the text and the label column: choose two different columns.")
    if not (text_column and label_column):
        guess = guess_columns(frame, text_column=text_column, label_column=label_column)
        text_column, label_column = guess.text_column, guess.label_column

    texts = _as_text(frame[text_column])
    labels = _as_text(frame[label_column]).str.strip()
    missing_text = texts.str.strip().eq("")
    missing_label = labels.eq("") & ~missing_text
    keep = ~(missing_text | missing_label)
    kept_texts, kept_labels = texts[keep], labels[keep]
    _check_texts(kept_texts, text_column, label_column, rows_with_text=int((~missing_text).sum()))
    _check_labels(kept_labels, label_column)

    text_tuple = tuple(kept_texts.tolist())
    label_tuple = tuple(kept_labels.tolist())
    return Dataset(
        texts=text_tuple,
        labels=label_tuple,
        class_names=_class_order(set(label_tuple)),
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
    )


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


def data_hash(texts: tuple[str, ...], labels: tuple[str, ...]) -> str:
    """sha256 over the (text, label) pairs in order; JSON keeps the boundaries between strings unambiguous."""
    payload = json.dumps([texts, labels], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _as_text(column: pd.Series) -> pd.Series:
    """Cells as strings with missing ones empty (CSV tables already are; hand-made frames may not be)."""
    return column.fillna("").astype(str)


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
        raise DataError(f"The text column {_shown(text_column)} is empty on every row: choose the column that holds the texts.")
    if texts.empty:
        raise DataError(
            f"No row with a text in {_shown(text_column)} has a label in {_shown(label_column)}: choose the column that holds the class."
        )
    if not texts.str.contains(_LETTER, regex=True).any():
        raise DataError(
            f"The text column {_shown(text_column)} holds only numbers and symbols, no words: choose the column that holds the texts."
        )


def _check_labels(labels: pd.Series, label_column: str) -> None:
    distinct = labels.nunique()
    rows = len(labels)
    if distinct < 2:
        raise DataError(
            f"Every row has the label {_shown(labels.iloc[0])} in {_shown(label_column)}, so there is nothing to tell apart: "
            "choose a label column with at least two classes."
        )
    median_words = float(labels.str.count(r"\S+").median())
    if median_words > _FREE_TEXT_LABEL_WORDS:
        raise DataError(
            f"{_shown(label_column)} looks like free text (about {median_words:.0f} words per value), not a class: "
            "choose the column that holds the class."
        )
    if distinct > _ID_LIKE_MIN_DISTINCT and distinct > 0.5 * rows:
        raise DataError(
            f"{_shown(label_column)} has a different value on almost every row ({distinct} distinct in {rows} rows): "
            "choose the column that holds the class."
        )


def _class_order(names: set[str]) -> tuple[str, ...]:
    """Sorted class names; numeric ones ("1", "2", "10") in numeric order."""
    if all(_NUMBER.fullmatch(name) for name in names):
        return tuple(sorted(names, key=lambda name: (float(name), name)))
    return tuple(sorted(names))


def _shown(value: object, *, limit: int = 60, quote: bool = True) -> str:
    """A user-derived string made safe for a one-line message: whitespace collapsed, long values cut."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'" if quote else text
