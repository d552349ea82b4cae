"""Reading CSV files as people's files really are: every cell a string, or one sentence that says why not.

:func:`read_csv_bytes` / :func:`read_csv_path` refuse non-CSV content early, detect the encoding and the delimiter,
and count malformed lines. Cells are never evaluated or unescaped: they stay plain strings all the way through.

Encodings: a byte-order mark, UTF-16 without one and strict UTF-8 are certain; anything else is *detected* with
charset-normalizer on the lines that hold non-ASCII bytes, and the table says how sure that was
(:attr:`Table.encoding_confidence`, :attr:`Table.encoding_note`). Memory: a file that would not fit is refused
before it is parsed (:func:`memory_check`), and ``max_rows`` reads a seeded random sample instead, streaming.
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
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import pandas as pd

from core.data.encoding import decode_bytes
from core.data.memory import (
    ROW_ESTIMATE_BYTES,
    arrow_uses_the_system_allocator,
    estimated_rows,
    refuse_if_too_big,
    release_free_memory,
)
from core.data.splitting import stratified_indices
from core.errors import DataError
from core.errors import shown as _shown

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

# pandas reports skipped lines only through warnings, whose capture is process-wide: one capture at a time.
_WARNING_CAPTURE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Table:
    """A parsed CSV: every cell is text, column names are stripped and unique.

    ``encoding_confidence`` is None when the encoding was certain (byte-order mark, valid UTF-8, a built-in
    dataset) and a number in [0, 1] when it was guessed; ``encoding_note`` says the same in words.
    ``sampled_from_rows`` is the number of data rows in the file when only a random sample of them was read.
    """

    frame: pd.DataFrame
    source_name: str
    encoding: str
    delimiter: str
    skipped_lines: int
    encoding_confidence: Optional[float] = None
    encoding_note: str = ""
    sampled_from_rows: Optional[int] = None


def read_csv_path(path: str | os.PathLike, *, max_rows: Optional[int] = None, seed: int = 0) -> Table:
    """Read a CSV file from disk; see :func:`read_csv_bytes`. Too big for the free memory: refused before reading."""
    shown = _shown(os.fspath(path), limit=120)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(ROW_ESTIMATE_BYTES)
            refuse_if_too_big(size, rows=estimated_rows(head, size), max_rows=max_rows,
                              name=os.path.basename(os.fspath(path)))
            handle.seek(0)
            raw = handle.read()  # one buffer: joining the head to the rest would copy the whole file once more
    except FileNotFoundError:
        raise DataError(f"There is no file at {shown}: check the path and try again.") from None
    except IsADirectoryError:
        raise DataError(f"{shown} is a folder, not a file: give the path of the CSV file inside it.") from None
    except PermissionError:
        raise DataError(f"The file {shown} cannot be opened (permission denied): check its permissions.") from None
    except OSError as exc:
        reason = _shown(exc.strerror or "unknown error", quote=False)
        raise DataError(f"The file {shown} cannot be read ({reason}): check that it exists and is readable.") from None
    del head
    return _read(raw, source_name=os.path.basename(os.fspath(path)) or "data.csv", max_rows=max_rows, seed=seed)


def read_csv_bytes(raw: bytes, *, source_name: str = "data.csv", max_rows: Optional[int] = None,
                   seed: int = 0) -> Table:
    """Parse CSV bytes: refuse non-CSV content, detect encoding and delimiter, count malformed lines.

    ``max_rows`` keeps a uniformly random, seeded sample of that many data rows (in file order), read in chunks so
    that the whole file is never parsed at once. Data that would not fit in the free memory is refused with a
    sentence that says how large a sample would fit.
    """
    refuse_if_too_big(len(raw), rows=estimated_rows(raw[:ROW_ESTIMATE_BYTES], len(raw)), max_rows=max_rows,
                      name=source_name, held=True)
    return _read(raw, source_name=source_name, max_rows=max_rows, seed=seed)


def _read(raw: bytes, *, source_name: str, max_rows: Optional[int], seed: int) -> Table:
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    _refuse_non_csv_bytes(raw)
    arrow_uses_the_system_allocator()
    decoded = decode_bytes(raw)
    del raw  # the caller may still hold it; this function no longer needs it
    sample, truncated = _text_sample(decoded.body)
    _refuse_non_csv_text(sample, decoded.body)
    delimiter, skip_first_line = _delimiter(sample, truncated=truncated)
    cells, skipped_lines, rows_in_file = _parse(decoded.body, delimiter, skip_first_line=skip_first_line,
                                                max_rows=max_rows, seed=seed)
    frame = _frame_with_header(cells)
    del cells
    if len(frame.columns) < 2:
        only = _shown(str(frame.columns[0])) if len(frame.columns) else "none"
        raise DataError(
            f"Only one column ({only}) was found, so the file is not split by a comma, semicolon, tab or pipe: "
            "save it with one of those delimiters and with a text column and a label column."
        )
    if skipped_lines > len(frame):
        raise DataError(
            f"Most rows ({skipped_lines} of {skipped_lines + len(frame)}) have more fields than the header, "
            "so they cannot be read: put quotes around texts that contain the delimiter "
            f"({DELIMITER_NAMES[delimiter]}) or fix the header row."
        )
    if frame.empty:
        raise DataError("The file has a header row but no data rows: add one example per row below the header.")
    sampled = rows_in_file if max_rows is not None and rows_in_file > max_rows else None
    table = Table(frame, source_name=source_name, encoding=decoded.encoding, delimiter=delimiter,
                  skipped_lines=skipped_lines, encoding_confidence=decoded.confidence, encoding_note=decoded.note,
                  sampled_from_rows=sampled)
    del decoded  # a re-encoded copy of the file, unless it was UTF-8 already
    release_free_memory()
    return table


def sample_table(table: Table, rows: int, *, seed: int = 0, label_column: Optional[str] = None) -> Table:
    """At most ``rows`` rows of ``table``, seeded, in their original order.

    With ``label_column`` the sample is stratified: each class keeps its share (rounded, at least one row), so a
    rare class does not vanish from a small sample; without it every row is equally likely.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    frame = table.frame
    if len(frame) <= rows:
        return table
    rng = np.random.default_rng(seed)
    if label_column is None:
        keep = np.sort(rng.choice(len(frame), size=rows, replace=False))
    else:
        codes, _ = pd.factorize(frame[label_column], use_na_sentinel=False)
        keep = stratified_indices(codes, rows, rng)
    return replace(table, frame=frame.iloc[keep].reset_index(drop=True),
                   sampled_from_rows=table.sampled_from_rows or len(frame))


