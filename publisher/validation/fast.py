"""The fast validation engine: frictionless's report, at columnar speed.

``validate_csv(path, schema)`` returns exactly the dict that
``frictionless.Resource(path=..., schema=...).validate().to_dict()`` returns
(same error types, row numbers, field names and numbers, cells, notes and
messages, same ``limit_errors`` truncation and warning, same stats), but scans
the file with DuckDB instead of casting every cell in Python.

How it stays exact
    frictionless reads the header (labels, header errors, expected fields).
    DuckDB reads every cell as text and, per field, evaluates a predicate that
    is true only when frictionless would certainly accept the cell and all its
    constraints (see ``_fast_sql``). A row where a predicate is false, a cell
    is missing or extra, or every cell is blank is *flagged*, and flagged rows
    are re-read in Python by frictionless's own ``Row``: their errors are
    frictionless's by construction. Uniqueness (``unique``, ``primaryKey``) is
    decided in SQL on typed keys of unflagged rows plus the keys Python read
    from flagged rows, with frictionless's note ("the same as in the row at
    position N", N being the previous occurrence).

Bounded memory
    DuckDB runs with ``memory_limit`` and a temporary spill directory; Python
    holds at most ``sample_size`` flagged rows and the errors up to
    ``limit_errors`` at a time.

When the fast engine hands over to frictionless (logged, same result, slow)
    a dialect DuckDB cannot read like Python's csv module (escape character,
    ``doubleQuote: false``, ``skipInitialSpace``, comment rows, several header
    rows, ``skipBlankRows``), an encoding other than UTF-8/ASCII/Latin-1, a
    file that starts with an empty line, an invalid schema or unreadable
    file, and any DuckDB read error (e.g. invalid UTF-8).

Deliberate differences (each tested in tests/test_validation_fast.py)
    * Uniqueness of values without an exact SQL key: a number with more than
      20 integer or 18 fractional digits, a timezone-aware datetime/time read
      in Python. Such values take part in no ``unique``/``primaryKey``
      comparison (frictionless compares them exactly). Canonical spellings,
      which is all the publisher's normalised CSVs contain, are exact.
    * ``uniqueKeys`` (Table Schema v2) is ignored, as frictionless 5 ignores it.
    * ``stats.md5``/``stats.sha256`` are omitted when ``hashes=False``.
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
from frictionless import Dialect, FrictionlessException, Report, Resource, Schema, errors
from frictionless.table.row import Row, create_cell_handlers

from . import _fast_scan as scan
from ._fast_prescan import RowMap, locate_empty_rows, prescan
from ._fast_sql import field_sql, late_key_text

log = logging.getLogger(__name__)

SAMPLE_SIZE = 10_000
LATE_BATCH = 5_000
_DUCKDB_ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "ascii": "utf-8",
    "iso8859-1": "latin-1",
    "latin-1": "latin-1",
    "latin1": "latin-1",
}


_ALL_NONE = 'cells composing the primary keys are all "None"'


class _Fallback(Exception):
    """The fast engine cannot promise frictionless's result here."""


class _Overflow(Exception):
    """A row has more cells than the columns read."""


def validate_csv(
    path: Path,
    schema: dict[str, Any],
    *,
    dialect: dict[str, Any] | None = None,
    encoding: str | None = None,
    limit_errors: int = 1000,
    memory_limit: str = "512MB",
    threads: int | None = None,
    hashes: bool = True,
) -> dict[str, Any]:
    """Validate one CSV file against a Table Schema; frictionless 5's report as a dict."""
    started = time.perf_counter()
    try:
        resource = _resource(path, schema, dialect, encoding)
        with resource:
            header = _Header.read(resource)
        columns = header.columns
        while True:
            try:
                return _validate(resource, header, columns, limit_errors, memory_limit, threads, hashes, started)
            except _Overflow:
                columns *= 4
                if columns > 4096:
                    raise _Fallback("a row has more than 4096 cells") from None
    except (_Fallback, FrictionlessException, duckdb.Error) as reason:
        log.warning("fast validation hands %s to frictionless: %s", path.name, str(reason).splitlines()[0][:200])
        fallback = _resource(path, schema, dialect, encoding)
        return dict(fallback.validate(limit_errors=limit_errors).to_dict())


