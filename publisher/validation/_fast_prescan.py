"""One streaming pass over the file's bytes: hashes, and the rows DuckDB skips.

DuckDB's CSV reader drops empty lines; Python's csv module (which frictionless
uses) yields them as rows with no cells, and frictionless reports each as a
``blank-row`` and counts it in row numbers. The byte pass counts line feeds:
when they match the rows DuckDB read, there is no empty line (and no line
break inside a cell). Otherwise a csv-module pass locates the empty rows
exactly (an empty line inside a quoted cell is not a row).
"""

from __future__ import annotations

import bisect
import builtins
import csv
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

_CHUNK = 8 << 20
_FIRST_LINE = 1 << 20


@dataclass
class Prescan:
    """What the byte pass found."""

    md5: str
    sha256: str
    size: int
    line_feeds: int
    ends_with_line_feed: bool
    starts_empty: bool
    first_line: builtins.bytes


@dataclass
class RowMap:
    """Maps DuckDB's row numbers (empty lines skipped) to frictionless's."""

    empty_rows: list[int] = field(default_factory=list)  # frictionless row numbers, sorted
    _shifted: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._shifted = [number - index for index, number in enumerate(self.empty_rows)]

    def to_frictionless(self, duckdb_row: int) -> int:
        return duckdb_row + bisect.bisect_right(self._shifted, duckdb_row)


def prescan(path: Path, *, hashes: bool, stop: threading.Event | None = None) -> Prescan:
    """Hash the file and count its line feeds, in one bounded-memory pass (cut short once ``stop`` is set)."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    total, line_feeds, last, first = 0, 0, b"", b""
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            if stop is not None and stop.is_set():
                break
            if hashes:
                md5.update(chunk)
                sha256.update(chunk)
            if not first:
                first = chunk[:_FIRST_LINE].split(b"\n", 1)[0]
            line_feeds += chunk.count(b"\n")
            last = chunk[-1:]
            total += len(chunk)
    return Prescan(
        md5=md5.hexdigest() if hashes else "",
        sha256=sha256.hexdigest() if hashes else "",
        size=total,
        line_feeds=line_feeds,
        ends_with_line_feed=last == b"\n",
        starts_empty=first in (b"", b"\r"),
        first_line=first,
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
