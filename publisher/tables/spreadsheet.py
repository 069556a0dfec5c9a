"""Reading XLSX, XLS and ODS sheets with python-calamine.

The header row is ``read.header_row`` when the steward gives it, else the row
after ``read.skip_rows`` when that is set, else detected: city spreadsheets
carry banner rows (a title, an ``Expte. Nº`` line) above the real header, so
the header is the first row that is as wide as the table and holds only text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from publisher.errors import DescribeError
from publisher.sources.base import ReadOptions
from publisher.tables.readers import HEADER_SCAN_ROWS, RawTable, cell_text


def open_spreadsheet(path: Path, read: ReadOptions, fmt: str) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises several unrelated types for broken files
        raise DescribeError(
            f"cannot open {path.name} as {fmt}: file is truncated or not a spreadsheet ({_short(error)})",
            hint="download the file again or check the source export",
        ) from error
    sheet_name = _sheet_name(workbook.sheet_names, read.sheet, path)
    try:
        sheet = workbook.get_sheet_by_name(sheet_name)
        cells = [[cell_text(_cell(value)) for value in row] for row in sheet.iter_rows()]
    except Exception as error:
        raise DescribeError(
            f"cannot read sheet {sheet_name!r} of {path.name}: {_short(error)}",
            hint="the file may be truncated or damaged",
        ) from error
    if not cells:
        raise DescribeError(f"sheet {sheet_name!r} of {path.name} is empty")
    header_row = _header_row(cells, read)
    notes = []
    if read.header_row is None and header_row > 1:
        notes.append(f"header found on row {header_row}; {header_row - 1} banner rows above it skipped")
    data = cells[header_row:]

    def rows() -> Iterator[list[str]]:
        return iter(data)

    dialect: dict[str, Any] = {"sheet": sheet_name, "headerRow": header_row}
    frictionless_dialect: dict[str, Any] = {"excel": {"sheet": sheet_name}}
    if header_row != 1:
        frictionless_dialect["headerRows"] = [header_row]
    if len(cells) < header_row:
        raise DescribeError(f"sheet {sheet_name!r} of {path.name} has no row {header_row}")
    return RawTable(
        format=fmt,
        labels=cells[header_row - 1],
        rows=rows,
        header_row=header_row,
        dialect=dialect,
        frictionless_dialect=frictionless_dialect,
        notes=notes,
    )


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:160] or type(error).__name__


def _cell(value: Any) -> Any:
    """Excel has no integers: whole floats become ints (2017.0 -> 2017)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _sheet_name(names: list[str], wanted: str | int | None, path: Path) -> str:
    if not names:
        raise DescribeError(f"{path.name} has no sheets")
    if wanted is None:
        return names[0]
    if isinstance(wanted, int):
        if 1 <= wanted <= len(names):
            return names[wanted - 1]
        raise DescribeError(
            f"{path.name} has no sheet number {wanted} (sheets are numbered from 1); sheets: {', '.join(names)}"
        )
    if wanted in names:
        return wanted
    raise DescribeError(f"{path.name} has no sheet named {wanted!r}; sheets: {', '.join(names)}")


def _header_row(cells: list[list[str]], read: ReadOptions) -> int:
    if read.header_row is not None:
        return read.header_row
    if read.skip_rows:
        return read.skip_rows + 1
    return detect_header_row(cells)


def detect_header_row(cells: list[list[str]]) -> int:
    """1-based number of the first row as wide as the table and made of text labels.

    A row qualifies when its text (non-numeric) cells fill at least half of
    the widest row among the first HEADER_SCAN_ROWS rows (and at least two
    cells). Row 1 when nothing qualifies (set read.header_row then).
    """
    scan = cells[:HEADER_SCAN_ROWS]
    widest = max((sum(1 for cell in row if cell.strip()) for row in scan), default=0)
    needed = max(2, math.ceil(widest / 2))
    for index, row in enumerate(scan):
        labels = sum(1 for cell in row if cell.strip() and not _is_number(cell))
        if labels >= needed:
            return index + 1
    return 1


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True
