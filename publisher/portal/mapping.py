"""A written data package + the steward's config -> what CKAN should show.

What the publisher manages (and so overwrites) on a CKAN dataset:

- ``title``, ``license_id``, ``owner_org`` always; ``notes``, ``url``, ``version``,
  ``maintainer(_email)``, ``author(_email)`` only when the config gives them a
  value (an empty field in the config leaves the CKAN field to people);
- the tags from ``keywords`` and the groups from ``groups`` (other tags and
  groups, added by hand, are kept: the extras ``publisher_tags`` and
  ``publisher_groups`` remember which ones are the publisher's);
- the extras below (other extras are kept);
- the resources it uploads, marked ``publisher_managed = "true"`` and matched by
  name (resources added by hand are kept): their file, format, mimetype,
  encoding, size, ``schema``, ``content_sha256``, and their description when the
  package has one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher import __version__
from publisher.config import Config, DatasetConfig
from publisher.errors import PortalError
from publisher.hashing import file_sha256
from publisher.licenses import ckan_license_id

MANAGED_MARK = "publisher_managed"  # extra on datasets, field on resources: "true"
EXTRA_SOURCE_SYSTEM = "source_system"
EXTRA_FREQUENCY = "update_frequency"
EXTRA_TAGS = "publisher_tags"
EXTRA_GROUPS = "publisher_groups"
EXTRA_WITHDRAWN = "publisher_withdrawn"
EXTRA_ON_REMOVED = "publisher_on_removed"  # the policy to apply when the dataset leaves the config
EXTRA_LAST_HARVESTED = "last_harvested"
EXTRA_VERSION = "publisher_version"
# written along with any other change, never a reason to write on their own
VOLATILE_EXTRAS = (EXTRA_LAST_HARVESTED, EXTRA_VERSION)
DESCRIPTOR_RESOURCE = "datapackage.json"
VALIDATION_RESOURCE = "validation.json"
# keys of validation.json that change on every run (durations, temporary paths)
VOLATILE_REPORT_KEYS = frozenset({"seconds", "time", "place"})
OPTIONAL_FIELDS = ("notes", "url", "version", "maintainer", "maintainer_email", "author", "author_email")


@dataclass(frozen=True)
class DesiredResource:
    """One file as CKAN should hold it."""

    name: str
    path: Path
    content_sha256: str
    fields: dict[str, Any]  # every managed CKAN resource field, content_sha256 included
    table_schema: dict[str, Any] | None = None  # for the DataStore (tabular resources only)


@dataclass(frozen=True)
class DesiredDataset:
    """The dataset as CKAN should show it, restricted to what the publisher manages."""

    name: str
    fields: dict[str, Any]  # title, license_id, owner_org (the organization's name), optional ones
    tags: tuple[str, ...]
    groups: tuple[str, ...]
    extras: dict[str, str]  # managed, stable
    resources: list[DesiredResource] = field(default_factory=list)
    datastore: bool = False


def read_descriptor(package_dir: Path, dataset: str) -> dict[str, Any]:
    try:
        descriptor: dict[str, Any] = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PortalError(f"cannot read {package_dir / 'datapackage.json'}: {e}", dataset=dataset) from e
    return descriptor


def desired_dataset(config: Config, dataset: DatasetConfig, package_dir: Path) -> DesiredDataset:
    """What CKAN should show for ``dataset``, from its written package."""
    assert config.portal is not None
    descriptor = read_descriptor(package_dir, dataset.name)
    fields: dict[str, Any] = {
        "title": descriptor.get("title") or dataset.title,
        "license_id": ckan_license_id(config.license_of(dataset)) or config.license_of(dataset),
        "owner_org": config.portal.organization,
    }
    optional = {
        "notes": descriptor.get("description") or dataset.description,
        "url": dataset.url or descriptor.get("homepage"),
        "version": dataset.version or descriptor.get("version"),
        "maintainer": dataset.maintainer or config.defaults.maintainer,
        "maintainer_email": dataset.maintainer_email or config.defaults.maintainer_email,
        "author": dataset.author or config.defaults.author,
        "author_email": dataset.author_email or config.defaults.author_email,
    }
    fields.update({k: v for k, v in optional.items() if v})
    extras = {MANAGED_MARK: "true", EXTRA_FREQUENCY: config.frequency_of(dataset),
              EXTRA_ON_REMOVED: config.on_removed_of(dataset)}
    if dataset.source_system:
        extras[EXTRA_SOURCE_SYSTEM] = dataset.source_system
    extras.update(_ocds_extras(package_dir))
    tags = tuple(dict.fromkeys(str(k) for k in descriptor.get("keywords") or dataset.keywords))
    return DesiredDataset(
        name=dataset.name, fields=fields, tags=tags, groups=tuple(dict.fromkeys(dataset.groups)),
        extras=extras, resources=desired_resources(descriptor, package_dir, dataset.name),
        datastore=dataset.datastore,
    )


def _ocds_extras(package_dir: Path) -> dict[str, str]:
    """Open contracting metadata (publisher, ocid prefix, version, extensions, licence, policy)."""
    report = package_dir / "data" / "ocds-validation.json"
    if not report.is_file():
        return {}
    from publisher.ocds.metadata import package_metadata_from_file

    return package_metadata_from_file(report)


def volatile_extras(harvested_at: str) -> dict[str, str]:
    return {EXTRA_LAST_HARVESTED: harvested_at, EXTRA_VERSION: __version__}


def desired_resources(descriptor: dict[str, Any], package_dir: Path, dataset: str) -> list[DesiredResource]:
    """Each data resource, then datapackage.json, then validation.json (upload order)."""
    resources = [_data_resource(r, package_dir, dataset) for r in descriptor.get("resources", [])]
    resources.append(_json_resource(package_dir / "datapackage.json", DESCRIPTOR_RESOURCE,
                                    "The Frictionless data package descriptor: metadata and Table Schemas.",
                                    file_sha256(package_dir / "datapackage.json")))
    report = package_dir / "validation.json"
    if report.is_file():
        resources.append(_json_resource(report, VALIDATION_RESOURCE,
                                        "The Frictionless validation report of this version of the data.",
                                        report_sha256(report)))
    return resources


def _data_resource(resource: dict[str, Any], package_dir: Path, dataset: str) -> DesiredResource:
    path = package_dir / str(resource.get("path", ""))
    if not path.is_file():
        raise PortalError(f"resource '{resource.get('name')}': file {path} is missing", dataset=dataset)
    declared = str(resource.get("hash", ""))
    sha256 = declared.removeprefix("sha256:") if declared.startswith("sha256:") else file_sha256(path)
    fmt = str(resource.get("format") or path.suffix.lstrip(".")).upper()
    fields: dict[str, Any] = {
        "name": resource["name"],
        "format": fmt,
        "mimetype": resource.get("mediatype") or "application/octet-stream",
        "size": int(resource.get("bytes") or path.stat().st_size),
        "content_sha256": sha256,
        MANAGED_MARK: "true",
    }
    description = resource.get("description") or resource.get("title")
    if description:  # else people may describe the file in CKAN
        fields["description"] = description
    if resource.get("encoding"):
        fields["encoding"] = resource["encoding"]
    schema = resource.get("schema")
    if isinstance(schema, dict):
        fields["schema"] = canonical_json(schema)
    return DesiredResource(name=str(resource["name"]), path=path, content_sha256=sha256, fields=fields,
                           table_schema=schema if isinstance(schema, dict) else None)


def _json_resource(path: Path, name: str, description: str, sha256: str) -> DesiredResource:
    fields: dict[str, Any] = {
        "name": name, "description": description, "format": "JSON", "mimetype": "application/json",
        "encoding": "utf-8", "size": path.stat().st_size, "content_sha256": sha256, MANAGED_MARK: "true",
    }
    return DesiredResource(name=name, path=path, content_sha256=sha256, fields=fields)


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def report_sha256(path: Path) -> str:
    """The hash of a validation report without its volatile keys (durations, paths)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return file_sha256(path)
    return hashlib.sha256(canonical_json(_without_volatile(report)).encode("utf-8")).hexdigest()


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_REPORT_KEYS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value
