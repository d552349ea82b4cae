"""Which encoding a file is in, and how sure that is.

A byte-order mark, UTF-16 without one and strict UTF-8 are certain; anything else is *detected* with
charset-normalizer on the lines that hold non-ASCII bytes (:func:`decode_bytes`), and :class:`Decoded` says how
sure that was, in words for people (:func:`encoding_label`).
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass
from typing import Optional

from core.errors import DataError

# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE mark).
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


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
        raise DataError("This file holds binary data (NUL bytes), not CSV text: "
                        "export the table as a CSV file and upload that.")
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
    "big5": "Big5", "big5hkscs": "Big5-HKSCS", "cp949": "EUC-KR (cp949)", "euc_kr": "EUC-KR",
    "mac-cyrillic": "Mac Cyrillic",
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
        rivals = [chosen] + [match for match in candidates
                             if match.chaos <= chosen.chaos + _CHAOS_TIE and match is not chosen]
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
                           f"{note[:-1]}; {replaced:,} unreadable byte{'s' if replaced > 1 else ''} "
                           "replaced by \ufffd)")
    try:  # nothing fits well: the old Western default, flagged as a guess
        text, codec = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, codec = raw.decode("latin-1"), "latin-1"  # every byte is a latin-1 character: never fails
    return Decoded(text.encode("utf-8"), codec, 0.0,
                   f"{encoding_label(codec)} (a guess: no encoding fits these bytes well)")


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
        if (rival != label and rival not in rivals and str(match) != str(chosen)
                and match.chaos <= chosen.chaos + _CHAOS_TIE):
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
            f"The file looks like {label} text but is damaged or mixed with another encoding: "
            "re-save it as a UTF-8 CSV and upload that."
        )


def _decode_strictly(raw: bytes, codec: str, label: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise DataError(
            f"The file looks like {label} text but is damaged or mixed with another encoding: "
            "re-save it as a UTF-8 CSV and upload that."
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
