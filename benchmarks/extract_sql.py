"""Extract N rows (default 5,000,000) from PostgreSQL into the staging CSV; print rows/s and peak RSS.

    .venv/bin/python benchmarks/extract_sql.py [--rows 5000000] [--url postgresql+psycopg://...]

Without --url it starts a throw-away PostgreSQL (as tests/fixtures_postgres.py does),
fills a table server-side with generate_series (integer key, Spanish text, numeric,
timestamptz, date, boolean, NULLs) and extracts it with the sql source kind
(the COPY fast path; --row-by-row for the generic path every other database uses). Target:
peak RSS under 300 MB whatever the row count (rows stream in chunks).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FILL_SQL = """
drop table if exists bench_reclamos;
create table bench_reclamos (
    id bigint primary key,
    barrio text not null,
    descripcion text,
    monto numeric(14, 2),
    creado timestamptz not null,
    fecha date,
    abierto boolean
);
insert into bench_reclamos
select g,
       (array['Echesortu','Barrio Martín','Fisherton','Alberdi','Pichincha'])[1 + g % 5],
       case when g % 7 = 0 then null else 'Reclamo número ' || g || ' en vía pública' end,
       (g % 100000) / 100.0,
       timestamptz '2024-01-01 00:00:00-03' + (g || ' seconds')::interval,
       date '2020-01-01' + (g % 1500),
       g % 2 = 0
from generate_series(1, %(rows)s) as g;
"""


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.fixtures_postgres import running_postgres

    with running_postgres() as server:
        yield server.create_database("bench")


def fill(url: str, rows: int) -> float:
    import psycopg

    started = time.perf_counter()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FILL_SQL.replace("%(rows)s", str(int(rows))).encode())
        conn.execute("vacuum analyze bench_reclamos")
    return time.perf_counter() - started


def extract(url: str, workdir: Path, row_by_row: bool = False) -> tuple[int, float, Path]:
    from publisher.sources.base import SourceContext
    from publisher.sources.sql import SqlOptions, SqlSource

    raw = {"kind": "sql", "url": {"env": "BENCH_DB_URL"}, "table": "bench_reclamos", "postgres_copy": not row_by_row}
    options = SqlOptions.model_validate(raw, context={"base_dir": workdir})
    context = SourceContext(dataset="bench", base_dir=workdir, environ={"BENCH_DB_URL": url})
    started = time.perf_counter()
    extraction = SqlSource(options, context).extract(workdir / "staging")
    elapsed = time.perf_counter() - started
    staged = extraction.files[0].path
    with staged.open("rb") as handle:
        rows = sum(1 for _ in handle) - 1
    return rows, elapsed, staged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--url", help="an existing PostgreSQL database (SQLAlchemy URL); default: start one")
    parser.add_argument("--row-by-row", action="store_true", help="the generic path (postgres_copy = false)")
    args = parser.parse_args()
    with database(args.url) as url, tempfile.TemporaryDirectory(prefix="bench-sql-") as tmp:
        fill_seconds = fill(url, args.rows)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows, seconds, staged = extract(url, Path(tmp), args.row_by_row)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = staged.stat().st_size / 1e6
    print(f"table filled server-side: {args.rows:,} rows in {fill_seconds:.1f} s")
    path = "row by row (postgres_copy = false)" if args.row_by_row else "PostgreSQL COPY"
    print(f"extracted with {path}: {rows:,} rows, {size:.0f} MB staging CSV in {seconds:.1f} s "
          f"= {rows / seconds:,.0f} rows/s")
    print(f"peak RSS: {peak:.0f} MB (before extraction {rss_before:.0f} MB); target < 300 MB: "
          f"{'OK' if peak < 300 else 'EXCEEDED'}")


if __name__ == "__main__":
    main()