def _refuse_non_csv_bytes(raw: bytes) -> None:
    if not raw or raw.isspace():  # (not raw.strip(): that copies the whole file)
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


def _text_sample(body: bytes) -> tuple[str, bool]:
    """The first characters of the (UTF-8) body and whether the file goes on beyond them."""
    head = body[: _SAMPLE_CHARS * 4]
    text = head.decode("utf-8", "ignore")  # "ignore" only drops a character cut in half at the end
    text = text.removeprefix("\ufeff")
    truncated = len(body) > len(head) or len(text) > _SAMPLE_CHARS
    return text[:_SAMPLE_CHARS], truncated


def _refuse_non_csv_text(sample: str, body: bytes) -> None:
    if not sample.strip() and (not body or body.isspace()):
        raise DataError("The file is empty: upload a CSV with a header row, a text column and a label column.")
    # Text files have almost no control characters; binary data decoded as latin-1 has many.
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or 0x7F <= ord(ch) <= 0x9F)
    if controls > 0.01 * len(sample):
        raise DataError("This file holds binary data, not CSV text: export the table as a CSV file and upload that.")
    start = sample.lstrip()[:200].lower()
    if start.startswith(("<!doctype html", "<html")):
        raise DataError("This looks like a web page (HTML), not a CSV: save the table as CSV and upload that.")
    if start.startswith("<?xml"):
        raise DataError("This looks like an XML file, not a CSV: export the table as CSV and upload that.")
    if start.startswith(("{", "[")) and _is_json(body):
        raise DataError("This looks like a JSON file, not a CSV: "
                        "convert it to a CSV with one example per row and upload that.")


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8-sig"))
    except ValueError:
        return False
    return True


def _delimiter(sample: str, *, truncated: bool) -> tuple[str, bool]:
    """The delimiter, and whether the first line is Excel's ``sep=;`` hint (honoured, then skipped)."""
    first_line = sample.partition("\n")[0]
    hint = re.fullmatch(r"\s*sep=(.)\s*", first_line, flags=re.IGNORECASE)
    if hint and hint.group(1) in DELIMITERS:
        return hint.group(1), True
    return choose_delimiter(sample, truncated=truncated), False


