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
    are replayed in Python on frictionless's own ``Row``, with the operations
    of its row stream in its order: their errors, and their order, are
    frictionless's by construction. Uniqueness (``unique``, ``primaryKey``):
    SQL finds the key values seen twice (typed keys, so ``01`` == ``1``), then
    an ordered walk keeps frictionless's memory of the last row per key for
    those values and for keys Python read from flagged rows; the note names
    the previous occurrence, as frictionless's does.

How it stays fast (see ``_fast_scan``)
    One parallel DuckDB scan, no window function, streamed in file order: it
    sends Python the flagged rows' cells and every row's typed keys, which go
    to a DuckDB table (``kept_keys``). If no key value is in it twice (the
    usual case), that walk is the report. Otherwise the keys seen twice are
    grouped from that table (or, if the walk stopped at the error limit,
    from the file) and a second walk also sends the rows holding them. Rows
    are numbered by counting the streamed batches; an empty line (DuckDB
    skips it, frictionless counts it as a blank row) is detected by
    comparing line feeds with rows, and then located by a csv-module pass.
    The byte pass starts first, in a thread, so that it hashes on the second
    core while frictionless reads the header.

Bounded memory
    DuckDB runs with ``memory_limit`` (512 MB by default) and a temporary
    spill directory; Python holds one Arrow batch of flags, the keys of up
    to about a million rows on their way to ``kept_keys``, the errors up to
    ``limit_errors`` and the duplicated keys met before the error limit.
    Measured: a 5.3 GB, 50M-row file validates in 69 s with a peak RSS of 811 MB.

When the fast engine hands over to frictionless (logged, same result, slow)
    a dialect DuckDB cannot read like Python's csv module (escape character,
    ``doubleQuote: false``, ``skipInitialSpace``, comment rows, several header
    rows, ``skipBlankRows``), a header row spanning lines, a file that starts
    with an empty line, a file Python cannot decode with its encoding, a row
    with more than 4096 cells or a line over 2 MB, and any other DuckDB read
    error. Non-UTF-8 files are first transcoded to a temporary UTF-8 copy.

Deliberate differences (each tested in tests/test_validation_fast.py)
    * Keys without an exact SQL value (numbers with more than 15 significant
      digits, timezone-aware times) are compared by their normalised Python
      spelling: two aware times for the same instant with different UTC
      offsets are not reported as duplicates (frictionless reports them).
    * ``uniqueKeys`` (Table Schema v2) is ignored, as frictionless 5 ignores it.
    * ``stats.md5``/``stats.sha256`` are omitted when ``hashes=False``.
    * When the error limit is reached, frictionless's ``stats.bytes`` is what
      its reader had consumed when it stopped, and it has ``md5``/``sha256``
      only if that was the whole file (its buffering decides). The fast
      engine then reports the file size and no hashes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
from frictionless import Dialect, FrictionlessException, Report, Resource, Schema

from . import _fast_scan as scan
from ._fast_collect import Collector, Overflow
from ._fast_prescan import Prescan, RowMap, locate_empty_rows, prescan
from ._fast_sql import field_sql

log = logging.getLogger(__name__)

_READ_AS_IS = ("utf-8", "utf8", "ascii", "us-ascii")  # any other encoding is transcoded to UTF-8 first
_TRANSCODE_CHARS = 4 << 20


class _Fallback(Exception):
    """The fast engine cannot promise frictionless's result here."""


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
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the byte pass runs on the other core from the start: while frictionless reads the header, then the scan
        bytes_pass = pool.submit(prescan, path, hashes=hashes, stop=stop)
        try:
            resource = _resource(path, schema, dialect, encoding)
            with resource:
                header = _Header.read(resource)
            scan_options = (limit_errors, memory_limit, threads, hashes)
            return _validate_widening(resource, header, scan_options, bytes_pass, started)
        except (_Fallback, FrictionlessException, duckdb.Error) as reason:
            log.warning("fast validation hands %s to frictionless: %s", path.name, str(reason).splitlines()[0][:200])
        finally:
            stop.set()  # the byte pass is done, or no longer wanted
    fallback = _resource(path, schema, dialect, encoding)
    return dict(fallback.validate(limit_errors=limit_errors).to_dict())


