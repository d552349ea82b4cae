"""Reading CSV files as people's files really are: every cell a string, or one sentence that says why not.

:func:`read_csv_bytes` / :func:`read_csv_path` refuse non-CSV content early, detect the encoding and the delimiter,
and count malformed lines. Cells are never evaluated or unescaped: they stay plain strings all the way through.

Encodings: a byte-order mark, UTF-16 without one and strict UTF-8 are certain; anything else is *detected* with
charset-normalizer on the lines that hold non-ASCII bytes, and the table says how sure that was
(:attr:`Table.encoding_confidence`, :attr:`Table.encoding_note`). Memory: a file that would not fit is refused
before it is parsed (:func:`memory_check`), and ``max_rows`` reads a seeded random sample instead, streaming.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import math
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

from core.errors import DataError, TooBigError, shown as _shown

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
            head = handle.read(_ROW_ESTIMATE_BYTES)
            refuse_if_too_big(size, rows=_estimated_rows(head, size), max_rows=max_rows,
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


def read_csv_bytes(raw: bytes, *, source_name: str = "data.csv", max_rows: Optional[int] = None, seed: int = 0) -> Table:
    """Parse CSV bytes: refuse non-CSV content, detect encoding and delimiter, count malformed lines.

    ``max_rows`` keeps a uniformly random, seeded sample of that many data rows (in file order), read in chunks so
    that the whole file is never parsed at once. Data that would not fit in the free memory is refused with a
    sentence that says how large a sample would fit.
    """
    refuse_if_too_big(len(raw), rows=_estimated_rows(raw[:_ROW_ESTIMATE_BYTES], len(raw)), max_rows=max_rows,
                      name=source_name, held=True)
    return _read(raw, source_name=source_name, max_rows=max_rows, seed=seed)


def _read(raw: bytes, *, source_name: str, max_rows: Optional[int], seed: int) -> Table:
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    _refuse_non_csv_bytes(raw)
    _arrow_uses_the_system_allocator()
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
            f"Most rows ({skipped_lines} of {skipped_lines + len(frame)}) have more fields than the header, so they cannot be read: "
            f"put quotes around texts that contain the delimiter ({DELIMITER_NAMES[delimiter]}) or fix the header row."
        )
    if frame.empty:
        raise DataError("The file has a header row but no data rows: add one example per row below the header.")
    sampled = rows_in_file if max_rows is not None and rows_in_file > max_rows else None
    table = Table(frame, source_name=source_name, encoding=decoded.encoding, delimiter=delimiter, skipped_lines=skipped_lines,
                  encoding_confidence=decoded.confidence, encoding_note=decoded.note, sampled_from_rows=sampled)
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


def stratified_indices(codes: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a sample of ``rows`` rows in which each code keeps its share (largest remainders)."""
    codes = np.asarray(codes)
    counts = np.bincount(codes)
    present = np.flatnonzero(counts)
    if rows >= len(codes):
        return np.arange(len(codes))
    quota = counts * (rows / len(codes))
    take = np.floor(quota).astype(np.int64)
    take[present] = np.maximum(take[present], 1)  # every class keeps at least one row
    shortfall = rows - int(take.sum())
    if shortfall > 0:  # hand the rows lost to rounding to the largest remainders
        room = counts - take
        order = np.argsort(-(quota - np.floor(quota)), kind="stable")
        for code in order:
            if shortfall == 0:
                break
            extra = min(int(room[code]), shortfall)
            take[code] += extra
            shortfall -= extra
    elif shortfall < 0:  # more classes than rows allow: trim the largest classes first
        for code in np.argsort(-take, kind="stable"):
            spare = min(int(take[code]) - 1, -shortfall)
            take[code] -= spare
            shortfall += spare
            if shortfall == 0:
                break
    chosen = [rng.choice(np.flatnonzero(codes == code), size=int(take[code]), replace=False) for code in present if take[code]]
    return np.sort(np.concatenate(chosen))


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


# ------------------------------------------------------------------------------------------------ encodings

ENCODING_UNCERTAIN_BELOW = 0.8  # a guessed encoding less sure than this is flagged for the user to check

