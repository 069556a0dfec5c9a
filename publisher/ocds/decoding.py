"""Bytes -> UTF-8 JSON text, never silently garbled.

JSON must be UTF-8 (RFC 8259), but real OCDS exports are sometimes Latin-1 or
Windows-1252 (Mexico City's SEFIN package is ISO-8859-1). The input is checked
as UTF-8 in chunks; on the first invalid byte the encoding is detected:

- a single-byte Western encoding (cp1252, Latin-1) is chosen when the
  detector allows it, since that is what Spanish-language systems produce;
- a file that is valid UTF-8 in places and not in others (mixed encodings)
  is refused, because any single decoding would garble one of the parts;
- anything the detector cannot tell is refused with the byte offset.

A decoded file is rewritten as UTF-8 beside the work folder, and a
``encoding_not_utf8`` finding records the offset and the chosen encoding.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import OcdsError
from publisher.ocds.findings import Finding

CHUNK_BYTES = 1 << 20
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_UTF8_MULTIBYTE_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
# What UTF-8 text looks like after a wrong single-byte decoding: "Ã³", "Ã±", "Ã‰"
_MOJIBAKE_RE = re.compile("[\u00c2\u00c3][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e]")


@dataclass(frozen=True)
class Decoded:
    """A UTF-8 version of an input file and what was done to get it."""

    path: Path  # UTF-8 without BOM (the input itself when it already was)
    encoding: str  # the input's encoding
    finding: Finding | None = None


def to_utf8(source: Path, scratch_dir: Path, *, label: str, encoding: str | None = None) -> Decoded:
    """A UTF-8 copy of ``source`` (or ``source`` itself); raises OcdsError when undecidable."""
    if encoding is not None:
        return _transcode(source, scratch_dir, encoding, label=label, finding=None)
    bom = _bom_encoding(source)
    if bom is not None:
        if bom == "utf-8-sig":
            return _transcode(source, scratch_dir, bom, label=label, finding=None)
        return _transcode(source, scratch_dir, bom, label=label,
                          finding=Finding("encoding_not_utf8", "warning", label,
                                          f"the file is {bom.upper()} (with a byte order mark); JSON must be "
                                          "UTF-8: it was converted"))
    bad_offset = first_invalid_utf8(source)
    if bad_offset is None:
        return Decoded(path=source, encoding="utf-8")
    chosen = detect_single_byte_encoding(source, bad_offset, label=label)
    bad_byte = _byte_at(source, bad_offset)
    message = (f"not UTF-8: byte 0x{bad_byte:02X} at offset {bad_offset} is invalid; decoded as {chosen} "
               "(JSON must be UTF-8: ask the publisher to fix the export)")
    return _transcode(source, scratch_dir, chosen, label=label,
                      finding=Finding("encoding_not_utf8", "warning", label, message))


def first_invalid_utf8(source: Path) -> int | None:
    """The offset of the first byte that is not valid UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with source.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                return offset - pending + e.start
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset - len(decoder.getstate()[0])
    return None


def detect_single_byte_encoding(source: Path, bad_offset: int, *, label: str) -> str:
    """cp1252 / Latin-1 when the detector allows it; OcdsError for mixed or unknown encodings."""
    from charset_normalizer import from_bytes

    sample = _sample_around(source, bad_offset)
    if _has_valid_multibyte_utf8(source):
        raise OcdsError(
            f"{label}: mixed encodings: the file holds valid UTF-8 text and also bytes that are not UTF-8 "
            f"(the first at byte {bad_offset}); no single decoding is right",
            hint="ask the publisher for a UTF-8 export",
        )
    best = from_bytes(sample).best()
    candidates = set(best.could_be_from_charset) if best is not None else set()
    for name in _WESTERN:
        if name in candidates and _decodes_cleanly(source, name):
            return name
    if best is not None and best.chaos < 0.1 and _decodes_cleanly(source, best.encoding):
        return best.encoding
    raise OcdsError(
        f"{label}: not UTF-8 (invalid byte at offset {bad_offset}) and the encoding cannot be told apart",
        hint='set source.encoding (e.g. "cp1252") or ask the publisher for a UTF-8 export',
    )


def _bom_encoding(source: Path) -> str | None:
    with source.open("rb") as stream:
        head = stream.read(4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def _byte_at(source: Path, offset: int) -> int:
    with source.open("rb") as stream:
        stream.seek(offset)
        data = stream.read(1)
    return data[0] if data else 0


def _sample_around(source: Path, offset: int, size: int = 256 * 1024) -> bytes:
    with source.open("rb") as stream:
        stream.seek(max(0, offset - size // 2))
        return stream.read(size)


def _has_valid_multibyte_utf8(source: Path) -> bool:
    """True when the file holds real UTF-8 multi-byte sequences (then a stray byte means mixed encodings).

    In Latin-1 or cp1252 text such byte pairs would read as "Ã±" or "Ã³": they do not occur in
    real Spanish or Portuguese text.
    """
    tail = b""
    with source.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            if _UTF8_MULTIBYTE_RE.search(tail + chunk):
                return True
            tail = chunk[-3:]
    return False


def _decodes_cleanly(source: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with source.open("rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                text = decoder.decode(chunk)
                if _MOJIBAKE_RE.search(text):
                    return False
            decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _transcode(source: Path, scratch_dir: Path, encoding: str, *, label: str,
               finding: Finding | None) -> Decoded:
    scratch_dir.mkdir(parents=True, exist_ok=True)
    target = scratch_dir / f"{source.stem}.utf8.json"
    try:
        with source.open("r", encoding=encoding, errors="strict", newline="") as reader, \
                target.open("w", encoding="utf-8", newline="") as writer:
            first = True
            while chunk := reader.read(CHUNK_BYTES):
                writer.write(chunk.removeprefix("\ufeff") if first else chunk)  # a BOM is not JSON
                first = False
    except LookupError:
        raise OcdsError(f"{label}: unknown encoding {encoding!r}",
                        hint="use a Python codec name such as cp1252") from None
    except UnicodeDecodeError as e:
        raise OcdsError(f"{label}: cannot decode as {encoding} ({e.reason} at byte {e.start} of a chunk)",
                        hint="check source.encoding") from None
    return Decoded(path=target, encoding=encoding, finding=finding)
