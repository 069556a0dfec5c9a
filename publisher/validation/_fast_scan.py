"""The DuckDB side of the fast engine: read the CSV as text, flag rows, find duplicate keys.

The file is read with every column as VARCHAR, ``null_padding`` (a short row
gets NULLs, which no cell can produce because ``nullstr`` is a sentinel) and a
few spare columns (a long row fills them). ``row_number() OVER ()`` numbers
the rows in file order. One aggregate query counts the rows, keeps the first
flagged rows, and (with GROUPING SETS) the key values seen more than once.
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
FETCH_ROWS = 10_000


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
            f"read_csv({quote(str(s.path))}, header=false, columns={columns}, all_varchar=true, "
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
            return f"CASE WHEN {self._data()} AND {self.covered(slot)} THEN struct_pack({members}) END"
        return f"CASE WHEN {self._data()} AND {self.covered(slot)} THEN {self.fields[slot.positions[0]].key} END"

    def _data(self) -> str:
        # not a WHERE: a filter on row_number() slows DuckDB's scan down by half
        return f"rn > {self.source.header_rows}"

    def representative(self, slot: KeySlot) -> str:
        """The first slot with the same key (a one-field primary key that is also ``unique``)."""
        return next(
            s.name for s in self.slots if s.positions == slot.positions and self.slot_key(s) == self.slot_key(slot)
        )

    def grouped(self) -> list[str]:
        """Slots whose keys are grouped (one per distinct key)."""
        return [s.name for s in self.slots if self.representative(s) == s.name]

    def slot_type(self, slot: KeySlot) -> str:
        if slot.primary and len(slot.positions) > 1:
            return "STRUCT(" + ", ".join(f"p{j} {self.fields[i].key_type}" for j, i in enumerate(slot.positions)) + ")"
        return self.fields[slot.positions[0]].key_type

    def keyed(self, *, all_cells: bool = False) -> str:
        """CTE text: rn, flagged, cells (of flagged rows only, by default), covered slots, key slots.

        A key is known in SQL when its cells are certainly valid, even in a
        flagged row; Python supplies ("late") only the keys SQL does not know.
        """
        keys = "".join(f", {self.slot_key(s)} AS {s.name}" for s in self.slots)
        covered = "list_value(" + ", ".join(self.covered(s) for s in self.slots) + ")" if self.slots else "[]"
        cells = self.cells() if all_cells else f"CASE WHEN flagged THEN {self.cells()} END"
        oks = "".join(f", {f.certain} AS ok{i}" for i, f in enumerate(self.fields))
        return (
            f"src AS (SELECT row_number() OVER () AS rn, * FROM {self.reader()}), "
            f"chk AS (SELECT *{oks} FROM src), "
            f"flg AS (SELECT *, ({self._data()} AND ({self.flag()})) AS flagged FROM chk), "
            f"keyed AS (SELECT rn, flagged, {cells} AS fcells, "
            f"CASE WHEN flagged THEN {covered} END AS covered{keys} FROM flg)"
        )


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


@dataclass
class Summary:
    rows: int  # data rows DuckDB read (header excluded)
    flagged: int
    sample: list[dict[str, Any]]  # first flagged rows: {"rn", "cells"}
    dup_slots: set[str]  # slots with at least one value seen twice


def summarise(con: duckdb.DuckDBPyConnection, plan: ScanPlan, sample_size: int) -> Summary:
    """The single full scan: row count, first flagged rows, duplicated keys (into table agg)."""
    sample = (
        f"min_by(struct_pack(rn := rn, cells := fcells, covered := covered), rn, {sample_size}) FILTER (WHERE flagged)"
    )
    names = plan.grouped()
    header = plan.source.header_rows
    if not names:
        row = con.execute(
            f"WITH {plan.keyed()} SELECT count(*) - {header}, count_if(flagged), {sample} FROM keyed"
        ).fetchone()
        assert row is not None
        return Summary(rows=row[0], flagged=row[1], sample=row[2] or [], dup_slots=set())
    grouping = f"GROUPING({', '.join(names)})"
    sets = ", ".join(["()", *[f"({n})" for n in names]])
    everything = (1 << len(names)) - 1
    dup = " OR ".join(f"({n} IS NOT NULL AND count(*) > 1)" for n in names)
    con.execute(
        f"CREATE OR REPLACE TABLE agg AS WITH {plan.keyed()} "
        f"SELECT {grouping} AS g, {', '.join(names)}, count(*) AS n, count_if(flagged) AS nflag, {sample} AS sample "
        f"FROM keyed GROUP BY GROUPING SETS ({sets}) HAVING {grouping} = {everything} OR {dup}"
    )
    row = con.execute(f"SELECT greatest(n - {header}, 0), nflag, sample FROM agg WHERE g = {everything}").fetchone()
    assert row is not None
    dup_slots = set()
    for index, name in enumerate(names):
        mask = everything ^ (1 << (len(names) - 1 - index))
        found = con.execute(f"SELECT count(*) FROM agg WHERE g = {mask}").fetchone()
        if found and found[0]:
            dup_slots.update(s.name for s in plan.slots if plan.representative(s) == name)
    return Summary(rows=row[0], flagged=row[1], sample=row[2] or [], dup_slots=dup_slots)


def flagged_after(con: duckdb.DuckDBPyConnection, plan: ScanPlan, after: int, size: int) -> list[dict[str, Any]]:
    """The next ``size`` flagged rows after DuckDB row ``after`` (another scan)."""
    row = con.execute(
        f"WITH {plan.keyed()} SELECT min_by(struct_pack(rn := rn, cells := fcells, covered := covered), rn, {size}) "
        f"FROM keyed WHERE flagged AND rn > {int(after)}"
    ).fetchone()
    return list(row[0] or []) if row else []


def create_late_tables(con: duckdb.DuckDBPyConnection, plan: ScanPlan) -> None:
    for slot in plan.slots:
        texts = ", ".join(f"t{j} VARCHAR" for j in range(len(slot.positions)))
        con.execute(f"CREATE OR REPLACE TABLE late_{slot.name} (rn BIGINT, exact BOOLEAN, {texts}, cells VARCHAR[])")


def insert_late(con: duckdb.DuckDBPyConnection, slot: KeySlot, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        marks = ", ".join("?" for _ in range(len(slot.positions) + 3))
        con.executemany(f"INSERT INTO late_{slot.name} VALUES ({marks})", rows)


def _late_key(plan: ScanPlan, slot: KeySlot) -> str:
    if slot.primary and len(slot.positions) > 1:
        members = ", ".join(
            f"p{j} := TRY_CAST(t{j} AS {plan.fields[i].key_type})" for j, i in enumerate(slot.positions)
        )
        return f"struct_pack({members})"
    return f"TRY_CAST(t0 AS {plan.fields[slot.positions[0]].key_type})"


def late_rows(con: duckdb.DuckDBPyConnection, plan: ScanPlan, slot: KeySlot) -> Iterator[tuple[Any, ...]]:
    """(rn, slot name, key, cells) of the late keys of one slot, in row order."""
    cursor = con.cursor()
    texts = ", ".join(f"t{j}" for j in range(len(slot.positions)))
    cursor.execute(
        f"SELECT rn, CASE WHEN exact THEN {_late_key(plan, slot)} END, "
        f"CASE WHEN NOT exact THEN list_value({texts}) END, cells FROM late_{slot.name} ORDER BY rn"
    )
    while batch := cursor.fetchmany(FETCH_ROWS):
        for rn, key, text_key, cells in batch:
            yield rn, 1, slot.name, key if text_key is None else ("text", *text_key), cells


def keyed_rows(con: duckdb.DuckDBPyConnection, plan: ScanPlan, slots_with_dups: set[str]) -> Iterator[tuple[Any, ...]]:
    """Unflagged rows holding a duplicated key or a key equal to a late key (another scan)."""
    names = [s.name for s in plan.slots]
    grouped = plan.grouped()
    everything = (1 << len(grouped)) - 1
    wanted: list[str] = []
    for slot in plan.slots:
        representative = plan.representative(slot)
        mask = everything ^ (1 << (len(grouped) - 1 - grouped.index(representative)))
        if slot.name in slots_with_dups:
            wanted.append(f"{slot.name} IN (SELECT {representative} FROM agg WHERE g = {mask})")
        wanted.append(f"{slot.name} IN (SELECT {_late_key(plan, slot)} FROM late_{slot.name} WHERE exact)")
    cursor = con.cursor()
    cursor.execute(
        f"WITH {plan.keyed(all_cells=True)} SELECT rn, {', '.join(names)}, fcells "
        f"FROM keyed WHERE ({' OR '.join(wanted)}) ORDER BY rn"
    )
    while batch := cursor.fetchmany(FETCH_ROWS):
        for record in batch:
            rn, keys, cells = record[0], record[1:-1], record[-1]
            for name, key in zip(names, keys, strict=True):
                yield rn, 0, name, key, cells