_DETECTION_SAMPLE_BYTES = 1 << 20  # the detector reads up to this much of the lines that hold non-ASCII bytes
_DETECTION_STEPS, _DETECTION_CHUNK = 20, 2048  # 20 chunks of 2 KB (its default, 5 x 512 B, is too thin)
_CHAOS_TIE = 0.01  # chaos differences below this are noise: the Western European code page wins such a tie
_CHAOS_SCALE = 0.01  # candidates' weights fall by e for each 0.01 of extra chaos (see _confidence)
_WESTERN = ("cp1252", "latin_1")  # the legacy encodings of Western European text, in order of preference
_MAX_REPLACED_SHARE = 0.001  # a detected encoding may replace this share of a file's bytes it cannot read
_VALIDATION_CHUNK = 1 << 20


@dataclass(frozen=True)
class Decoded:
    """A file's content as UTF-8 bytes, the encoding it was read with and how sure that is."""

    body: bytes  # the input itself when it already was UTF-8 (a UTF-8 byte-order mark stays: the parser skips it)
    encoding: str  # Python codec name ("utf-8", "cp1251", ...)
    confidence: Optional[float]  # None: certain (byte-order mark, valid UTF-8); otherwise in [0, 1]
    note: str  # for people: "windows-1251 (detected, confidence 0.97)"


def decode_bytes(raw: bytes) -> Decoded:
    """Byte-order mark, then UTF-16 without one, then strict UTF-8; anything else is detected (see module doc)."""
    for bom, codec, label in _BOMS:
        if raw.startswith(bom):
            if codec == "utf-8-sig":
                _validate_utf8(raw, label)
                return Decoded(raw, codec, None, "UTF-8 with a byte-order mark")
            return Decoded(_decode_strictly(raw, codec, label).encode("utf-8"), codec, None,
                           f"{label} with a byte-order mark")
    utf16_codec = _utf16_without_bom(raw)
    if utf16_codec:
        return Decoded(_decode_strictly(raw, utf16_codec, "UTF-16").encode("utf-8"), utf16_codec, None,
                       "UTF-16 without a byte-order mark")
    if b"\x00" in raw:
        raise DataError("This file holds binary data (NUL bytes), not CSV text: export the table as a CSV file and upload that.")
    if _is_utf8(raw):
        return Decoded(raw, "utf-8", None, "UTF-8")
    return _detected(raw)


def encoding_label(codec: str) -> str:
    """A codec name as people know it: "cp1251" -> "windows-1251", "iso8859-5" -> "ISO-8859-5"."""
    name = codecs.lookup(codec).name
    if re.fullmatch(r"cp125\d", name):
        return "windows-" + name[2:]
    if name.startswith("iso8859-"):
        return "ISO-" + name[3:].upper()
    return _LABELS.get(name, name)


_LABELS = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16",
    "utf-32": "UTF-32", "koi8-r": "KOI8-R", "koi8-u": "KOI8-U", "cp932": "Shift-JIS (cp932)", "shift_jis": "Shift-JIS",
    "euc_jp": "EUC-JP", "euc_jis_2004": "EUC-JP", "gb18030": "GB18030 (GBK)", "gbk": "GBK", "gb2312": "GB2312",
    "big5": "Big5", "big5hkscs": "Big5-HKSCS", "cp949": "EUC-KR (cp949)", "euc_kr": "EUC-KR", "mac-cyrillic": "Mac Cyrillic",
}


