"""Turn flagged rows and duplicated keys into frictionless's errors, in frictionless's order.

Every row that has an error is replayed on a real ``frictionless`` ``Row``
with the operations of frictionless's row stream, in its order: read each
``unique`` field (and, on a duplicate, append the unique error), read the
primary-key fields (and append the primary-key error), then take
``row.errors``. Reading a key field first moves its cell errors to the front,
and a key error forces the full row read before it is appended: the replay
gets both effects for free.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

import duckdb
from frictionless import Field, errors
from frictionless.table.row import Row, create_cell_handlers

from . import _fast_scan as scan
from ._fast_prescan import RowMap
from ._fast_sql import late_key_text

SAMPLE_SIZE = 10_000
LATE_BATCH = 5_000
ALL_NONE = 'cells composing the primary keys are all "None"'


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
    """Row errors by frictionless row number, cut where frictionless stops at ``limit_errors``."""

    def __init__(
        self,
        plan: scan.ScanPlan,
        fields: list[Field],
        header_errors: list[Any],
        row_map: RowMap,
        limit: int,
        con: duckdb.DuckDBPyConnection,
    ) -> None:
        self.plan, self.fields, self.row_map, self.limit, self.con = plan, fields, row_map, limit, con
        self.header_errors = header_errors
        self.handlers = create_cell_handlers(fields)
        self.names = [f.name for f in fields]
        self.row_errors: dict[int, list[Any]] = {}
        self.duplicates: dict[int, tuple[list[str], dict[int, int]]] = {}  # row -> (cells, slot -> previous row)
        self.count = len(header_errors)
        self.cut: int | None = None  # errors after this frictionless row number are past the limit
        self.late: dict[str, list[tuple[Any, ...]]] = {s.name: [] for s in plan.slots}
        self.has_late = False
        self._next_empty = 0
        scan.create_late_tables(con, plan)

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

    def _note_row(self, number: int, row_errors: list[Any]) -> None:
        if row_errors:
            self.row_errors[number] = row_errors
            self.count += len(row_errors)
        if self.limit and self.count >= self.limit and self.cut is None:
            self.cut = number

    def _advance_empty(self, before: int) -> None:
        empty = self.row_map.empty_rows
        while self._next_empty < len(empty) and empty[self._next_empty] < before:
            number = empty[self._next_empty]
            self._note_row(number, self.replay(number, [], {})[0])
            self._next_empty += 1

    def add_flagged(self, summary: scan.Summary) -> None:
        """Replay the flagged rows in order, up to the error limit; keep their keys as late keys."""
        sample, seen, last = summary.sample, 0, 0
        while sample:
            for record in sample:
                last = record["rn"]
                number = self.row_map.to_frictionless(last)
                self._advance_empty(number)
                if self.cut is not None:
                    self._flush_late(force=True)
                    return
                cells = trim(record["cells"], self.plan.source.columns)
                self._add_flagged_row(last, number, cells, record["covered"])
            seen += len(sample)
            if seen >= summary.flagged:
                break
            sample = scan.flagged_after(self.con, self.plan, last, SAMPLE_SIZE)
        self._advance_empty(2**62)
        self._flush_late(force=True)

    def _add_flagged_row(self, duck_rn: int, number: int, cells: list[str], covered: list[bool]) -> None:
        row_errors, values = self.replay(number, cells, {})
        for slot, slot_values, known in zip(self.plan.slots, values, covered, strict=True):
            if known:  # SQL has this key
                continue
            types = [self.fields[i].type for i in slot.positions]
            texts = [late_key_text(v, t) for v, t in zip(slot_values, types, strict=True)]
            exact = not any(t is None and v is not None for t, v in zip(texts, slot_values, strict=True))
            if not exact:  # no SQL value equals it: compared with other such keys only, as text
                texts = [None if v is None else f"{type(v).__name__}:{v!r}" for v in slot_values]
            if all(t is None for t in texts):
                continue
            self.late[slot.name].append((duck_rn, exact, *texts, cells))
            self.has_late = True
        self._note_row(number, row_errors)
        self._flush_late(force=False)

    def _flush_late(self, *, force: bool) -> None:
        for slot in self.plan.slots:
            rows = self.late[slot.name]
            if rows and (force or len(rows) >= LATE_BATCH):
                scan.insert_late(self.con, slot, rows)
                self.late[slot.name] = []

    def add_uniqueness(self, summary: scan.Summary) -> None:
        """Walk every occurrence of a possibly duplicated key in row order, as frictionless's memory does."""
        if not self.plan.slots or not (summary.dup_slots or self.has_late):
            return
        order = {s.name: i for i, s in enumerate(self.plan.slots)}
        streams: list[Iterator[tuple[Any, ...]]] = [scan.keyed_rows(self.con, self.plan, summary.dup_slots)]
        streams += [scan.late_rows(self.con, self.plan, s) for s in self.plan.slots]
        last_seen: dict[str, dict[Any, int]] = {s.name: {} for s in self.plan.slots}
        found = len(self.header_errors)
        for duck_rn, _, name, key, cells in heapq.merge(*streams, key=lambda e: (e[0], e[1], order[e[2]])):
            number = self.row_map.to_frictionless(duck_rn)
            if (self.cut is not None and number > self.cut) or key is None:
                if key is None:
                    continue
                break
            key = _hashable(key)
            previous = last_seen[name].get(key)
            last_seen[name][key] = number
            if previous:
                entry = self.duplicates.setdefault(number, (trim(cells, self.plan.source.columns), {}))
                entry[1][order[name]] = previous
                found += 1
                if self.limit and found >= self.limit and (self.cut is None or number < self.cut):
                    self.cut = number

    def finish(self, total_rows: int) -> tuple[list[Any], list[str], int]:
        """All errors in frictionless's order, cut as frictionless cuts: (errors, warnings, rows read)."""
        ordered = list(self.header_errors)
        base = self.plan.source.header_rows
        warning = [f"reached error limit: {self.limit}"]
        if self.limit and len(ordered) >= self.limit:
            ordered += self._errors_of(base + 1) if total_rows else []
            return ordered[: self.limit], warning, min(1, total_rows)
        for number in sorted(set(self.row_errors) | set(self.duplicates)):
            ordered += self._errors_of(number)
            if self.limit and len(ordered) >= self.limit:
                return ordered[: self.limit], warning, number - base
        return ordered, [], total_rows

    def _errors_of(self, number: int) -> list[Any]:
        if number in self.duplicates:
            cells, previous = self.duplicates[number]
            return self.replay(number, cells, previous)[0]
        return self.row_errors.get(number, [])


def _same_as(previous: int) -> str:
    return f"the same as in the row at position {previous}"


def _hashable(key: Any) -> Any:
    if isinstance(key, dict):
        return tuple(_hashable(v) for v in key.values())
    if isinstance(key, list):
        return tuple(_hashable(v) for v in key)
    return key
