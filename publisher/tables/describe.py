"""Describe a staged file: read it as a table, infer its schema, write normalised CSV.

Two streaming passes over the rows (memory does not grow with the file):

1. scan: count rows, drop blank ones, infer each column's type from ALL
   its values (see ``infer``), find empty trailing columns without a label;
2. write: convert every value (see ``normalise``) into a UTF-8, comma
   delimited CSV with ``\\n`` line ends, ISO 8601 dates and ``.`` decimals.

Structural defects that are real errors (ragged rows, blank or duplicate
labels) are kept as they are, so that validating the normalised CSV reports
them. ``source_descriptor`` gives the Frictionless resource of the file AS
READ (encoding, dialect, schema with the hints to read decimal commas and
``dd/mm/yyyy`` dates); its field names and types equal the normalised ones.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.config import SchemaOverrides
from publisher.errors import DescribeError
from publisher.hashing import sha256_and_size
from publisher.sources._formats import slug
from publisher.sources.base import StagedFile
from publisher.tables.columns import ColumnPlan, hint_field_list, plan_columns
from publisher.tables.infer import ColumnStats
from publisher.tables.model import DescribedTable
from publisher.tables.readers import RawTable, open_table

MAX_WHITESPACE_SPELLINGS = 10


@dataclass
class Scan:
    """What pass 1 found."""

    labels: list[str]  # trimmed labels, trailing blank empty columns dropped
    header_row: int
    stats: list[ColumnStats]
    rows: int = 0
    blank_rows: int = 0
    long_rows: int = 0  # rows with non-empty cells beyond the header
    short_rows: int = 0
    whitespace_cells: set[str] = field(default_factory=set)
    dropped_columns: int = 0


@dataclass
class Analysis:
    raw: RawTable
    scan: Scan
    plans: list[ColumnPlan]
    missing: frozenset[str]
    notes: list[str]


def describe_file(
    staged: StagedFile,
    out_csv: Path,
    overrides: SchemaOverrides,
    *,
    resource_name: str | None = None,
) -> DescribedTable:
    """Read ``staged`` as a table and write it to ``out_csv`` as normalised CSV.

    Raises DescribeError (one line naming the file) when the file cannot be
    read as a table or an override names a field that does not exist.
    """
    analysis = analyse(staged, overrides)
    row_count = _write_normalised(analysis, out_csv)
    digest, size = sha256_and_size(out_csv)
    raw = analysis.raw
    return DescribedTable(
        name=slugify(resource_name or staged.path.stem),
        path=out_csv,
        schema=_final_schema(analysis.plans, overrides, staged.schema_hint),
        row_count=row_count,
        bytes=size,
        sha256=digest,
        source_format=raw.format,
        source_encoding=raw.encoding,
        source_dialect=dict(raw.dialect),
        origin=staged.origin,
        notes=tuple(analysis.notes),
        extra_files=(*raw.extra_files, *staged.extra_files),
    )


def source_descriptor(staged: StagedFile) -> dict[str, Any]:
    """The Frictionless resource descriptor of the staged file as read.

    Usable directly: ``frictionless.Resource(descriptor, basepath=<folder>)``
    reads the raw file with the right encoding, delimiter and number format.
    """
    analysis = analyse(staged, SchemaOverrides())
    raw = analysis.raw
    descriptor: dict[str, Any] = {
        "name": slugify(staged.path.stem),
        "type": "table",
        "path": staged.path.name,
        "scheme": "file",
        "format": raw.format,
    }
    if raw.encoding:
        descriptor["encoding"] = raw.encoding
    if raw.frictionless_dialect:
        descriptor["dialect"] = raw.frictionless_dialect
    missing = ["", *sorted(analysis.scan.whitespace_cells)]
    descriptor["schema"] = {"fields": [p.source_field for p in analysis.plans], "missingValues": missing}
    return descriptor


def analyse(staged: StagedFile, overrides: SchemaOverrides) -> Analysis:
    """Open the file, run pass 1 and plan every column."""
    raw = open_table(staged.path, staged.read)
    missing = _missing_values(overrides)
    scan = _scan(raw, missing, staged.path.name)
    inferred = [stats.result() for stats in scan.stats]
    hint = _schema_hint(raw, staged.schema_hint)
    plans = plan_columns(scan.labels, inferred, overrides, hint, staged.path.name)
    _check_keys(overrides, plans, staged.path.name)
    notes = list(raw.notes) + _scan_notes(scan, plans)
    return Analysis(raw, scan, plans, missing, notes)


def _schema_hint(raw: RawTable, staged_hint: dict[str, Any] | None) -> dict[str, Any] | None:
    """The source's own hint, plus the types the format fixes (GeoJSON geometry)."""
    if not raw.column_types:
        return staged_hint
    fields = [{"name": name, "type": kind} for name, kind in raw.column_types.items()]
    return {"fields": fields + hint_field_list(staged_hint)}


def _missing_values(overrides: SchemaOverrides) -> frozenset[str]:
    if overrides.missing_values is None:
        return frozenset({""})
    return frozenset({value.strip() for value in overrides.missing_values} | {""})


# --- pass 1 -----------------------------------------------------------------


