"""The scheduler: cron semantics, a simulated day on a controllable clock, overlap,
coalescing and misfires, reload, and signals on a real `publisher schedule` process."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import threading
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apscheduler.executors.base as executors_base
import apscheduler.schedulers.base as schedulers_base
import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.schedulers.base import BaseScheduler
from click.testing import CliRunner

from publisher.cli import cli
from publisher.config import load_config
from publisher.outcomes import Outcome
from publisher.schedule import (
    JobOptions,
    SchedulerService,
    ServiceOptions,
    add_dataset_jobs,
    crontab_days,
    next_fire_times,
)
from publisher.state import open_state
from tests.test_state_support import file_dataset, python_with_slow_source, slow_dataset, wait_for, write_config

ZONE = zoneinfo.ZoneInfo("America/Argentina/Cordoba")


# --- an independent crontab evaluator (standard semantics: 0 and 7 = Sunday) ----------

def _field_values(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        first, last = (low, high) if base == "*" else (
            (int(base.split("-")[0]), int(base.split("-")[1])) if "-" in base else
            (int(base), high if step else int(base)))
        values.update(range(first, last + 1, int(step or 1)))
    return values


def cron_matches(expression: str, moment: dt.datetime) -> bool:
    minute, hour, day, month, weekday = expression.split()
    days = {d % 7 for d in _field_values(weekday, 0, 7)} if weekday != "*" else set(range(7))
    return (moment.minute in _field_values(minute, 0, 59) and moment.hour in _field_values(hour, 0, 23)
            and moment.day in _field_values(day, 1, 31) and moment.month in _field_values(month, 1, 12)
            and (moment.weekday() + 1) % 7 in days)


def expected_fires(expression: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    fires, moment = [], start
    while moment < end:
        if cron_matches(expression, moment.astimezone(ZONE)):
            fires.append(moment)
        moment += dt.timedelta(minutes=1)
    return fires


@pytest.mark.parametrize(("crontab", "apscheduler_days"), [
    ("*", "*"), ("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("*/2", "sun,tue,thu,sat"),
    ("5-7", "sun,fri,sat"), ("mon-wed,sat", "mon,tue,wed,sat"), ("1/3", "mon,thu"),
])
def test_crontab_day_numbers_are_translated_to_apscheduler_names(crontab: str, apscheduler_days: str) -> None:
    assert crontab_days(crontab) == apscheduler_days


# --- a controllable clock under the real APScheduler ---------------------------------------

class VirtualClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """APScheduler's own `datetime.now()` (scheduler and executor) reads this clock."""
    virtual = VirtualClock(dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC))

    class VirtualDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return virtual.now.astimezone(tz) if tz else virtual.now.replace(tzinfo=None)

    monkeypatch.setattr(schedulers_base, "datetime", VirtualDatetime)
    monkeypatch.setattr(executors_base, "datetime", VirtualDatetime)
    return virtual


class InlineExecutor(BaseExecutor):
    """Runs each job at once through APScheduler's own run_job (misfire checks included).

    With ``hold`` set, jobs stay "running" (their instance is not released) until release().
    """

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.held: list[tuple[str, list[Any]]] = []

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
        if self.hold:
            self.held.append((job.id, events))
        else:
            self._run_job_success(job.id, events)

    def release(self) -> None:
        for job_id, events in self.held:
            self._run_job_success(job_id, events)
        self.held.clear()


class SimulatedScheduler(BaseScheduler):
    def wakeup(self) -> None:  # the test loop drives _process_jobs itself
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def _create_default_executor(self) -> InlineExecutor:
        return InlineExecutor()


def drive(scheduler: SimulatedScheduler, clock: VirtualClock, until: dt.datetime) -> int:
    """Advance the clock exactly to each wake-up APScheduler asks for; returns the wake-ups."""
    wakeups = 0
    while True:
        wait = scheduler._process_jobs()
        wakeups += 1
        if wait is None or clock.now + dt.timedelta(seconds=wait) >= until:
            return wakeups
        clock.now += dt.timedelta(microseconds=round(wait * 1_000_000))