def _detected(raw: bytes) -> Decoded:
    """The encoding charset-normalizer finds best, except that Western European wins a tie; then the full decode.

    The detector's best guess is often a Central European or Baltic code page for French or German text (same
    letters, same score), and those decode "è" as "č": cp1252 (or latin-1) is kept whenever it scores as well.
    """
    from charset_normalizer import from_bytes  # loaded only for files that are not UTF-8

    sample = _non_ascii_lines(raw)
    found = list(from_bytes(sample, steps=_DETECTION_STEPS, chunk_size=_DETECTION_CHUNK))
    found = [match for match in found if codecs.lookup(match.encoding).name not in ("utf-8", "ascii")]
    western = list(from_bytes(sample, steps=_DETECTION_STEPS, chunk_size=_DETECTION_CHUNK, cp_isolation=list(_WESTERN)))
    best_chaos = min((match.chaos for match in found), default=math.inf)
    ordered = sorted(western, key=lambda match: _WESTERN.index(match.encoding))
    chosen = next((match for match in ordered if match.chaos <= best_chaos + _CHAOS_TIE), None)
    if chosen is None and found:
        chosen = min(found, key=lambda match: match.chaos)  # ties keep the detector's order
    if chosen is not None:
        candidates = found + western
        # The sample fitted the chosen encoding; the rest of the file may not. Then an encoding that read the
        # sample as cleanly, else the chosen one with the few bytes it cannot read replaced.
        rivals = [chosen] + [match for match in candidates if match.chaos <= chosen.chaos + _CHAOS_TIE and match is not chosen]
        for match in rivals:
            codec = _codec_name(match.encoding)
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                continue
            confidence = _confidence(match, candidates)
            return Decoded(text.encode("utf-8"), codec, confidence, _note(codec, confidence, match, candidates))
        codec = _codec_name(chosen.encoding)
        text = raw.decode(codec, "replace")
        replaced = text.count("\ufffd")
        if replaced <= _MAX_REPLACED_SHARE * len(raw):
            confidence = _confidence(chosen, candidates)
            note = _note(codec, confidence, chosen, candidates)
            return Decoded(text.encode("utf-8"), codec, confidence,
                           f"{note[:-1]}; {replaced:,} unreadable byte{'s' if replaced > 1 else ''} replaced by \ufffd)")
    try:  # nothing fits well: the old Western default, flagged as a guess
        text, codec = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, codec = raw.decode("latin-1"), "latin-1"  # every byte is a latin-1 character: never fails
    return Decoded(text.encode("utf-8"), codec, 0.0, f"{encoding_label(codec)} (a guess: no encoding fits these bytes well)")


def _codec_name(detected: str) -> str:
    name = codecs.lookup(detected).name
    return "latin-1" if name == "iso8859-1" else name


def _confidence(chosen, candidates) -> float:
    """How much the detector's evidence favours the chosen decoding over the others, times how clean it reads.

    Candidates that decode the sample to the same text are one reading (cp1252 and latin-1 agree on most files);
    each distinct reading weighs exp(-chaos / 0.01), so a rival that reads as cleanly halves the confidence and
    one with 0.05 more chaos barely counts. The result is that share times (1 - chaos) of the chosen reading.
    """
    readings: dict[str, float] = {}
    for match in candidates:
        text = str(match)
        readings[text] = min(readings.get(text, math.inf), match.chaos)
    chosen_text = str(chosen)
    lowest = min(readings.values())
    weights = {text: math.exp(-(chaos - lowest) / _CHAOS_SCALE) for text, chaos in readings.items()}
    share = weights[chosen_text] / sum(weights.values())
    return round(share * (1.0 - readings[chosen_text]), 2)


def _note(codec: str, confidence: float, chosen, candidates) -> str:
    label = encoding_label(codec)
    rivals: list[str] = []
    for match in sorted(candidates, key=lambda match: not match.encoding.startswith("cp125")):  # common ones first
        rival = encoding_label(match.encoding)
        if rival != label and rival not in rivals and str(match) != str(chosen) and match.chaos <= chosen.chaos + _CHAOS_TIE:
            rivals.append(rival)
    if codec in ("cp1252", "latin-1") and rivals:
        return (f"{label} (assumed for Western European text, confidence {confidence:.2f}: the bytes fit "
                f"{', '.join(rivals[:3])} as well)")
    if confidence < ENCODING_UNCERTAIN_BELOW:
        return f"{label} (detected, confidence {confidence:.2f}: uncertain)"
    return f"{label} (detected, confidence {confidence:.2f})"


def _non_ascii_lines(raw: bytes) -> bytes:
    """Up to 1 MiB of the lines that hold non-ASCII bytes, whole: only they tell one encoding from another."""
    parts: list[bytes] = []
    size = 0
    position = 0
    non_ascii = re.compile(rb"[\x80-\xff]")
    while size < _DETECTION_SAMPLE_BYTES:
        found = non_ascii.search(raw, position)
        if found is None:
            break
        start = raw.rfind(b"\n", 0, found.start()) + 1
        end = raw.find(b"\n", found.end())
        end = len(raw) if end < 0 else end + 1
        parts.append(raw[start:end])
        size += end - start
        position = end
    sample = b"".join(parts)
    if len(sample) > _DETECTION_SAMPLE_BYTES:  # one huge line: cut it, at a space so no character is split
        cut = sample.rfind(b" ", 0, _DETECTION_SAMPLE_BYTES)
        sample = sample[: cut if cut > 0 else _DETECTION_SAMPLE_BYTES]
    return sample


