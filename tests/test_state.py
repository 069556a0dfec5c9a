"""The state store: migrations, history, source state, locks across processes, crashes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from publisher.config import load_config
from publisher.errors import StateError
from publisher.outcomes import DatasetResult, Outcome, RunReport
from publisher.runner import RunDeps, run
from publisher.state import open_reader, open_state, open_url
from publisher.state.engine import sqlite_engine
from publisher.state.reader import SCHEMA_VERSION, SqliteReader
from publisher.state.schema import LATEST_VERSION, migrate, outcomes, runs, schema_version
from tests.test_state_support import (
    file_dataset,
    python_with_slow_source,
    slow_dataset,
    wait_for,
    write_config,
)

T0 = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def record_run(state, dataset: str, outcome: Outcome, *, dry_run: bool = False, **fields) -> RunReport:  # type: ignore[no-untyped-def]
    report = RunReport(dry_run=dry_run, started_at=state._clock())
    report.run_id = state.begin_run(report)
    result = DatasetResult(dataset=dataset, outcome=outcome, finished_at=state._clock(), **fields)
    report.results.append(result)
    state.record(report, result)
    state.finish_run(report)
    return report


# --- schema -------------------------------------------------------------------

def test_a_new_database_is_created_with_its_folders_at_the_latest_version(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "", '[state]\npath = "deep/er/state.db"'))
    state = open_state(config)
    with state.engine.connect() as conn:
        versions = conn.execute(select(schema_version.c.version)).scalars().all()
    assert (tmp_path / "deep" / "er" / "state.db").is_file()
    assert versions == list(range(1, LATEST_VERSION + 1))
    state.close()
    assert open_state(config).dataset_rows() == {}  # reopening applies nothing twice


def test_migrating_a_version_1_database_backfills_the_dataset_summary(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "state.db")
    assert migrate(engine, target=1) == 1
    with engine.begin() as conn:
        for run_id, (dataset, outcome, when, dry) in enumerate([
            ("a", "published", "2026-01-01T03:00:00.000000+00:00", False),
            ("a", "failed", "2026-01-02T03:00:00.000000+00:00", False),
            ("a", "published", "2026-01-03T03:00:00.000000+00:00", True),  # dry runs do not count
            ("b", "unchanged", "2026-01-02T03:00:00.000000+00:00", False),
        ], start=1):
            conn.execute(insert(runs).values(id=run_id, trigger="scheduled", dry_run=dry, status="ok",
                                             started_at=when, host="h", pid=1))
            conn.execute(insert(outcomes).values(run_id=run_id, dataset=dataset, outcome=outcome, stage="publish",
                                                 finished_at=when, rows=0, bytes=0, write_calls=0))
    engine.dispose()
    state = open_url(str(tmp_path / "state.db"))
    rows = state.dataset_rows()
    assert rows["a"]["last_outcome"] == "failed"
    assert rows["a"]["last_success_at"] == rows["a"]["last_published_at"] == "2026-01-01T03:00:00.000000+00:00"
    assert rows["b"]["last_success_at"] == "2026-01-02T03:00:00.000000+00:00"
    assert rows["b"]["last_published_at"] is None


def test_a_database_from_a_newer_publisher_is_refused(tmp_path: Path) -> None:
    open_url(str(tmp_path / "state.db")).close()
    engine = sqlite_engine(tmp_path / "state.db")
    with engine.begin() as conn:
        conn.execute(insert(schema_version).values(version=LATEST_VERSION + 1, applied_at="x"))
    engine.dispose()
    with pytest.raises(StateError, match="newer than this publisher"):
        open_url(str(tmp_path / "state.db"))


# --- history and status rows ----------------------------------------------------

def test_record_keeps_every_field_and_the_summary_tracks_last_success(tmp_path: Path) -> None:
    clock = Clock()
    state = open_url(str(tmp_path / "state.db"), clock=clock)
    record_run(state, "obras", Outcome.PUBLISHED, rows=10, bytes=321, content_sha256={"obras": "ab" * 32},
               package_sha256="cd" * 32, durations={"extract": 0.5, "publish": 1.25}, ckan_id="uuid-1",
               ckan_url="http://ckan/dataset/obras", write_calls=2)
    clock.now += dt.timedelta(days=1)
    record_run(state, "obras", Outcome.FAILED, error_type="SourceError", message="dataset 'obras' [extract]: 503")
    clock.now += dt.timedelta(days=1)
    record_run(state, "obras", Outcome.PUBLISHED, dry_run=True)
    newest, failed, first = state.history("obras")
    assert newest["dry_run"] is True
    assert failed["outcome"] == "failed" and failed["error_type"] == "SourceError"
    assert first["content_sha256"] == {"obras": "ab" * 32} and first["durations"] == {"extract": 0.5, "publish": 1.25}
    assert (first["rows"], first["bytes"], first["ckan_id"], first["write_calls"]) == (10, 321, "uuid-1", 2)
    summary = state.dataset_rows()["obras"]
    assert summary["last_outcome"] == "failed"  # the dry run does not move the summary
    assert summary["last_success_at"] == (T0).isoformat(timespec="microseconds")
    assert [r["status"] for r in state.run_rows()] == ["ok", "failed", "ok"]


def test_source_state_is_replaced_as_a_whole(tmp_path: Path) -> None:
    state = open_url(str(tmp_path / "state.db"))
    state.commit_source_state("obras", {"etag": '"v1"', "last_modified": "Tue, 01 Jan 2026 00:00:00 GMT"})
    state.commit_source_state("obras", {"etag": '"v2"'})
    assert state.source_state("obras") == {"etag": '"v2"'}
    assert state.source_state("other") == {}


def test_prune_deletes_old_runs_but_keeps_the_status(tmp_path: Path) -> None:
    clock = Clock()
    state = open_url(str(tmp_path / "state.db"), clock=clock)
    for _day in range(120):
        record_run(state, "obras", Outcome.PUBLISHED)
        clock.now += dt.timedelta(days=1)
    removed = state.prune(dt.timedelta(days=90))
    assert (removed["runs"], removed["outcomes"]) == (30, 30)
    remaining = state.history("obras", limit=1000)
    assert len(remaining) == 90
    assert min(r["finished_at"] for r in remaining) >= (clock.now - dt.timedelta(days=90)).isoformat()
    assert state.dataset_rows()["obras"]["last_success_at"] == remaining[0]["finished_at"]


def test_a_second_outcome_for_the_same_run_and_dataset_is_ignored(tmp_path: Path) -> None:
    state = open_url(str(tmp_path / "state.db"))
    report = record_run(state, "obras", Outcome.FAILED, error_type="Aborted")
    state.record(report, DatasetResult(dataset="obras", outcome=Outcome.PUBLISHED))
    assert [r["outcome"] for r in state.history("obras")] == ["failed"]


# --- the runner with a real store -------------------------------------------------

def test_runner_records_every_outcome_and_commits_nothing_for_a_failure(tmp_path: Path) -> None:
    (tmp_path / "bueno.csv").write_text("id,barrio\n1,Centro\n2,Norte\n", encoding="utf-8")
    (tmp_path / "vacio.csv").write_bytes(b"")
    datasets = file_dataset("bueno", "bueno.csv") + file_dataset("vacio", "vacio.csv")
    config = load_config(write_config(tmp_path, datasets))
    state = open_state(config)
    report = run(config, deps=RunDeps(state=state))
    outcomes_by_name = {r["dataset"]: r for r in state.history()}
    assert outcomes_by_name["bueno"]["outcome"] == "written" and outcomes_by_name["bueno"]["rows"] == 2
    assert outcomes_by_name["vacio"]["outcome"] == "failed" and outcomes_by_name["vacio"]["stage"] == "describe"
    assert set(outcomes_by_name["bueno"]["durations"]) >= {"extract", "describe", "validate", "write"}
    assert state.run_rows()[0]["status"] == "failed" and state.run_rows()[0]["id"] == report.run_id
    assert state.run_rows()[0]["counts"] == {"written": 1, "failed": 1}
    assert state.source_state("vacio") == {}


# --- locks across processes ----------------------------------------------------------

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from publisher.state import open_url
    state = open_url(sys.argv[1])
    with state.lock("obras"):
        Path(sys.argv[2]).write_text("held")
        while not Path(sys.argv[3]).exists():
            time.sleep(0.05)
""")