def choose_delimiter(text: str, *, truncated: Optional[bool] = None) -> str:
    """The delimiter whose rows most consistently have the header's field count (and more than one field).

    ``csv.Sniffer`` guesses from character frequencies and is easily fooled by commas inside texts; parsing
    the sample with each candidate and comparing field counts is what actually separates them. ``truncated``
    says that ``text`` is the start of a longer file (its last row may be cut); by default, when it is longer
    than the sample judged.
    """
    _allow_huge_csv_fields()
    sample = text[:_SAMPLE_CHARS]
    if truncated is None:
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


_CHUNK_ROWS = 100_000  # rows parsed at a time while sampling


def _parse(
    body: bytes, delimiter: str, *, skip_first_line: bool, max_rows: Optional[int], seed: int
) -> tuple[pd.DataFrame, int, int]:
    """All cells as strings (header included as row 0), malformed lines skipped, and data rows in the file."""
    try:
        cells, rows_in_file = _read_cells(body, delimiter, skip_first_line, "error", max_rows, seed)
        return cells, 0, rows_in_file
    except pd.errors.ParserError as exc:
        if "Expected" not in str(exc):
            raise _parser_problem(exc) from None
    # Rows with too many fields: read again, skipping them; pandas names each one in a ParserWarning.
    with _WARNING_CAPTURE_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            cells, rows_in_file = _read_cells(body, delimiter, skip_first_line, "warn", max_rows, seed)
        except pd.errors.ParserError as exc:
            raise _parser_problem(exc) from None
    skipped = sum(
        str(warning.message).count("Skipping line")
        for warning in caught
        if issubclass(warning.category, pd.errors.ParserWarning)
    )
    return cells, skipped, rows_in_file


def _read_cells(
    body: bytes, delimiter: str, skip_first_line: bool, on_bad_lines: str, max_rows: Optional[int], seed: int
) -> tuple[pd.DataFrame, int]:
    # header=None: the first line fixes the field count, so pandas never silently turns column 1 into an index.
    # dtype=str + keep_default_na=False: "NA", "null" and "None" stay text, numbers keep their exact spelling.
    # The parser reads the UTF-8 bytes themselves (a str in a StringIO would cost 4 bytes a character).
    options = dict(sep=delimiter, header=None, dtype=str, keep_default_na=False, on_bad_lines=on_bad_lines, engine="c",
                   encoding="utf-8", skiprows=1 if skip_first_line else None)
    try:
        if max_rows is None:
            cells = pd.read_csv(io.BytesIO(body), **options)
            return cells, len(cells) - 1
        with pd.read_csv(io.BytesIO(body), chunksize=_CHUNK_ROWS, **options) as chunks:
            return _random_rows(chunks, max_rows, np.random.default_rng(seed))
    except pd.errors.EmptyDataError:
        raise DataError(
            "The file is empty: upload a CSV with a header row, a text column and a label column."
        ) from None


def _random_rows(chunks, max_rows: int, rng: np.random.Generator) -> tuple[pd.DataFrame, int]:
    """The header row plus a uniform random sample of ``max_rows`` data rows, in file order, one chunk at a time.

    Each row gets a random key and the rows with the smallest keys are kept (a reservoir in effect): only the
    sample and one chunk are ever in memory.
    """
    header: Optional[pd.DataFrame] = None
    kept: Optional[pd.DataFrame] = None
    kept_keys = np.empty(0)
    rows = 0
    for chunk in chunks:
        if header is None:
            header, chunk = chunk.iloc[:1], chunk.iloc[1:]
        rows += len(chunk)
        keys = rng.random(len(chunk))
        kept = chunk if kept is None else pd.concat([kept, chunk])
        kept_keys = np.concatenate([kept_keys, keys])
        if len(kept) > max_rows:
            smallest = np.argpartition(kept_keys, max_rows)[:max_rows]
            kept, kept_keys = kept.iloc[smallest], kept_keys[smallest]
    if header is None:
        raise pd.errors.EmptyDataError("no rows")
    cells = pd.concat([header, kept.sort_index()]) if kept is not None else header
    return cells, rows


def _parser_problem(exc: Exception) -> DataError:
    message = str(exc)
    unclosed = re.search(r"EOF inside string starting at row (\d+)", message)
    if unclosed:
        line = int(unclosed.group(1)) + 1
        return DataError(
            f'A quoted cell that starts near line {line} is never closed, '
            'so the rest of the file would become one cell: '
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
