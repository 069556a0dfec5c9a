"""Nightly runs: one APScheduler cron trigger per dataset, in the config's time zone.

    publisher schedule           # foreground, for systemd or supervisor
    publisher schedule --list    # each dataset's next fire time

Jobs coalesce missed fires, never overlap (``max_instances=1``) and are
dropped when later than the misfire grace time. Each job runs one dataset
through ``publisher.runner.run(..., trigger="scheduled")``; the per-dataset
lock in the state store keeps a steward's manual run and the scheduler apart.

Signals: SIGHUP re-reads the config (an invalid one keeps the old schedule and
logs why); SIGTERM and SIGINT stop taking new work, let the datasets in
progress finish for up to ``stop_timeout`` seconds, record the ones still
running as failed ("aborted"), and exit 0. Notifications go out as one digest
once the scheduler has been idle for ``digest_delay`` seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from publisher.config import Config, DatasetConfig, load_config
from publisher.errors import ConfigError, PublisherError, Stage, StateError
from publisher.outcomes import DatasetResult, Outcome, RunReport

log = logging.getLogger(__name__)

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) = Sunday


# --- triggers -----------------------------------------------------------------

def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token[:3] in DAY_NAMES:
        return DAY_NAMES.index(token[:3])
    number = int(token)
    if not 0 <= number <= 7:
        raise ValueError(f"day of week out of range: {token}")
    return number % 7


def crontab_days(field_text: str) -> str:
    """A crontab day-of-week field as APScheduler day names.

    APScheduler 3 numbers days from Monday = 0, crontab from Sunday = 0: passing
    "1-5" through unchanged would run Tuesday to Saturday.
    """
    if field_text.strip() == "*":
        return "*"
    days: set[int] = set()
    for part in field_text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            first_text, last_text = base.split("-", 1)
            first, last = _day_number(first_text), _day_number(last_text) or (7 if last_text.strip() == "7" else 0)
        else:
            first = _day_number(base)
            last = 6 if step_text else first
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A fixed-time cron trigger from a 5-field crontab expression (standard day-of-week numbers)."""
    minute, hour, day, month, day_of_week = expression.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_days(day_of_week),
                       timezone=zoneinfo.ZoneInfo(timezone))


def trigger_for(config: Config, dataset: DatasetConfig) -> CronTrigger:
    return cron_trigger(config.schedule_of(dataset), config.defaults.timezone)


@dataclass(frozen=True)
class JobOptions:
    misfire_grace_time: int = 3600  # seconds late a fire may still start (e.g. after a reboot)
    coalesce: bool = True  # several missed fires run once
    max_instances: int = 1  # never two runs of one dataset from this scheduler


def add_dataset_jobs(scheduler: BaseScheduler, config: Config, job: Callable[[str], Any], *,
                     options: JobOptions = JobOptions(), run_now: bool = False) -> None:
    """One job per dataset, id = dataset name; jobs of datasets no longer configured are removed."""
    wanted = {d.name for d in config.datasets}
    for existing in scheduler.get_jobs():
        if existing.id not in wanted:
            scheduler.remove_job(existing.id)
    for dataset in config.datasets:
        extra: dict[str, Any] = {"next_run_time": dt.datetime.now(dt.UTC)} if run_now else {}
        scheduler.add_job(
            job, trigger_for(config, dataset), args=[dataset.name], id=dataset.name,
            name=f"publish {dataset.name}", replace_existing=True, misfire_grace_time=options.misfire_grace_time,
            coalesce=options.coalesce, max_instances=options.max_instances, **extra,
        )


def next_fire_times(config: Config, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Each dataset's schedule and next fire time (in the config's time zone), config order."""
    zone = zoneinfo.ZoneInfo(config.defaults.timezone)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    rows = []
    for dataset in config.datasets:
        fire = trigger_for(config, dataset).get_next_fire_time(None, now)
        rows.append({
            "dataset": dataset.name, "schedule": config.schedule_of(dataset), "timezone": config.defaults.timezone,
            "next_fire_time": fire.isoformat() if fire else None,
        })
    return rows


# --- the foreground service ---------------------------------------------------

class _Guard:
    """The state store, plus: no dataset starts once stopping; remembers each thread's run."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.stopping = threading.Event()
        self.reports: dict[int, RunReport] = {}
        self.results: dict[int, DatasetResult] = {}

    def source_state(self, dataset: str) -> Mapping[str, str]:
        return self.state.source_state(dataset)  # type: ignore[no-any-return]

    def begin_run(self, report: RunReport) -> int | None:
        run_id = self.state.begin_run(report)
        report.run_id = run_id
        self.reports[threading.get_ident()] = report
        return run_id  # type: ignore[no-any-return]

    def record(self, report: RunReport, result: DatasetResult) -> None:
        self.state.record(report, result)

    def finish_run(self, report: RunReport) -> None:
        self.state.finish_run(report)

    def commit_source_state(self, dataset: str, state: Mapping[str, str]) -> None:
        self.state.commit_source_state(dataset, state)

    @contextlib.contextmanager
    def lock(self, dataset: str) -> Iterator[None]:
        if self.stopping.is_set():
            raise StateError("not started: the scheduler is shutting down", dataset=dataset, action="lock")
        with self.state.lock(dataset):
            yield

    def started(self, result: DatasetResult) -> None:
        self.results[threading.get_ident()] = result

    def done(self) -> None:
        self.reports.pop(threading.get_ident(), None)
        self.results.pop(threading.get_ident(), None)