def test_a_lock_held_by_another_live_process_is_refused_with_who_and_since(tmp_path: Path) -> None:
    db, held, release = tmp_path / "state.db", tmp_path / "held", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), str(held), str(release)])
    try:
        wait_for(held)
        state = open_url(str(db))
        with pytest.raises(StateError) as caught, state.lock("obras"):
            pass
        assert caught.value.action == "lock"
        assert f"locked by pid {holder.pid} on {socket.gethostname()} since 20" in caught.value.one_line()
        assert state.locks_held()["obras"].startswith(f"pid {holder.pid}")
        with state.lock("other"):  # other datasets are free
            pass
        release.write_text("go")
        assert holder.wait(timeout=30) == 0
        with state.lock("obras"):  # released by the holder on exit
            assert state.locks_held()["obras"].startswith(f"pid {os.getpid()}")
        assert state.locks_held() == {}
    finally:
        holder.kill()
        holder.wait()


def test_the_runner_skips_a_dataset_locked_by_another_process(tmp_path: Path) -> None:
    (tmp_path / "obras.csv").write_text("id\n1\n", encoding="utf-8")
    config_path = write_config(tmp_path, file_dataset("obras", "obras.csv"))
    held, release = tmp_path / "held", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path / ".publisher" / "state.db"),
                               str(held), str(release)])
    try:
        wait_for(held)
        config = load_config(config_path)
        (result,) = run(config, deps=RunDeps(state=open_state(config))).results
        assert result.outcome is Outcome.SKIPPED
        assert f"locked by pid {holder.pid}" in result.message
    finally:
        release.write_text("go")
        holder.wait(timeout=30)


