"""``kind = "sql"``: a table or one SELECT from a relational database.

    source = { kind = "sql", url = { env = "OBRAS_DB_URL" }, table = "obras.reclamos",
               cursor = "actualizado" }

- ``url`` is a SQLAlchemy URL; one with a password must come from the
  environment. SQLite works out of the box; PostgreSQL, MySQL/MariaDB, SQL
  Server and Oracle need their driver (optional extras ``publisher[postgresql]``...).
- Rows stream from a server-side cursor in chunks into a staging CSV, inside a
  read-only transaction where the database has one.
- Column types come from the database and are passed to describe as a
  Table Schema ``schema_hint``; a named table's primary key becomes the schema's.
- ``cursor``: only rows with ``cursor > last published value`` are read and
  merged into the previous data by primary key; ``publisher run --full`` reads all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from publisher.config import EnvRef, SourceOptions, StrOrEnv, resolve
from publisher.errors import ConfigError, SourceError, TransientSourceError
from publisher.sources import register
from publisher.sources._common import CsvStager, csv_read_options, first_line, mask_url, resource_name, scrub
from publisher.sources._merge import merge_by_key, previous_resource_csv
from publisher.sources._sqlquery import IDENTIFIER_RE, single_select, table_name
from publisher.sources._sqltypes import Column, from_postgres_oid, from_sqlalchemy
from publisher.sources.base import Extraction, SourceContext, StagedFile

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

log = logging.getLogger(__name__)

DRIVER_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "mssql": "sqlserver",
                 "oracle": "oracle"}
_AUTH_WORDS = ("password authentication failed", "access denied", "login failed", "authentication failed",
               "invalid username/password", "no password supplied", "role \"")
_CONNECT_TIMEOUT_ARG = {"postgresql": "connect_timeout", "mysql": "connect_timeout", "mariadb": "connect_timeout",
                        "sqlite": "timeout"}


class SqlOptions(SourceOptions):
    """``source = { kind = "sql", ... }``."""

    kind: Literal["sql"]
    url: StrOrEnv
    table: str | None = None
    query: str | None = None
    primary_key: tuple[str, ...] = ()
    cursor: str | None = None
    chunk_size: int = Field(default=10_000, ge=100, le=1_000_000)
    connect_timeout: float = Field(default=30.0, gt=0, le=600)
    query_timeout: float | None = Field(default=None, gt=0)
    postgres_copy: bool = True  # PostgreSQL + psycopg: stage with COPY (fast); false: row by row
    resource: str | None = None

    @field_validator("url")
    @classmethod
    def _literal_url(cls, value: StrOrEnv) -> StrOrEnv:
        if isinstance(value, EnvRef):
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"expected a SQLAlchemy URL such as sqlite:///muni.db; got {mask_url(value)!r}") from None
        if url.password:
            raise ValueError('a literal URL with a password is not accepted: use url = { env = "NAME" } '
                             "and set the variable in the environment")
        return value

    @field_validator("query")
    @classmethod
    def _one_select(cls, value: str | None) -> str | None:
        return None if value is None else single_select(value)

    @field_validator("table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None:
            table_name(value)
        return value

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None and not IDENTIFIER_RE.match(value):
            raise ValueError(f"expected a column name; got {value!r}")
        return value

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlOptions:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of table or query")
        if self.cursor and self.query is not None and not self.primary_key:
            raise ValueError("an incremental query (cursor) needs primary_key = [...] to merge rows")
        return self


@dataclass
class _Copied:
    columns: list[Column]
    rows: int
    cursor_max: Any


@register
class SqlSource:
    """Extracts a table or a SELECT into a staging CSV with the database's types."""

    kind: ClassVar[str] = "sql"
    Options: ClassVar[type[SourceOptions]] = SqlOptions

    def __init__(self, options: SqlOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context
        self.name = resource_name(options.resource or (options.table or context.dataset).split(".")[-1],
                                  context.dataset)
        self._primary_key: tuple[str, ...] = options.primary_key
        self._masked = "the database"
        self._password: str | None = None
        self._phase = "connect"

    # --- description --------------------------------------------------------

    def describe_origin(self) -> str:
        what = f"table {self.options.table}" if self.options.table else "query"
        from sqlalchemy.exc import ArgumentError

        try:
            url = self._url()
        except (ConfigError, ArgumentError):  # an unset variable must not break the description
            return f"SQL database, {what}"
        database = Path(url.database).name if url.get_backend_name() == "sqlite" and url.database else url.database
        return f"{url.get_backend_name()} database {database or ''}, {what}".replace("  ", " ")

    def _url(self) -> URL:
        from sqlalchemy.engine import make_url

        raw = resolve(self.options.url, f"datasets.{self.context.dataset}.source.url", self.context.environ)
        url = make_url(raw)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
                and not url.database.startswith("file:"):
            path = Path(url.database)
            url = url.set(database=str(path if path.is_absolute() else self.context.base_dir / path))
        return url

    # --- extraction ---------------------------------------------------------

    def extract(self, workdir: Path) -> Extraction:
        url = self._url()
        self._masked = mask_url(url.render_as_string(hide_password=True))
        self._password = url.password if isinstance(url.password, str) else None
        workdir.mkdir(parents=True, exist_ok=True)
        engine = self._engine(url)
        try:
            return self._extract(engine, workdir)
        finally:
            engine.dispose()

    def _engine(self, url: URL) -> Engine:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import NoSuchModuleError
        from sqlalchemy.pool import NullPool

        backend = url.get_backend_name()
        if backend == "sqlite" and url.database not in (None, "", ":memory:") \
                and not Path(str(url.database)).is_file():
            raise SourceError(f"SQLite database file not found: {url.database}", hint="check source.url")
        connect_args: dict[str, Any] = {}
        if backend in _CONNECT_TIMEOUT_ARG:
            connect_args[_CONNECT_TIMEOUT_ARG[backend]] = max(1, int(self.options.connect_timeout))
        try:
            return create_engine(url, poolclass=NullPool, connect_args=connect_args)
        except (NoSuchModuleError, ModuleNotFoundError) as e:
            extra = DRIVER_EXTRAS.get(backend, backend)
            raise SourceError(
                f"no database driver for {url.drivername!r} ({first_line(str(e))})",
                hint=f"install it: pip install 'publisher[{extra}]'",
            ) from e

    def _extract(self, engine: Engine, workdir: Path) -> Extraction:
        since = self._incremental_since()
        new_path = workdir / (f"{self.name}.new.csv" if since is not None else f"{self.name}.csv")
        copied = self._run_query(engine, new_path, since)
        primary_key = self._primary_key
        state = self._state(copied, since)
        if since is not None:
            if copied.rows == 0:
                log.info("dataset '%s': no rows newer than the cursor", self.context.dataset)
                new_path.unlink()
                return Extraction(not_modified=True, state=state)
            merged = self._merge(new_path, workdir / f"{self.name}.csv", copied.columns, primary_key)
            if merged is None:
                return self._full_again(engine, workdir)
        return Extraction(files=(self._staged(workdir / f"{self.name}.csv", copied.columns),), state=state)

    def _full_again(self, engine: Engine, workdir: Path) -> Extraction:
        copied = self._run_query(engine, workdir / f"{self.name}.csv", None)
        return Extraction(files=(self._staged(workdir / f"{self.name}.csv", copied.columns),),
                          state=self._state(copied, None))

    def _staged(self, path: Path, columns: Sequence[Column]) -> StagedFile:
        hint: dict[str, Any] = {"fields": [column.field() for column in columns]}
        if self._primary_key:
            hint["primaryKey"] = list(self._primary_key)
        return StagedFile(path=path, name=self.name, read=csv_read_options(), schema_hint=hint,
                          origin=self.describe_origin())

    # --- incremental --------------------------------------------------------

    def _incremental_since(self) -> Any:
        """The last published cursor value, or None for a full extract."""
        cursor = self.options.cursor
        previous = self.context.previous_state
        if cursor is None or self.context.full_refresh or "cursor" not in previous:
            return None
        if previous.get("cursor_column") != cursor:
            return None
        if previous_resource_csv(self.context.previous_package_dir, self.name) is None:
            return None
        return _parse_cursor(previous["cursor"], previous.get("cursor_type", "string"))

    def _state(self, copied: _Copied, since: Any) -> dict[str, str]:
        if self.options.cursor is None:
            return {}
        top = copied.cursor_max
        if top is None:
            if since is None:
                return {}
            return {k: v for k, v in self.context.previous_state.items()
                    if k in ("cursor", "cursor_type", "cursor_column")}
        return {"cursor": _cursor_text(top), "cursor_type": _cursor_type(top),
                "cursor_column": self.options.cursor}

    def _merge(self, new_path: Path, out: Path, columns: Sequence[Column], key: Sequence[str]) -> int | None:
        previous = previous_resource_csv(self.context.previous_package_dir, self.name)
        assert previous is not None  # checked by _incremental_since
        types = {c.name: c.field()["type"] for c in columns}
        numeric = [types.get(name) in ("integer", "number") for name in key]
        merged = merge_by_key(previous, new_path, out, key, numeric)
        new_path.unlink()
        return merged

    # --- the query ----------------------------------------------------------

    def _run_query(self, engine: Engine, path: Path, since: Any) -> _Copied:
        with self._database_errors(), engine.connect() as conn:
            self._phase = "query"
            self._begin_read_only(conn)
            known = self._reflect(conn)
            if self.options.cursor and not self._primary_key:
                raise SourceError(f"table {self.options.table!r} has no primary key to merge incremental rows by",
                                  hint="set source.primary_key = [...] or remove source.cursor")
            sql, params = self._statement(conn, since)
            if self.options.postgres_copy and conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
                fast = self._copy_postgres(conn, sql, params, known, path)
                if fast is not None:
                    return fast
            return self._copy(conn, sql, params, known, path)

    def _copy_postgres(self, conn: Connection, sql: str, params: dict[str, Any], known: dict[str, Column],
                       path: Path) -> _Copied | None:
        import psycopg

        from publisher.sources._pgcopy import copy_csv

        quote = conn.dialect.identifier_preparer.quote
        try:
            copied = copy_csv(conn.connection.dbapi_connection, sql, params, known, self.options.cursor, quote, path)
        except psycopg.Error as e:  # raw driver errors: SQLAlchemy does not wrap them here
            raise self._database_error(e) from e
        if copied is None:
            return None
        columns, rows, top = copied
        if self.options.cursor and self.options.cursor not in [c.name for c in columns]:
            raise SourceError(f"the cursor column {self.options.cursor!r} is not in the result; columns: "
                              f"{', '.join(c.name for c in columns)}", hint="check source.cursor")
        log.info("dataset '%s': %d rows extracted (PostgreSQL COPY)", self.context.dataset, rows)
        return _Copied(columns, rows, top)

    def _statement(self, conn: Connection, since: Any) -> tuple[str, dict[str, Any]]:
        quote = conn.dialect.identifier_preparer.quote
        if self.options.table:
            schema, table = table_name(self.options.table)
            base = f"SELECT * FROM {quote(schema) + '.' if schema else ''}{quote(table)}"
        else:
            assert self.options.query is not None
            base = self.options.query
        if since is None or self.options.cursor is None:
            return base, {}
        return f"SELECT * FROM ({base}) publisher_src WHERE {quote(self.options.cursor)} > :since", {"since": since}

    def _reflect(self, conn: Connection) -> dict[str, Column]:
        """Column types and primary key of a named table (nothing for a query)."""
        self._primary_key = self.options.primary_key
        if not self.options.table:
            return {}
        from sqlalchemy import inspect

        schema, table = table_name(self.options.table)
        inspector = inspect(conn)
        reflected = inspector.get_columns(table, schema=schema)
        if not self._primary_key:
            constrained = inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
            self._primary_key = tuple(constrained)
        columns: dict[str, Column] = {}
        for item in reflected:
            ts_type, ts_format = from_sqlalchemy(item["type"])
            required = not item.get("nullable", True) or item["name"] in self._primary_key
            columns[item["name"]] = Column(item["name"], ts_type, ts_format, required)
        return columns

    def _copy(self, conn: Connection, sql: str, params: dict[str, Any], known: dict[str, Column],
              path: Path) -> _Copied:
        from sqlalchemy import text

        chunk_size = self.options.chunk_size
        result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(text(sql), params)
        keys = list(result.keys())
        columns = _columns(keys, known, result.cursor.description if result.cursor is not None else None)
        cursor_index = keys.index(self.options.cursor) if self.options.cursor in keys else None
        if self.options.cursor and cursor_index is None:
            raise SourceError(f"the cursor column {self.options.cursor!r} is not in the result; columns: "
                              f"{', '.join(keys)}", hint="check source.cursor")
        converters = [(i, c.converter) for i, c in enumerate(columns) if c.converter is not None]
        unknown = [c for c in columns if c.type is None]
        top: Any = None
        with CsvStager(path, keys) as out:
            for chunk in result.partitions(chunk_size):
                if cursor_index is not None:
                    top = _max_value(top, (row[cursor_index] for row in chunk))
                for column in unknown:
                    index = keys.index(column.name)
                    column.seen.update(type(row[index]).__name__ for row in chunk if row[index] is not None)
                out.write_many(_converted(chunk, converters) if converters else chunk)
        log.info("dataset '%s': %d rows extracted", self.context.dataset, out.rows)
        return _Copied(columns, out.rows, top)

    def _begin_read_only(self, conn: Connection) -> None:
        backend = conn.dialect.name
        if backend == "postgresql":  # one snapshot for the cursor maximum and the rows
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        elif backend in ("mysql", "mariadb", "oracle"):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        if backend == "postgresql":  # timestamptz arrive in UTC: no conversion per value
            conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
        elif backend == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
        else:
            log.debug("no read-only transaction for %s; the query is a checked single SELECT", backend)
        if self.options.query_timeout and backend == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(self.options.query_timeout * 1000)}")

    @contextlib.contextmanager
    def _database_errors(self) -> Iterator[None]:
        from sqlalchemy import exc

        self._phase = "connect"
        try:
            yield
        except exc.NoSuchTableError as e:
            raise SourceError(f"table {self.options.table!r} not found in {self._masked}",
                              hint="check source.table (schema.table) and the user's permissions") from e
        except exc.DBAPIError as e:
            raise self._database_error(e) from e

    def _database_error(self, error: Any) -> SourceError:
        original = getattr(error, "orig", None)
        detail = scrub(first_line(str(original if original is not None else error)), self._password)
        if self._phase == "connect":
            if any(word in detail.lower() for word in _AUTH_WORDS):
                return SourceError(f"cannot log in to {self._masked}: {detail}",
                                   hint=f"check the user and password in {self._url_source()}")
            return TransientSourceError(f"cannot connect to {self._masked}: {detail}",
                                        hint="is the database running and reachable from this machine?")
        return SourceError(f"the query failed on {self._masked}: {detail}",
                           hint="run it in a SQL client to see the problem")

    def _url_source(self) -> str:
        url = self.options.url
        return f"${url.env}" if isinstance(url, EnvRef) else "source.url"


