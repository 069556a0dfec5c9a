"""Validation of packages and files, with reports in Frictionless's shape.

``validate_package`` checks every resource of a package (structure, types,
constraints, primary/unique/foreign keys, bytes and hash) and returns the
``frictionless.Report.to_dict()`` shape whichever engine ran. ``summarise``
and ``one_line_summary`` turn a report into what a person reads.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import frictionless

from publisher.errors import DescribeError

LIMIT_ERRORS = 1000
NORMALISED_ONLY = frozenset({"geojson"})  # formats frictionless cannot read as tables
FIRST_ERRORS = 5


FAST_ABOVE_BYTES = 1_000_000  # measured: at 1 MB frictionless takes ~1.1 s, the fast engine ~0.1 s


def choose_engine(engine: str, path: Path) -> Literal["frictionless", "fast"]:
    """The engine for one CSV file: ``auto`` picks fast above ``FAST_ABOVE_BYTES``."""
    if engine == "fast":
        return "fast"
    if engine == "auto" and path.is_file() and path.stat().st_size > FAST_ABOVE_BYTES:
        return "fast"
    return "frictionless"


def validate_package(
    descriptor: dict[str, Any], basedir: Path, *, engine: str = "auto", limit_errors: int = LIMIT_ERRORS
) -> dict[str, Any]:
    """Validate every resource of a package whose files sit under ``basedir``."""
    started = time.perf_counter()
    package = frictionless.Package(descriptor, basepath=str(basedir))
    tasks = [_validate_resource(resource, basedir, engine, limit_errors) for resource in package.resources]
    return _package_report(tasks, time.perf_counter() - started)


def validate_resource(
    descriptor: dict[str, Any], basedir: Path, *, engine: str = "auto", limit_errors: int = LIMIT_ERRORS
) -> dict[str, Any]:
    """Validate one resource descriptor (a raw file as read, for `publisher validate`)."""
    started = time.perf_counter()
    resource = frictionless.Resource(descriptor, basepath=str(basedir))
    task = _validate_resource(resource, basedir, engine, limit_errors)
    return _package_report([task], time.perf_counter() - started)


def _validate_resource(
    resource: frictionless.Resource, basedir: Path, engine: str, limit_errors: int
) -> dict[str, Any]:
    path = basedir / str(resource.path)
    if resource.tabular and resource.format in ("csv", "tsv") and choose_engine(engine, path) == "fast":
        from publisher.validation import fast

        dialect = resource.dialect.to_descriptor() if resource.dialect else None
        fast_report = fast.validate_csv(path, resource.schema.to_descriptor(), dialect=dialect,
                                        encoding=resource.encoding, limit_errors=limit_errors)
        task: dict[str, Any] = fast_report["tasks"][0]
        task["name"] = resource.name
        return task
    try:
        report = resource.validate(limit_errors=limit_errors)
    except frictionless.FrictionlessException as e:
        raise DescribeError(f"cannot validate {resource.name}: {e.error.message}") from e
    tasks: list[dict[str, Any]] = report.to_dict()["tasks"]
    return tasks[0]


def _package_report(tasks: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    errors = sum(len(t.get("errors", [])) for t in tasks)
    warnings = sum(len(t.get("warnings", [])) for t in tasks)
    return {
        "valid": all(t.get("valid", False) for t in tasks),
        "stats": {"tasks": len(tasks), "errors": errors, "warnings": warnings, "seconds": round(seconds, 3)},
        "warnings": [],
        "errors": [],
        "tasks": tasks,
    }


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """Error counts by type and the first offending rows, for people and the run record."""
    by_type: Counter[str] = Counter()
    first: list[dict[str, Any]] = []
    for task in report.get("tasks", []):
        for error in task.get("errors", []):
            by_type[error["type"]] += 1
            if len(first) < FIRST_ERRORS:
                first.append(
                    {
                        "resource": task.get("name"),
                        "type": error["type"],
                        "row": error.get("rowNumber"),
                        "field": error.get("fieldName"),
                        "message": error.get("message", ""),
                    }
                )
    return {
        "valid": bool(report.get("valid")),
        "errors": sum(by_type.values()),
        "by_type": dict(by_type.most_common()),
        "first_errors": first,
    }


def one_line_summary(summary: dict[str, Any]) -> str:
    """``invalid data: 3 errors (2 type-error, 1 missing-cell); first: row 4, field 'monto': ...``"""
    if summary.get("valid"):
        return "valid"
    counts = ", ".join(f"{n} {kind}" for kind, n in summary.get("by_type", {}).items())
    text = f"invalid data: {summary.get('errors', 0)} errors ({counts})"
    first = summary.get("first_errors") or []
    if first:
        error = first[0]
        where = ", ".join(
            part
            for part in (
                f"resource '{error['resource']}'" if error.get("resource") else "",
                f"row {error['row']}" if error.get("row") else "",
                f"field '{error['field']}'" if error.get("field") else "",
            )
            if part
        )
        text += f"; first: {where}: {error['type']}" if where else f"; first: {error['type']}"
    return text


def validate_file(
    staged: Any, *, schema_path: Path | None = None, engine: str = "auto", limit_errors: int = LIMIT_ERRORS
) -> dict[str, Any]:
    """Validate a local file as read (detected encoding and dialect), for `publisher validate`.

    With ``schema_path`` the steward's Table Schema replaces the inferred one.
    Formats frictionless cannot read as a table (GeoJSON) are validated in
    their normalised form, as the pipeline publishes them.
    """
    from publisher.tables.describe import source_descriptor

    descriptor = dict(source_descriptor(staged))
    descriptor["path"] = staged.path.name
    basedir = staged.path.parent
    with tempfile.TemporaryDirectory(prefix="publisher-validate-") as tmp:
        if descriptor.get("format") in NORMALISED_ONLY:
            descriptor, basedir = _normalised_descriptor(staged, Path(tmp))
        if schema_path is not None:
            descriptor["schema"] = _load_schema(schema_path)
        return validate_resource(descriptor, basedir, engine=engine, limit_errors=limit_errors)


def _normalised_descriptor(staged: Any, folder: Path) -> tuple[dict[str, Any], Path]:
    from publisher.config import SchemaOverrides
    from publisher.tables.describe import describe_file

    table = describe_file(staged, folder / f"{staged.name}.csv", SchemaOverrides())
    descriptor = {
        "name": table.name,
        "path": table.path.name,
        "format": "csv",
        "encoding": "utf-8",
        "schema": table.schema,
    }
    return descriptor, folder


def _load_schema(schema_path: Path) -> dict[str, Any]:
    try:
        schema: dict[str, Any] = frictionless.Schema(str(schema_path)).to_descriptor()
    except frictionless.FrictionlessException as e:
        raise DescribeError(f"{schema_path}: not a valid Table Schema: {e.error.message}") from e
    return schema
