"""Deciding the text encoding of a staged file, the way Argentine files come.

Detectors guess wrong on real Argentine files (big5, iso8859-3), so the order
is fixed and explainable:

1. a UTF-16 BOM -> utf-16; otherwise strict UTF-8 over the WHOLE file (a lone
   ``á`` near the end must not be missed) -> ``utf-8`` or ``utf-8-sig``;
2. NUL bytes or many control characters -> not text: ``DescribeError``;
3. otherwise a single-byte Latin encoding: ``cp1252`` when bytes 0x80-0x9F
   appear and are all defined in cp1252 (curly quotes, en dash, euro),
   else ``iso-8859-1``; the decoded text must look like Spanish (its
   non-ASCII characters are mostly letters such as ``áéíóúñü``), and
   charset-normalizer is asked only when it does not.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import DescribeError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# Bytes 0x80-0x9F that cp1252 leaves undefined.
_CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
_C1 = frozenset(range(0x80, 0xA0))
# Control bytes that never occur in text (tab, LF, CR, FF are fine).
_CONTROL = frozenset(range(0x00, 0x09)) | {0x0B, 0x0E, 0x0F} | frozenset(range(0x10, 0x20)) - {0x1A}
_UTF8_SEQUENCE_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_SPANISH_SYMBOLS = set("ºª°¿¡·«»´²³¹½¼¾€£¥§©®±×÷µ¶¨¬¯¸\u00a0–—‘’“”•…")


@dataclass(frozen=True)
class EncodingGuess:
    encoding: str  # a Python codec name: utf-8, utf-8-sig, cp1252, iso-8859-1, utf-16
    how: str  # why: "valid UTF-8", "bytes 0x80-0x9F as cp1252", ...


def detect_encoding(path: Path) -> EncodingGuess:
    """The encoding of ``path``; raises DescribeError when it is not text."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return EncodingGuess("utf-16", "UTF-16 byte order mark")
    utf8_error = _utf8_error(path)
    if utf8_error is None:
        bom = head[:3] == codecs.BOM_UTF8
        return EncodingGuess("utf-8-sig" if bom else "utf-8", "valid UTF-8")
    counts, in_utf8 = _byte_counts(path)
    _reject_binary(path, counts, utf8_error)
    _reject_broken_utf8(path, counts, in_utf8, utf8_error)
    return _single_byte(path, counts, utf8_error)


def _utf8_error(path: Path) -> UnicodeDecodeError | None:
    """None when the whole file is strict UTF-8; streams in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                return error
            if not chunk:
                return None


def _byte_counts(path: Path) -> tuple[list[int], int]:
    """Occurrences of every byte value, and how many high bytes form UTF-8 sequences."""
    counts = [0] * 256
    in_utf8_sequences = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            for byte in set(chunk):
                counts[byte] += chunk.count(byte)
            in_utf8_sequences += sum(len(m) for m in _UTF8_SEQUENCE_RE.findall(chunk))
    return counts, in_utf8_sequences


def _reject_broken_utf8(path: Path, counts: list[int], in_utf8: int, error: UnicodeDecodeError) -> None:
    """Mostly valid UTF-8 with a few bad bytes: decoding as Latin-1 would garble every accent."""
    high = sum(counts[0x80:])
    if high >= 4 and in_utf8 / high > 0.8:
        raise DescribeError(
            f"cannot decode {path.name} as text: it is UTF-8 with invalid bytes ({error.reason} at byte {error.start})",
            hint="the file was damaged or mixes encodings; fix the export or set read.encoding",
        )


def _reject_binary(path: Path, counts: list[int], utf8_error: UnicodeDecodeError) -> None:
    total = sum(counts) or 1
    if counts[0]:
        raise DescribeError(
            f"cannot decode {path.name} as text: it contains NUL bytes (binary data, not a CSV?)",
            hint="check that the source really serves a text table",
        )
    controls = sum(counts[b] for b in _CONTROL)
    if controls / total > 0.01:
        raise DescribeError(
            f"cannot decode {path.name} as text: {controls} control bytes (binary data, not a CSV?)",
            hint="check that the source really serves a text table",
        )


def _single_byte(path: Path, counts: list[int], utf8_error: UnicodeDecodeError) -> EncodingGuess:
    c1 = {b for b in _C1 if counts[b]}
    if c1 and not c1 & _CP1252_UNDEFINED:
        guess = EncodingGuess("cp1252", "not UTF-8; bytes 0x80-0x9F decode as cp1252")
    elif c1:
        guess = EncodingGuess("iso-8859-1", "not UTF-8; undefined cp1252 bytes")
    else:
        guess = EncodingGuess("iso-8859-1", "not UTF-8; Latin-1 text")
    if looks_spanish(_non_ascii_chars(counts, guess.encoding)):
        return guess
    fallback = _charset_normalizer_guess(path)
    if fallback is not None:
        return fallback
    raise DescribeError(
        f"cannot decode {path.name} as text: not UTF-8 ({utf8_error.reason} at byte "
        f"{utf8_error.start}) and not Windows-1252/ISO-8859-1 Spanish text",
        hint="ask the source for a UTF-8 export or set read.encoding",
    )


def _non_ascii_chars(counts: list[int], encoding: str) -> dict[str, int]:
    chars: dict[str, int] = {}
    for byte in range(0x80, 0x100):
        if counts[byte]:
            char = bytes([byte]).decode(encoding, errors="replace")
            chars[char] = chars.get(char, 0) + counts[byte]
    return chars


def looks_spanish(chars: dict[str, int]) -> bool:
    """True when most non-ASCII characters are letters or usual symbols."""
    total = sum(chars.values())
    if total == 0:
        return True
    good = sum(n for c, n in chars.items() if c.isalpha() or c in _SPANISH_SYMBOLS)
    return good / total >= 0.8


def _charset_normalizer_guess(path: Path) -> EncodingGuess | None:
    from charset_normalizer import from_path

    best = from_path(path).best()
    if best is None or best.encoding in ("utf_8", "ascii"):
        return None
    text = str(best)
    chars: dict[str, int] = {}
    for char in text:
        if ord(char) > 0x7F:
            chars[char] = chars.get(char, 0) + 1
    if not looks_spanish(chars):
        return None
    log.debug("charset-normalizer suggests %s for %s", best.encoding, path.name)
    return EncodingGuess(best.encoding, "charset-normalizer tie-break")