def _resource(path: Path, schema: dict[str, Any], dialect: dict[str, Any] | None, encoding: str | None) -> Resource:
    options: dict[str, Any] = {"schema": Schema.from_descriptor(schema)}
    if dialect:
        options["dialect"] = Dialect.from_descriptor(dialect)
    if encoding:
        options["encoding"] = encoding
    resource = Resource(path=path.name, basepath=str(path.parent), **options)
    resource.to_descriptor(validate=True)
    return resource


class _Header:
    """What frictionless reads before the rows: labels, header errors, dialect, fields."""

    def __init__(self, resource: Resource) -> None:
        self.labels: list[str] = list(resource.labels or [])
        if not self.labels:
            raise _Fallback("no header labels")
        self.errors: list[Any] = list(resource.header.errors)
        self.fields = list(resource.header.get_expected_fields())
        self.source = _source(resource, len(self.fields))
        self.columns = max(len(self.fields), len(self.labels)) + scan.SPARE_COLUMNS
        self.primary_key = list(resource.schema.primary_key)
        self.field_count = resource.stats.fields

    @classmethod
    def read(cls, resource: Resource) -> _Header:
        if resource.format not in ("csv", "tsv") or not resource.tabular:
            raise _Fallback(f"format {resource.format}")
        return cls(resource)


def _source(resource: Resource, field_count: int) -> dict[str, Any]:
    dialect = resource.dialect
    control: Any = dialect.get_control("csv")
    delimiter = control.delimiter if control else ","
    quote_char = control.quote_char if control else '"'
    if control and (
        control.escape_char or not control.double_quote or control.skip_initial_space or control.null_sequence
    ):
        raise _Fallback("csv control not supported")
    header_rows = dialect.header_rows if dialect.header else []
    if header_rows not in ([], [1]) or dialect.comment_char or dialect.comment_rows or dialect.skip_blank_rows:
        raise _Fallback("dialect not supported")
    encoding = _DUCKDB_ENCODINGS.get((resource.encoding or "utf-8").lower())
    if encoding is None or len(delimiter) != 1 or len(quote_char) != 1:
        raise _Fallback(f"encoding {resource.encoding} or dialect not supported")
    return {
        "encoding": encoding,
        "python_encoding": resource.encoding,
        "delimiter": delimiter,
        "quote_char": quote_char,
        "header_rows": len(header_rows),
    }


def _plan(header: _Header, path: Path, columns: int, parallel: bool) -> scan.ScanPlan:
    names = [f.name for f in header.fields]
    slots = [scan.KeySlot(f"k{i}", (i,), False) for i, f in enumerate(header.fields) if f.constraints.get("unique")]
    if header.primary_key and set(header.primary_key) <= set(names):
        slots.append(scan.KeySlot("kp", tuple(names.index(n) for n in header.primary_key), True))
    keyed = {i for s in slots for i in s.positions}
    fields = [field_sql(f, f"c{i}", _missing_values(f), keyed=i in keyed) for i, f in enumerate(header.fields)]
    s = header.source
    source = scan.CsvSource(
        path=path,
        encoding=s["encoding"],
        delimiter=s["delimiter"],
        quote_char=s["quote_char"],
        escape_char=s["quote_char"],
        header_rows=s["header_rows"],
        columns=columns,
        parallel=parallel,
    )
    return scan.ScanPlan(source=source, fields=fields, slots=slots)


def _missing_values(field: Any) -> list[str]:
    if field.has_defined("missing_values") or field.schema is None:
        return list(field.missing_values)
    return list(field.schema.missing_values)


def _summarise(
    con: duckdb.DuckDBPyConnection, header: _Header, path: Path, columns: int
) -> tuple[scan.ScanPlan, scan.Summary]:
    plan = _plan(header, path, columns, parallel=True)
    try:
        return plan, scan.summarise(con, plan, SAMPLE_SIZE)
    except duckdb.Error as e:
        if "null_padding" not in str(e):
            raise
    plan = _plan(header, path, columns, parallel=False)  # quoted newlines: serial reader
    return plan, scan.summarise(con, plan, SAMPLE_SIZE)


