"""Describe staged files into a Frictionless data package and write it atomically.

Layout of a written package::

    datapackages/<name>            -> a symlink, swapped in one rename
    datapackages/.store/<name>@<sha12>/
        datapackage.json           the dataset's metadata and each resource's schema
        data/<resource>.csv        normalised data (UTF-8, ',', ISO dates, '.' decimals)
        validation.json            the Frictionless validation report

``package_sha256`` covers the metadata and every resource's content hash, and
nothing volatile (no timestamps, no run durations), so the same input gives
the same hash: that is how "unchanged" is detected.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher import __version__
from publisher.config import Config, DatasetConfig
from publisher.errors import DescribeError, PublisherError, Stage
from publisher.hashing import sha256_and_size
from publisher.licenses import frictionless_license
from publisher.sources import StagedFile
from publisher.tables import DescribedTable
from publisher.tables.describe import describe_file

log = logging.getLogger(__name__)

STORE_DIR = ".store"
MEDIATYPES = {
    "csv": "text/csv", "json": "application/json", "geojson": "application/geo+json",
    "ndjson": "application/x-ndjson", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class BuiltPackage:
    """A package assembled in a work folder, not yet written to datapackages/."""

    descriptor: dict[str, Any]
    tables: list[DescribedTable]
    package_sha256: str


def describe_files(files: Sequence[StagedFile], dataset: DatasetConfig, data_dir: Path) -> list[DescribedTable]:
    """Describe every staged file into ``data_dir``; resource names stay unique."""
    if not files:
        raise DescribeError("the source produced no files", dataset=dataset.name, stage=Stage.DESCRIBE,
                            hint="check the source's path or URL")
    data_dir.mkdir(parents=True, exist_ok=True)
    tables: list[DescribedTable] = []
    seen: set[str] = set()
    for staged in files:
        name = _unique(_resource_name(staged, dataset), seen)
        try:
            table = describe_file(staged, data_dir / f"{name}.csv", dataset.schema_, resource_name=name)
        except PublisherError as e:
            raise e.with_context(dataset=dataset.name, stage=Stage.DESCRIBE) from e.__cause__
        tables.append(table)
    return tables


def _resource_name(staged: StagedFile, dataset: DatasetConfig) -> str:
    return staged.name or dataset.name


def _unique(name: str, seen: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in seen:
        candidate = f"{name}-{counter}"
        counter += 1
    seen.add(candidate)
    return candidate


def build(config: Config, dataset: DatasetConfig, tables: list[DescribedTable], *, origin: str,
          privacy: list[dict[str, Any]] | None = None) -> BuiltPackage:
    """The datapackage.json for ``tables`` (already in the work folder's data/).

    ``privacy`` is the screen's findings; the policies applied (with the
    reasons given for ``allow``) are recorded in the package, never values.
    """
    resources = [_table_resource(t) for t in tables]
    for table in tables:
        resources.extend(_extra_resource(path) for path in table.extra_files)
    descriptor: dict[str, Any] = {
        "profile": "data-package",
        "name": dataset.name,
        "title": dataset.title,
        "description": dataset.description,
        "licenses": [frictionless_license(config.license_of(dataset))],
        "keywords": list(dataset.keywords),
        "sources": [{"title": dataset.source_system or origin, "path": origin}] if origin else [],
        "contributors": _contributors(config, dataset),
        "resources": resources,
    }
    if dataset.url:
        descriptor["homepage"] = dataset.url
    if dataset.version:
        descriptor["version"] = dataset.version
    descriptor = {k: v for k, v in descriptor.items() if v not in ("", [], None)}
    sha = _descriptor_sha256(descriptor)
    descriptor["publisher"] = {
        "package_sha256": sha,
        "config_sha256": config_sha256(config, dataset),
        "version": __version__,
        "update_frequency": config.frequency_of(dataset),
        "source_kind": dataset.source.kind,
        "notes": {t.name: list(t.notes) for t in tables if t.notes},
        "privacy": _privacy_record(privacy or []),
    }
    return BuiltPackage(descriptor=descriptor, tables=tables, package_sha256=sha)


def _privacy_record(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The policies applied per column (kind, policy, reason): no counts of people, no samples."""
    keys = ("resource", "column", "kind", "policy", "reason", "note")
    return [{k: f[k] for k in keys if f.get(k) not in (None, "")} for f in findings
            if f.get("policy") not in (None, "unhandled")]