def _is_utf8(raw: bytes) -> bool:
    """Strict UTF-8, checked a megabyte at a time so that no decoded copy of the whole file is made."""
    if raw.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    try:
        for start in range(0, len(raw), _VALIDATION_CHUNK):
            decoder.decode(view[start : start + _VALIDATION_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _validate_utf8(raw: bytes, label: str) -> None:
    if not _is_utf8(raw):
        raise DataError(
            f"The file looks like {label} text but is damaged or mixed with another encoding: re-save it as a UTF-8 CSV and upload that."
        )


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
        raise DataError("This looks like a JSON file, not a CSV: convert it to a CSV with one example per row and upload that.")


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
        raise DataError("The file is empty: upload a CSV with a header row, a text column and a label column.") from None


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



# --------------------------------------------------------------------------------------------------- memory

MB = 1 << 20
# What an inspect (read, build the dataset, preprocess, triage, capped TF-IDF baseline) adds to the process beyond
# the libraries it already holds when the file is read. Measured with `bench/scale.py --inspect` (1,000,000 FAA-like
# rows, an 83 MiB CSV; 100,000 rows for the fixed part):
# - from a path (the CLI): the bytes, then ~4.3x the file while the dataset, the duplicate count and the baseline's
#   texts live, plus ~220 MiB that does not grow with the file (scikit-learn loading, the baseline fit on at most
#   100,000 rows): 689 MiB peak, 8.3x the file;
# - bytes held by the caller together with the table, the dataset and every preprocessed text (the dashboard):
#   5.6x the file on top of the bytes, plus the same fixed part: 877 MiB peak.
# The constants round those up.
MEMORY_FIXED_BYTES = 250 * MB
MEMORY_PER_FILE_BYTE = 4.5  # reading from a path, the file's own bytes included
MEMORY_PER_FILE_BYTE_HELD = 6.0  # bytes already in memory and kept, with everything built from them
_ROW_ESTIMATE_BYTES = 1 << 20  # the head read to estimate how many rows a file has
_MEMINFO = "/proc/meminfo"
_CGROUP = "/sys/fs/cgroup"


def estimated_memory_bytes(num_bytes: int, *, fraction: float = 1.0, held: bool = False) -> int:
    """Memory an inspect of a CSV of ``num_bytes`` bytes needs beyond what the process holds now.

    ``fraction`` is the share of rows kept (a sample): the file is still read whole, once. ``held`` says that
    its bytes are in memory already and stay there, with the table and the texts built from them.
    """
    fraction = min(max(fraction, 0.0), 1.0)
    if held:
        return int(MEMORY_FIXED_BYTES + MEMORY_PER_FILE_BYTE_HELD * num_bytes * fraction)
    return int(MEMORY_FIXED_BYTES + num_bytes + (MEMORY_PER_FILE_BYTE - 1.0) * num_bytes * fraction)


def available_memory_bytes(*, meminfo: str = _MEMINFO, cgroup: str = _CGROUP) -> Optional[int]:
    """What the process may still allocate: the smaller of MemAvailable and its cgroup's limit minus its usage.

    None when neither can be read (not Linux): the memory check then lets everything through.
    """
    limits: list[int] = []
    try:
        with open(meminfo, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("memory.max", "memory.current"),  # cgroup v2
                                   ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):  # v1
        limit, usage = _read_number(os.path.join(cgroup, limit_file)), _read_number(os.path.join(cgroup, usage_file))
        if limit is not None and limit < 1 << 60:  # v1 writes "no limit" as a huge number, v2 as "max"
            limits.append(max(limit - (usage or 0), 0))
    return min(limits) if limits else None


def _read_number(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def memory_check(
    num_bytes: int,
    *,
    rows: Optional[int] = None,
    max_rows: Optional[int] = None,
    name: str = "The file",
    held: bool = False,
    available: Optional[int] = None,
) -> Optional[str]:
    """None when inspecting a CSV of ``num_bytes`` bytes fits in the free memory; otherwise the one sentence
    that says so, how much it needs, how much is free and what to do (the largest sample that fits).

    ``rows`` is the file's estimated data rows, ``max_rows`` a sample size asked for, ``held`` that the bytes
    are in memory already (see :func:`estimated_memory_bytes`), ``available`` the free memory (default:
    :func:`available_memory_bytes`).
    """
    problem = _memory_problem(num_bytes, rows=rows, max_rows=max_rows, name=name, held=held, available=available)
    return problem[0] if problem else None


def refuse_if_too_big(num_bytes: int, **kwargs) -> None:
    """Raise :class:`core.errors.TooBigError` (with the largest sample that fits) when :func:`memory_check` would
    refuse; same arguments."""
    problem = _memory_problem(num_bytes, **kwargs)
    if problem:
        raise TooBigError(*problem)


def _memory_problem(num_bytes: int, *, rows: Optional[int] = None, max_rows: Optional[int] = None,
                    name: str = "The file", held: bool = False,
                    available: Optional[int] = None) -> Optional[tuple[str, int]]:
    """(sentence, rows of the largest sample that fits or 0) when the data does not fit, else None."""
    available = available_memory_bytes() if available is None else available
    if available is None:
        return None
    rows = max(rows or 1, 1)
    fraction = 1.0 if max_rows is None else min(max_rows / rows, 1.0)
    need = estimated_memory_bytes(num_bytes, fraction=fraction, held=held)
    if need <= available:
        return None
    size = f"{_shown(name, limit=60)} ({_size(num_bytes)}, about {_round_down(rows):,} rows)"
    spare = available - estimated_memory_bytes(num_bytes, fraction=0.0, held=held)
    per_row = (estimated_memory_bytes(num_bytes, held=held) - estimated_memory_bytes(num_bytes, fraction=0.0, held=held)) / rows
    fitting = _round_down(int(spare / per_row * 0.9)) if spare > 0 else 0  # 10% margin: the model is an estimate
    if fitting < 1000:
        return (f"Inspecting {size} needs about {_size(need)} of memory but only {_size(available)} is free, "
                "too little even for a sample: close other programs or use a machine with more memory."), 0
    return (f"Inspecting {size} needs about {_size(need)} of memory but only {_size(available)} is free: "
            f"use a random sample of at most {fitting:,} rows (--sample {fitting} on the command line, or the "
            "sample button in the app)."), fitting


def _estimated_rows(head: bytes, num_bytes: int) -> int:
    """Data rows in a file, from the line length in its first megabyte."""
    lines = head.count(b"\n")
    if not head or lines == 0:
        return 1
    if len(head) >= num_bytes:
        return max(lines - 1 + (not head.endswith(b"\n")), 1)
    return max(int(num_bytes * lines / len(head)) - 1, 1)


def _round_down(number: int) -> int:
    """Two significant digits, rounded down: 183,456 -> 180,000."""
    if number < 100:
        return max(number, 0)
    scale = 10 ** (len(str(number)) - 2)
    return number // scale * scale


def _size(num_bytes: float) -> str:
    if num_bytes >= 1 << 30:
        return f"{num_bytes / (1 << 30):.1f} GB"
    return f"{max(num_bytes / MB, 0.1):.0f} MB" if num_bytes >= MB else f"{num_bytes / 1024:.0f} KB"


def release_free_memory() -> None:
    """Hand memory that was freed back to the system, so the next stage starts from a lower resident size.

    Arrow's pool and glibc's heap both keep freed blocks for reuse; after parsing a big file that is hundreds of
    megabytes the rest of the process (Python objects, NumPy arrays) cannot use. Cheap when there is nothing to give.
    """
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None on other C libraries."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


@functools.cache
def _arrow_uses_the_system_allocator() -> None:
    """pandas stores strings in Arrow arrays; Arrow's own allocator (mimalloc) keeps what a parse frees, which
    measured +100-190 MB on a 1M-row file. The system allocator returns it (see release_free_memory)."""
    try:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    except (ImportError, AttributeError):
        pass
