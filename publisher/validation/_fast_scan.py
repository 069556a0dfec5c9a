"""The DuckDB side of the fast engine: read the CSV as text, flag rows, find duplicate keys.

The file is read with every column as VARCHAR, ``null_padding`` (a short row
gets NULLs, which no cell can produce because ``nullstr`` is a sentinel) and a
spare column (a long row fills it).

Row numbers come from the order of the result, not from ``row_number()``: a
window function serialises DuckDB's scan (half the speed on two cores), while
a plain projection streamed with ``preserve_insertion_order`` keeps the file's
order and runs in parallel. So:

1. ``Stream`` with ``keep_keys`` (parallel, ordered): per row, whether it is
   flagged; Arrow batches are counted to number the rows, only the flagged
   rows' cells cross into Python, and every row's keys are appended to table
   ``kept_keys`` (only with ``unique``/``primaryKey``).
2. ``duplicated_keys(kept=True)``: with GROUPING SETS over ``kept_keys``, the
   key values seen more than once, in table ``agg``. Usually none: done.
3. Otherwise (``duplicated_keys`` from the file if the walk stopped early)
   a ``Stream`` that also sends the rows holding a duplicated key.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ._fast_sql import FieldSql, quote

NULL_SENTINEL = "\x01\x02\x03"
SPARE_COLUMNS = 1
BATCH_ROWS = 65_536
KEPT_KEYS = "kept_keys"  # every row's grouped keys, kept by a Stream
KEEP_ROWS = 1 << 20  # kept keys are appended to their table in batches of about this many rows


@dataclass(frozen=True)
class KeySlot:
    """A uniqueness check: one ``unique`` field, or the primary key."""

    name: str  # k0, k1, ... or kp
    positions: tuple[int, ...]  # indices into the expected fields
    primary: bool


@dataclass(frozen=True)
class CsvSource:
    path: Path
    encoding: str  # a DuckDB encoding name
    delimiter: str
    quote_char: str
    escape_char: str
    header_rows: int  # 0 or 1
    columns: int  # columns read (expected fields + spare)
    parallel: bool


@dataclass(frozen=True)
class ScanPlan:
    source: CsvSource
    fields: list[FieldSql]
    slots: list[KeySlot]

    def reader(self) -> str:
        s = self.source
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(s.columns)) + "}"
        return (
            f"read_csv({quote(str(s.path))}, header=false, skip={s.header_rows}, columns={columns}, all_varchar=true, "
            f"nullstr={quote(NULL_SENTINEL)}, delim={quote(s.delimiter)}, quote={quote(s.quote_char)}, "
            f"escape={quote(s.escape_char)}, auto_detect=false, strict_mode=false, null_padding=true, "
            f"encoding={quote(s.encoding)}, parallel={'true' if s.parallel else 'false'}, "
            "comment='')"
        )

    def flag(self) -> str:
        n = len(self.fields)
        conditions = ["NOT " + ("(" + " AND ".join(f"ok{i}" for i in range(n)) + ")" if n else "true")]
        conditions.append(f"c{n} IS NOT NULL")  # extra cells
        if self.fields:
            conditions.append("(" + " AND ".join(f.blank for f in self.fields) + ")")  # blank row
        for slot in self.slots:
            if slot.primary:
                # in an otherwise certain row, a key cell is None only when blank
                conditions.append("(" + " AND ".join(self.fields[i].blank for i in slot.positions) + ")")
        return " OR ".join(conditions)

    def cells(self) -> str:
        return "list_value(" + ", ".join(f"c{i}" for i in range(self.source.columns)) + ")"

    def covered(self, slot: KeySlot) -> str:
        """SQL knows this slot's key: every cell of it is certainly valid (or a missing value)."""
        return "(" + " AND ".join(f"ok{i}" for i in slot.positions) + ")"

    def slot_key(self, slot: KeySlot) -> str:
        if slot.primary and len(slot.positions) > 1:
            members = ", ".join(f"p{j} := {self.fields[i].key}" for j, i in enumerate(slot.positions))
            return f"CASE WHEN {self.covered(slot)} THEN struct_pack({members}) END"
        return f"CASE WHEN {self.covered(slot)} THEN {self.fields[slot.positions[0]].key} END"

    def representative(self, slot: KeySlot) -> str:
        """The first slot with the same key (a one-field primary key that is also ``unique``)."""
        return next(s.name for s in self.slots if self.slot_key(s) == self.slot_key(slot))

    def grouped(self) -> list[str]:
        """Slots whose keys are grouped (one per distinct key)."""
        return [s.name for s in self.slots if self.representative(s) == s.name]

    def key_rows(self) -> str:
        """Subquery: the key columns only (DuckDB then checks and parses no other column)."""
        positions = sorted({i for s in self.slots for i in s.positions})
        oks = ", ".join(f"{self.fields[i].certain} AS ok{i}" for i in positions)
        keys = ", ".join(f"{self.slot_key(s)} AS {s.name}" for s in self.slots)
        return f"(SELECT {keys} FROM (SELECT *, {oks} FROM {self.reader()}))"

    def rows(self) -> str:
        """Subquery: every row (header included, in file order) with flagged, covered and key columns."""
        oks = "".join(f", {f.certain} AS ok{i}" for i, f in enumerate(self.fields))
        keys = "".join(f", {self.slot_key(s)} AS {s.name}" for s in self.slots)
        covered = "list_value(" + ", ".join(self.covered(s) for s in self.slots) + ")" if self.slots else "[]"
        checked = f"SELECT *{oks} FROM {self.reader()}"
        return f"(SELECT *, ({self.flag()}) AS flagged, {covered} AS covered{keys} FROM ({checked}))"