RUN_SLOW = textwrap.dedent("""
    from publisher.config import load_config
    from publisher.runner import RunDeps, run
    from publisher.state import open_state
    config = load_config(sys.argv[1])
    run(config, deps=RunDeps(state=open_state(config)))
""")


def test_sigkill_mid_run_leaves_consistent_state_and_the_next_run_completes(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    config_path = write_config(tmp_path, slow_dataset("obras", markers))
    victim = subprocess.Popen([*python_with_slow_source(RUN_SLOW), str(config_path)])
    wait_for(markers / "obras.started")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    config = load_config(config_path)
    state = open_state(config)
    (markers / "obras.started").unlink()
    (markers / "obras.release").write_text("go")
    report = run(config, deps=RunDeps(state=state))
    assert report.results[0].outcome is Outcome.WRITTEN, report.results[0].message
    assert (tmp_path / "datapackages" / "obras" / "datapackage.json").is_file()
    newest, killed = state.history("obras")
    assert newest["outcome"] == "written" and newest["run_id"] == report.run_id
    assert killed["outcome"] == "failed" and killed["error_type"] == "Interrupted"
    assert f"pid {victim.pid}" in killed["message"]
    statuses = {r["id"]: r["status"] for r in state.run_rows()}
    assert statuses == {killed["run_id"]: "interrupted", report.run_id: "ok"}
    assert state.locks_held() == {}
    with state.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_a_stale_lock_of_a_reused_pid_is_released(tmp_path: Path) -> None:
    state = open_url(str(tmp_path / "state.db"))
    with state.lock("obras"):
        pass
    from publisher.state.schema import locks

    with state.engine.begin() as conn:  # as if pid 1 had been ours, started at another time
        conn.execute(insert(locks).values(dataset="obras", host=socket.gethostname(), pid=1,
                                          pid_start="1", acquired_at="2026-01-01T00:00:00.000000+00:00"))
    with state.lock("obras"):
        assert state.locks_held()["obras"].startswith(f"pid {os.getpid()}")


# --- PostgreSQL ---------------------------------------------------------------------------

@pytest.mark.postgres
def test_postgresql_state_from_the_config_url(tmp_path: Path, postgres, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STATE_URL", postgres.create_database("publisher_state"))
    (tmp_path / "obras.csv").write_text("id,barrio\n1,Centro\n", encoding="utf-8")
    config = load_config(write_config(tmp_path, file_dataset("obras", "obras.csv"),
                                      '[state]\nurl = { env = "STATE_URL" }'))
    state = open_state(config)
    assert "pg-superuser-secret" not in state.location
    report = run(config, deps=RunDeps(state=state))
    assert report.results[0].outcome is Outcome.WRITTEN
    assert state.history("obras")[0]["outcome"] == "written"
    assert state.dataset_rows()["obras"]["last_outcome"] == "written"
    state.commit_source_state("obras", {"etag": "x"})
    assert state.source_state("obras") == {"etag": "x"}
    with state.lock("obras"):
        other = open_state(config)
        with pytest.raises(StateError, match="locked by pid"), other.lock("obras"):
            pass
    assert state.prune(dt.timedelta(days=-1))["runs"] == 1
    assert not (tmp_path / ".publisher").exists()  # nothing went to SQLite
    state.close()
    open_state(config).close()  # reopening migrates nothing twice


def test_an_unreachable_postgresql_is_one_state_error_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(StateError) as caught:
        open_url("postgresql+psycopg://u:topsecret@127.0.0.1:1/db")
    assert "topsecret" not in caught.value.one_line()
    assert "***" in caught.value.one_line()


def test_finish_run_does_not_overwrite_a_final_status(tmp_path: Path) -> None:
    state = open_url(str(tmp_path / "state.db"))
    report = record_run(state, "obras", Outcome.PUBLISHED)
    with state.engine.begin() as conn:
        conn.execute(update(runs).values(status="aborted"))
    state.finish_run(report)
    assert state.run_rows()[0]["status"] == "aborted"
    assert json.loads(json.dumps(state.run_rows()[0]["counts"])) == {"published": 1}


def test_the_light_reader_knows_the_latest_schema_and_reads_what_the_store_reads(tmp_path: Path) -> None:
    assert SCHEMA_VERSION == LATEST_VERSION
    config = load_config(write_config(tmp_path, ""))
    assert open_reader(config).__class__.__name__ == "SqlState"  # no file yet: the store creates it
    state = open_state(config)
    record_run(state, "obras", Outcome.PUBLISHED, rows=5, durations={"extract": 1.5})
    record_run(state, "otro", Outcome.FAILED, message="x")
    reader = open_reader(config)
    assert isinstance(reader, SqliteReader)
    assert reader.history() == state.history() and reader.history("obras", 1) == state.history("obras", 1)
    assert reader.dataset_rows() == state.dataset_rows()
    with state.lock("obras"):
        assert reader.locks_held() == state.locks_held() != {}
