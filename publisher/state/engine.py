"""Opening the state database: SQLite (WAL, IMMEDIATE transactions) or a SQLAlchemy URL.

Opening applies the migrations the database lacks (``publisher.state.schema``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from publisher.config import Config, resolve
from publisher.errors import StateError
from publisher.state.schema import migrate
from publisher.state.store import Clock, SqlState


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sqlite_engine(path: Path) -> Engine:
    """A SQLite engine in WAL mode whose transactions begin IMMEDIATE (writers queue, never deadlock)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StateError(f"cannot create the state folder {path.parent}: {e.strerror}", action="open") from e
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite: let us issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=60000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_url(url: str, *, clock: Clock = _utcnow) -> SqlState:
    """Open (and migrate) the state at a SQLAlchemy URL or a SQLite file path."""
    try:
        parsed = make_url(url) if "://" in url else None
    except ArgumentError as e:
        raise StateError(f"[state].url is not a database URL: {e}", action="open") from None
    if parsed is None or parsed.get_backend_name() == "sqlite":
        engine = sqlite_engine(Path(parsed.database or "") if parsed else Path(url))
    else:
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=_connect_timeout(parsed))
    try:
        migrate(engine, now=clock())
    except SQLAlchemyError as e:
        location = engine.url.render_as_string(hide_password=True)
        engine.dispose()
        cause = getattr(e, "orig", None) or e
        raise StateError(f"cannot open the state database {location}: {type(cause).__name__}",
                         action="open") from e
    return SqlState(engine, clock=clock)


def _connect_timeout(url: Any) -> dict[str, Any]:
    return {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}


def open_state(config: Config, *, clock: Clock = _utcnow) -> SqlState:
    """The state store the config names: ``[state].url`` when set, else the SQLite file."""
    if config.state.url is not None:
        return open_url(resolve(config.state.url, "state.url"), clock=clock)
    return open_url(str(config.state_path), clock=clock)
