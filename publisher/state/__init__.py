"""Run history, per-dataset status, source validators and locks.

    from publisher.state import open_state
    state = open_state(config)      # SQLite at config.state_path, or [state].url
    deps = RunDeps(state=state)

The schema is versioned (``publisher.state.schema``): opening a database
applies the migrations it lacks. SQLAlchemy is imported only when a store is
opened, so `publisher status` can read a SQLite file without it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from publisher.config import Config
from publisher.state.reader import SCHEMA_VERSION, SqliteReader, iso, parse_iso
from publisher.state.status import DatasetStatus, StatusSource, dataset_status, parse_age

if TYPE_CHECKING:
    from publisher.state.store import Clock, SqlState

__all__ = [
    "DatasetStatus", "SqlState", "SqliteState", "StatusSource", "dataset_status", "iso", "open_reader",
    "open_state", "open_url", "parse_age", "parse_iso",
]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_state(config: Config, *, clock: Clock = _utcnow) -> SqlState:
    """The state store the config names: ``[state].url`` when set, else the SQLite file (created)."""
    from publisher.state.engine import open_state as open_engine_state

    return open_engine_state(config, clock=clock)


def open_url(url: str, *, clock: Clock = _utcnow) -> SqlState:
    """Open (and migrate) the state at a SQLAlchemy URL or a SQLite file path."""
    from publisher.state.engine import open_url as open_engine_url

    return open_engine_url(url, clock=clock)


def open_reader(config: Config) -> StatusSource:
    """For reading status and history: the light SQLite reader when it can answer alone, else the store."""
    path = config.state_path
    if config.state.url is None and path.is_file():
        reader = SqliteReader(path)
        try:
            if reader.version() == SCHEMA_VERSION and not reader.needs_cleanup():
                return reader
        except Exception:  # an unreadable file: the store reports it properly
            pass
        reader.close()
    return open_state(config)


def __getattr__(name: str) -> Any:
    if name in ("SqlState", "SqliteState"):
        from publisher.state.store import SqlState

        return SqlState
    raise AttributeError(f"module 'publisher.state' has no attribute {name!r}")
