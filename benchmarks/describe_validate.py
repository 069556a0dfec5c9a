#!/usr/bin/env python3
"""Describe + validate throughput: the publisher against plain frictionless.

Generates a CSV of N rows (default 1,000,000) with 9 columns (integer id,
date, text, two enums, three floats, an integer) and times, in the same run
and each in its own process (so peak RSS is per measurement):

- publisher: describe_file (encoding/dialect detection, type inference,
  normalised CSV) + validate_package with the chosen engine(s);
- frictionless: frictionless.describe + Resource.validate on the same file.

Prints seconds, rows/s, peak RSS and the ratio. Not part of the test run.

    .venv/bin/python benchmarks/describe_validate.py [--rows 1000000] [--engines frictionless,fast]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"


def generate(path: Path, rows: int) -> None:
    if path.exists():
        return
    rng = random.Random(7)
    barrios = ["Centro", "Echesortu", "Alberdi", "Fisherton", "Ludueña", "La Florida", "Saladillo"]
    estados = ["abierto", "en curso", "cerrado"]
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write("id,fecha,descripcion,barrio,estado,monto,latitud,longitud,cantidad\n")
        for i in range(1, rows + 1):
            out.write(
                f"{i},2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
                f"reclamo número {i} por alumbrado,{rng.choice(barrios)},{rng.choice(estados)},"
                f"{rng.uniform(0, 1e6):.2f},{-32.9 - rng.random() / 10:.6f},{-60.6 - rng.random() / 10:.6f},"
                f"{rng.randint(0, 500)}\n"
            )
    tmp.rename(path)


def measure_publisher(path: str, engine: str) -> dict[str, float]:
    from publisher.config import SchemaOverrides
    from publisher.sources import StagedFile
    from publisher.tables import describe_file
    from publisher.validation import validate_package

    source = Path(path)
    work = DATA / f"work-{engine}"
    (work / "data").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    table = describe_file(StagedFile(path=source, name="bench"), work / "data" / "bench.csv", SchemaOverrides())
    described = time.perf_counter()
    descriptor = {"name": "bench", "resources": [{
        "name": "bench", "path": "data/bench.csv", "format": "csv", "encoding": "utf-8", "schema": table.schema,
    }]}
    report = validate_package(descriptor, work, engine=engine)
    finished = time.perf_counter()
    return {"rows": table.row_count, "describe_s": described - started, "validate_s": finished - described,
            "total_s": finished - started, "valid": report["valid"]}


def measure_frictionless(path: str) -> dict[str, float]:
    import frictionless

    source = Path(path)
    started = time.perf_counter()
    described = frictionless.describe(source.name, basepath=str(source.parent), type="resource")
    middle = time.perf_counter()
    report = described.validate()
    finished = time.perf_counter()
    rows = report.tasks[0].stats.get("rows", 0)
    return {"rows": rows, "describe_s": middle - started, "validate_s": finished - middle,
            "total_s": finished - started, "valid": report.valid}


def child(kind: str, path: str, engine: str) -> None:
    result = measure_frictionless(path) if kind == "frictionless" else measure_publisher(path, engine)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(kind: str, path: Path, engine: str = "") -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), engine],
                         check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="frictionless,auto",
                        help="publisher validation engines to measure (comma-separated)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    path = DATA / f"describe_validate_{args.rows}.csv"
    generate(path, args.rows)
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path.name}, {args.rows:,} rows x 9 columns, {size_mb:.1f} MB")
    baseline = run_child("frictionless", path)
    rows = [("frictionless describe+validate", baseline)]
    for engine in args.engines.split(","):
        rows.append((f"publisher describe+validate ({engine})", run_child("publisher", path, engine)))
    print(f"{'measurement':<44}{'describe s':>11}{'validate s':>11}{'total s':>9}{'rows/s':>11}"
          f"{'peak MB':>9}{'speed vs frictionless':>23}{'valid':>7}")
    for label, result in rows:
        rate = result["rows"] / result["total_s"]
        ratio = baseline["total_s"] / result["total_s"]
        print(f"{label:<44}{result['describe_s']:>11.1f}{result['validate_s']:>11.1f}{result['total_s']:>9.1f}"
              f"{rate:>11,.0f}{result['peak_rss_mb']:>9.0f}{ratio:>22.2f}x{result['valid']!s:>7}")


if __name__ == "__main__":
    main()