def _validate(
    resource: Resource,
    header: _Header,
    columns: int,
    limit: int,
    memory_limit: str,
    threads: int | None,
    hashes: bool,
    started: float,
) -> dict[str, Any]:
    path = Path(str(resource.normpath))
    con, spill = scan.connect(memory_limit, threads or os.cpu_count() or 1)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            bytes_pass = pool.submit(prescan, path, hashes=hashes)
            plan, summary = _summarise(con, header, path, columns)
            found = bytes_pass.result()
        row_map = _row_map(found, header, summary, path)
        collector = _Collector(plan, header, row_map, limit, con)
        collector.add_flagged(summary)
        collector.add_uniqueness(summary)
        errors_, warnings, rows = collector.finish(summary.rows + len(row_map.empty_rows))
    finally:
        con.close()
        spill.cleanup()
    stats = resource.stats
    stats.md5, stats.sha256 = (found.md5, found.sha256) if hashes else (None, None)
    stats.bytes, stats.rows, stats.fields = found.bytes, rows, header.field_count
    elapsed = round(time.perf_counter() - started, 3)
    report = Report.from_validation_task(
        resource, time=elapsed, labels=header.labels, errors=errors_, warnings=warnings
    )
    return dict(report.to_dict())


def _row_map(found: Any, header: _Header, summary: scan.Summary, path: Path) -> RowMap:
    if found.starts_empty:
        raise _Fallback("the file starts with an empty line")
    if not found.maybe_empty_rows:
        return RowMap()
    s = header.source
    empty, count = locate_empty_rows(
        path, encoding=s["python_encoding"] or "utf-8", delimiter=s["delimiter"], quote_char=s["quote_char"]
    )
    if count != summary.rows + s["header_rows"] + len(empty):
        raise _Fallback("DuckDB and the csv module count different rows")
    return RowMap(empty)


def _trim(cells: list[str | None], columns: int) -> list[str]:
    end = len(cells)
    while end and cells[end - 1] is None:
        end -= 1
    if end >= columns:
        raise _Overflow()
    return [c if c is not None else "" for c in cells[:end]]


