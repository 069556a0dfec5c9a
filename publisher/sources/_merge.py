"""Merging an incremental extract into the previously published data, by primary key.

The previous data is ``datapackages/<name>/data/<resource>.csv`` as the last
successful run wrote it (normalised CSV). Rows whose key appears in the new
extract are replaced; the others are kept; new rows are appended. Only the set
of new keys is held in memory (an incremental batch is small by nature).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

log = logging.getLogger(__name__)

Key = tuple[str, ...]


def previous_resource_csv(package_dir: Path | None, resource: str) -> Path | None:
    """The CSV of ``resource`` in a written package, or None when there is none."""
    if package_dir is None:
        return None
    try:
        descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    resources = [r for r in descriptor.get("resources", []) if isinstance(r, dict)]
    tabular = [r for r in resources if str(r.get("path", "")).endswith(".csv")]
    named = [r for r in tabular if r.get("name") == resource] or (tabular if len(tabular) == 1 else [])
    if not named:
        return None
    path = package_dir / str(named[0]["path"])
    return path if path.is_file() else None


def _canonical(value: str, numeric: bool) -> str:
    """Key text that compares equal across staging and normalised CSV (``7`` == ``7.0``)."""
    if numeric and value:
        try:
            return str(Decimal(value).normalize())
        except InvalidOperation:
            return value
    return value


def _keys(header: Sequence[str], key_columns: Sequence[str]) -> list[int]:
    return [list(header).index(name) for name in key_columns]


def merge_by_key(previous: Path, new: Path, out: Path, key_columns: Sequence[str],
                 numeric_keys: Sequence[bool]) -> int | None:
    """Write previous rows not replaced by ``new``, then ``new``'s rows, into ``out``.

    Returns the number of rows written, or None when the previous file's header
    differs from the new one (the caller then extracts everything again).
    """
    with new.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        indexes = _keys(header, key_columns)
        new_keys: set[Key] = {
            tuple(_canonical(row[i], numeric_keys[n]) for n, i in enumerate(indexes)) for row in reader
        }
    with previous.open(encoding="utf-8", newline="") as old_handle, \
            out.open("w", encoding="utf-8", newline="") as out_handle:
        old_reader = csv.reader(old_handle)
        old_header = next(old_reader, [])
        if old_header != header:
            log.info("previous data has columns %s, the source %s: extracting everything", old_header, header)
            return None
        writer = csv.writer(out_handle, lineterminator="\n")
        writer.writerow(header)
        written = 0
        for row in old_reader:
            key = tuple(_canonical(row[i], numeric_keys[n]) for n, i in enumerate(indexes))
            if key not in new_keys:
                writer.writerow(row)
                written += 1
        with new.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for row in reader:
                writer.writerow(row)
                written += 1
    return written
