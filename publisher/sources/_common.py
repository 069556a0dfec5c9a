"""Small helpers shared by the sql, api and geo source kinds.

- ``mask_url``: a URL safe for messages (password replaced by ``***``).
- ``message_url``: an HTTP URL without its query string (tokens often live there).
- ``CsvStager``: writes staging CSV (UTF-8, ``,``, ``\\n``) the describe stage reads.
- ``csv_read_options``: the ReadOptions that go with it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from publisher.sources.base import ReadOptions

_USERINFO_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:@/]*):(?P<password>[^@/]*)@")
_RESOURCE_NAME_RE = re.compile(r"[^a-z0-9._-]+")


def mask_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return _USERINFO_RE.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url, count=1)


def message_url(url: str) -> str:
    """An HTTP(S) URL for messages: no credentials, no query string, no fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every non-empty secret replaced by ``***`` (driver messages echo input)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def first_line(text: str, limit: int = 300) -> str:
    """The first non-blank line of a (driver) message, shortened."""
    for line in str(text).splitlines():
        if line.strip():
            line = " ".join(line.split())
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def resource_name(text: str, fallback: str) -> str:
    """A resource name (lowercase ``[a-z0-9._-]``) derived from a table or layer name."""
    name = _RESOURCE_NAME_RE.sub("-", text.lower()).strip("-.")
    return name or fallback


def csv_read_options() -> ReadOptions:
    """How the describe stage reads a file written by ``CsvStager``."""
    return ReadOptions(format="csv", encoding="utf-8", delimiter=",")


class CsvStager:
    """Writes a staging CSV row by row; use as a context manager."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow(header)

    def write(self, row: Sequence[Any]) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def write_many(self, rows: Sequence[Sequence[Any]]) -> None:
        self._writer.writerows(rows)
        self.rows += len(rows)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CsvStager:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
