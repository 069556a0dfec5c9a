"""Publish 100 generated datasets (1 to 3 CSV resources each) to the local CKAN, twice.

    .venv/bin/python benchmarks/publish.py [--datasets 100] [--rows 200]

Starts the local CKAN with scripts/ckan-local when CKAN_URL does not answer
(and stops it at the end in that case). The packages are generated under
benchmarks/.data/publish/ in the layout publisher.package writes; each run
calls CkanPortal.sync for every dataset, as the runner does after validation,
and prints datasets/s and the number of write calls. The second run finds
nothing changed: it must make 0 writes and be at least 10x faster.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from publisher.config import Config, parse_config  # noqa: E402
from publisher.outcomes import DatasetResult, Outcome  # noqa: E402
from publisher.portal import CkanClient, CkanPortal, from_config  # noqa: E402

DATA = REPO / "benchmarks" / ".data" / "publish"
SCHEMA = {"fields": [{"name": "id", "type": "integer"}, {"name": "fecha", "type": "date"},
                     {"name": "distrito", "type": "string"}, {"name": "monto", "type": "number"}],
          "primaryKey": ["id"]}


def ckan_env() -> tuple[dict[str, str], bool]:
    """CKAN_URL/CKAN_API_TOKEN of a running CKAN; starts scripts/ckan-local when none answers."""
    url, token = os.environ.get("CKAN_URL"), os.environ.get("CKAN_API_TOKEN")
    if url and token and _answers(url):
        return {"CKAN_URL": url, "CKAN_API_TOKEN": token}, False
    script = REPO / "scripts" / "ckan-local"
    started = subprocess.run([str(script), "status"], capture_output=True).returncode != 0
    if started:
        subprocess.run([str(script), "up"], check=True)
    values = {}
    for line in (REPO / ".ckan" / "env.sh").read_text(encoding="utf-8").splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = value
    return values, started


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/3/action/status_show", timeout=5).ok
    except requests.RequestException:
        return False


def generate(datasets: int, rows: int, org: str, seed: int = 7) -> Config:
    """Packages under DATA/datapackages/<name>/ and the config that names them."""
    rng = random.Random(seed)
    shutil.rmtree(DATA, ignore_errors=True)
    (DATA / "source").mkdir(parents=True)
    (DATA / "source" / "x.csv").write_text("id\n1\n", encoding="utf-8")
    entries = []
    for index in range(datasets):
        name = f"bench-{org[-6:]}-{index:03d}"
        write_package(DATA / "datapackages" / name, name, rng.randint(1, 3), rows, rng)
        entries.append({"name": name, "title": f"Conjunto de prueba {index}", "description": "Generado.",
                        "keywords": ["benchmark", f"grupo {index % 5}"],
                        "source": {"kind": "file", "path": "source/x.csv"}})
    raw = {"portal": {"url": {"env": "CKAN_URL"}, "api_key": {"env": "CKAN_API_TOKEN"}, "organization": org},
           "datasets": entries}
    return parse_config(raw, DATA / "harvest_config.toml")


def write_package(folder: Path, name: str, tables: int, rows: int, rng: random.Random) -> None:
    (folder / "data").mkdir(parents=True)
    resources = []
    for table in range(tables):
        lines = ["id,fecha,distrito,monto"] + [
            f"{i},2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(['Centro', 'Norte', 'Sur'])},"
            f"{rng.randint(0, 99999) / 100}" for i in range(rows)]
        content = ("\n".join(lines) + "\n").encode("utf-8")
        (folder / "data" / f"tabla{table}.csv").write_bytes(content)
        resources.append({"name": f"tabla{table}", "path": f"data/tabla{table}.csv", "format": "csv",
                          "mediatype": "text/csv", "encoding": "utf-8", "bytes": len(content),
                          "hash": f"sha256:{hashlib.sha256(content).hexdigest()}", "schema": SCHEMA})
    descriptor = {"name": name, "title": name, "description": "Generado.", "keywords": ["benchmark"],
                  "licenses": [{"name": "CC-BY-4.0"}], "resources": resources}
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
    report = {"valid": True, "stats": {"tasks": tables, "errors": 0, "seconds": 0.01}, "tasks": []}
    (folder / "validation.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


def publish_all(config: Config, env: dict[str, str]) -> tuple[float, int, int, dict[str, int]]:
    portal = from_config(config, env)
    assert isinstance(portal, CkanPortal)
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for dataset in config.datasets:
        result = DatasetResult(dataset=dataset.name)
        try:
            portal.sync(config, dataset, DATA / "datapackages" / dataset.name, result, dry_run=False)
        except Exception as e:  # a benchmark counts failures instead of stopping
            result.outcome, result.message = Outcome.FAILED, str(e)
            print(f"  failed: {dataset.name}: {e}", file=sys.stderr)
        outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
    seconds = time.perf_counter() - started
    return seconds, portal.client.write_calls, portal.client.read_calls, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--rows", type=int, default=200, help="rows per CSV resource")
    args = parser.parse_args()
    env, started = ckan_env()
    try:
        org = f"benchmark-{uuid.uuid4().hex[:8]}"
        CkanClient(env["CKAN_URL"], token=env["CKAN_API_TOKEN"]).call("organization_create", {"name": org})
        config = generate(args.datasets, args.rows, org)
        files = sum(len(list((DATA / "datapackages" / d.name / "data").iterdir())) for d in config.datasets)
        print(f"{args.datasets} datasets, {files} CSV resources (+ datapackage.json and validation.json each), "
              f"{args.rows} rows per CSV, CKAN at {env['CKAN_URL']}")
        runs = []
        for label in ("first run ", "second run"):
            seconds, writes, reads, outcomes = publish_all(config, env)
            runs.append(seconds)
            print(f"{label}: {seconds:7.2f} s  {args.datasets / seconds:7.1f} datasets/s  "
                  f"{writes:5d} write calls  {reads:5d} read calls  {outcomes}")
        print(f"second run is {runs[0] / runs[1]:.1f}x faster than the first")
        return 0
    finally:
        if started:
            subprocess.run([str(REPO / "scripts" / "ckan-local"), "down"], check=False)


if __name__ == "__main__":
    raise SystemExit(main())
