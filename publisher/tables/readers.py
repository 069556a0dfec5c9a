"""Opening a staged file as a header plus rows of text cells, whatever its format.

Every reader returns a ``RawTable``: the header labels as found, a callable
that yields the data rows (lists of ``str``; it can be called once per pass,
so CSV and NDJSON stream from disk), and what was learned about the file
(encoding, dialect, header row, notes). Typed cells from spreadsheets and JSON
are turned into canonical text (``2017-01-31``, ``1234``, ``0.5``, ``true``)
so that one set of inference rules serves every format.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.errors import DescribeError
from publisher.sources._formats import format_from_name
from publisher.sources.base import FORMATS, ReadOptions
from publisher.tables.dialect import read_sample, sniff_dialect
from publisher.tables.encoding import detect_encoding

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

Rows = Callable[[], Iterator[list[str]]]
HEADER_SCAN_ROWS = 50


@dataclass
class RawTable:
    """A file opened as a table (see module docstring)."""

    format: str
    labels: list[str]
    rows: Rows
    encoding: str | None = None
    header_row: int = 1  # 1-based row number of the header in the file/sheet
    dialect: dict[str, Any] = field(default_factory=dict)  # DescribedTable.source_dialect
    frictionless_dialect: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra_files: tuple[Path, ...] = ()
    # Types the format itself fixes (the GeoJSON geometry column), by label.
    column_types: dict[str, str] = field(default_factory=dict)


def detect_format(path: Path, read: ReadOptions) -> str:
    if read.format is not None:
        return read.format
    table_format = format_from_name(path.name)
    if table_format is not None:
        return table_format
    raise DescribeError(
        f"cannot tell the format of {path.name} from its name",
        hint=f"set format to one of: {', '.join(FORMATS)}",
    )


def open_table(path: Path, read: ReadOptions) -> RawTable:
    """Open ``path`` as a table; raises DescribeError with one precise line."""
    if not path.is_file():
        raise DescribeError(f"{path.name}: file not found")
    if path.stat().st_size == 0:
        raise DescribeError(f"{path.name} is empty (0 bytes)", hint="check the source export")
    fmt = detect_format(path, read)
    if fmt in ("csv", "tsv"):
        return _open_delimited(path, read, fmt)
    if fmt in ("xlsx", "xls", "ods"):
        from publisher.tables.spreadsheet import open_spreadsheet

        return open_spreadsheet(path, read, fmt)
    from publisher.tables.jsonfiles import open_json

    return open_json(path, read, fmt)


# --- delimited text ---------------------------------------------------------


def _open_delimited(path: Path, read: ReadOptions, fmt: str) -> RawTable:
    if read.encoding is not None:
        encoding = read.encoding
        _check_decodes(path, encoding)
    else:
        encoding = detect_encoding(path).encoding
    sample, complete = read_sample(path, encoding)
    delimiter = read.delimiter or ("\t" if fmt == "tsv" else None)
    if delimiter is not None and len(delimiter) != 1:
        raise DescribeError(f"{path.name}: read.delimiter must be one character, got {delimiter!r}")
    dialect = sniff_dialect(sample, complete, delimiter)

    def records() -> Iterator[list[str]]:
        with path.open(encoding=encoding, newline="") as handle:
            yield from csv.reader(handle, delimiter=dialect.delimiter, strict=False)

    header_row = read.header_row or read.skip_rows + 1
    notes = []
    if read.header_row is None and not read.skip_rows:
        header_row = _first_non_blank(records())
        if header_row > 1:
            notes.append(f"skipped {header_row - 1} blank lines above the header")
    labels = _nth_record(records(), header_row, path)

    def rows() -> Iterator[list[str]]:
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=dialect.delimiter, strict=False)
            for _ in range(header_row):
                next(reader, None)
            yield from reader

    frictionless_dialect: dict[str, Any] = {"csv": {"delimiter": dialect.delimiter}}
    if header_row != 1:
        frictionless_dialect["headerRows"] = [header_row]
    return RawTable(
        format=fmt,
        labels=labels,
        rows=rows,
        encoding=encoding,
        header_row=header_row,
        dialect=dialect.as_descriptor(),
        frictionless_dialect=frictionless_dialect,
        notes=notes,
    )


def _check_decodes(path: Path, encoding: str) -> None:
    try:
        with path.open(encoding=encoding, newline="") as handle:
            while handle.read(1 << 20):
                pass
    except LookupError:
        raise DescribeError(f"{path.name}: unknown encoding {encoding!r} in read.encoding") from None
    except UnicodeDecodeError as error:
        raise DescribeError(
            f"cannot decode {path.name} as {encoding}: {error.reason} at byte {error.start}",
            hint="fix read.encoding or remove it to detect the encoding",
        ) from None


def _first_non_blank(records: Iterator[list[str]]) -> int:
    for index, record in enumerate(records, start=1):
        if any(cell.strip() for cell in record):
            return index
    return 1


def _nth_record(records: Iterator[list[str]], number: int, path: Path) -> list[str]:
    for index, record in enumerate(records, start=1):
        if index == number:
            return record
    raise DescribeError(f"{path.name} has no row {number} to read the header from")


# --- typed cells to text ----------------------------------------------------


def cell_text(value: Any) -> str:
    """Canonical text of a typed cell (JSON value or spreadsheet cell)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
