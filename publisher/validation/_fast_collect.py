"""Walk the interesting rows in file order and produce frictionless's errors, in its order.

Every row that has an error is replayed on a real ``frictionless`` ``Row``
with the operations of frictionless's row stream, in its order: read each
``unique`` field (and, on a duplicate, append the unique error), read the
primary-key fields (and append the primary-key error), then take
``row.errors``. Reading a key field first moves its cell errors to the front,
and a key error forces the full row read before it is appended: the replay
gets both effects for free.

Duplicates are found like frictionless finds them (a memory of the last row
where each key was seen), but only for keys SQL found twice or more, plus the
keys read in Python ("late" keys, from cells SQL could not vouch for).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import duckdb
from frictionless import Field, errors
from frictionless.table.row import Row, create_cell_handlers

from . import _fast_scan as scan
from ._fast_prescan import RowMap
from ._fast_sql import late_key_text

ALL_NONE = 'cells composing the primary keys are all "None"'
LATE_BATCH = 5_000


class Overflow(Exception):
    """A row has more cells than the columns read."""


def trim(cells: list[str | None], columns: int) -> list[str]:
    """DuckDB's padded cells back to the row's own cells."""
    end = len(cells)
    while end and cells[end - 1] is None:
        end -= 1
    if end >= columns:
        raise Overflow()
    return [c if c is not None else "" for c in cells[:end]]


class Collector:
    """Row errors in frictionless's order, cut where frictionless stops at ``limit_errors``."""

    def __init__(
        self,
        plan: scan.ScanPlan,
        fields: list[Field],
        header_errors: list[Any],
        con: duckdb.DuckDBPyConnection,
        limit: int,
    ) -> None:
        self.plan, self.fields, self.limit, self.con = plan, fields, limit, con
        self.row_map = RowMap()
        self.header_errors = header_errors
        self.handlers = create_cell_handlers(fields)
        self.names = [f.name for f in fields]
        self.late_exact = False
        scan.create_late_table(con, plan)
        self.reset()

    def reset(self, row_map: RowMap | None = None) -> None:
        """Forget the walk (keep the late keys); optionally with a map of the empty rows."""
        self.row_map = row_map or self.row_map
        self.errors: list[Any] = list(self.header_errors)
        self.cut: int | None = None  # the frictionless row number where the limit was reached
        self.last_seen: list[dict[Any, int]] = [{} for _ in self.plan.slots]
        self._late: list[tuple[str, list[str | None]]] = []
        self._next_empty = 0
        if self.limit and len(self.errors) >= self.limit:
            self.cut = self.plan.source.header_rows  # frictionless stops after the first row

    def replay(self, number: int, cells: list[str], duplicates: dict[int, int]) -> tuple[list[Any], list[list[Any]]]:
        """frictionless's row stream on one row: its errors and the values of each key slot."""
        row = Row(cells, handlers=self.handlers, row_number=number)
        values: list[list[Any]] = []
        for index, slot in enumerate(self.plan.slots):
            slot_values = [row[self.names[i]] for i in slot.positions]
            values.append(slot_values)
            if slot.primary:
                if set(slot_values) == {None}:
                    row.errors.append(errors.PrimaryKeyError.from_row(row, note=ALL_NONE))
                elif index in duplicates:
                    row.errors.append(errors.PrimaryKeyError.from_row(row, note=_same_as(duplicates[index])))
            elif slot_values[0] is not None and index in duplicates:
                name = self.names[slot.positions[0]]
                row.errors.append(errors.UniqueError.from_row(row, note=_same_as(duplicates[index]), field_name=name))
        return list(row.errors), values

    def walk(self, records: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Rows in file order (0-based data index, stream columns); stops at the error limit."""
        header = self.plan.source.header_rows
        for index, record in records:
            if self.cut is not None and self.cut <= header:
                break
            number = self.row_map.to_frictionless(header + index + 1)
            self._advance_empty(number)
            if self.cut is not None:
                break
            self._row(number, record)
        else:
            self._advance_empty(2**62)
        self._flush_late(force=True)

    def _row(self, number: int, record: dict[str, Any]) -> None:
        cells = trim(record["cells"], self.plan.source.columns)
        keys = [record.get(slot.name) for slot in self.plan.slots]
        if record["flagged"]:
            values = self.replay(number, cells, {})[1]
            for index, known in enumerate(record["covered"] or []):
                if not known:
                    keys[index] = self._late_key(index, values[index])
        duplicates: dict[int, int] = {}
        for index, key in enumerate(keys):
            if key is None:
                continue
            key = _hashable(key)
            previous = self.last_seen[index].get(key)
            self.last_seen[index][key] = number
            if previous:
                duplicates[index] = previous
        if record["flagged"] or duplicates:
            self._note(number, self.replay(number, cells, duplicates)[0])

    def _late_key(self, index: int, values: list[Any]) -> Any:
        """A key read in Python, in the form DuckDB returns the SQL key (None: no key)."""
        slot = self.plan.slots[index]
        if all(v is None for v in values):
            return None
        types = [self.fields[i].type for i in slot.positions]
        texts = [late_key_text(v, t) for v, t in zip(values, types, strict=True)]
        if any(t is None and v is not None for t, v in zip(texts, values, strict=True)):
            # no SQL value equals it: compared with other such keys only
            return ("text", *(_text_key(v) for v in values))
        self._late.append((slot.name, texts))
        self.late_exact = True
        typed = [None if t is None else _as_duckdb(t, kind) for t, kind in zip(texts, types, strict=True)]
        return tuple(typed) if slot.primary and len(slot.positions) > 1 else typed[0]

    def _flush_late(self, *, force: bool) -> None:
        if self._late and (force or len(self._late) >= LATE_BATCH):
            scan.insert_late(self.con, self._late)
            self._late = []

    def _note(self, number: int, row_errors: list[Any]) -> None:
        self.errors += row_errors
        if self.limit and len(self.errors) >= self.limit and self.cut is None:
            self.cut = number
        self._flush_late(force=False)

    def _advance_empty(self, before: int) -> None:
        empty = self.row_map.empty_rows
        while self.cut is None and self._next_empty < len(empty) and empty[self._next_empty] < before:
            number = empty[self._next_empty]
            self._note(number, self.replay(number, [], {})[0])
            self._next_empty += 1

    def finish(self, total_rows: int) -> tuple[list[Any], list[str], int]:
        """(errors, warnings, rows read) as frictionless reports them."""
        if self.cut is None:
            return self.errors, [], total_rows
        rows_read = max(self.cut - self.plan.source.header_rows, min(1, total_rows))
        return self.errors[: self.limit], [f"reached error limit: {self.limit}"], rows_read


def _text_key(value: Any) -> str | None:
    """A key for values without an exact SQL key: equal Decimals give equal text."""
    if value is None:
        return None
    if isinstance(value, Decimal) and value.is_finite():
        value = value.normalize()
    elif isinstance(value, tuple):  # geopoint
        value = tuple(v.normalize() if isinstance(v, Decimal) and v.is_finite() else v for v in value)
    return f"{type(value).__name__}:{value!r}"


def _same_as(previous: int) -> str:
    return f"the same as in the row at position {previous}"


def _as_duckdb(text: str, kind: str) -> Any:
    """The Python value DuckDB returns for ``CAST(text AS <key type of kind>)``."""
    if kind in ("integer", "year"):
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        return text == "true"
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "time":
        return dt.time.fromisoformat(text)
    if kind == "geopoint":
        return tuple(float(part) for part in text.strip("[]").split(","))
    return text


def _hashable(key: Any) -> Any:
    if isinstance(key, dict):
        return tuple(_hashable(v) for v in key.values())
    if isinstance(key, (list, tuple)):
        return tuple(_hashable(v) for v in key)
    if isinstance(key, float) and math.isnan(key):
        return "nan"
    return key
