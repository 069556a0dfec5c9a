"""``publisher pull NAME``: a published dataset back as a Frictionless data package.

For a dataset the publisher published, its ``datapackage.json`` resource is the
descriptor and every data file is checked against the descriptor's sha256. For
any other CKAN dataset, a descriptor is built from CKAN's metadata (and each
resource's ``schema`` field when it holds a Table Schema). The package is
written to a temporary folder beside the target and renamed into place, then
validated with frictionless.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from publisher.errors import PortalError
from publisher.hashing import file_sha256
from publisher.portal.client import CkanClient, CkanNotFound
from publisher.portal.mapping import DESCRIPTOR_RESOURCE, VALIDATION_RESOURCE


@dataclass
class PullResult:
    dataset: str
    path: Path
    resources: list[str] = field(default_factory=list)
    bytes: int = 0
    valid: bool = False
    errors: list[str] = field(default_factory=list)  # first validation errors, one line each
    from_descriptor: bool = True  # False when built from CKAN metadata

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "path": str(self.path), "resources": self.resources, "bytes": self.bytes,
                "valid": self.valid, "errors": self.errors, "from_descriptor": self.from_descriptor}


def pull_dataset(client: CkanClient, name: str, dest: Path) -> PullResult:
    """Download dataset ``name`` into ``dest/<name>/`` and validate it."""
    try:
        package: dict[str, Any] = client.call("package_show", {"id": name})
    except CkanNotFound:
        raise PortalError(f"no dataset named '{name}' on the portal", dataset=name, action="package_show") from None
    target = dest / name
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".pull-{name}-", dir=dest))
    try:
        result = _download_package(client, package, work)
        _replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.path = target
    _validate(result)
    return result


def _download_package(client: CkanClient, package: dict[str, Any], work: Path) -> PullResult:
    by_name = {str(r.get("name")): r for r in package.get("resources", [])}
    name = str(package["name"])
    result = PullResult(dataset=name, path=work)
    if DESCRIPTOR_RESOURCE in by_name:
        client.download(by_name[DESCRIPTOR_RESOURCE]["url"], work / "datapackage.json")
        descriptor = json.loads((work / "datapackage.json").read_text(encoding="utf-8"))
    else:
        descriptor = descriptor_from_ckan(package)
        by_name = {_resource_name(r): r for r in package.get("resources", [])}
        result.from_descriptor = False
        (work / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    for resource in descriptor.get("resources", []):
        remote = by_name.get(str(resource.get("name")))
        if remote is None:
            raise PortalError(f"resource '{resource.get('name')}' is in datapackage.json but not on the portal",
                              dataset=name, action="pull")
        path = work / _safe_relative(str(resource["path"]), name)
        result.bytes += client.download(str(remote["url"]), path)
        _check_hash(resource, path, name)
        result.resources.append(str(resource["name"]))
    if VALIDATION_RESOURCE in by_name:
        client.download(by_name[VALIDATION_RESOURCE]["url"], work / "validation.json")
    return result


def descriptor_from_ckan(package: dict[str, Any]) -> dict[str, Any]:
    """A Frictionless descriptor from CKAN metadata, for datasets the publisher did not write."""
    resources = []
    for resource in package.get("resources", []):
        if resource.get("name") in (DESCRIPTOR_RESOURCE, VALIDATION_RESOURCE):
            continue
        fmt = str(resource.get("format") or "").lower() or "bin"
        rname = _resource_name(resource)
        entry: dict[str, Any] = {"name": rname, "path": f"data/{rname}.{fmt}", "format": fmt}
        if resource.get("mimetype"):
            entry["mediatype"] = resource["mimetype"]
        schema = _json_or_none(resource.get("schema"))
        if isinstance(schema, dict) and "fields" in schema:
            entry["schema"] = schema
        resources.append(entry)
    descriptor: dict[str, Any] = {
        "name": package["name"], "title": package.get("title") or package["name"],
        "description": package.get("notes") or "",
        "keywords": [t["name"] for t in package.get("tags", [])],
        "resources": resources,
    }
    if package.get("license_id"):
        descriptor["licenses"] = [{"name": package["license_id"], "title": package.get("license_title") or ""}]
    return descriptor


def _resource_name(resource: dict[str, Any]) -> str:
    raw = str(resource.get("name") or resource.get("id"))
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in raw.lower()).strip("-.")
    return cleaned or str(resource.get("id"))


def _json_or_none(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _safe_relative(path: str, dataset: str) -> Path:
    """A descriptor path must stay inside the package folder."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "://" in path:
        raise PortalError(f"refusing resource path {path!r}: it leaves the package folder", dataset=dataset,
                          action="pull")
    return Path(*pure.parts)


def _check_hash(resource: dict[str, Any], path: Path, dataset: str) -> None:
    declared = str(resource.get("hash") or "")
    if declared.startswith("sha256:") and file_sha256(path) != declared.removeprefix("sha256:"):
        raise PortalError(f"resource '{resource['name']}': downloaded file does not match its sha256 "
                          "in datapackage.json (the portal holds a different version)", dataset=dataset,
                          action="pull")


def _replace(work: Path, target: Path) -> None:
    old = target.with_name(f".old-{target.name}-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(work, target)
    shutil.rmtree(old, ignore_errors=True)


def _validate(result: PullResult) -> None:
    import frictionless

    package = frictionless.Package(str(result.path / "datapackage.json"))
    report = package.validate()
    result.valid = bool(report.valid)
    result.errors = [f"{task.name}: {e.message}" for task in report.tasks for e in task.errors][:10]