def _scan(raw: RawTable, missing: frozenset[str], file_name: str) -> Scan:
    labels = [label.strip() for label in raw.labels]
    width = len(labels)
    markers = missing - {""}
    stats = [ColumnStats(markers=markers) for _ in labels]
    feeders = [column.feed for column in stats]
    scan = Scan(labels=labels, header_row=raw.header_row, stats=stats)
    whitespace = scan.whitespace_cells
    for row in raw.rows():
        stripped = [cell.strip() for cell in row]
        if not any(stripped):
            scan.blank_rows += 1
            continue
        scan.rows += 1
        if len(stripped) != width:
            _count_ragged(scan, stripped, width)
        for feed, cell, value in zip(feeders, row, stripped, strict=False):
            if value:
                feed(value)
            elif cell and len(whitespace) < MAX_WHITESPACE_SPELLINGS:
                whitespace.add(cell)
    _drop_trailing_empty_columns(scan, file_name)
    return scan


def _count_ragged(scan: Scan, stripped: list[str], width: int) -> None:
    if len(stripped) > width:
        scan.long_rows += any(stripped[width:])
    else:
        scan.short_rows += 1


def _drop_trailing_empty_columns(scan: Scan, file_name: str) -> None:
    """Trailing delimiters make columns with no label and no value: drop them."""
    keep = len(scan.labels)
    while keep > 0 and not scan.labels[keep - 1] and not (scan.stats[keep - 1].values or scan.stats[keep - 1].marked):
        keep -= 1
    scan.dropped_columns = len(scan.labels) - keep
    del scan.labels[keep:]
    del scan.stats[keep:]
    if not scan.labels:
        raise DescribeError(
            f"{file_name}: the header row {scan.header_row} is blank",
            hint="set read.header_row to the row holding the labels",
        )


def _scan_notes(scan: Scan, plans: list[ColumnPlan]) -> list[str]:
    notes = []
    if scan.blank_rows:
        notes.append(f"dropped {scan.blank_rows} blank rows")
    if scan.dropped_columns:
        notes.append(f"dropped {scan.dropped_columns} empty trailing columns with no label")
    if scan.rows == 0:
        notes.append("the table has a header but no data rows")
    if scan.long_rows:
        notes.append(f"{scan.long_rows} rows have more cells than the header (kept; validation reports them)")
    if scan.short_rows:
        notes.append(f"{scan.short_rows} rows have fewer cells than the header (kept; validation reports them)")
    for plan, stats in zip(plans, scan.stats, strict=True):
        if stats.lossy:
            notes.append(
                f"warning: {stats.lossy} values of {plan.name!r} contain '??' where letters were: "
                "the source replaced accented characters when exporting; this cannot be repaired "
                "(ask the source for a UTF-8 export)"
            )
    return notes


def _check_keys(overrides: SchemaOverrides, plans: list[ColumnPlan], file_name: str) -> None:
    for key in (overrides.primary_key, *overrides.unique_keys):
        for name in key:
            _final_name(name, plans, file_name)


def _final_name(name: str, plans: list[ColumnPlan], file_name: str) -> str:
    for plan in plans:
        if name in (plan.name, plan.label, plan.source_field["name"]):
            return plan.name
    raise DescribeError(
        f"{file_name}: key field {name!r} does not exist; fields: {', '.join(p.name for p in plans)}",
        hint="fix primary_key / unique_keys under [datasets.schema]",
    )


# --- pass 2 -----------------------------------------------------------------


def _write_normalised(analysis: Analysis, out_csv: Path) -> int:
    plans = analysis.plans
    markers = analysis.missing - {""}
    converters = [plan.convert for plan in plans]
    width = len(plans)
    count = 0
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with out_csv.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([plan.header for plan in plans])
        for row in analysis.raw.rows():
            stripped = [cell.strip() for cell in row]
            if not any(stripped):
                continue
            if len(stripped) > width and not any(stripped[width:]):
                del stripped[width:]
            if markers:
                stripped = ["" if value in markers else value for value in stripped]
            # A converter returns None when the value does not convert: keep the raw value.
            out = [
                (convert(value) or value) if convert is not None and value else value
                for convert, value in zip(converters, stripped, strict=False)
            ]
            out.extend(stripped[width:])
            writer.writerow(out)
            count += 1
    return count


def _final_schema(plans: list[ColumnPlan], overrides: SchemaOverrides,
                  schema_hint: dict[str, Any] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"fields": [dict(plan.field) for plan in plans], "missingValues": [""]}
    # The steward's primary key wins; else the one the source knows (a database table's).
    primary_key = overrides.primary_key or tuple((schema_hint or {}).get("primaryKey") or ())
    if primary_key:
        schema["primaryKey"] = [_final_name(name, plans, "") for name in primary_key]
    for foreign_key in (schema_hint or {}).get("foreignKeys") or ():
        schema.setdefault("foreignKeys", []).append(foreign_key)
    if overrides.unique_keys:
        # Table Schema v2 ``uniqueKeys``: frictionless 5 keeps it but does not check it, so a
        # one-field key also becomes that field's ``unique`` constraint, which it does check.
        keys = [[_final_name(n, plans, "") for n in key] for key in overrides.unique_keys]
        schema["uniqueKeys"] = keys
        for key in keys:
            if len(key) == 1:
                field = next(f for f in schema["fields"] if f["name"] == key[0])
                field["constraints"] = {**field.get("constraints", {}), "unique": True}
    return schema


# --- names ------------------------------------------------------------------


def slugify(text: str) -> str:
    """``Cálculo de Recursos`` -> ``calculo-de-recursos`` (lowercase [a-z0-9._-])."""
    return slug(text) or "table"
