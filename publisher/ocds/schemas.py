"""The OCDS schemas: where they come from, extensions, and compiled validators.

Where the core schemas are read from, first match wins:

1. ``schema_dir`` (a folder with release-schema.json, release-package-schema.json
   and record-package-schema.json, as published by the standard);
2. the environment variable ``PUBLISHER_OCDS_SCHEMA_DIR``;
3. the cache folder (``.publisher/ocds-schemas/<tag>/``), filled by
4. a download from https://standard.open-contracting.org/schema/<tag>/.

None of ocdskit, ocdsmerge, flattentool or libcoveocds bundles the schemas.

Extensions named by a package (URLs of ``extension.json``) are fetched with
a short timeout and cached; one that cannot be fetched gives an
``extension_unavailable`` warning and validation goes on with the core
schema. Nothing is fetched when ``fetch_extensions`` is false.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from publisher.errors import OcdsError
from publisher.ocds.findings import Finding

log = logging.getLogger(__name__)

SCHEMA_DIR_ENV = "PUBLISHER_OCDS_SCHEMA_DIR"
LATEST_TAG = {"1.1": "1__1__5"}
SCHEMA_BASE_URL = "https://standard.open-contracting.org/schema/{tag}/"
CORE_FILES = ("release-schema.json", "release-package-schema.json", "record-package-schema.json")
MAX_SCHEMA_BYTES = 20_000_000

_DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$")


def is_date_time(value: object) -> bool:
    """RFC 3339 date-time with a time zone, and a real calendar date (no 2024-02-30)."""
    if not isinstance(value, str):
        return True  # "format" only constrains strings; "type" catches the rest
    if not _DATE_TIME_RE.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI_RE.match(value))


@dataclass(frozen=True)
class SchemaSettings:
    """How to obtain schemas; built from source options, the CLI or the environment."""

    schema_dir: Path | None = None
    cache_dir: Path | None = None  # where downloads are kept (None: do not download)
    fetch_extensions: bool = True
    timeout: float = 5.0  # per request, for schemas and extensions
    session_factory: Callable[[], requests.Session] = requests.Session
    base_url: str = SCHEMA_BASE_URL  # "{tag}" is replaced by e.g. 1__1__5

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], *, schema_dir: Path | None = None,
                         cache_dir: Path | None = None, **kwargs: Any) -> SchemaSettings:
        if schema_dir is None and environ.get(SCHEMA_DIR_ENV):
            schema_dir = Path(environ[SCHEMA_DIR_ENV])
        return cls(schema_dir=schema_dir, cache_dir=cache_dir, **kwargs)


@dataclass(frozen=True)
class CoreSchemas:
    """The core schemas of one OCDS version."""

    tag: str  # 1__1__5
    release: dict[str, Any]
    release_package: dict[str, Any]
    record_package: dict[str, Any]
    origin: str  # folder or URL, for the report

    @property
    def version(self) -> str:
        return self.tag.replace("__", ".")


def load_core_schemas(settings: SchemaSettings, minor_version: str = "1.1") -> CoreSchemas:
    """The core schemas for ``minor_version``; raises OcdsError naming every place tried."""
    tag = LATEST_TAG.get(minor_version, LATEST_TAG["1.1"])
    tried: list[str] = []
    for folder in (settings.schema_dir, settings.cache_dir / tag if settings.cache_dir else None):
        if folder is None:
            continue
        if all((folder / name).is_file() for name in CORE_FILES):
            return _core_from_folder(folder, tag)
        tried.append(str(folder))
    if settings.cache_dir is not None:
        target = settings.cache_dir / tag
        _download_core(settings, tag, target)
        return _core_from_folder(target, tag)
    raise OcdsError(
        f"no OCDS schemas found (looked in: {', '.join(tried) or 'nowhere'})",
        hint=f"set schema_dir or {SCHEMA_DIR_ENV} to a folder holding {', '.join(CORE_FILES)}",
    )


def _core_from_folder(folder: Path, tag: str) -> CoreSchemas:
    loaded = [_read_json(folder / name) for name in CORE_FILES]
    found_tag = _tag_of(loaded[0]) or tag
    return CoreSchemas(tag=found_tag, release=loaded[0], release_package=loaded[1], record_package=loaded[2],
                       origin=str(folder))


def _tag_of(schema: Mapping[str, Any]) -> str | None:
    match = re.search(r"/schema/(\d+__\d+__\d+)/", str(schema.get("id", "")))
    return match.group(1) if match else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise OcdsError(f"cannot read the schema {path}: {e}") from e
    if not isinstance(data, dict):
        raise OcdsError(f"{path} is not a JSON schema object")
    return data


def _download_core(settings: SchemaSettings, tag: str, target: Path) -> None:
    base = settings.base_url.format(tag=tag)
    target.mkdir(parents=True, exist_ok=True)
    session = settings.session_factory()
    try:
        for name in CORE_FILES:
            body = _fetch(session, base + name, settings.timeout)
            json.loads(body)  # refuse to cache something that is not JSON
            (target / f".{name}.part").write_bytes(body)
            (target / f".{name}.part").replace(target / name)
    except (requests.RequestException, ValueError) as e:
        raise OcdsError(
            f"cannot download the OCDS {tag.replace('__', '.')} schemas from {base}: {type(e).__name__}",
            hint=f"no network? set schema_dir or {SCHEMA_DIR_ENV} to a local copy of the schemas",
        ) from e
    finally:
        session.close()
    log.info("downloaded the OCDS schemas into %s", target)


def _fetch(session: requests.Session, url: str, timeout: float) -> bytes:
    response = session.get(url, timeout=(timeout, timeout * 2), stream=True)
    response.raise_for_status()
    body = b""
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_SCHEMA_BYTES:
            raise ValueError(f"{url} is larger than {MAX_SCHEMA_BYTES} bytes")
    return body


# --- extensions ---------------------------------------------------------------

@dataclass
class ExtensionResult:
    release_schema: dict[str, Any]
    applied: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def apply_extensions(core: CoreSchemas, urls: Sequence[str], settings: SchemaSettings) -> ExtensionResult:
    """The release schema patched with each extension that could be fetched."""
    result = ExtensionResult(release_schema=copy.deepcopy(core.release))
    for url in urls:
        if not settings.fetch_extensions:
            result.findings.append(_unavailable(url, "fetching extensions is turned off"))
            continue
        try:
            patch = _extension_patch(url, settings)
        except (requests.RequestException, ValueError, OSError) as e:
            result.findings.append(_unavailable(url, _reason(e)))
            continue
        if patch is not None:
            result.release_schema = merge_patch(result.release_schema, patch)
        result.applied.append(url)
    return result


def _unavailable(url: str, reason: str) -> Finding:
    return Finding("extension_unavailable", "warning", "$.extensions",
                   f"extension {url} could not be fetched ({reason}): validated against the core schema only")


def _reason(error: BaseException) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        return "connection failed"
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    return type(error).__name__


def _extension_patch(url: str, settings: SchemaSettings) -> dict[str, Any] | None:
    """The extension's release-schema.json patch (None when it has none)."""
    cached = _cache_path(settings, url)
    if cached is not None and cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        return data.get("patch") if isinstance(data, dict) else None
    session = settings.session_factory()
    try:
        metadata = json.loads(_fetch(session, url, settings.timeout))
        schemas = metadata.get("schemas", ["release-schema.json"]) if isinstance(metadata, dict) else []
        patch = None
        if "release-schema.json" in schemas:
            base = url.rsplit("/", 1)[0] + "/"
            patch = json.loads(_fetch(session, base + "release-schema.json", settings.timeout))
            if not isinstance(patch, dict):
                raise ValueError("release-schema.json patch is not an object")
    finally:
        session.close()
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps({"url": url, "patch": patch}), encoding="utf-8")
    return patch


def _cache_path(settings: SchemaSettings, url: str) -> Path | None:
    if settings.cache_dir is None:
        return None
    return settings.cache_dir / "extensions" / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch (how OCDS extensions patch the release schema)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