class _Collector:
    """Row errors by frictionless row number, cut at the error limit."""

    def __init__(
        self, plan: scan.ScanPlan, header: _Header, row_map: RowMap, limit: int, con: duckdb.DuckDBPyConnection
    ) -> None:
        self.plan, self.header, self.row_map, self.limit, self.con = plan, header, row_map, limit, con
        self.handlers = create_cell_handlers(header.fields)
        self.names = [f.name for f in header.fields]
        self.cell_errors: dict[int, list[Any]] = {}
        self.key_errors: dict[int, dict[int, Any]] = {}
        self.count = len(header.errors)
        self.cut: int | None = None  # no error after this frictionless row number matters
        self.late: dict[str, list[tuple[Any, ...]]] = {s.name: [] for s in plan.slots}
        self.has_late = False
        self._next_empty = 0
        scan.create_late_tables(con, plan)

    def _row(self, number: int, cells: list[str]) -> Row:
        return Row(cells, handlers=self.handlers, row_number=number)

    def _note_row(self, number: int, row_errors: list[Any]) -> None:
        """Count a row's errors (rows come in order); the first row reaching the limit is the cut."""
        if row_errors:
            self.cell_errors[number] = row_errors
            self.count += len(row_errors)
        if self.limit and self.count >= self.limit and self.cut is None:
            self.cut = number

    def _advance_empty(self, before: int) -> None:
        empty = self.row_map.empty_rows
        while self._next_empty < len(empty) and empty[self._next_empty] < before:
            self._note_row(empty[self._next_empty], self._empty_errors(empty[self._next_empty]))
            self._next_empty += 1

    def _empty_errors(self, number: int) -> list[Any]:
        row = self._row(number, [])
        found = list(row.errors)
        if any(s.primary for s in self.plan.slots):
            found.append(errors.PrimaryKeyError.from_row(row, note=_ALL_NONE))
        return found

    def add_flagged(self, summary: scan.Summary) -> None:
        sample, seen, last = summary.sample, 0, 0
        while sample:
            for record in sample:
                last = record["rn"]
                number = self.row_map.to_frictionless(last)
                self._advance_empty(number)
                if self.cut is not None:
                    self._flush_late(force=True)
                    return
                self._add_flagged_row(last, number, _trim(record["cells"], self.plan.source.columns))
            seen += len(sample)
            if seen >= summary.flagged:
                break
            sample = scan.flagged_after(self.con, self.plan, last, SAMPLE_SIZE)
        self._advance_empty(2**62)
        self._flush_late(force=True)

    def _add_flagged_row(self, duck_rn: int, number: int, cells: list[str]) -> None:
        row = self._row(number, cells)
        row_errors = list(row.errors)
        for slot in self.plan.slots:
            values = [row[self.names[i]] for i in slot.positions]
            if slot.primary and set(values) == {None}:
                row_errors.append(errors.PrimaryKeyError.from_row(row, note=_ALL_NONE))
                continue
            texts = [late_key_text(v, self.header.fields[i].type) for v, i in zip(values, slot.positions, strict=True)]
            lost = any(t is None and v is not None for t, v in zip(texts, values, strict=True))
            if lost or (not slot.primary and texts[0] is None):
                continue
            self.late[slot.name].append((duck_rn, *texts, cells))
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
        if not self.plan.slots or not (summary.dup_slots or self.has_late):
            return
        order = {s.name: i for i, s in enumerate(self.plan.slots)}
        streams: list[Iterator[tuple[Any, ...]]] = [scan.keyed_rows(self.con, self.plan, summary.dup_slots)]
        streams += [scan.late_rows(self.con, self.plan, s) for s in self.plan.slots]
        last_seen: dict[str, dict[Any, int]] = {s.name: {} for s in self.plan.slots}
        key_count = len(self.header.errors)
        for duck_rn, _, name, key, cells in heapq.merge(*streams, key=lambda e: (e[0], e[1], order[e[2]])):
            number = self.row_map.to_frictionless(duck_rn)
            if self.cut is not None and number > self.cut:
                break
            if key is None:
                continue
            key = tuple(key.values()) if isinstance(key, dict) else key
            previous = last_seen[name].get(key)
            last_seen[name][key] = number
            if previous:
                self._key_error(number, name, order[name], previous, cells)
                key_count += 1
                if self.limit and key_count >= self.limit and (self.cut is None or number < self.cut):
                    self.cut = number

    def _key_error(self, number: int, name: str, index: int, previous: int, cells: list[str | None]) -> None:
        row = self._row(number, _trim(cells, self.plan.source.columns))
        note = f"the same as in the row at position {previous}"
        slot = self.plan.slots[index]
        if slot.primary:
            error = errors.PrimaryKeyError.from_row(row, note=note)
        else:
            error = errors.UniqueError.from_row(row, note=note, field_name=self.names[slot.positions[0]])
        self.key_errors.setdefault(number, {})[index] = error

    def finish(self, total_rows: int) -> tuple[list[Any], list[str], int]:
        """All errors in frictionless's order, cut as frictionless cuts at ``limit_errors``."""
        ordered = list(self.header.errors)
        base = self.plan.source.header_rows
        if self.limit and len(ordered) >= self.limit:
            first = base + 1
            ordered += self._errors_of(first) if total_rows else []
            return ordered[: self.limit], [f"reached error limit: {self.limit}"], min(1, total_rows)
        for number in sorted(set(self.cell_errors) | set(self.key_errors)):
            ordered += self._errors_of(number)
            if self.limit and len(ordered) >= self.limit:
                return ordered[: self.limit], [f"reached error limit: {self.limit}"], number - base
        return ordered, [], total_rows

    def _errors_of(self, number: int) -> list[Any]:
        found = list(self.cell_errors.get(number, []))
        keys = self.key_errors.get(number, {})
        primary = [e for e in found if e.type == "primary-key"]
        found = [e for e in found if e.type != "primary-key"]
        return found + [keys[i] for i in sorted(keys)] + primary
