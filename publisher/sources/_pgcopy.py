"""The fast path for PostgreSQL through psycopg 3: ``COPY (SELECT ...) TO STDOUT``.

PostgreSQL formats every value itself and psycopg hands over the CSV in
blocks, which go straight to the staging file: memory stays flat and no Python
code runs per value. The SELECT list rewrites each column into the same text
the generic path writes (``Z``-suffixed UTC datetimes, ``true``/``false``,
``INF``, JSON arrays, base64 bytes), so describe sees one convention.

The cursor maximum is read in the same REPEATABLE READ transaction as the
COPY, so both see one snapshot. Results with duplicate column names go the
generic way (None is returned).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from publisher.sources._sqltypes import Column, from_postgres_oid

Quote = Callable[[str], str]
_UTC_ISO = "replace(to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || 'Z'"
_LOCAL_ISO = "replace(to_char({c}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '')"
_EXPRESSIONS = {
    "timestamptz": _UTC_ISO,
    "timestamp": _LOCAL_ISO,
    "bool": "CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END",
    "numeric": "replace({c}::text, 'Infinity', 'INF')",
    "float4": "replace({c}::text, 'Infinity', 'INF')",
    "float8": "replace({c}::text, 'Infinity', 'INF')",
    "bytea": "translate(encode({c}, 'base64'), E'\\n', '')",
}


def _type_name(oid: Any) -> str:
    from psycopg.postgres import types as pg_types

    info = pg_types.get(oid) if isinstance(oid, int) else None
    if info is None:
        return ""
    return "array" if oid == info.array_oid else str(info.name)


def _expression(column: str, type_name: str) -> str:
    if type_name == "array":
        return f"to_json({column})::text"
    return _EXPRESSIONS.get(type_name, "{c}").format(c=column)


def copy_csv(dbapi_connection: Any, sql: str, params: Mapping[str, Any], known: Mapping[str, Column],
             cursor_column: str | None, quote: Quote, path: Path) -> tuple[list[Column], int, Any] | None:
    """Stage ``sql`` as CSV at ``path``; (columns, rows, cursor max), or None for the generic path."""
    if params:  # psycopg placeholders: %(name)s, so a literal % in the steward's SQL must be doubled
        sql = sql.replace("%", "%%").replace(":since", "%(since)s")
    with dbapi_connection.cursor() as cur:
        cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        cur.execute("SET LOCAL IntervalStyle = 'iso_8601'")
        cur.execute(f"SELECT * FROM ({sql}) publisher_src LIMIT 0", params or None)
        description = list(cur.description)
        names = [d.name for d in description]
        if len(set(names)) != len(names):
            return None
        type_names = [_type_name(d.type_code) for d in description]
        top = None
        if cursor_column is not None and cursor_column in names:
            cur.execute(f"SELECT max({quote(cursor_column)}) FROM ({sql}) publisher_src", params or None)
            top = cur.fetchone()[0]
        select = ", ".join(f"{_expression(quote(n), t)} AS {quote(n)}" for n, t in zip(names, type_names, strict=True))
        statement = f"COPY (SELECT {select} FROM ({sql}) publisher_src) TO STDOUT (FORMAT csv, HEADER true)"
        with path.open("wb") as out, cur.copy(statement, params or None) as copy:
            for block in copy:
                out.write(block)
        rows = int(cur.rowcount)
    description_columns = [known.get(n) or Column(n, *from_postgres_oid(d.type_code))
                           for n, d in zip(names, description, strict=True)]
    return description_columns, rows, top
