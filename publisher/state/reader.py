"""A read-only view of the SQLite state for `status` and `history`, on the standard library only.

`publisher status` over 1,000 datasets must answer in well under a second;
importing SQLAlchemy alone costs about half of that. When the file is at the
current schema version and no dead process left a lock or a running run on
this host, these reads need nothing else; otherwise ``publisher.state.open_reader``
falls back to the full store, which migrates and cleans up first.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from publisher.state import process
from publisher.state.process import ProcessId

SCHEMA_VERSION = 2  # publisher.state.schema.LATEST_VERSION (a test keeps them equal)


def iso(moment: dt.datetime) -> str:
    """UTC, fixed width, so text order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def history_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    data = {str(key): row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row has no items())
    data.pop("id", None)
    data["content_sha256"] = json.loads(data["content_sha256"] or "{}")
    data["durations"] = json.loads(data["durations"] or "{}")
    data["dry_run"] = bool(data["dry_run"])
    return data


class SqliteReader:
    """dataset_rows(), locks_held(), history() of a SQLite state file, read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = f"sqlite:///{path}"
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
        self._conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self._conn.close()

    def version(self) -> int:
        try:
            return int(self._conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)
        except sqlite3.OperationalError:
            return 0

    def needs_cleanup(self) -> bool:
        """True when a dead process of this host left a lock or a run marked running."""
        me = process.current()
        lock_rows = self._conn.execute("SELECT host, pid, pid_start FROM locks WHERE host = ?", (me.host,))
        run_rows = self._conn.execute(
            "SELECT host, pid, pid_start FROM runs WHERE status = 'running' AND host = ?", (me.host,))
        return any(not process.is_alive(ProcessId(r["host"], r["pid"], r["pid_start"]))
                   for rows in (lock_rows, run_rows) for r in rows.fetchall())

    def reap(self) -> None:
        """Nothing to do: open_reader() only returns a reader when needs_cleanup() was False."""

    def dataset_rows(self) -> dict[str, dict[str, Any]]:
        rows = self._conn.execute("SELECT * FROM dataset_status").fetchall()
        return {row["dataset"]: {key: row[key] for key in row.keys()} for row in rows}  # noqa: SIM118

    def locks_held(self) -> dict[str, str]:
        rows = self._conn.execute("SELECT * FROM locks").fetchall()
        return {
            r["dataset"]: f"pid {r['pid']} on {r['host']} since {r['acquired_at']}"
            for r in rows if process.is_alive(ProcessId(r["host"], r["pid"], r["pid_start"]))
        }

    def history(self, dataset: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        where, params = ("WHERE o.dataset = ?", [dataset]) if dataset else ("", [])
        rows = self._conn.execute(
            "SELECT o.*, r.trigger, r.dry_run, r.status AS run_status FROM outcomes o "
            f"JOIN runs r ON r.id = o.run_id {where} ORDER BY o.id DESC LIMIT ?", [*params, limit],
        ).fetchall()
        return [history_row(row) for row in rows]
