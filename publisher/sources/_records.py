"""JSON records -> a staging CSV, in two streaming passes.

Records arrive page by page with keys that may differ from record to record.
``RecordStager.add`` flattens each record and appends it to a spool file
(NDJSON) while collecting the union of keys in first-seen order;
``finish`` writes the CSV with that header. Memory holds one page and the
list of column names, never the whole data set.

Nested objects become columns ``parent<sep>child`` (``nested = "flatten"``) or
stay as JSON text (``nested = "json"``); arrays are always JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from publisher.sources._common import CsvStager

Nested = Literal["flatten", "json"]


def at_path(document: Any, path: str) -> Any:
    """The value at a dotted path (``result.records``; ``$`` or empty for the document)."""
    path = path.strip()
    if path in ("", "$"):
        return document
    value = document
    for part in path.removeprefix("$.").split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(part)
    return value


def record_list_keys(document: Any) -> list[str]:
    """Top-level keys of an object that hold a list of objects (candidates for records_path)."""
    if not isinstance(document, Mapping):
        return []
    return [k for k, v in document.items() if isinstance(v, list) and v and all(isinstance(i, Mapping) for i in v)]


def flatten(record: Mapping[str, Any], separator: str, nested: Nested, prefix: str = "") -> dict[str, Any]:
    """One level of columns for a record (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{separator}{key}" if prefix else str(key)
        if isinstance(value, Mapping) and nested == "flatten" and value:
            out.update(flatten(value, separator, nested, name))
        else:
            out[name] = value
    return out


def cell(value: Any) -> Any:
    """A JSON value as staging CSV text (None -> empty cell)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RecordStager:
    """Collects records into ``path`` (CSV); see the module docstring."""

    def __init__(self, path: Path, separator: str = ".", nested: Nested = "flatten") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.separator = separator
        self.nested = nested
        self.columns: dict[str, None] = {}
        self.rows = 0
        self._spool_path = path.with_suffix(".spool.ndjson")
        self._spool = self._spool_path.open("w", encoding="utf-8")

    def add(self, record: Mapping[str, Any]) -> None:
        flat = flatten(record, self.separator, self.nested)
        for key in flat:
            if key not in self.columns:
                self.columns[key] = None
        self._spool.write(json.dumps(flat, ensure_ascii=False, default=str))
        self._spool.write("\n")
        self.rows += 1

    def finish(self) -> Path:
        """Write the CSV (header = every key seen) and remove the spool."""
        self._spool.close()
        header = list(self.columns)
        with CsvStager(self.path, header) as out, self._spool_path.open(encoding="utf-8") as spool:
            for line in spool:
                flat = json.loads(line)
                out.write([cell(flat.get(name)) for name in header])
        self._spool_path.unlink()
        return self.path

    def discard(self) -> None:
        self._spool.close()
        self._spool_path.unlink(missing_ok=True)