class _Digest:
    """Collects scheduled reports; sends one notification once no job has run for ``delay`` s."""

    def __init__(self, send: Callable[[RunReport], Any], delay: float) -> None:
        self._send, self._delay = send, delay
        self._lock = threading.Lock()
        self._pending: list[RunReport] = []
        self._running = 0
        self._timer: threading.Timer | None = None

    def started(self) -> None:
        with self._lock:
            self._running += 1

    def finished(self, report: RunReport | None) -> None:
        with self._lock:
            self._running -= 1
            if report is not None and not any(r is report for r in self._pending):
                self._pending.append(report)
            self._arm()

    def add(self, report: RunReport) -> None:
        with self._lock:
            if not any(r is report for r in self._pending):
                self._pending.append(report)

    def _arm(self) -> None:
        if self._timer:
            self._timer.cancel()
        self._timer = threading.Timer(self._delay, self._quiet)
        self._timer.daemon = True
        self._timer.start()

    def _quiet(self) -> None:
        with self._lock:
            if self._running:
                self._arm()
                return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._timer:
                self._timer.cancel()
            reports, self._pending = self._pending, []
        if reports:
            try:
                self._send(merge_reports(reports))
            except Exception:  # a notification failure must not stop the scheduler
                log.exception("sending the run notification failed")


def merge_reports(reports: Sequence[RunReport]) -> RunReport:
    """Several one-dataset runs as one report (for one notification)."""
    if len(reports) == 1:
        return reports[0]
    ends = [r.finished_at for r in reports if r.finished_at]
    return RunReport(
        trigger=reports[0].trigger, dry_run=any(r.dry_run for r in reports),
        started_at=min(r.started_at for r in reports), finished_at=max(ends) if ends else None,
        results=[result for report in reports for result in report.results],
    )


@dataclass
class ServiceOptions:
    stop_timeout: float = 60.0  # seconds to let datasets in progress finish after SIGTERM
    workers: int = 2  # datasets run at once
    digest_delay: float = 30.0  # idle seconds before the notification digest goes out
    jobs: JobOptions = field(default_factory=JobOptions)
    run_now: bool = False  # also run every dataset once at start-up
    hard_exit: bool = True  # os._exit after an abort (threads stuck in I/O cannot be joined)


