"""State store at scale: record 1,000,000 dataset outcomes, then time `publisher status`.

    .venv/bin/python benchmarks/state.py                      # 1000 datasets x 1000 nightly runs
    .venv/bin/python benchmarks/state.py --runs 50            # a quick look

It writes a harvest_config.toml with N datasets and a SQLite state in a
temporary folder (or --dir), records the runs through the store's own API
(one transaction per run of N outcomes, as an import would; plus a sample of
single-outcome transactions, which is what the runner does), and prints:
the state file's size, the time of `publisher status --json` as a process
(start-up and config loading included) and as a library call, the time of
`publisher history NAME`, and what `history prune --older-than 90d` removes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from publisher.config import load_config
from publisher.errors import Stage
from publisher.outcomes import DatasetResult, Outcome, RunReport
from publisher.state import dataset_status, open_reader, open_state

START = dt.datetime(2024, 1, 1, 6, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def write_project(folder: Path, datasets: int) -> Path:
    (folder / "d.csv").write_text("id\n1\n", encoding="utf-8")
    lines = []
    for index in range(datasets):
        frequency = ("R/P1D", "R/P1W", "R/P1M")[index % 3]
        lines.append(f'[[datasets]]\nname = "dataset-{index:04d}"\ntitle = "Dataset {index}"\n'
                     f'update_frequency = "{frequency}"\nsource = {{ kind = "file", path = "d.csv" }}\n')
    path = folder / "harvest_config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def outcome_for(run: int, index: int) -> Outcome:
    roll = (run * 7919 + index * 104729) % 100
    return Outcome.FAILED if roll < 2 else Outcome.BLOCKED if roll < 3 else (
        Outcome.PUBLISHED if roll < 20 else Outcome.UNCHANGED)


def make_result(run: int, index: int, when: dt.datetime) -> DatasetResult:
    name = f"dataset-{index:04d}"
    outcome = outcome_for(run, index)
    digest = hashlib.sha256(f"{name}-{run // 5}".encode()).hexdigest()
    failed = outcome in (Outcome.FAILED, Outcome.BLOCKED)
    return DatasetResult(
        dataset=name, outcome=outcome, stage=Stage.EXTRACT if failed else Stage.PUBLISH,
        message=f"dataset '{name}' [extract]: the server answered 503" if failed else "",
        error_type="TransientSourceError" if failed else None, rows=1000 + index, bytes=80_000 + index * 10,
        content_sha256={name: digest}, package_sha256=digest,
        durations={"extract": 0.8, "describe": 0.2, "validate": 0.4, "write": 0.05, "publish": 1.1},
        ckan_id=str(uuid.UUID(int=index)), write_calls=1 if outcome is Outcome.PUBLISHED else 0,
        started_at=when, finished_at=when + dt.timedelta(seconds=3),
    )


def record_history(config_path: Path, datasets: int, runs: int) -> float:
    config = load_config(config_path)
    clock = Clock()
    state = open_state(config, clock=clock)
    started = time.perf_counter()
    for run in range(runs):
        clock.now = START + dt.timedelta(days=run)
        report = RunReport(trigger="scheduled", started_at=clock.now)
        report.run_id = state.begin_run(report)
        report.results = [make_result(run, index, clock.now) for index in range(datasets)]
        state.record_many(report, report.results)
        report.finished_at = clock.now + dt.timedelta(minutes=40)
        state.finish_run(report)
        if run % 100 == 99:
            print(f"  {run + 1} runs, {(run + 1) * datasets:,} outcomes, {time.perf_counter() - started:.0f} s",
                  flush=True)
    elapsed = time.perf_counter() - started
    state.close()
    return elapsed


def single_records(config_path: Path, count: int) -> float:
    """The runner's path: one transaction per outcome."""
    config = load_config(config_path)
    clock = Clock()
    state = open_state(config, clock=clock)
    clock.now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    report = RunReport(trigger="manual", started_at=clock.now)
    report.run_id = state.begin_run(report)
    started = time.perf_counter()
    for index in range(count):
        result = make_result(10**6, index, clock.now)
        report.results.append(result)
        state.record(report, result)
    elapsed = time.perf_counter() - started
    state.finish_run(report)
    state.close()
    return elapsed


def timed_cli(config_path: Path, *args: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `publisher ...` process, start-up included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "publisher", "--config", str(config_path), *args],
                   capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="publisher-state-bench-"))
    config_path = write_project(folder, args.datasets)
    db = load_config(config_path).state_path
    total = args.datasets * args.runs
    print(f"recording {total:,} outcomes ({args.runs} runs x {args.datasets} datasets) into {db}")
    elapsed = record_history(config_path, args.datasets, args.runs)
    print(f"recorded {total:,} outcomes in {elapsed:.1f} s ({total / elapsed:,.0f} outcomes/s, "
          f"one transaction per run)")
    single = single_records(config_path, 1000)
    print(f"runner path: 1,000 single-outcome transactions in {single:.2f} s ({single:.2f} ms per outcome)")
    print(f"state file: {file_size(db) / 1e6:,.1f} MB ({file_size(db) / (total + 1000):,.0f} bytes per outcome)")

    config = load_config(config_path)
    reader = open_reader(config)
    started = time.perf_counter()
    rows = dataset_status(config, reader)
    library = time.perf_counter() - started
    reader.close()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          "(wall times include waiting for a CPU)")
    cli_times = [timed_cli(config_path, "status", "--json") for _ in range(3)]
    best = min(cli_times)
    history_wall, history_cpu = timed_cli(config_path, "history", "dataset-0500", "--limit", "20", "--json")
    overdue = sum(r.freshness == "overdue" for r in rows)
    print(f"status over {len(rows):,} datasets: library call {library * 1000:.0f} ms; `publisher status --json` "
          f"process (start-up + config + status): {best[0]:.2f} s wall, {best[1]:.2f} s CPU (best of 3); "
          f"{overdue} overdue")
    print(f"`publisher history dataset-0500 --limit 20 --json`: {history_wall:.2f} s wall, {history_cpu:.2f} s CPU")
    prune_time, _ = timed_cli(config_path, "history", "prune", "--older-than", "90d", "--json")
    print(f"`publisher history prune --older-than 90d` (delete + VACUUM): {prune_time:.1f} s; "
          f"state file now {file_size(db) / 1e6:,.1f} MB")


if __name__ == "__main__":
    main()