def schedule_for(index: int) -> str:
    """200 varied crontab lines: daily, every N minutes, every N hours, weekdays, weekends."""
    minute, hour = (index * 7) % 60, index % 24
    return [
        f"{minute} {hour} * * *",
        f"*/{(5, 10, 15, 20, 30)[index % 5]} * * * *",
        f"{minute} */{(2, 3, 4, 6)[index % 4]} * * *",
        f"{minute} {hour} * * 1-5",
        f"{minute} {hour},{(hour + 12) % 24} * * 0,6",
        f"{minute},{(minute + 30) % 60} {hour}-{min(hour + 3, 23)} * * *",
    ][index % 6]


def test_a_simulated_day_of_200_datasets_fires_each_exactly_at_its_cron_times(
        tmp_path: Path, clock: VirtualClock) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    datasets = "".join(file_dataset(f"ds-{i:03d}", "d.csv", f'schedule = "{schedule_for(i)}"') for i in range(200))
    config = load_config(write_config(tmp_path, datasets))
    # Sunday 12:00 to Monday 12:00 in Rosario, so weekday and weekend lines both count
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=ZONE).astimezone(dt.UTC)
    end = start + dt.timedelta(hours=24)
    clock.now = start
    fired: list[tuple[str, dt.datetime]] = []
    scheduler = SimulatedScheduler(timezone=ZONE)
    add_dataset_jobs(scheduler, config, lambda name: fired.append((name, clock.now)))
    scheduler.start()
    wakeups = drive(scheduler, clock, end)

    by_dataset: dict[str, list[dt.datetime]] = {f"ds-{i:03d}": [] for i in range(200)}
    for name, moment in fired:
        by_dataset[name].append(moment)
    total = 0
    for index in range(200):
        expected = expected_fires(schedule_for(index), start, end)
        assert by_dataset[f"ds-{index:03d}"] == expected, schedule_for(index)  # exact times: no drift, no dup
        total += len(expected)
    assert len(fired) == total > 200 * 2
    assert len(set(fired)) == len(fired)
    assert wakeups <= len({moment for _, moment in fired}) + 1  # one wake-up per distinct fire time
    scheduler.shutdown()


def test_a_dataset_still_running_is_not_started_again(tmp_path: Path, clock: VirtualClock) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    config = load_config(write_config(tmp_path, file_dataset("obras", "d.csv", 'schedule = "*/10 * * * *"')))
    start = clock.now = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
    fired: list[dt.datetime] = []
    refused: list[Any] = []
    scheduler = SimulatedScheduler(timezone=ZONE)
    scheduler.add_listener(lambda event: refused.append(event.scheduled_run_times), EVENT_JOB_MAX_INSTANCES)
    add_dataset_jobs(scheduler, config, lambda name: fired.append(clock.now))
    scheduler.start()
    executor = scheduler._lookup_executor("default")
    executor.hold = True  # the 03:00 run goes on for 35 minutes
    drive(scheduler, clock, start + dt.timedelta(minutes=35))
    executor.hold = False
    executor.release()
    drive(scheduler, clock, start + dt.timedelta(minutes=41))
    assert [t.strftime("%H:%M") for t in fired] == ["03:00", "03:40"]
    assert [[t.astimezone(dt.UTC).strftime("%H:%M") for t in times] for times in refused] == [
        ["03:10"], ["03:20"], ["03:30"]]
    scheduler.shutdown()


@pytest.mark.parametrize(("grace", "runs_after_pause"), [(3600, 1), (600, 0)])
def test_missed_fires_coalesce_into_one_run_within_the_misfire_grace(
        tmp_path: Path, clock: VirtualClock, grace: int, runs_after_pause: int) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    config = load_config(write_config(tmp_path, file_dataset("obras", "d.csv", 'schedule = "0 * * * *"')))
    clock.now = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    fired: list[dt.datetime] = []
    missed: list[Any] = []
    scheduler = SimulatedScheduler(timezone=ZONE)
    scheduler.add_listener(lambda event: missed.append(event.scheduled_run_time), EVENT_JOB_MISSED)
    add_dataset_jobs(scheduler, config, lambda name: fired.append(clock.now),
                     options=JobOptions(misfire_grace_time=grace))
    scheduler.start()
    scheduler._process_jobs()  # 00:00 on time
    clock.now += dt.timedelta(hours=3, minutes=30)  # the machine was suspended
    scheduler._process_jobs()  # 01:00, 02:00, 03:00 were missed: at most one run, for 03:00
    clock.now = clock.now.replace(hour=4, minute=0)
    scheduler._process_jobs()
    assert [t.strftime("%H:%M") for t in fired] == ["00:00"] + ["03:30"] * runs_after_pause + ["04:00"]
    assert len(missed) == 1 - runs_after_pause
    scheduler.shutdown()


