"""One streaming pass over the file's bytes: hashes, and the rows DuckDB skips.

DuckDB's CSV reader drops empty lines; Python's csv module (which frictionless
uses) yields them as rows with no cells, and frictionless reports each as a
``blank-row`` and counts it in row numbers. The byte pass looks for an empty
line (``\\n\\n``, ``\\r\\r``, ``\\n\\r\\n``); only when it finds one does a
csv-module pass locate the empty rows exactly (an empty line inside a quoted
cell is not a row).
"""

from __future__ import annotations

import bisect
import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

_CHUNK = 8 << 20
_EMPTY_LINE_MARKS = (b"\n\n", b"\r\r", b"\n\r\n")


@dataclass
class Prescan:
    """What the byte pass found."""

    md5: str
    sha256: str
    bytes: int
    maybe_empty_rows: bool
    starts_empty: bool


@dataclass
class RowMap:
    """Maps DuckDB's row numbers (empty lines skipped) to frictionless's."""

    empty_rows: list[int] = field(default_factory=list)  # frictionless row numbers, sorted
    _shifted: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._shifted = [number - index for index, number in enumerate(self.empty_rows)]

    def to_frictionless(self, duckdb_row: int) -> int:
        return duckdb_row + bisect.bisect_right(self._shifted, duckdb_row)


def prescan(path: Path, *, hashes: bool) -> Prescan:
    """Hash the file and look for empty lines, in one bounded-memory pass."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    total, found, tail, first = 0, False, b"", b""
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            if hashes:
                md5.update(chunk)
                sha256.update(chunk)
            if not first:
                first = chunk[:1]
            window = tail + chunk
            found = found or any(mark in window for mark in _EMPTY_LINE_MARKS)
            tail = chunk[-2:]
            total += len(chunk)
    return Prescan(
        md5=md5.hexdigest() if hashes else "",
        sha256=sha256.hexdigest() if hashes else "",
        bytes=total,
        maybe_empty_rows=found,
        starts_empty=first in (b"\n", b"\r"),
    )


def locate_empty_rows(path: Path, *, encoding: str, delimiter: str, quote_char: str) -> tuple[list[int], int]:
    """Row numbers (1-based, header included) of the rows with no cells, and the row count."""
    empty: list[int] = []
    count = 0
    with path.open(encoding=encoding, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter, quotechar=quote_char)
        for count, row in enumerate(reader, start=1):
            if not row:
                empty.append(count)
    return empty, count