def _validate_widening(
    resource: Resource,
    header: _Header,
    options: tuple[int, str, int | None, bool],
    bytes_pass: Future[Prescan],
    started: float,
) -> dict[str, Any]:
    """``_validate``, reading more columns while a row has more cells than read."""
    columns = header.columns
    while True:
        try:
            return _validate(resource, header, columns, *options, bytes_pass, started)
        except Overflow:
            columns *= 4
            if columns > 4096:
                raise _Fallback("a row has more than 4096 cells") from None


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

    def __init__(self, table: Resource) -> None:
        resource: Any = table  # a TableResource: labels and header exist once it is open
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
    if len(delimiter) != 1 or len(quote_char) != 1:
        raise _Fallback("delimiter or quote char not supported")
    return {
        "encoding": (resource.encoding or "utf-8").lower(),
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
        encoding="utf-8",
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


def _first_walk(
    con: duckdb.DuckDBPyConnection, header: _Header, data: Path, columns: int, limit: int, *, parallel: bool
) -> tuple[scan.ScanPlan, set[str], Collector, int]:
    """One scan walks the flagged rows and keeps every key; a second walk only if a key repeats."""
    plan = _plan(header, data, columns, parallel=parallel)
    collector = Collector(plan, header.fields, header.errors, con, limit)
    stream = scan.Stream(con, plan, set(), with_late=False, keep_keys=True)
    collector.walk(stream)
    stream.flush_kept()
    dup_slots = scan.duplicated_keys(con, plan, kept=True)
    if not dup_slots:  # the walk saw every key once: a walk of the keys found twice would add nothing
        return plan, dup_slots, collector, _late_walk(collector, con, plan, dup_slots, stream.rows)
    if collector.cut is not None:  # the walk stopped early: the kept keys are only those it read
        dup_slots = scan.duplicated_keys(con, plan)
    collector = Collector(plan, header.fields, header.errors, con, limit)
    return plan, dup_slots, collector, _scan_rows(collector, con, plan, dup_slots)


def _scan_rows(collector: Collector, con: duckdb.DuckDBPyConnection, plan: scan.ScanPlan, dup_slots: set[str]) -> int:
    """Walk the interesting rows; again with the late keys if one equals a SQL key. Rows read."""
    stream = scan.Stream(con, plan, dup_slots, with_late=False)
    collector.walk(stream)
    return _late_walk(collector, con, plan, dup_slots, stream.rows)


def _late_walk(
    collector: Collector, con: duckdb.DuckDBPyConnection, plan: scan.ScanPlan, dup_slots: set[str], rows: int
) -> int:
    """After a walk: walk again with the late keys if one equals a SQL key. Rows read."""
    if collector.late_exact and scan.late_matches(con, plan):
        collector.reset()
        stream = scan.Stream(con, plan, dup_slots, with_late=True)
        collector.walk(stream)
        return stream.rows
    return rows


def _validate(
    resource: Resource,
    header: _Header,
    columns: int,
    limit: int,
    memory_limit: str,
    threads: int | None,
    hashes: bool,
    bytes_pass: Future[Prescan],
    started: float,
) -> dict[str, Any]:
    path = Path(str(resource.normpath))
    con, spill = scan.connect(memory_limit, threads or os.cpu_count() or 1)
    try:
        data = _as_utf8(path, header.source["encoding"], Path(spill.name))
        try:
            plan, dup_slots, collector, rows = _first_walk(con, header, data, columns, limit, parallel=True)
        except duckdb.Error as e:
            if "null_padding" not in str(e):
                raise
            # quoted line breaks: DuckDB pads short rows only with its serial reader
            plan, dup_slots, collector, rows = _first_walk(con, header, data, columns, limit, parallel=False)
        found = bytes_pass.result()
        lines = found if data == path else prescan(data, hashes=False)
        if collector.cut is not None:  # the walk stopped early: count the rows
            rows = scan.count_rows(con, plan)
        row_map = _row_map(lines, header, rows, data)
        if row_map.empty_rows:  # row numbers shift past each empty row: walk again
            collector.reset(row_map)
            _scan_rows(collector, con, plan, dup_slots)
        errors_, warnings, rows = collector.finish(rows + len(row_map.empty_rows))
    finally:
        con.close()
        spill.cleanup()
    stats = resource.stats
    partial = bool(warnings)  # frictionless stops reading: no hashes of the whole file
    stats.md5, stats.sha256 = (found.md5, found.sha256) if hashes and not partial else (None, None)
    stats.bytes, stats.rows, stats.fields = found.size, rows, header.field_count
    elapsed = round(time.perf_counter() - started, 3)
    report = Report.from_validation_task(
        resource, time=elapsed, labels=header.labels, errors=errors_, warnings=warnings
    )
    return dict(report.to_dict())


def _as_utf8(path: Path, encoding: str, folder: Path) -> Path:
    """The file itself if DuckDB can read it, else a streamed UTF-8 copy (decoding as Python does)."""
    if encoding in _READ_AS_IS:
        return path
    target = folder / "utf8.csv"
    try:
        with path.open(encoding=encoding, newline="") as source, target.open("w", encoding="utf-8", newline="") as out:
            while chunk := source.read(_TRANSCODE_CHARS):
                out.write(chunk)
    except (UnicodeError, LookupError) as e:
        raise _Fallback(f"cannot decode as {encoding}: {e}") from e
    return target


def _row_map(found: Prescan, header: _Header, data_rows: int, path: Path) -> RowMap:
    s = header.source
    if found.starts_empty:
        raise _Fallback("the file starts with an empty line")
    if s["header_rows"] and found.first_line.count(s["quote_char"].encode()) % 2:
        raise _Fallback("the header row spans lines")
    rows = data_rows + s["header_rows"]
    if found.line_feeds == rows - (0 if found.ends_with_line_feed else 1):
        return RowMap()  # one line per row: no empty line, no line break inside a cell
    empty, count = locate_empty_rows(path, encoding="utf-8", delimiter=s["delimiter"], quote_char=s["quote_char"])
    if count != rows + len(empty):
        raise _Fallback("DuckDB and the csv module count different rows")
    return RowMap(empty)