def connect(memory_limit: str, threads: int) -> tuple[duckdb.DuckDBPyConnection, tempfile.TemporaryDirectory[str]]:
    spill = tempfile.TemporaryDirectory(prefix="publisher-fastval-")
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {quote(memory_limit)}")
    con.execute(f"SET temp_directory = {quote(spill.name)}")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = true")
    # type_pushdown turns TRY_CAST over a VARCHAR CSV column into a reader cast that fails.
    con.execute("SET disabled_optimizers = 'type_pushdown'")
    return con, spill


def duplicated_keys(con: duckdb.DuckDBPyConnection, plan: ScanPlan, *, kept: bool = False) -> set[str]:
    """Slots with a key value seen twice; the values go to table ``agg``.

    From the file (parallel, key columns only), or with ``kept`` from table
    ``kept_keys``, filled by a ``Stream`` that kept every row's keys.
    """
    names = plan.grouped()
    if not names:
        return set()
    grouping = f"GROUPING({', '.join(names)})"
    sets = ", ".join(f"({n})" for n in names)
    dup = " OR ".join(f"({n} IS NOT NULL AND count(*) > 1)" for n in names)
    source = KEPT_KEYS if kept else plan.key_rows()
    con.execute(
        f"CREATE OR REPLACE TABLE agg AS SELECT {grouping} AS g, {', '.join(names)} "
        f"FROM {source} GROUP BY GROUPING SETS ({sets}) HAVING {dup}"
    )
    dup_slots: set[str] = set()
    for index, name in enumerate(names):
        found = con.execute(f"SELECT count(*) FROM agg WHERE g = {_mask(names, index)}").fetchone()
        if found and found[0]:
            dup_slots.update(s.name for s in plan.slots if plan.representative(s) == name)
    return dup_slots


def count_rows(con: duckdb.DuckDBPyConnection, plan: ScanPlan) -> int:
    row = con.execute(f"SELECT count(*) FROM {plan.reader()}").fetchone()
    return int(row[0]) if row else 0


def _mask(names: list[str], index: int) -> int:
    """GROUPING() of the set that groups by ``names[index]`` alone."""
    return ((1 << len(names)) - 1) ^ (1 << (len(names) - 1 - index))


def create_late_table(con: duckdb.DuckDBPyConnection, plan: ScanPlan) -> None:
    """Keys read in Python (cells SQL could not vouch for), by slot, as text."""
    con.execute("CREATE OR REPLACE TABLE late (slot VARCHAR, t VARCHAR[])")


def insert_late(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, list[str | None]]]) -> None:
    if rows:
        con.executemany("INSERT INTO late VALUES (?, ?)", rows)


def late_key(plan: ScanPlan, slot: KeySlot) -> str:
    """SQL for a late key of ``slot`` from its texts ``t``."""
    if slot.primary and len(slot.positions) > 1:
        members = ", ".join(
            f"p{j} := TRY_CAST(t[{j + 1}] AS {plan.fields[i].key_type})" for j, i in enumerate(slot.positions)
        )
        return f"struct_pack({members})"
    return f"TRY_CAST(t[1] AS {plan.fields[slot.positions[0]].key_type})"


