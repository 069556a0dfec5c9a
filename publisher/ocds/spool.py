"""A disk spool of releases, so compiling needs no more memory than one ocid's releases.

Releases arrive in file order; compiling needs them grouped by ocid. They are
written to a SQLite file in the work folder (orjson bytes) and read back
ocid by ocid. Duplicate release ids within an ocid are found with one query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE releases (
    seq INTEGER PRIMARY KEY, ocid TEXT, release_id TEXT, date TEXT, path TEXT, document INTEGER, body BLOB
);
CREATE TABLE compiled (seq INTEGER PRIMARY KEY, ocid TEXT, path TEXT, record BLOB);
"""


@dataclass(frozen=True)
class Duplicate:
    ocid: str
    release_id: str
    paths: tuple[str, ...]


class ReleaseSpool:
    """Releases (and records that carry only a compiled release) on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self._db = sqlite3.connect(path)
        self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
        self._pending: list[tuple[Any, ...]] = []
        self.release_count = 0

    def close(self) -> None:
        self._db.close()

    def add_release(self, release: dict[str, Any], path: str, document: int) -> None:
        ocid, release_id, date = release.get("ocid"), release.get("id"), release.get("date")
        self._pending.append((
            ocid if isinstance(ocid, str) else None,
            None if release_id is None else str(release_id),
            date if isinstance(date, str) else None,
            path, document, orjson.dumps(release),
        ))
        self.release_count += 1
        if len(self._pending) >= 5000:
            self._flush()

    def add_compiled_record(self, record: dict[str, Any], path: str) -> None:
        """A record whose releases are only links: its compiled release is used as given."""
        self._db.execute("INSERT INTO compiled (ocid, path, record) VALUES (?, ?, ?)",
                         (record.get("ocid"), path, orjson.dumps(record)))

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany(
                "INSERT INTO releases (ocid, release_id, date, path, document, body) VALUES (?, ?, ?, ?, ?, ?)",
                self._pending,
            )
            self._pending = []

    def finish(self) -> None:
        self._flush()
        self._db.execute("CREATE INDEX releases_by_ocid ON releases (ocid, seq)")
        self._db.commit()

    def duplicates(self, limit: int = 1000) -> list[Duplicate]:
        rows = self._db.execute(
            "SELECT ocid, release_id, group_concat(path, char(31)) FROM releases "
            "WHERE ocid IS NOT NULL AND release_id IS NOT NULL "
            "GROUP BY ocid, release_id HAVING count(*) > 1 ORDER BY min(seq) LIMIT ?", (limit,),
        )
        return [Duplicate(ocid, release_id, tuple(paths.split("\x1f"))) for ocid, release_id, paths in rows]

    def ocid_count(self) -> int:
        row = self._db.execute(
            "SELECT (SELECT count(DISTINCT ocid) FROM releases WHERE ocid IS NOT NULL) + "
            "(SELECT count(DISTINCT ocid) FROM compiled WHERE ocid NOT IN "
            "(SELECT ocid FROM releases WHERE ocid IS NOT NULL))"
        ).fetchone()
        return int(row[0])

    def releases_by_ocid(self) -> Iterator[tuple[str, list[tuple[bytes, int]]]]:
        """(ocid, [(release JSON, document number), ...]) in ocid order; releases without an ocid are left out."""
        cursor = self._db.execute(
            "SELECT ocid, body, document FROM releases WHERE ocid IS NOT NULL ORDER BY ocid, seq"
        )
        current: str | None = None
        group: list[tuple[bytes, int]] = []
        for ocid, body, document in cursor:
            if ocid != current:
                if current is not None:
                    yield current, group
                current, group = ocid, []
            group.append((body, document))
        if current is not None:
            yield current, group

    def compiled_records(self) -> Iterator[bytes]:
        """Records carried as given (linked releases + compiledRelease), unless their releases were spooled."""
        cursor = self._db.execute(
            "SELECT record FROM compiled WHERE ocid IS NULL OR ocid NOT IN "
            "(SELECT ocid FROM releases WHERE ocid IS NOT NULL) ORDER BY ocid, seq"
        )
        for (body,) in cursor:
            yield body

    def releases_in_order(self) -> Iterator[bytes]:
        for (body,) in self._db.execute("SELECT body FROM releases ORDER BY seq"):
            yield body