class SchedulerService:
    """`publisher schedule`: the scheduler in the foreground, driven by signals."""

    def __init__(self, config_path: Path | None, config: Config, *, options: ServiceOptions | None = None,
                 open_state: Callable[[Config], Any] | None = None,
                 notify: Callable[[Config, RunReport], Any] | None = None) -> None:
        from publisher import notify as notify_module
        from publisher import state as state_module

        self.config_path, self.config = config_path, config
        self.options = options or ServiceOptions()
        self._open_state = open_state or state_module.open_state
        self._notify = notify or notify_module.notify
        self.guard = _Guard(self._open_state(config))
        self.digest = _Digest(self._send_digest, self.options.digest_delay)
        self._queued: set[str] = set()  # submitted to the pool, not started yet
        self._queued_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_requested = False
        self._reload_requested = False
        self.scheduler = BackgroundScheduler(
            timezone=zoneinfo.ZoneInfo(config.defaults.timezone),
            executors={"default": ThreadPoolExecutor(self.options.workers)},
        )
        self.scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        with self._queued_lock:
            self._queued.add(event.job_id)

    def _send_digest(self, report: RunReport) -> None:
        sent = self._notify(self.config, report)
        if sent:
            log.info("notification sent: %s", "; ".join(sent))

    # job --------------------------------------------------------------------

    def run_job(self, name: str) -> None:
        """One scheduled fire: the dataset through the runner with the real dependencies."""
        from publisher import runner
        from publisher.app import default_deps

        with self._queued_lock:
            self._queued.discard(name)
        self.digest.started()
        report: RunReport | None = None
        try:
            deps = default_deps(self.config, state=self.guard, on_start=self.guard.started)
            report = runner.run(self.config, [name], deps=deps, trigger="scheduled")
            log.info("scheduled run of '%s': %s", name, ", ".join(f"{n} {k}" for k, n in report.counts().items()))
        except PublisherError as e:  # the dependencies could not be built (a missing secret, say)
            log.error("scheduled run of '%s' could not start: %s", name, e.one_line())
            report = self._record_failure(name, e.one_line(), type(e).__name__, e.stage)
        except Exception as e:  # a bug must not kill the scheduler; the outcome is still recorded
            log.exception("scheduled run of '%s' failed unexpectedly", name)
            report = self._record_failure(name, f"internal error: {type(e).__name__}", type(e).__name__, None)
        finally:
            self.guard.done()
            self.digest.finished(report)

    def _record_failure(self, name: str, message: str, error_type: str, stage: Stage | None) -> RunReport | None:
        now = dt.datetime.now(dt.UTC)
        report = self.guard.reports.get(threading.get_ident())
        try:
            if report is None:
                report = RunReport(trigger="scheduled", started_at=now)
                report.run_id = self.guard.state.begin_run(report)
            result = self.guard.results.get(threading.get_ident()) or DatasetResult(dataset=name, started_at=now)
            stage = stage or result.stage
            failed = replace(result, outcome=Outcome.FAILED, stage=stage, error_type=error_type, finished_at=now,
                             message=message if message.startswith("dataset ") else
                             f"dataset '{name}' [{stage}]: {message}")
            report.results.append(failed)
            report.finished_at = now
            self.guard.state.record(report, failed)
            self.guard.state.finish_run(report)
        except PublisherError as e:
            log.error("could not record the failure of '%s': %s", name, e.one_line())
        return report

    # lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        add_dataset_jobs(self.scheduler, self.config, self.run_job, options=self.options.jobs,
                         run_now=self.options.run_now)
        self.scheduler.start()
        log.info("scheduler started: %d datasets, time zone %s", len(self.config.datasets),
                 self.config.defaults.timezone)

    def reload(self) -> bool:
        """Re-read the config and reschedule; an invalid config keeps the old schedule."""
        try:
            new = load_config(self.config_path)
        except ConfigError as e:
            log.error("config reload failed, keeping the previous schedule: %s", "; ".join(e.problems))
            return False
        if new.defaults.timezone != self.config.defaults.timezone:
            log.warning("the time zone changed: triggers use %s from now on", new.defaults.timezone)
        self.config = new
        add_dataset_jobs(self.scheduler, new, self.run_job, options=self.options.jobs)
        log.info("config reloaded: %d datasets scheduled", len(new.datasets))
        return True

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload_requested = True
        else:
            self._stop_requested = True
        self._wake.set()

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code (0)."""
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            self.start()
            while not self._stop_requested:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                if self._reload_requested:
                    self._reload_requested = False
                    self.reload()
            return self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> int:
        """Take no new work; let running datasets finish up to stop_timeout, then abort them."""
        self.guard.stopping.set()
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.options.stop_timeout
        if self.guard.results:
            log.warning("stopping: waiting up to %.0f s for %s", self.options.stop_timeout,
                        ", ".join(r.dataset for r in self.guard.results.values()))
        while self.guard.results and time.monotonic() < deadline:
            time.sleep(0.1)
        aborted = self._abort_running()
        if aborted:
            self._record_not_started()
        self.digest.flush()
        log.info("scheduler stopped")
        if aborted and self.options.hard_exit:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # worker threads may be blocked in I/O: do not wait for them
        return 0

    def _record_not_started(self) -> None:
        """Fires accepted but still queued behind the aborted runs: record them as skipped."""
        with self._queued_lock:
            names, self._queued = sorted(self._queued), set()
        for name in names:
            now = dt.datetime.now(dt.UTC)
            report = RunReport(trigger="scheduled", started_at=now)
            report.run_id = self.guard.state.begin_run(report)
            result = DatasetResult(dataset=name, outcome=Outcome.SKIPPED, started_at=now, finished_at=now,
                                   message=f"dataset '{name}': not started: the scheduler was stopped before its turn")
            report.results.append(result)
            report.finished_at = now
            self.guard.state.record(report, result)
            self.guard.state.finish_run(report)
            self.digest.add(report)

    def _abort_running(self) -> list[str]:
        """Record each dataset still running as failed (aborted) and release its lock."""
        aborted = []
        for ident, result in list(self.guard.results.items()):
            report = self.guard.reports.get(ident)
            if report is None:
                continue
            now = dt.datetime.now(dt.UTC)
            failed = replace(result, outcome=Outcome.FAILED, error_type="Aborted", finished_at=now,
                             message=(f"dataset '{result.dataset}' [{result.stage}]: aborted: the scheduler was "
                                      f"stopped while it ran; the previous package was kept"))
            report.results.append(failed)
            report.finished_at = now
            self.guard.state.record(report, failed)
            self.guard.state.finish_run(report, status="aborted")
            self.digest.add(report)
            aborted.append(result.dataset)
        if aborted:
            self.guard.state.release_own_locks()
            log.warning("aborted after %.0f s: %s", self.options.stop_timeout, ", ".join(aborted))
        return aborted
