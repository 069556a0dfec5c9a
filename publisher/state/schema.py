"""The state database's tables and its ordered, versioned migrations.

``schema_version`` holds one row per applied migration. ``migrate()`` applies
the missing ones, in order, each in the same transaction as its version row,
so a crash mid-migration leaves the previous version intact. A database
written by a newer publisher (a version this code does not know) is refused.

To change the schema: append a function to ``MIGRATIONS`` that takes a
Connection; never edit one that has shipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)

from publisher.errors import StateError

metadata = MetaData()
TS = String(40)  # ISO 8601 in UTC, fixed width: sorts as text on every backend
ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite rowids must be INTEGER

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", TS, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("trigger", String(20), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("status", String(20), nullable=False),  # running | ok | failed | interrupted | aborted
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_start", String(40)),
    Column("counts", Text),  # JSON {outcome: n}
)
Index("ix_runs_started_at", runs.c.started_at)
Index("ix_runs_status", runs.c.status)

outcomes = Table(
    "outcomes", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("dataset", String(100), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("stage", String(20)),
    Column("error_type", String(100)),
    Column("message", Text),
    Column("rows", BigInteger, nullable=False, default=0),
    Column("bytes", BigInteger, nullable=False, default=0),
    Column("package_sha256", String(64)),
    Column("content_sha256", Text),  # JSON {resource: sha256}
    Column("durations", Text),  # JSON {stage: seconds}
    Column("ckan_id", String(100)),
    Column("ckan_url", Text),
    Column("write_calls", Integer, nullable=False, default=0),
    Column("started_at", TS),
    Column("finished_at", TS),
    UniqueConstraint("run_id", "dataset", name="uq_outcomes_run_dataset"),
)
Index("ix_outcomes_dataset_id", outcomes.c.dataset, outcomes.c.id)

source_state = Table(
    "source_state", metadata,
    Column("dataset", String(100), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("committed_at", TS, nullable=False),
)

locks = Table(
    "locks", metadata,
    Column("dataset", String(100), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_start", String(40)),
    Column("run_id", ID),
    Column("acquired_at", TS, nullable=False),
)

# v2: one summary row per dataset, kept by record(), so `status` reads N rows
# instead of scanning the history.
dataset_status = Table(
    "dataset_status", metadata,
    Column("dataset", String(100), primary_key=True),
    Column("last_run_id", ID),
    Column("last_outcome", String(20)),
    Column("last_stage", String(20)),
    Column("last_error_type", String(100)),
    Column("last_message", Text),
    Column("last_at", TS),
    Column("last_success_at", TS),
    Column("last_published_at", TS),
    Column("last_package_sha256", String(64)),
    Column("ckan_id", String(100)),
)

SUCCESS_OUTCOMES = ("published", "written", "unchanged")
PUBLISH_OUTCOMES = ("published", "written")


def _v1_history(conn: Connection) -> None:
    metadata.create_all(conn, tables=[runs, outcomes, source_state, locks])


def _v2_dataset_status(conn: Connection) -> None:
    """Add the per-dataset summary and fill it from the history already recorded."""
    metadata.create_all(conn, tables=[dataset_status])
    latest = (
        select(outcomes.c.dataset, func.max(outcomes.c.id).label("id"))
        .join(runs, runs.c.id == outcomes.c.run_id).where(runs.c.dry_run.is_(False))
        .group_by(outcomes.c.dataset).subquery()
    )
    rows = conn.execute(select(outcomes).join(latest, latest.c.id == outcomes.c.id)).mappings().all()
    for row in rows:
        conn.execute(insert(dataset_status).values(
            dataset=row["dataset"], last_run_id=row["run_id"], last_outcome=row["outcome"],
            last_stage=row["stage"], last_error_type=row["error_type"], last_message=row["message"],
            last_at=row["finished_at"], last_package_sha256=row["package_sha256"], ckan_id=row["ckan_id"],
            last_success_at=_last_at(conn, row["dataset"], SUCCESS_OUTCOMES),
            last_published_at=_last_at(conn, row["dataset"], PUBLISH_OUTCOMES),
        ))


def _last_at(conn: Connection, dataset: str, kinds: tuple[str, ...]) -> str | None:
    query = (
        select(func.max(outcomes.c.finished_at)).join(runs, runs.c.id == outcomes.c.run_id)
        .where(outcomes.c.dataset == dataset, outcomes.c.outcome.in_(kinds), runs.c.dry_run.is_(False))
    )
    value = conn.execute(query).scalar()
    return str(value) if value is not None else None


Migration = Callable[[Connection], None]
MIGRATIONS: tuple[tuple[int, Migration], ...] = (
    (1, _v1_history),
    (2, _v2_dataset_status),
)
LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    schema_version.create(conn, checkfirst=True)
    return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)


def migrate(engine: Engine, *, target: int = LATEST_VERSION, now: dt.datetime | None = None) -> int:
    """Apply the migrations above the database's version, up to ``target``; returns the version."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # serialise concurrent first opens
            conn.execute(text("SELECT pg_advisory_xact_lock(7202411)"))
        version = current_version(conn)
        if version > LATEST_VERSION:
            raise StateError(
                f"the state database has schema version {version}, newer than this publisher "
                f"knows ({LATEST_VERSION})", action="migrate", hint="upgrade publisher",
            )
        stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="microseconds")
        for number, migration in MIGRATIONS:
            if version < number <= target:
                migration(conn)
                conn.execute(insert(schema_version).values(version=number, applied_at=stamp))
                version = number
    return version
