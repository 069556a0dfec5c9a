"""The sql source against a real PostgreSQL (started by tests/fixtures_postgres.py) and SQLite."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from publisher.config import parse_config
from publisher.errors import ConfigError, SourceError, TransientSourceError
from publisher.sources import registry
from publisher.sources.base import Extraction, SourceContext
from publisher.sources.sql import SqlOptions, SqlSource
from tests.fixtures_postgres import PostgresServer

READER_PASSWORD = "l3ct0r-s3cr3t0"


def options(**raw: Any) -> SqlOptions:
    return SqlOptions.model_validate({"kind": "sql", **raw}, context={"base_dir": Path(".")})


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def extract(opts: SqlOptions, workdir: Path, **context: Any) -> Extraction:
    context.setdefault("environ", {})
    ctx = SourceContext(dataset="reclamos", base_dir=workdir, **context)
    return SqlSource(opts, ctx).extract(workdir / "staging")


# --- config -----------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "select 1; delete from reclamos",
    "delete from reclamos",
    "with x as (delete from reclamos returning *) select * from x",
    "select * into copia from reclamos",
    "update reclamos set estado = 'x'",
    "select * from reclamos for update",
    "",
])
def test_a_query_that_is_not_one_select_is_refused(query: str) -> None:
    with pytest.raises(ValidationError, match=r"SELECT|empty"):
        options(url="sqlite:///muni.db", query=query)


def test_keywords_inside_literals_and_comments_are_data() -> None:
    opts = options(url="sqlite:///muni.db",
                   query="select 'delete; drop' as nota, \"update\" -- insert\nfrom reclamos;")
    assert opts.query is not None and not opts.query.endswith(";")


def test_config_check_names_the_key_path_and_refuses_a_literal_password(tmp_path: Path) -> None:
    raw = {"datasets": [
        {"name": "obras", "title": "Obras",
         "source": {"kind": "sql", "url": "sqlite:///m.db", "query": "drop table x"}},
        {"name": "pagos", "title": "Pagos", "source": {"kind": "sql", "url": "postgresql://u:hunter2@db/x",
                                                        "table": "pagos"}},
        {"name": "ambos", "title": "Ambos", "source": {"kind": "sql", "url": "sqlite:///m.db"}},
    ]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, tmp_path / "harvest_config.toml")
    text = "\n".join(caught.value.problems)
    assert "datasets[0].source.query: expected a single SELECT" in text
    assert "datasets[1].source.url: a literal URL with a password is not accepted" in text
    assert "datasets[2].source: " in text and "exactly one of table or query" in text
    assert "hunter2" not in text
    assert registry.get("sql") is SqlSource


# --- SQLite out of the box --------------------------------------------------

def test_sqlite_table_with_types_and_primary_key(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "muni.db") as db:
        db.execute("create table reclamos (id integer primary key, barrio text not null, monto numeric, "
                   "creado datetime, cerrado boolean)")
        db.executemany("insert into reclamos values (?, ?, ?, ?, ?)", [
            (1, "Echesortu", 1500.5, "2024-03-01 10:00:00", 1),
            (2, "Barrio Martín", None, None, 0),
        ])
    db.close()
    extraction = extract(options(url="sqlite:///muni.db", table="reclamos"), tmp_path)
    (staged,) = extraction.files
    assert staged.name == "reclamos" and staged.read.format == "csv"
    assert read_csv(staged.path) == [
        ["id", "barrio", "monto", "creado", "cerrado"],
        ["1", "Echesortu", "1500.5", "2024-03-01T10:00:00", "true"],
        ["2", "Barrio Martín", "", "", "false"],
    ]
    assert staged.schema_hint == {"fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True}},
        {"name": "barrio", "type": "string", "constraints": {"required": True}},
        {"name": "monto", "type": "number"},
        {"name": "creado", "type": "datetime"},
        {"name": "cerrado", "type": "boolean"},
    ], "primaryKey": ["id"]}
    assert staged.origin == "sqlite database muni.db, table reclamos"


def test_sqlite_query_learns_types_from_values(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "muni.db") as db:
        db.execute("create table t (a, b, c)")
        db.executemany("insert into t values (?, ?, ?)", [(1, 2.5, "x"), (2, 3, None)])
    db.close()
    extraction = extract(options(url="sqlite:///muni.db", query="select a, b, c from t order by a",
                                 chunk_size=100), tmp_path)
    fields = extraction.files[0].schema_hint["fields"]  # type: ignore[index]
    assert [(f["name"], f["type"]) for f in fields] == [("a", "integer"), ("b", "number"), ("c", "string")]


def test_incremental_table_without_primary_key_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "muni.db") as db:
        db.execute("create table t (a integer, actualizado text)")
    db.close()
    with pytest.raises(SourceError, match="has no primary key to merge incremental rows by"):
        extract(options(url="sqlite:///muni.db", table="t", cursor="actualizado"), tmp_path)


def test_missing_sqlite_file_fails_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="SQLite database file not found"):
        extract(options(url="sqlite:///nowhere.db", table="t"), tmp_path)


# --- PostgreSQL -------------------------------------------------------------

SCHEMA_SQL = """
create role lector login password '{password}';
create schema obras;
create table obras.reclamos (
    barrio text not null,
    numero integer not null,
    descripcion text,
    monto numeric(14, 2),
    abierto boolean,
    fecha date,
    actualizado timestamptz not null,
    primary key (barrio, numero)
);
create sequence obras.contador;
create table obras.tipos (
    id integer primary key,
    medida double precision,
    exacto numeric,
    datos bytea,
    lista integer[],
    local timestamp,
    momento timestamptz,
    nota text
);
insert into obras.tipos values
  (1, 'Infinity', 'NaN', '\\x00ff10', '{{1,2,3}}', '2024-03-01 10:00:00.250000', '2024-03-01 10:00:00.5-03',
   'coma, "comillas" y
salto'),
  (2, 1e-05, 0.00000001, NULL, NULL, '2024-03-01 10:00:00', '2024-03-01 10:00:00-03', ''),
  (3, '-Infinity', -12.50, '', '{{}}', NULL, NULL, NULL);
grant usage on schema obras to lector;
grant select on all tables in schema obras to lector;
grant usage on all sequences in schema obras to lector;
set timezone = 'America/Argentina/Cordoba';
insert into obras.reclamos values
  ('Echesortu', 1, 'Bache en calle Mendoza al 3500', 125000.50, true, '2024-03-01', '2024-03-01 09:30:00-03'),
  ('Echesortu', 2, NULL, NULL, NULL, NULL, '2024-03-02 23:15:00-03'),
  ('Barrio Martín', 1, 'Luminaria apagada en la esquina de Ñandubay y Güemes', 0.10, false, '2024-02-29',
   '2024-03-03 12:00:00+00');
"""


@pytest.fixture(scope="module")
def obras_db(postgres: PostgresServer) -> dict[str, str]:
    import psycopg

    postgres.create_database("obras_test")
    with psycopg.connect(postgres.dsn("obras_test"), autocommit=True) as conn:
        conn.execute("drop role if exists lector")
        conn.execute(SCHEMA_SQL.format(password=READER_PASSWORD))  # type: ignore[arg-type]
    return {"OBRAS_DB_URL": postgres.url("obras_test", user="lector", password=READER_PASSWORD),
            "ADMIN_URL": postgres.dsn("obras_test")}


EXPECTED_ROWS = [
    ["barrio", "numero", "descripcion", "monto", "abierto", "fecha", "actualizado"],
    ["Echesortu", "1", "Bache en calle Mendoza al 3500", "125000.50", "true", "2024-03-01", "2024-03-01T12:30:00Z"],
    ["Echesortu", "2", "", "", "", "", "2024-03-03T02:15:00Z"],
    ["Barrio Martín", "1", "Luminaria apagada en la esquina de Ñandubay y Güemes", "0.10", "false", "2024-02-29",
     "2024-03-03T12:00:00Z"],
]


@pytest.mark.postgres
def test_postgres_table_spanish_nulls_numerics_time_zones_composite_key(obras_db: dict[str, str],
                                                                       tmp_path: Path) -> None:
    opts = options(url={"env": "OBRAS_DB_URL"}, table="obras.reclamos", chunk_size=100)
    extraction = extract(opts, tmp_path, environ=obras_db)
    (staged,) = extraction.files
    rows = read_csv(staged.path)
    assert rows[0] == EXPECTED_ROWS[0]
    assert sorted(rows[1:]) == sorted(EXPECTED_ROWS[1:])
    hint = staged.schema_hint or {}
    assert hint["primaryKey"] == ["barrio", "numero"]
    assert [(f["name"], f["type"]) for f in hint["fields"]] == [
        ("barrio", "string"), ("numero", "integer"), ("descripcion", "string"), ("monto", "number"),
        ("abierto", "boolean"), ("fecha", "date"), ("actualizado", "datetime")]
    assert hint["fields"][6]["constraints"] == {"required": True}
    assert READER_PASSWORD not in staged.origin and "127.0.0.1" not in staged.origin
    assert staged.origin == "postgresql database obras_test, table obras.reclamos"


@pytest.mark.postgres
def test_postgres_query_types_come_from_the_driver_even_for_null_columns(obras_db: dict[str, str],
                                                                       tmp_path: Path) -> None:
    query = ("select numero, monto, actualizado, null::date as vacio, array[1,2] as lista "
             "from obras.reclamos where descripcion is null")
    extraction = extract(options(url={"env": "OBRAS_DB_URL"}, query=query), tmp_path, environ=obras_db)
    (staged,) = extraction.files
    assert read_csv(staged.path) == [["numero", "monto", "actualizado", "vacio", "lista"],
                                     ["2", "", "2024-03-03T02:15:00Z", "", "[1,2]"]]
    types = [f["type"] for f in (staged.schema_hint or {})["fields"]]
    assert types == ["integer", "number", "datetime", "date", "array"]
    assert "primaryKey" not in (staged.schema_hint or {})


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["obras.reclamos", "obras.tipos"])
def test_postgres_copy_and_row_by_row_stage_the_same_values(obras_db: dict[str, str], tmp_path: Path,
                                                            table: str) -> None:
    fast = extract(options(url={"env": "OBRAS_DB_URL"}, table=table), tmp_path / "copy", environ=obras_db)
    slow = extract(options(url={"env": "OBRAS_DB_URL"}, table=table, postgres_copy=False), tmp_path / "rows",
                   environ=obras_db)
    assert read_csv(fast.files[0].path) == read_csv(slow.files[0].path)
    assert fast.files[0].schema_hint == slow.files[0].schema_hint
    if table == "obras.tipos":
        assert read_csv(fast.files[0].path)[1:] == [
            ["1", "INF", "NaN", "AP8Q", "[1,2,3]", "2024-03-01T10:00:00.250000", "2024-03-01T13:00:00.500000Z",
             'coma, "comillas" y\nsalto'],
            ["2", "1e-05", "0.00000001", "", "", "2024-03-01T10:00:00", "2024-03-01T13:00:00Z", ""],
            ["3", "-INF", "-12.50", "", "[]", "", "", ""],
        ]


@pytest.mark.postgres
@pytest.mark.parametrize("postgres_copy", [True, False])
def test_the_transaction_is_read_only(obras_db: dict[str, str], tmp_path: Path, postgres_copy: bool) -> None:
    opts = options(url={"env": "OBRAS_DB_URL"}, query="select nextval('obras.contador')", postgres_copy=postgres_copy)
    with pytest.raises(SourceError, match="read-only transaction") as caught:
        extract(opts, tmp_path, environ=obras_db)
    assert "the query failed" in caught.value.one_line()


def _publish(staged_csv: Path, package_dir: Path) -> None:
    """What the runner leaves behind after a successful run: datapackage.json + data/<name>.csv."""
    (package_dir / "data").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(staged_csv, package_dir / "data" / "reclamos.csv")
    descriptor = {"name": "reclamos", "resources": [{"name": "reclamos", "path": "data/reclamos.csv"}]}
    (package_dir / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")


@pytest.mark.postgres
def test_incremental_cursor_merges_by_primary_key(obras_db: dict[str, str], tmp_path: Path) -> None:
    import psycopg

    opts = options(url={"env": "OBRAS_DB_URL"}, table="obras.reclamos", cursor="actualizado")
    first = extract(opts, tmp_path / "run1", environ=obras_db)
    assert first.state == {"cursor": "2024-03-03T12:00:00+00:00", "cursor_type": "datetime",
                           "cursor_column": "actualizado"}
    package = tmp_path / "datapackages" / "reclamos"
    _publish(first.files[0].path, package)

    unchanged = extract(opts, tmp_path / "run2", environ=obras_db, previous_state=first.state,
                        previous_package_dir=package)
    assert unchanged.not_modified and unchanged.files == () and unchanged.state == first.state

    with psycopg.connect(obras_db["ADMIN_URL"], autocommit=True) as conn:
        conn.execute("update obras.reclamos set descripcion = 'Reparado', actualizado = '2024-03-05 10:00:00+00' "
                     "where barrio = 'Echesortu' and numero = 2")
        conn.execute("insert into obras.reclamos values ('Fisherton', 7, 'Árbol caído', 10, true, "
                     "'2024-03-04', '2024-03-04 08:00:00+00')")
    try:
        second = extract(opts, tmp_path / "run3", environ=obras_db, previous_state=first.state,
                         previous_package_dir=package)
        rows = read_csv(second.files[0].path)
        assert rows[0] == EXPECTED_ROWS[0]
        assert len(rows) == 5  # 3 previous (one replaced) + 1 new
        by_key = {(r[0], r[1]): r for r in rows[1:]}
        assert by_key[("Echesortu", "2")][2] == "Reparado"
        assert by_key[("Fisherton", "7")][2] == "Árbol caído"
        assert by_key[("Barrio Martín", "1")] == EXPECTED_ROWS[3]
        assert second.state["cursor"] == "2024-03-05T10:00:00+00:00"

        full = extract(opts, tmp_path / "run4", environ=obras_db, previous_state=second.state,
                       previous_package_dir=package, full_refresh=True)
        assert len(read_csv(full.files[0].path)) == 5 and full.files[0].path.name == "reclamos.csv"
    finally:
        with psycopg.connect(obras_db["ADMIN_URL"], autocommit=True) as conn:
            conn.execute("delete from obras.reclamos where barrio = 'Fisherton'")
            conn.execute("update obras.reclamos set descripcion = NULL, actualizado = '2024-03-02 23:15:00-03' "
                         "where barrio = 'Echesortu' and numero = 2")


@pytest.mark.postgres
def test_wrong_password_is_terminal_and_never_printed(obras_db: dict[str, str], tmp_path: Path,
                                                      postgres: PostgresServer) -> None:
    environ = {"OBRAS_DB_URL": postgres.url("obras_test", user="lector", password="wrong-Pa55word")}
    with pytest.raises(SourceError) as caught:
        extract(options(url={"env": "OBRAS_DB_URL"}, table="obras.reclamos"), tmp_path, environ=environ)
    line = caught.value.one_line()
    assert not isinstance(caught.value, TransientSourceError)
    assert "cannot log in to postgresql+psycopg://lector:***@127.0.0.1" in line
    assert "$OBRAS_DB_URL" in line and "wrong-Pa55word" not in line and "\n" not in line


def test_unreachable_database_is_transient(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = {"DB": f"postgresql+psycopg://lector:{READER_PASSWORD}@127.0.0.1:{port}/obras"}
    with pytest.raises(TransientSourceError) as caught:
        extract(options(url={"env": "DB"}, table="reclamos", connect_timeout=2), tmp_path, environ=environ)
    line = caught.value.one_line()
    assert line.startswith("[extract]: cannot connect to postgresql+psycopg://lector:***@127.0.0.1")
    assert READER_PASSWORD not in line


@pytest.mark.postgres
@pytest.mark.parametrize(("raw", "expected"), [
    ({"query": "select no_such_column from obras.reclamos"}, "the query failed on .*no_such_column"),
    ({"table": "obras.no_existe"}, "table 'obras.no_existe' not found"),
    ({"table": "obras.reclamos", "cursor": "no_existe"}, "cursor column 'no_existe' is not in the result"),
])
def test_query_errors_are_one_line(obras_db: dict[str, str], tmp_path: Path, raw: dict[str, str],
                                   expected: str) -> None:
    with pytest.raises(SourceError, match=expected) as caught:
        extract(options(url={"env": "OBRAS_DB_URL"}, **raw), tmp_path, environ=obras_db)
    assert READER_PASSWORD not in caught.value.one_line()


def test_unset_environment_variable_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable OBRAS_DB_URL is not set"):
        extract(options(url={"env": "OBRAS_DB_URL"}, table="reclamos"), tmp_path)


# --- through the runner -----------------------------------------------------

RUN_CONFIG = """
[[datasets]]
name = "reclamos"
title = "Reclamos vecinales"
source = { kind = "sql", url = { env = "RECLAMOS_DB_URL" }, table = "reclamos", cursor = "actualizado" }
"""


def _package_csv(root: Path) -> list[list[str]]:
    return read_csv(root / "datapackages" / "reclamos" / "data" / "reclamos.csv")


def test_runner_incremental_merge_and_a_failure_that_keeps_the_previous_package(tmp_path: Path) -> None:
    from publisher.config import load_config
    from publisher.outcomes import Outcome
    from publisher.runner import RunDeps, run

    db_path = tmp_path / "muni.db"
    with sqlite3.connect(db_path) as db:
        db.execute("create table reclamos (id integer primary key, barrio text, actualizado text)")
        db.executemany("insert into reclamos values (?, ?, ?)",
                       [(1, "Echesortu", "2024-03-01 10:00:00"), (2, "Alberdi", "2024-03-02 10:00:00")])
    db.close()
    (tmp_path / "harvest_config.toml").write_text(RUN_CONFIG, encoding="utf-8")
    config = load_config(tmp_path / "harvest_config.toml")
    deps = RunDeps(environ={"RECLAMOS_DB_URL": f"sqlite:///{db_path}"})
    first = run(config, deps=deps).results[0]
    assert first.outcome is Outcome.WRITTEN, first.message
    assert first.source_state["cursor"] == "2024-03-02 10:00:00"

    with sqlite3.connect(db_path) as db:
        db.execute("update reclamos set barrio = 'Alberdi Norte', actualizado = '2024-03-03 09:00:00' where id = 2")
        db.execute("insert into reclamos values (3, 'Fisherton', '2024-03-03 10:00:00')")
        db.execute("delete from reclamos where id = 1")  # incremental mode does not see deletions...
    db.close()
    second = run(config, deps=deps).results[0]
    assert second.outcome is Outcome.WRITTEN, second.message
    assert sorted(_package_csv(tmp_path)[1:]) == [["1", "Echesortu", "2024-03-01 10:00:00"],
                                                  ["2", "Alberdi Norte", "2024-03-03 09:00:00"],
                                                  ["3", "Fisherton", "2024-03-03 10:00:00"]]
    # ...which proves row 1 came from the previous package (merge), not from a full re-read
    assert run(config, deps=deps).results[0].outcome is Outcome.UNCHANGED
    deps.full_refresh = True  # publisher run --full
    assert run(config, deps=deps).results[0].outcome is Outcome.WRITTEN
    assert [row[0] for row in _package_csv(tmp_path)[1:]] == ["2", "3"]

    before = _package_csv(tmp_path)
    deps.environ = {"RECLAMOS_DB_URL": f"postgresql+psycopg://lector:{READER_PASSWORD}@127.0.0.1:1/obras"}
    failed = run(config, deps=deps).results[0]
    assert failed.outcome is Outcome.FAILED and failed.stage == "extract"
    assert failed.message.startswith("dataset 'reclamos' [extract]: cannot connect to postgresql+psycopg://lector:***@")
    assert READER_PASSWORD not in failed.message and "\n" not in failed.message
    assert _package_csv(tmp_path) == before
