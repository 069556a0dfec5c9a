"""Benchmark: the fast validation engine against frictionless and a bare DuckDB scan.

Generates CSVs (benchmarks/.data/, gitignored) of 1M and 10M rows with a
schema that uses every constraint kind (required, unique, minimum, maximum,
minLength, maxLength, pattern, enum, primaryKey) and a few invalid rows, then
validates each file in a separate process per engine, so that peak RSS is per
engine (``os.wait4``). Prints seconds, rows/s, peak RSS, the frictionless/fast
ratio and the fast/bare ratio. The bare scan is one DuckDB query over the
same file with the same checks (the engine's own predicates, COUNT DISTINCT
for the keys) that returns counts only: no row numbers, no report.

    python benchmarks/validate.py                     # 1M and 10M rows (frictionless on 1M only)
    python benchmarks/validate.py --rows 1000000      # one size
    python benchmarks/validate.py --frictionless-10m  # also frictionless on 10M rows (~10 min)
    python benchmarks/validate.py --big-gb 5          # bounded memory on a 5 GB file (fast engine)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / ".data"
INVALID_EVERY = 100_003  # one row in about 100k breaks a constraint

SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True, "minimum": 1}},
        {
            "name": "nombre",
            "type": "string",
            "constraints": {"required": True, "minLength": 3, "maxLength": 40, "pattern": "Persona [0-9]+"},
        },
        {"name": "categoria", "type": "string", "constraints": {"enum": ["alta", "media", "baja"]}},
        {"name": "monto", "type": "number", "constraints": {"minimum": 0, "maximum": 10000}},
        {"name": "fecha", "type": "date", "constraints": {"minimum": "2020-01-01", "maximum": "2025-12-31"}},
        {"name": "activo", "type": "boolean"},
        {"name": "correo", "type": "string", "format": "email"},
        {"name": "anio", "type": "year", "constraints": {"minimum": 1990, "maximum": 2030}},
        {"name": "ubicacion", "type": "geopoint"},
    ],
    "primaryKey": ["id"],
    "missingValues": ["", "NA"],
}


def generate(path: Path, rows: int) -> None:
    """Write the CSV with DuckDB (seconds for 10M rows); deterministic."""
    import duckdb

    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    bad = f"i % {INVALID_EVERY} = {INVALID_EVERY - 1}"
    query = f"""
        SELECT i + 1 AS id,
               'Persona ' || (i % 99991) AS nombre,
               ['alta', 'media', 'baja'][1 + i % 3] AS categoria,
               CASE WHEN {bad} THEN '-5' ELSE CAST(round(((i * 7919) % 1000000) / 100.0, 2) AS VARCHAR) END AS monto,
               CAST(DATE '2020-01-01' + CAST(i % 2190 AS INTEGER) AS VARCHAR) AS fecha,
               CASE WHEN i % 2 = 0 THEN 'true' ELSE 'false' END AS activo,
               'usuario' || i || '@rosario.gob.ar' AS correo,
               CAST(1990 + i % 40 AS VARCHAR) AS anio,
               '-60.' || lpad(CAST(i % 1000 AS VARCHAR), 3, '0') || ',-32.' || lpad(CAST(i % 997 AS VARCHAR), 3, '0')
                   AS ubicacion
        FROM range({rows}) t(i)
    """
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    con.execute(f"COPY ({query}) TO '{tmp}' (HEADER, DELIMITER ',', QUOTE '\"')")
    con.close()
    tmp.rename(path)


def child(engine: str, path: Path) -> dict[str, Any]:
    """Runs in the measured process: validate once, report seconds and counts."""
    sys.path.insert(0, str(ROOT))
    if engine == "fast":
        from publisher.validation.fast import validate_csv

        started = time.perf_counter()
        report = validate_csv(path, SCHEMA)
        return _outcome(report, time.perf_counter() - started)
    if engine == "frictionless":
        import frictionless

        resource = frictionless.Resource(
            path=path.name, basepath=str(path.parent), schema=frictionless.Schema.from_descriptor(SCHEMA)
        )
        started = time.perf_counter()
        report = resource.validate().to_dict()
        return _outcome(report, time.perf_counter() - started)
    return bare_scan(path)


def _outcome(report: dict[str, Any], seconds: float) -> dict[str, Any]:
    task = report["tasks"][0]
    return {
        "seconds": seconds,
        "rows": task["stats"].get("rows", 0),
        "errors": len(task["errors"]),
        "valid": report["valid"],
    }


def bare_scan(path: Path) -> dict[str, Any]:
    """One DuckDB query with the same checks, counts only (the lower bound for the fast engine)."""
    import frictionless

    from publisher.validation import _fast_scan as scan
    from publisher.validation._fast_sql import field_sql

    schema = frictionless.Schema.from_descriptor(SCHEMA)
    fields = schema.fields
    names = [f.name for f in fields]
    con, spill = scan.connect("512MB", os.cpu_count() or 1)
    started = time.perf_counter()
    sql = [
        field_sql(f, f"c{i}", list(schema.missing_values), keyed=bool(f.constraints.get("unique")))
        for i, f in enumerate(fields)
    ]
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(fields))) + "}"
    reader = (
        f"read_csv('{path}', header=true, columns={columns}, all_varchar=true, auto_detect=false, "
        f"delim=',', quote='\"', escape='\"')"
    )
    checks = ", ".join(f"count_if(NOT {s.certain})" for s in sql)
    keys = ", ".join(
        f"count({s.key}) - count(DISTINCT {s.key})"
        for s, f in zip(sql, fields, strict=True)
        if f.constraints.get("unique") or f.name in schema.primary_key
    )
    row = con.execute(f"SELECT count(*), {checks}, {keys} FROM {reader}").fetchone()
    seconds = time.perf_counter() - started
    con.close()
    spill.cleanup()
    assert row is not None
    return {"seconds": seconds, "rows": row[0], "errors": sum(row[1:]), "valid": not any(row[1:]), "fields": names}


REPEAT = 5


def measure(engine: str, path: Path) -> dict[str, Any]:
    """Run one engine in its own process; add its peak RSS (MB)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", engine, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{engine} failed on {path.name} (exit {process.returncode})")
    result: dict[str, Any] = json.loads(output)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # whole process, imports included
    return result