# --- --list ------------------------------------------------------------------------------

def test_schedule_list_json_equals_the_library_result(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    weekly = file_dataset("semanal", "d.csv", 'schedule = "30 6 * * 1"')
    path = write_config(tmp_path, file_dataset("obras", "d.csv") + weekly)
    result = CliRunner().invoke(cli, ["--config", str(path), "schedule", "--list", "--json"])
    assert result.exit_code == 0, result.output
    library = next_fire_times(load_config(path))
    assert json.loads(result.output) == library
    monday = dt.datetime.fromisoformat(library[1]["next_fire_time"])
    assert (monday.weekday(), monday.hour, monday.minute, monday.utcoffset()) == (0, 6, 30, dt.timedelta(hours=-3))
    text = CliRunner().invoke(cli, ["--config", str(path), "schedule", "--list"]).output
    assert "obras" in text and library[0]["next_fire_time"] in text


def test_next_fire_times_are_in_the_configured_zone(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    config = load_config(write_config(tmp_path, file_dataset("obras", "d.csv"), "[defaults]\nschedule = \"0 3 * * *\""))
    (row,) = next_fire_times(config, dt.datetime(2026, 3, 2, 5, 59, tzinfo=dt.UTC))  # 02:59 in Rosario
    assert row["next_fire_time"] == "2026-03-02T03:00:00-03:00"


# --- the service in-process -------------------------------------------------------------------

@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Any]:
    services: list[SchedulerService] = []

    def make(path: Path, **options: Any) -> SchedulerService:
        service = SchedulerService(path, load_config(path), options=ServiceOptions(hard_exit=False, **options),
                                   notify=lambda config, report: notified.append(report))
        service.notified = notified  # type: ignore[attr-defined]
        services.append(service)
        return service

    notified: list[Any] = []
    yield make
    for service in services:
        if service.scheduler.running:
            service.scheduler.shutdown(wait=False)


def test_reload_keeps_the_old_schedule_when_the_new_config_is_invalid(tmp_path: Path, service_factory: Any,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    path = write_config(tmp_path, file_dataset("obras", "d.csv", 'schedule = "0 3 * * *"'))
    service = service_factory(path)
    service.start()
    path.write_text(path.read_text() + '\n[[datasets]]\nname = "Bad Name"\n', encoding="utf-8")
    assert service.reload() is False
    assert "keeping the previous schedule" in caplog.text and "datasets[1]" in caplog.text
    assert [job.id for job in service.scheduler.get_jobs()] == ["obras"]
    path.write_text(file_dataset("obras", "d.csv", 'schedule = "15 4 * * *"') + file_dataset("nuevo", "d.csv"))
    assert service.reload() is True
    jobs = {job.id: job for job in service.scheduler.get_jobs()}
    assert set(jobs) == {"obras", "nuevo"}
    assert (jobs["obras"].next_run_time.hour, jobs["obras"].next_run_time.minute) == (4, 15)


def test_a_scheduled_job_runs_the_pipeline_records_it_and_sends_one_digest(tmp_path: Path,
                                                                          service_factory: Any) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    (tmp_path / "vacio.csv").write_bytes(b"")
    path = write_config(tmp_path, file_dataset("obras", "d.csv") + file_dataset("vacio", "vacio.csv"))
    service = service_factory(path, digest_delay=0.2)
    service.run_job("obras")
    service.run_job("vacio")
    deadline = time.monotonic() + 10
    while not service.notified and time.monotonic() < deadline:
        time.sleep(0.05)
    (digest,) = service.notified
    assert {r.dataset: r.outcome for r in digest.results} == {"obras": Outcome.WRITTEN, "vacio": Outcome.FAILED}
    history = open_state(load_config(path)).history()
    assert {(h["dataset"], h["trigger"], h["outcome"]) for h in history} == {
        ("obras", "scheduled", "written"), ("vacio", "scheduled", "failed")}


# --- signals on a real `publisher schedule` process -----------------------------------------

SCHEDULE = "from publisher.cli import main; sys.argv = ['publisher'] + sys.argv[1:]; main()"


def start_schedule(path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PUBLISHER_CONFIG": str(path)}
    return subprocess.Popen([*python_with_slow_source(SCHEDULE), "-v", "schedule", *args], env=env,
                            stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, stderr


@pytest.mark.slow
def test_sigterm_lets_the_running_dataset_finish_and_exits_0(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = write_config(tmp_path, slow_dataset("obras", markers))
    process = start_schedule(path, "--now", "--stop-timeout", "60")
    wait_for(markers / "obras.started")
    process.send_signal(signal.SIGTERM)
    threading.Timer(1.0, lambda: (markers / "obras.release").write_text("go")).start()
    code, stderr = stop(process, signal.SIGTERM)
    assert code == 0, stderr
    (latest,) = open_state(load_config(path)).history("obras")
    assert (latest["outcome"], latest["trigger"], latest["run_status"]) == ("written", "scheduled", "ok")
    assert "waiting up to 60 s for obras" in stderr


@pytest.mark.slow
def test_sigterm_past_the_stop_timeout_records_the_abort_and_releases_the_lock(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = write_config(tmp_path, slow_dataset("obras", markers) + slow_dataset("otro", markers),
                        '[defaults]\nschedule = "0 3 * * *"')
    process = start_schedule(path, "--now", "--stop-timeout", "0.5", "--workers", "1")
    wait_for(markers / "obras.started")
    code, stderr = stop(process, signal.SIGINT)
    assert code == 0, stderr
    state = open_state(load_config(path))
    (aborted,) = state.history("obras")
    assert (aborted["outcome"], aborted["stage"], aborted["error_type"], aborted["run_status"]) == (
        "failed", "extract", "Aborted", "aborted")
    assert "aborted: the scheduler was stopped" in aborted["message"]
    assert state.locks_held() == {}
    assert not (markers / "otro.started").exists()  # queued work never started
    (queued,) = state.history("otro")
    assert (queued["outcome"], queued["trigger"]) == ("skipped", "scheduled")
    assert "not started: the scheduler was stopped before its turn" in queued["message"]


@pytest.mark.slow
def test_sighup_reloads_and_an_invalid_config_keeps_the_schedule(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    path = write_config(tmp_path, file_dataset("obras", "d.csv"))
    process = start_schedule(path)
    time.sleep(3)  # let it install its signal handlers
    path.write_text("[[datasets]]\nname = 1\n", encoding="utf-8")
    process.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    path.write_text(file_dataset("obras", "d.csv") + file_dataset("nuevo", "d.csv"), encoding="utf-8")
    process.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    code, stderr = stop(process)
    assert code == 0, stderr
    assert "config reload failed, keeping the previous schedule" in stderr
    assert "config reloaded: 2 datasets scheduled" in stderr


def test_a_job_that_cannot_start_records_a_failure_and_notifies(tmp_path: Path, service_factory: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CKAN_TOKEN_FOR_TEST", raising=False)
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    portal = ('[portal]\nurl = "http://127.0.0.1:9"\norganization = "rosario"\n'
              'api_key = { env = "CKAN_TOKEN_FOR_TEST" }\n')
    path = write_config(tmp_path, file_dataset("obras", "d.csv"), portal)
    service = service_factory(path, digest_delay=0.1)
    service.run_job("obras")
    deadline = time.monotonic() + 10
    while not service.notified and time.monotonic() < deadline:
        time.sleep(0.05)
    (digest,) = service.notified
    assert digest.results[0].outcome is Outcome.FAILED
    (row,) = open_state(load_config(path)).history("obras")
    assert (row["outcome"], row["stage"], row["error_type"], row["run_status"]) == (
        "failed", "config", "ConfigError", "failed")
    assert "CKAN_TOKEN_FOR_TEST is not set" in row["message"]
