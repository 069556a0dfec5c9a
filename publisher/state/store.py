"""The state store: run history, per-dataset summary, source validators, locks.

One SQLAlchemy engine over SQLite (default) or PostgreSQL. Every method is
one short transaction; SQLite runs in WAL mode and every transaction begins
IMMEDIATE, so concurrent processes queue on the file lock instead of failing
half-way. A process killed at any point leaves either the whole transaction
or none of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from publisher.errors import StateError
from publisher.outcomes import DatasetResult, Outcome, RunReport
from publisher.state import process
from publisher.state.process import ProcessId
from publisher.state.reader import history_row as _history_row
from publisher.state.reader import iso, parse_iso
from publisher.state.schema import (
    PUBLISH_OUTCOMES,
    SUCCESS_OUTCOMES,
    dataset_status,
    locks,
    outcomes,
    runs,
    source_state,
)

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SqlState:
    """A ``publisher.runner.StateStore`` over SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, *, clock: Clock = _utcnow, me: ProcessId | None = None) -> None:
        self.engine = engine
        self._clock = clock
        self._me = me or process.current()
        self._local = threading.local()  # the run id of the run this thread is in

    @property
    def location(self) -> str:
        """Where the state lives, with any password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _tx(self, action: str, dataset: str | None = None) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except (StateError, IntegrityError):
            raise
        except SQLAlchemyError as e:
            cause = getattr(e, "orig", None) or e
            raise StateError(
                f"state database {self.location}: {type(cause).__name__}: {str(cause).splitlines()[0]}",
                dataset=dataset, action=action,
            ) from e

    # --- source validators and cursors --------------------------------------

    def source_state(self, dataset: str) -> Mapping[str, str]:
        with self._tx("read source state", dataset) as conn:
            rows = conn.execute(
                select(source_state.c.key, source_state.c.value).where(source_state.c.dataset == dataset)
            ).all()
        return {key: value for key, value in rows}

    def commit_source_state(self, dataset: str, state: Mapping[str, str]) -> None:
        """Replace the dataset's validators/cursors (called only after a successful publish)."""
        stamp = iso(self._clock())
        with self._tx("commit source state", dataset) as conn:
            conn.execute(delete(source_state).where(source_state.c.dataset == dataset))
            if state:
                conn.execute(insert(source_state), [
                    {"dataset": dataset, "key": k, "value": str(v), "committed_at": stamp}
                    for k, v in state.items()
                ])

    # --- runs and outcomes --------------------------------------------------

    def begin_run(self, report: RunReport) -> int:
        self.reap()
        with self._tx("begin run") as conn:
            run_id = conn.execute(insert(runs).values(
                trigger=report.trigger, dry_run=report.dry_run, status="running",
                started_at=iso(report.started_at), host=self._me.host, pid=self._me.pid,
                pid_start=self._me.start,
            ).returning(runs.c.id)).scalar_one()
        self._local.run_id = int(run_id)
        return int(run_id)

    def record(self, report: RunReport, result: DatasetResult) -> None:
        """Store one dataset's outcome (the first one recorded for a run and dataset wins)."""
        self.record_many(report, [result])

    def record_many(self, report: RunReport, results: Sequence[DatasetResult]) -> None:
        """Store several outcomes in one transaction (imports, benchmarks)."""
        if report.run_id is None:
            report.run_id = self.begin_run(report)
        rows = [_outcome_row(report.run_id, result, self._clock) for result in results]
        try:
            with self._tx("record outcome", results[0].dataset if len(results) == 1 else None) as conn:
                conn.execute(insert(outcomes), rows)
                if not report.dry_run:
                    self._upsert_status(conn, list({row["dataset"]: row for row in rows}.values()))
        except IntegrityError:
            log.warning("run %s: an outcome for %s was already recorded; keeping the first",
                        report.run_id, ", ".join(r.dataset for r in results))

    def _upsert_status(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Move each dataset's summary to its newest outcome (one statement for many rows)."""
        statement = _upsert_statement(conn.dialect.name)
        params = []
        for row in rows:
            ok, published = row["outcome"] in SUCCESS_OUTCOMES, row["outcome"] in PUBLISH_OUTCOMES
            params.append({
                "dataset": row["dataset"], "last_run_id": row["run_id"], "last_outcome": row["outcome"],
                "last_stage": row["stage"], "last_error_type": row["error_type"], "last_message": row["message"],
                "last_at": row["finished_at"], "last_success_at": row["finished_at"] if ok else None,
                "last_published_at": row["finished_at"] if published else None,
                "last_package_sha256": row["package_sha256"] if ok else None, "ckan_id": row["ckan_id"],
            })
        conn.execute(statement, params)

    def finish_run(self, report: RunReport, *, status: str | None = None) -> None:
        if report.run_id is None:
            return
        final = status or ("ok" if report.ok else "failed")
        finished = report.finished_at or self._clock()
        with self._tx("finish run") as conn:
            # a run's status is final once set (an abort or a reap is not overwritten)
            conn.execute(update(runs).where(runs.c.id == report.run_id, runs.c.status == "running").values(
                status=final, finished_at=iso(finished), counts=json.dumps(report.counts()),
            ))
        if getattr(self._local, "run_id", None) == report.run_id:
            self._local.run_id = None

    # --- locks --------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, dataset: str) -> Iterator[None]:
        """Hold the dataset's lock across processes; StateError(action="lock") when busy."""
        self._acquire(dataset)
        try:
            yield
        finally:
            self._release(dataset)

    def _acquire(self, dataset: str) -> None:
        for _attempt in range(5):
            try:
                with self._tx("lock", dataset) as conn:
                    row = conn.execute(select(locks).where(locks.c.dataset == dataset)).mappings().first()
                    if row is not None:
                        holder = ProcessId(row["host"], row["pid"], row["pid_start"])
                        if process.is_alive(holder):
                            raise StateError(
                                f"locked by {holder} since {row['acquired_at']}", dataset=dataset,
                                action="lock", hint="another publisher is working on it; try again later",
                            )
                        self._release_stale(conn, row)
                    conn.execute(insert(locks).values(
                        dataset=dataset, host=self._me.host, pid=self._me.pid, pid_start=self._me.start,
                        run_id=getattr(self._local, "run_id", None), acquired_at=iso(self._clock()),
                    ))
                return
            except IntegrityError:
                continue  # another process took it between our read and our insert: look again
        raise StateError("could not take the lock: it keeps changing hands", dataset=dataset, action="lock")

    def _release(self, dataset: str) -> None:
        with self._tx("unlock", dataset) as conn:
            conn.execute(delete(locks).where(
                locks.c.dataset == dataset, locks.c.host == self._me.host, locks.c.pid == self._me.pid,
            ))

    def release_own_locks(self) -> list[str]:
        """Drop every lock this process holds (used when aborting); returns the datasets."""
        mine = (locks.c.host == self._me.host) & (locks.c.pid == self._me.pid)
        with self._tx("unlock") as conn:
            names = [r[0] for r in conn.execute(select(locks.c.dataset).where(mine)).all()]
            conn.execute(delete(locks).where(mine))
        return names

    def locks_held(self) -> dict[str, str]:
        """dataset -> ``pid N on host since T`` for every live lock."""
        with self._tx("read locks") as conn:
            rows = conn.execute(select(locks)).mappings().all()
        return {
            r["dataset"]: f"pid {r['pid']} on {r['host']} since {r['acquired_at']}"
            for r in rows if process.is_alive(ProcessId(r["host"], r["pid"], r["pid_start"]))
        }

    def _release_stale(self, conn: Connection, row: Mapping[Any, Any]) -> None:
        """A lock whose holder died: record the dataset as interrupted, then drop the lock."""
        holder = ProcessId(row["host"], row["pid"], row["pid_start"])
        log.warning("dataset '%s': releasing the lock left by %s (no longer running) since %s",
                    row["dataset"], holder, row["acquired_at"])
        conn.execute(delete(locks).where(locks.c.dataset == row["dataset"], locks.c.pid == row["pid"],
                                         locks.c.host == row["host"]))
        run_id = row["run_id"]
        if run_id is None:
            return
        recorded = conn.execute(select(exists().where(
            outcomes.c.run_id == run_id, outcomes.c.dataset == row["dataset"]))).scalar()
        if recorded:
            return
        result = DatasetResult(
            dataset=row["dataset"], outcome=Outcome.FAILED, error_type="Interrupted",
            message=(f"dataset '{row['dataset']}': interrupted: {holder} stopped while working on it "
                     f"(stage unknown); the next run starts it again"),
            started_at=parse_iso(row["acquired_at"]), finished_at=self._clock(),
        )
        out_row = _outcome_row(run_id, result, self._clock)
        out_row["stage"] = None
        conn.execute(insert(outcomes), [out_row])
        self._upsert_status(conn, [out_row])
        self._mark_interrupted(conn, [run_id])

    def _mark_interrupted(self, conn: Connection, run_ids: Sequence[int]) -> None:
        conn.execute(update(runs).where(runs.c.id.in_(run_ids), runs.c.status == "running").values(
            status="interrupted", finished_at=iso(self._clock())))

    def reap(self) -> None:
        """Release locks and close runs left by processes of this host that died."""
        with self._tx("reap") as conn:
            for row in conn.execute(select(locks).where(locks.c.host == self._me.host)).mappings().all():
                if not process.is_alive(ProcessId(row["host"], row["pid"], row["pid_start"])):
                    self._release_stale(conn, row)
            running = conn.execute(select(runs.c.id, runs.c.pid, runs.c.pid_start).where(
                runs.c.status == "running", runs.c.host == self._me.host)).all()
            dead = [r.id for r in running if not process.is_alive(ProcessId(self._me.host, r.pid, r.pid_start))]
            if dead:
                log.warning("runs %s: their process died; marked interrupted", ", ".join(map(str, dead)))
                self._mark_interrupted(conn, dead)

    # --- reading ------------------------------------------------------------

    def dataset_rows(self) -> dict[str, dict[str, Any]]:
        """The per-dataset summary: last run, outcome, last success and publish."""
        with self._tx("read status") as conn:
            rows = conn.execute(select(dataset_status)).mappings().all()
        return {row["dataset"]: dict(row) for row in rows}

    def history(self, dataset: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Recorded outcomes, newest first, with their run's trigger."""
        query = (
            select(outcomes, runs.c.trigger, runs.c.dry_run, runs.c.status.label("run_status"))
            .join(runs, runs.c.id == outcomes.c.run_id).order_by(outcomes.c.id.desc()).limit(limit)
        )
        if dataset:
            query = query.where(outcomes.c.dataset == dataset)
        with self._tx("read history", dataset) as conn:
            rows = conn.execute(query).mappings().all()
        return [_history_row(row) for row in rows]

    def run_rows(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._tx("read runs") as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).mappings().all()
        return [{**dict(row), "counts": json.loads(row["counts"] or "{}")} for row in rows]

    def prune(self, older_than: dt.timedelta) -> dict[str, Any]:
        """Delete finished runs (and their outcomes) started before now - older_than."""
        cutoff = iso(self._clock() - older_than)
        old = select(runs.c.id).where(runs.c.started_at < cutoff, runs.c.status != "running")
        with self._tx("prune") as conn:
            removed_outcomes = conn.execute(delete(outcomes).where(outcomes.c.run_id.in_(old))).rowcount
            removed_runs = conn.execute(delete(runs).where(runs.c.id.in_(old))).rowcount
        if removed_runs and self.engine.dialect.name == "sqlite":
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
            finally:
                raw.close()
        return {"runs": int(removed_runs), "outcomes": int(removed_outcomes), "cutoff": cutoff}


@functools.cache
def _upsert_statement(dialect_name: str) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE of dataset_status, built once (building it costs milliseconds)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(dataset_status)
    new, old = statement.excluded, dataset_status.c
    succeeded = _one_of(new.last_outcome, SUCCESS_OUTCOMES)
    set_ = {
        "last_run_id": new.last_run_id, "last_outcome": new.last_outcome, "last_stage": new.last_stage,
        "last_error_type": new.last_error_type, "last_message": new.last_message, "last_at": new.last_at,
        "last_success_at": case((succeeded, new.last_at), else_=old.last_success_at),
        "last_published_at": case((_one_of(new.last_outcome, PUBLISH_OUTCOMES), new.last_at),
                                  else_=old.last_published_at),
        "last_package_sha256": case((succeeded, new.last_package_sha256), else_=old.last_package_sha256),
        "ckan_id": func.coalesce(new.ckan_id, old.ckan_id),
    }
    return statement.on_conflict_do_update(index_elements=["dataset"], set_=set_)


def _one_of(column: Any, values: Sequence[str]) -> Any:
    """``column IN ('a', 'b')`` with the constants inline (executemany cannot expand IN parameters)."""
    return or_(*[column == literal_column(f"'{value}'") for value in values])


def _outcome_row(run_id: int, result: DatasetResult, clock: Clock) -> dict[str, Any]:
    return {
        "run_id": run_id, "dataset": result.dataset, "outcome": str(result.outcome),
        "stage": str(result.stage) if result.stage else None, "error_type": result.error_type,
        "message": result.message, "rows": result.rows, "bytes": result.bytes,
        "package_sha256": result.package_sha256,
        "content_sha256": json.dumps(result.content_sha256, sort_keys=True),
        "durations": json.dumps(result.durations, sort_keys=True),
        "ckan_id": result.ckan_id, "ckan_url": result.ckan_url, "write_calls": result.write_calls,
        "started_at": iso(result.started_at) if result.started_at else None,
        "finished_at": iso(result.finished_at or clock()),
    }
