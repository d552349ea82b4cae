"""Reading CSV files as people's files really are: every cell a string, or one sentence that says why not.

:func:`read_csv_bytes` / :func:`read_csv_path` refuse non-CSV content early, detect the encoding and the delimiter,
and count malformed lines. Cells are never evaluated or unescaped: they stay plain strings all the way through.
"""

from __future__ import annotations

import csv
import functools
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

import pandas as pd

from core.errors import DataError, shown as _shown

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_SAMPLE_CHARS = 64 * 1024  # enough rows to judge a delimiter, small enough to sniff instantly

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