def measure_median(engine: str, path: Path, repeat: int) -> dict[str, Any]:
    """The run with the median time of ``repeat`` runs, each in a fresh process (cold, like the first)."""
    runs = sorted((measure(engine, path) for _ in range(repeat)), key=lambda r: r["seconds"])
    median = runs[len(runs) // 2]
    median["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return median


def report_line(engine: str, result: dict[str, Any]) -> str:
    rate = result["rows"] / result["seconds"] if result["seconds"] else 0.0
    return (
        f"  {engine:<13} {result['seconds']:8.2f} s {rate:12,.0f} rows/s {result['peak_rss_mb']:6.0f} MB peak RSS "
        f"{result['cpu_seconds']:7.1f} s CPU (process)   rows={result['rows']:,} errors={result['errors']}"
    )


def run_size(rows: int, with_frictionless: bool) -> None:
    path = DATA / f"validate_{rows}.csv"
    started = time.perf_counter()
    generate(path, rows)
    size_mb = path.stat().st_size / 1e6
    print(
        f"\n{rows:,} rows, {len(SCHEMA['fields'])} columns, {size_mb:,.0f} MB  ({path.name}; "
        f"generated/reused in {time.perf_counter() - started:.1f} s)"
    )
    # The fast engine and the bare scan take a second or two, so machine noise moves their ratio:
    # each is the median of REPEAT cold runs. Frictionless takes minutes and runs once.
    results = {"fast": measure_median("fast", path, REPEAT), "bare": measure_median("bare", path, REPEAT)}
    if with_frictionless:
        results["frictionless"] = measure("frictionless", path)
    for engine in ("frictionless", "fast", "bare"):
        if engine in results:
            print(report_line(engine if engine != "bare" else "bare duckdb", results[engine]))
    fast, bare = results["fast"]["seconds"], results["bare"]["seconds"]
    if "frictionless" in results:
        ratio = results["frictionless"]["seconds"] / fast
        print(f"  frictionless / fast = {ratio:.1f}x   (target >= 50x)")
        same = (results["frictionless"]["errors"], results["frictionless"]["rows"]) == (
            results["fast"]["errors"],
            results["fast"]["rows"],
        )
        print(f"  same error and row counts as frictionless: {same}")
    else:
        print("  frictionless skipped on this size (about 1 min per million rows); --frictionless-10m includes it")
    print(f"  fast / bare duckdb = {fast / bare:.2f}x   (target <= 2x; medians of {REPEAT} runs: "
          f"fast {results['fast']['all_seconds']} s, bare {results['bare']['all_seconds']} s)")


def run_big(gigabytes: float) -> None:
    rows = int(gigabytes * 1e9 / 100)  # about 100 bytes per row
    path = DATA / f"validate_big_{rows}.csv"
    generate(path, rows)
    print(
        f"\nbounded memory: {path.stat().st_size / 1e9:.2f} GB, {rows:,} rows (fast engine, DuckDB memory_limit 512MB)"
    )
    result = measure("fast", path)
    print(report_line("fast", result))
    verdict = "under" if result["peak_rss_mb"] < 1024 else "OVER"
    print(f"  peak RSS {result['peak_rss_mb']:.0f} MB: {verdict} the 1 GB bound")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--frictionless-10m", action="store_true", help="also run frictionless above 1M rows")
    parser.add_argument("--big-gb", type=float, default=0.0, help="also validate a file of this many GB")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    print(f"validation benchmark; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    for rows in args.rows:
        run_size(rows, with_frictionless=rows <= 1_000_000 or args.frictionless_10m)
    if args.big_gb:
        run_big(args.big_gb)


if __name__ == "__main__":
    main()
