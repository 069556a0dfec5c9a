"""Reading JSON, NDJSON and GeoJSON files as tables.

- JSON: an array of objects, or the array of objects under ``read.records_path``
  (dotted, e.g. ``data`` or ``result.records``). Without a path, an envelope
  such as ``{"success": true, "data": [...]}`` is recognised when exactly one
  top-level key holds a list of objects.
- NDJSON: one object per line; streamed (two passes: keys, then rows).
- GeoJSON (a FeatureCollection, also when found in a ``.json`` file): the
  feature ``properties`` become columns. When every geometry is a Point the
  coordinates become ``lon`` and ``lat`` columns; otherwise the geometry is
  kept as a ``geometry`` column holding GeoJSON text. The original file is
  listed in ``extra_files`` to be published beside the CSV.

Columns are the union of the object keys, in order of first appearance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from publisher.errors import DescribeError
from publisher.sources.base import ReadOptions
from publisher.tables.encoding import detect_encoding
from publisher.tables.readers import RawTable, cell_text

NOT_RECORDS = "expected an array of objects or {...: [objects]} at records_path"


def open_json(path: Path, read: ReadOptions, fmt: str) -> RawTable:
    encoding = read.encoding or detect_encoding(path).encoding
    if fmt == "ndjson":
        return _open_ndjson(path, encoding)
    document = _load(path, encoding)
    if fmt == "geojson" or (isinstance(document, dict) and document.get("type") == "FeatureCollection"):
        return _geojson_table(path, document, encoding)
    records, where = _find_records(document, read.records_path, path)
    labels = _keys(records)
    notes = [f"records read from {where!r}"] if where else []
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"JSON was not UTF-8; decoded as {encoding}")
    dialect: dict[str, Any] = {"recordsPath": where} if where else {}
    frictionless_dialect: dict[str, Any] = {"json": {"property": where}} if where else {}

    def rows() -> Iterator[list[str]]:
        for record in records:
            yield [cell_text(record.get(label)) for label in labels]

    return RawTable(
        format="json",
        labels=labels,
        rows=rows,
        encoding=encoding,
        dialect=dialect,
        frictionless_dialect=frictionless_dialect,
        notes=notes,
    )


def _load(path: Path, encoding: str) -> Any:
    try:
        with path.open(encoding=encoding) as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise DescribeError(
            f"cannot read {path.name} as JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except UnicodeDecodeError as error:
        raise DescribeError(f"cannot decode {path.name} as {encoding}: {error.reason}") from None


def _find_records(document: Any, records_path: str | None, path: Path) -> tuple[list[dict[str, Any]], str]:
    """The list of record objects, and the dotted path where it was found ('' at the top)."""
    if records_path:
        node = document
        for part in records_path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise DescribeError(f"{path.name}: no key {records_path!r} in the JSON document; {NOT_RECORDS}")
            node = node[part]
        return _as_records(node, path, records_path), records_path
    if isinstance(document, dict):
        candidates = [key for key, value in document.items() if _is_record_list(value)]
        if len(candidates) == 1:
            return _as_records(document[candidates[0]], path, candidates[0]), candidates[0]
        keys = ", ".join(candidates) if candidates else "none"
        raise DescribeError(
            f"{path.name}: {NOT_RECORDS} (top-level keys holding records: {keys})",
            hint="set read.records_path",
        )
    return _as_records(document, path, ""), ""


def _is_record_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _as_records(node: Any, path: Path, where: str) -> list[dict[str, Any]]:
    if not isinstance(node, list) or not all(isinstance(item, dict) for item in node):
        found = type(node).__name__ if not isinstance(node, list) else "an array of non-objects"
        raise DescribeError(f"{path.name}: {NOT_RECORDS} (found {found} at {where or 'the top level'})")
    if not node:
        raise DescribeError(f"{path.name}: the array of records at {where or 'the top level'} is empty")
    return node


def _keys(records: list[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for record in records:
        for key in record:
            keys.setdefault(str(key), None)
    return list(keys)


# --- NDJSON -----------------------------------------------------------------


def _ndjson_objects(path: Path, encoding: str) -> Iterator[dict[str, Any]]:
    with path.open(encoding=encoding) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise DescribeError(f"cannot read {path.name} as NDJSON: line {number}: {error.msg}") from None
            if not isinstance(value, dict):
                raise DescribeError(
                    f"{path.name}: line {number} is not a JSON object (NDJSON needs one object per line)"
                )
            yield value


def _open_ndjson(path: Path, encoding: str) -> RawTable:
    keys: dict[str, None] = {}
    for record in _ndjson_objects(path, encoding):
        for key in record:
            keys.setdefault(str(key), None)
    if not keys:
        raise DescribeError(f"{path.name}: no JSON objects found")
    labels = list(keys)

    def rows() -> Iterator[list[str]]:
        for record in _ndjson_objects(path, encoding):
            yield [cell_text(record.get(label)) for label in labels]

    return RawTable(format="ndjson", labels=labels, rows=rows, encoding=encoding)


# --- GeoJSON ----------------------------------------------------------------


def _geojson_table(path: Path, document: Any, encoding: str) -> RawTable:
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        raise DescribeError(f"{path.name}: expected a GeoJSON FeatureCollection with a list of features")
    if not features:
        raise DescribeError(f"{path.name}: the FeatureCollection has no features")
    properties = [f.get("properties") or {} for f in features]
    geometries = [f.get("geometry") for f in features]
    labels = _keys(properties)
    points = all(g is None or (isinstance(g, dict) and g.get("type") == "Point") for g in geometries)
    geo_labels = [_free_name("lon", labels), _free_name("lat", labels)] if points else [_free_name("geometry", labels)]

    def rows() -> Iterator[list[str]]:
        for props, geometry in zip(properties, geometries, strict=True):
            yield [cell_text(props.get(label)) for label in labels] + _geometry_cells(geometry, points)

    how = "Point coordinates as lon/lat columns" if points else "geometry kept as GeoJSON text"
    return RawTable(
        format="geojson",
        labels=labels + geo_labels,
        rows=rows,
        encoding=encoding,
        notes=[f"GeoJSON: {len(features)} features; properties as columns; {how}"],
        extra_files=(path,),
        column_types={} if points else {geo_labels[0]: "geojson"},
    )


def _free_name(name: str, taken: list[str]) -> str:
    candidate = name
    while candidate in taken:
        candidate = f"_{candidate}"
    return candidate


def _geometry_cells(geometry: Any, points: bool) -> list[str]:
    if not points:
        return [cell_text(geometry)]
    if geometry is None:
        return ["", ""]
    coordinates = geometry.get("coordinates") or []
    return [cell_text(coordinates[0]) if coordinates else "", cell_text(coordinates[1]) if len(coordinates) > 1 else ""]