def late_matches(con: duckdb.DuckDBPyConnection, plan: ScanPlan) -> bool:
    """Does any late key equal a key SQL computed? (another parallel scan)"""
    wanted = [f"{s.name} IN (SELECT {late_key(plan, s)} FROM late WHERE slot = {quote(s.name)})" for s in plan.slots]
    row = con.execute(f"SELECT count(*) FROM {plan.rows()} WHERE {' OR '.join(wanted)}").fetchone()
    return bool(row and row[0])


class Stream:
    """Rows that are flagged or hold a possibly duplicated key, in file order (parallel, ordered scan).

    Iterating yields (0-based row index, columns); ``rows`` is the number of
    rows read once the iteration is complete.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        plan: ScanPlan,
        dup_slots: set[str],
        with_late: bool,
        *,
        keep_keys: bool = False,
    ) -> None:
        self.con, self.plan, self.rows = con, plan, 0
        names = plan.grouped()
        self.keep_keys = keep_keys and bool(names)
        self._pending: list[Any] = []  # Arrow batches of kept keys not yet in the table
        self._pending_rows = 0
        kept = "".join(f", {n} AS _all_{n}" for n in names) if self.keep_keys else ""
        candidates = ["false"]
        for slot in plan.slots:
            representative = plan.representative(slot)
            if slot.name in dup_slots:
                mask = _mask(names, names.index(representative))
                candidates.append(f"{slot.name} IN (SELECT {representative} FROM agg WHERE g = {mask})")
            if with_late:
                late = f"SELECT {late_key(plan, slot)} FROM late WHERE slot = {quote(slot.name)}"
                candidates.append(f"{slot.name} IN ({late})")
        keys = "".join(f", CASE WHEN keyed THEN {s.name} END AS {s.name}" for s in plan.slots)
        self.fields = 4 + len(plan.slots)  # the record's columns; the kept keys follow
        self.query = (
            f"SELECT (flagged OR keyed) AS wanted, flagged, "
            f"CASE WHEN flagged OR keyed THEN {plan.cells()} END AS cells, "
            f"CASE WHEN flagged THEN covered END AS covered{keys}{kept} "
            f"FROM (SELECT *, ({' OR '.join(candidates)}) AS keyed FROM {plan.rows()})"
        )

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        import pyarrow.compute as pc

        offset = 0
        cursor = self.con.cursor()  # its own connection: the walk may stop before the end
        if self.keep_keys:
            names = ", ".join(self.plan.grouped())
            empty = f"SELECT {names} FROM {self.plan.key_rows()} LIMIT 0"
            self.con.execute(f"CREATE OR REPLACE TABLE {KEPT_KEYS} AS {empty}")
        try:
            for batch in cursor.sql(self.query).to_arrow_reader(BATCH_ROWS):
                if self.keep_keys:
                    self._keep(batch.select(range(self.fields, batch.num_columns)))
                    batch = batch.select(range(self.fields))
                wanted = batch.column(0)
                if pc.any(wanted).as_py():
                    picked = batch.filter(wanted).to_pylist()
                    indices = pc.indices_nonzero(wanted).to_pylist()
                    for index, record in zip(indices, picked, strict=True):
                        yield offset + index, record
                offset += batch.num_rows
                self.rows = offset
        finally:
            cursor.close()

    def _keep(self, keys: Any) -> None:
        """Hold one batch of every row's keys for table ``kept_keys``; append them by the million."""
        self._pending.append(keys)
        self._pending_rows += keys.num_rows
        if self._pending_rows >= KEEP_ROWS:
            self.flush_kept()

    def flush_kept(self) -> None:
        """Append the held keys to table ``kept_keys``: after a walk, it has the keys of every row read."""
        if not self._pending:
            return
        import pyarrow as pa

        self.con.register("_kept_batch", pa.Table.from_batches(self._pending))
        try:
            self.con.execute(f"INSERT INTO {KEPT_KEYS} SELECT * FROM _kept_batch")
        finally:
            self.con.unregister("_kept_batch")
        self._pending, self._pending_rows = [], 0