def _columns(keys: Sequence[str], known: dict[str, Column], description: Any) -> list[Column]:
    columns = []
    for index, key in enumerate(keys):
        if key in known:
            columns.append(known[key])
            continue
        ts_type, ts_format = (None, None)
        if description is not None and index < len(description):
            ts_type, ts_format = from_postgres_oid(getattr(description[index], "type_code", None))
        columns.append(Column(key, ts_type, ts_format))
    return columns


def _converted(chunk: Sequence[Any], converters: Sequence[tuple[int, Any]]) -> list[tuple[Any, ...]]:
    """Convert column by column: map() runs the loop in C, which halves the cost per row."""
    if not chunk:
        return []
    columns: list[Any] = list(zip(*chunk, strict=True))
    for index, convert in converters:
        columns[index] = map(convert, columns[index])
    return list(zip(*columns, strict=True))


def _max_value(top: Any, values: Iterator[Any]) -> Any:
    present = [value for value in values if value is not None]
    if not present:
        return top
    best = max(present)
    return best if top is None or best > top else top


def _cursor_type(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, int) and not isinstance(value, bool):
        return "integer"
    if isinstance(value, Decimal | float):
        return "number"
    return "string"


def _cursor_text(value: Any) -> str:
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        value = value.astimezone(dt.UTC)
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _parse_cursor(text: str, kind: str) -> Any:
    parsers: dict[str, Any] = {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat,
                               "integer": int, "number": Decimal}
    try:
        return parsers.get(kind, str)(text)
    except ValueError:
        raise SourceError(f"the stored cursor {text!r} is not a {kind}",
                          hint="run once with --full to reset it") from None