def _table_resource(table: DescribedTable) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "name": table.name,
        "path": f"data/{table.path.name}",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": table.bytes,
        "hash": f"sha256:{table.sha256}",
        "schema": table.schema,
    }
    if table.title:
        resource["title"] = table.title
    if table.description:
        resource["description"] = table.description
    if table.origin:
        resource["sources"] = [{"title": table.origin}]
    return resource


def _extra_resource(path: Path) -> dict[str, Any]:
    sha256, size = sha256_and_size(path)
    fmt = path.suffix.lstrip(".").lower()
    return {
        "name": path.name.lower(),
        "path": f"data/{path.name}",
        "type": "file",
        "format": fmt,
        "mediatype": MEDIATYPES.get(fmt, "application/octet-stream"),
        "bytes": size,
        "hash": f"sha256:{sha256}",
    }


def _contributors(config: Config, dataset: DatasetConfig) -> list[dict[str, str]]:
    people = []
    for role in ("maintainer", "author"):
        title = getattr(dataset, role) or getattr(config.defaults, role)
        email = getattr(dataset, f"{role}_email") or getattr(config.defaults, f"{role}_email")
        if title or email:
            person = {"title": title or email, "role": role}
            if email:
                person["email"] = email
            people.append(person)
    return people


def config_sha256(config: Config, dataset: DatasetConfig) -> str:
    """A fingerprint of everything in the config that shapes this dataset's package."""
    settings = {
        "dataset": dataset.model_dump(mode="json", by_alias=True),
        "defaults": config.defaults.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()


def read_publisher_metadata(target: Path) -> dict[str, Any]:
    """The ``publisher`` section of the package written at ``target`` ({} when none)."""
    try:
        descriptor = json.loads((target / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    section = descriptor.get("publisher")
    return section if isinstance(section, dict) else {}


def _descriptor_sha256(descriptor: dict[str, Any]) -> str:
    canonical = json.dumps(descriptor, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def materialise(built: BuiltPackage, package_dir: Path) -> None:
    """Write datapackage.json and copy extra files into the work folder."""
    (package_dir / "data").mkdir(parents=True, exist_ok=True)
    for table in built.tables:
        for extra in table.extra_files:
            target = package_dir / "data" / extra.name
            if extra.resolve() != target.resolve():
                shutil.copyfile(extra, target)
    _write_json(package_dir / "datapackage.json", built.descriptor)


def write_report(report: dict[str, Any], package_dir: Path) -> None:
    """Save the validation report beside the package."""
    _write_json(package_dir / "validation.json", report)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def exists(target: Path) -> bool:
    return (target / "datapackage.json").is_file()


def same_as_written(built: BuiltPackage, target: Path) -> bool:
    """True when ``target`` already holds exactly this package (data and every metadata key)."""
    try:
        written = json.loads((target / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(written == json.loads(json.dumps(built.descriptor, default=str)))


def write_atomic(built: BuiltPackage, package_dir: Path, target: Path) -> None:
    """Make ``target`` point at a complete copy of ``package_dir`` in one rename.

    The data goes to ``.store/<name>@<sha12>`` first; then a new symlink is
    renamed over ``target``. Readers see either the old package or the new
    one, never half of either. Old versions are removed afterwards.
    """
    store = target.parent / STORE_DIR
    store.mkdir(parents=True, exist_ok=True)
    version_dir = store / f"{target.name}@{built.package_sha256[:12]}"
    staging = store / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(package_dir, staging)
    shutil.rmtree(version_dir, ignore_errors=True)
    os.replace(staging, version_dir)
    if target.exists() and not target.is_symlink():
        _retire_plain_directory(target, store)
    link = target.parent / f".tmp-link-{target.name}-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(version_dir, target.parent))
    os.replace(link, target)
    _remove_old_versions(store, target.name, keep=version_dir)


def _retire_plain_directory(target: Path, store: Path) -> None:
    """A package directory from before symlinks: move it into the store first."""
    retired = store / f"{target.name}@retired-{os.getpid()}"
    os.replace(target, retired)
    target.symlink_to(os.path.relpath(retired, target.parent))


def _remove_old_versions(store: Path, name: str, *, keep: Path) -> None:
    for old in store.glob(f"{name}@*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
