"""Benchmark: validate, compile and flatten a large OCDS release package.

    .venv/bin/python benchmarks/ocds.py                      # 100,000 releases, 20,000 processes
    .venv/bin/python benchmarks/ocds.py --releases 10000     # a quick run

Generates a release package (one JSON document, streamed to disk) in which
each contracting process has 5 releases: planning, tender, award, contract,
implementation; about 1.6 kB a release, with parties (some natural persons),
items, awards, contracts and transactions, and one amendment per process.
Then runs ``publisher.ocds.process`` on it and prints the time of each phase
and the peak RSS of the process.

Needs the OCDS 1.1.5 schemas: --schema-dir or PUBLISHER_OCDS_SCHEMA_DIR
(default ../shared/schemas/ocds-1.1.5/).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher import ocds

STAGES = ("planning", "tender", "award", "contract", "implementation")
BUYER = {"id": "AR-CUIT-30-99900000-1", "name": "Municipalidad de Ejemplo", "roles": ["buyer", "procuringEntity"],
         "identifier": {"scheme": "AR-CUIT", "id": "30-99900000-1"},
         "address": {"streetAddress": "Calle 1", "locality": "Ejemplo", "countryName": "Argentina"}}


def supplier(number: int) -> dict[str, Any]:
    if number % 10 == 0:  # one supplier in ten is a sole trader (a CUIT with a person prefix)
        return {"id": f"AR-CUIT-20-{number:08d}-0", "name": "GARCIA, JUAN", "roles": ["supplier", "tenderer"],
                "identifier": {"scheme": "AR-CUIT", "id": f"20-{number:08d}-0"}}
    return {"id": f"AR-CUIT-30-{number:08d}-5", "name": f"Proveedora {number} SA", "roles": ["supplier", "tenderer"],
            "identifier": {"scheme": "AR-CUIT", "id": f"30-{number:08d}-5"}}


def release(process: int, stage: int) -> dict[str, Any]:
    ocid = f"ocds-bench1-{process:06d}"
    party = supplier(process % 5000)
    reference = {"id": party["id"], "name": party["name"]}
    amount = 1000.0 + process
    data: dict[str, Any] = {
        "ocid": ocid, "id": f"{ocid}-{STAGES[stage]}", "date": f"2024-0{stage + 1}-15T10:00:00-03:00",
        "tag": [STAGES[stage]], "initiationType": "tender", "language": "es",
        "parties": [BUYER, party], "buyer": {"id": BUYER["id"], "name": BUYER["name"]},
        "planning": {"budget": {"description": "Partida 3.2.1", "amount": {"amount": amount, "currency": "ARS"}}},
        "tender": {
            "id": f"T-{process}", "title": f"Adquisición {process}", "status": "active" if stage < 2 else "complete",
            "procurementMethod": "open", "mainProcurementCategory": "goods",
            "value": {"amount": amount if stage < 2 else amount * 1.1, "currency": "ARS"},
            "tenderPeriod": {"startDate": "2024-02-01T00:00:00-03:00", "endDate": "2024-02-20T00:00:00-03:00"},
            "items": [{"id": str(k), "description": "Resma A4", "quantity": 10 + k + (stage >= 1),
                       "unit": {"name": "unidad", "value": {"amount": 12.5, "currency": "ARS"}},
                       "classification": {"scheme": "UNSPSC", "id": "14111507"}} for k in range(3)],
        },
    }
    if stage >= 1:
        data["tender"]["amendments"] = [{"id": "1", "date": "2024-02-10T00:00:00-03:00", "rationale": "plazo"}]
    if stage >= 2:
        data["awards"] = [{"id": f"A-{process}", "status": "active", "date": "2024-03-10T00:00:00-03:00",
                           "value": {"amount": amount, "currency": "ARS"}, "suppliers": [reference]}]
    if stage >= 3:
        data["contracts"] = [{"id": f"C-{process}", "awardID": f"A-{process}", "status": "active",
                              "value": {"amount": amount, "currency": "ARS"},
                              "period": {"startDate": "2024-04-01T00:00:00-03:00",
                                         "endDate": "2024-12-31T00:00:00-03:00"}}]
    if stage >= 4:
        data["contracts"][0]["implementation"] = {"transactions": [
            {"id": f"P-{process}-{k}", "date": "2024-05-01T00:00:00-03:00",
             "value": {"amount": amount / 2, "currency": "ARS"},
             "payer": {"id": BUYER["id"], "name": BUYER["name"]}, "payee": reference} for k in range(2)]}
    return data


def generate(path: Path, releases: int, processes: int) -> None:
    header = {"uri": "https://compras.example.org/bench.json", "version": "1.1",
              "publishedDate": "2024-12-31T00:00:00Z", "publisher": {"name": "Municipalidad de Ejemplo"},
              "license": "https://creativecommons.org/licenses/by/4.0/"}
    per_process = max(1, releases // processes)
    with path.open("wb") as stream:
        stream.write(orjson.dumps(header)[:-1] + b',"releases":[')
        for index in range(releases):
            if index:
                stream.write(b",")
            stream.write(orjson.dumps(release(index // per_process, index % per_process % len(STAGES))))
        stream.write(b"]}")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def worker_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker process


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=20_000)
    parser.add_argument("--schema-dir", type=Path, default=None)
    args = parser.parse_args()
    schema_dir = args.schema_dir or Path(os.environ.get(
        ocds.SCHEMA_DIR_ENV, Path(__file__).resolve().parents[2] / "shared" / "schemas" / "ocds-1.1.5"))
    with tempfile.TemporaryDirectory(prefix="ocds-bench-") as tmp:
        source = Path(tmp) / "releases.json"
        started = time.perf_counter()
        generate(source, args.releases, args.processes)
        generated = time.perf_counter() - started
        print(f"generated {args.releases:,} releases ({args.processes:,} contracting processes), "
              f"{source.stat().st_size / 1e6:.1f} MB, in {generated:.1f} s; peak RSS so far {peak_rss_mib():.0f} MiB")
        settings = ocds.SchemaSettings(schema_dir=schema_dir, fetch_extensions=False)
        started, cpu_started = time.perf_counter(), cpu_seconds()
        result = ocds.process([ocds.InputFile(source, source.name)], Path(tmp) / "out", settings)
        total, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    seconds = result.seconds
    print(f"read + validate (schema, checks, spool):  {seconds['read_validate']:.1f} s")
    print(f"compile (ocdsmerge) + flatten + write:    {seconds['compile_write_flatten']:.1f} s "
          f"({len(result.tables)} tables)")
    print(f"total:                                    {total:.1f} s wall (target < 60 s), "
          f"{cpu:.1f} s CPU (all processes)")
    print(f"machine load average when done:           {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"peak RSS:                                 {peak_rss_mib():.0f} MiB main process (target < 1024 MiB); "
          f"largest worker process {worker_peak_rss_mib():.0f} MiB")
    print(f"report: {result.report.one_line()}; counts {result.report.counts}")
    print("rows: " + ", ".join(f"{t.name} {t.row_count:,}" for t in result.tables))


if __name__ == "__main__":
    main()
