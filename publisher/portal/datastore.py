"""Load a tabular resource into CKAN's DataStore (``datastore = true``).

Field types come from the Table Schema, the primary key from the schema's
``primaryKey``. A load replaces the table: ``datastore_delete`` (when a table
exists), ``datastore_create`` with the fields and the first chunk of records,
then ``datastore_upsert`` (insert) for the rest, streaming the CSV.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from publisher.portal.client import CkanClient, CkanNotFound

CHUNK_ROWS = 5000
DATASTORE_TYPES = {
    "string": "text", "integer": "int8", "number": "numeric", "boolean": "bool",
    "date": "date", "datetime": "timestamp", "time": "time", "year": "int4",
    "yearmonth": "text", "duration": "interval", "geopoint": "text",
    "geojson": "json", "object": "json", "array": "json", "any": "text",
}
JSON_TYPES = frozenset({"geojson", "object", "array"})


def datastore_fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Table Schema fields -> DataStore ``fields`` (id, type, info.label/notes)."""
    fields = []
    for item in schema.get("fields", []):
        entry: dict[str, Any] = {"id": item["name"], "type": DATASTORE_TYPES.get(item.get("type", "any"), "text")}
        info = {k: v for k, v in (("label", item.get("title")), ("notes", item.get("description"))) if v}
        if info:
            entry["info"] = info
        fields.append(entry)
    return fields


def primary_key(schema: Mapping[str, Any]) -> list[str]:
    key = schema.get("primaryKey") or []
    return [key] if isinstance(key, str) else [str(k) for k in key]


def count_rows(path: Path) -> int:
    """Data rows in a normalised CSV (the header excluded)."""
    with path.open(encoding="utf-8", newline="") as stream:
        return max(sum(1 for _ in csv.reader(stream)) - 1, 0)


def iter_records(path: Path, schema: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """CSV rows as DataStore records: missing values -> None, JSON fields parsed."""
    missing = set(schema.get("missingValues", [""]))
    json_fields = {f["name"] for f in schema.get("fields", []) if f.get("type") in JSON_TYPES}
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            yield {k: _value(v, k in json_fields, missing) for k, v in row.items()}


def _value(text: str | None, is_json: bool, missing: set[str]) -> Any:
    if text is None or text in missing:
        return None
    if is_json:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def load(client: CkanClient, resource_id: str, path: Path, schema: Mapping[str, Any], *,
         replace: bool) -> int:
    """Replace the DataStore table of ``resource_id`` with the rows of ``path``; returns the row count."""
    if replace:
        with contextlib.suppress(CkanNotFound):
            client.call("datastore_delete", {"resource_id": resource_id, "force": True})
    records = iter_records(path, schema)
    first = _take(records, CHUNK_ROWS)
    body: dict[str, Any] = {"resource_id": resource_id, "force": True, "fields": datastore_fields(schema),
                            "records": first}
    if primary_key(schema):
        body["primary_key"] = primary_key(schema)
    client.call("datastore_create", body)
    loaded = len(first)
    while chunk := _take(records, CHUNK_ROWS):
        client.call("datastore_upsert", {"resource_id": resource_id, "force": True, "method": "insert",
                                         "records": chunk})
        loaded += len(chunk)
    return loaded


def _take(records: Iterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    chunk = []
    for record in records:
        chunk.append(record)
        if len(chunk) == n:
            break
    return chunk
