"""Read, validate, compile and flatten OCDS input files in one streaming pass.

    result = process([InputFile(path, "compras.json")], out_dir, settings)

1. each file is made UTF-8 (``decoding``) and read document by document
   (``reading``); 1.0 data is upgraded to 1.1 with ocdskit;
2. every package shell, record and release is validated (``validators``)
   and checked (``checks``); releases go to a disk spool (``spool``);
3. releases are compiled per ocid with ocdsmerge, using the local release
   schema (patched with the extensions that could be fetched), into a record
   package; records that carry only linked releases keep their compiled
   release;
4. compiled releases are flattened into related CSV tables (``flatten``).

The outputs are ``ocds-release-package.json`` (all releases, 1.1),
``ocds-record-package.json`` (records with compiled releases), the CSV
tables and ``ocds-validation.json`` (the report).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.ocds.checks import DateChecks, OcidPrefixes, parse_date
from publisher.ocds.decoding import to_utf8
from publisher.ocds.fields import FieldTree
from publisher.ocds.findings import FindingCollector, json_path
from publisher.ocds.flatten import FlatTable
from publisher.ocds.reading import Document, JsonInvalid, read_documents
from publisher.ocds.report import InputSummary, OcdsReport
from publisher.ocds.schemas import CoreSchemas, SchemaSettings, apply_extensions, load_core_schemas
from publisher.ocds.spool import ReleaseSpool
from publisher.ocds.validators import (
    SchemaValidator,
    linked_release_schema,
    record_package_shell,
    record_shell,
    release_package_shell,
)

log = logging.getLogger(__name__)

RELEASE_PACKAGE_FILE = "ocds-release-package.json"
RECORD_PACKAGE_FILE = "ocds-record-package.json"
REPORT_FILE = "ocds-validation.json"
_METADATA_KEYS = ("uri", "publishedDate", "publisher", "license", "publicationPolicy", "version")


@dataclass(frozen=True)
class InputFile:
    path: Path
    label: str  # how findings name the file (a path relative to the config, or a masked URL)


@dataclass(frozen=True)
class ProcessOptions:
    compile: bool = True  # compile and flatten (False: read and validate only, as `ocds check` does)
    encoding: str | None = None  # force the input encoding instead of detecting it
    examples_per_code: int = 50
    workers: int | None = None  # processes for compiling (None: one per CPU, up to 4, for large inputs)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


@dataclass
class OcdsResult:
    report: OcdsReport
    out_dir: Path
    release_package: Path | None = None
    record_package: Path | None = None
    report_path: Path | None = None
    tables: list[FlatTable] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # read_validate, compile, flatten, write


@dataclass
class _Release:
    """What validating a release needs: the (extended) schema's validator and field tree."""

    schema: dict[str, Any]
    validator: SchemaValidator
    fields: FieldTree
    applied_extensions: tuple[str, ...]


@dataclass
class _DocumentContext:
    document: Document
    number: int  # across all inputs
    prefix: str
    upgrade: bool
    published: dt.datetime | None
    release: _Release


class _Run:
    """The state of one processing run over several input files."""

    def __init__(self, settings: SchemaSettings, options: ProcessOptions, work_dir: Path) -> None:
        self.settings = settings
        self.options = options
        self.work_dir = work_dir
        self.findings = FindingCollector(examples_per_code=options.examples_per_code)
        self.spool = ReleaseSpool(work_dir / "spool.sqlite")
        self.prefixes = OcidPrefixes()
        self.dates = DateChecks(now=options.now())
        self.inputs: list[InputSummary] = []
        self.metadata: dict[str, Any] = {}
        self.versions: set[str] = set()
        self.extensions: list[str] = []
        self.additional: dict[str, list[Any]] = {}  # field pattern -> [count, first path]
        self.record_count = 0
        self.document_uris: list[str | None] = []  # by global document number (the spool's "document")
        self._core: CoreSchemas | None = None
        self._release_by_extensions: dict[tuple[str, ...], _Release] = {}
        self._shells: dict[str, SchemaValidator] = {}
        self.multiple_inputs = False

    # --- schemas ---------------------------------------------------------------

    @property
    def core(self) -> CoreSchemas:
        if self._core is None:
            self._core = load_core_schemas(self.settings)
        return self._core

    def release_schema(self, extensions: tuple[str, ...]) -> _Release:
        if extensions not in self._release_by_extensions:
            patched = apply_extensions(self.core, extensions, self.settings)
            self.findings.extend(patched.findings)
            schema = patched.release_schema
            self._release_by_extensions[extensions] = _Release(
                schema=schema, validator=SchemaValidator(schema), fields=FieldTree(schema),
                applied_extensions=tuple(patched.applied),
            )
        return self._release_by_extensions[extensions]

    def shell(self, name: str) -> SchemaValidator:
        if name not in self._shells:
            builders: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
                "release_package": release_package_shell, "record_package": record_package_shell,
                "record": record_shell, "linked_release": linked_release_schema,
            }
            source = self.core.release_package if name == "release_package" else self.core.record_package
            self._shells[name] = SchemaValidator(builders[name](source), fast=False)
        return self._shells[name]

    # --- reading -----------------------------------------------------------------

    def read_file(self, source: InputFile) -> None:
        decoded = to_utf8(source.path, self.work_dir / "decoded", label=source.label,
                          encoding=self.options.encoding)
        if decoded.finding is not None:
            self.findings.extend([decoded.finding])
        summary = InputSummary(label=source.label, encoding=decoded.encoding)
        self.inputs.append(summary)
        try:
            for document in read_documents(decoded.path):
                summary.documents += 1
                summary.kinds[document.kind] = summary.kinds.get(document.kind, 0) + 1
                self.read_document(document, self._prefix(source, document))
        except JsonInvalid as e:
            self.findings.extend([e.finding(source.label)])

    def _prefix(self, source: InputFile, document: Document) -> str:
        return f"{source.label}:{document.prefix}" if self.multiple_inputs else document.prefix

    def read_document(self, document: Document, prefix: str) -> None:
        if document.kind == "unknown":
            self.findings.add("not_ocds", "error", prefix,
                              "not a release package, record package, release or record")
            return
        context = self._context(document, prefix)
        kind = document.kind
        if kind in ("release_package", "record_package"):
            self._package_shell(context)
        for item_path, item in document.items():
            if kind in ("release_package", "release"):
                self.read_release(item, item_path, context)
            else:
                self.read_record(item, item_path, context)

    def _context(self, document: Document, prefix: str) -> _DocumentContext:
        metadata = document.metadata
        version = self._version(document, prefix)
        urls = metadata.get("extensions") if document.kind.endswith("package") else None
        extensions = tuple(u for u in urls if isinstance(u, str)) if isinstance(urls, list) else ()
        for url in extensions:
            if url not in self.extensions:
                self.extensions.append(url)
        self._collect_metadata(metadata)
        uri = metadata.get("uri") if document.kind == "release_package" else None
        self.document_uris.append(uri if isinstance(uri, str) and uri else None)
        return _DocumentContext(
            document=document, number=len(self.document_uris) - 1, prefix=prefix, upgrade=version == "1.0",
            published=parse_date(metadata.get("publishedDate")), release=self.release_schema(extensions),
        )

    def _version(self, document: Document, prefix: str) -> str:
        if document.kind.endswith("package"):
            declared = document.metadata.get("version")
            if declared is None:
                self.findings.add("version_missing", "warning", f"{prefix}.version",
                                  "the package declares no version: read as OCDS 1.0 and upgraded to 1.1")
                self.versions.add("1.0")
                return "1.0"
            self.versions.add(str(declared))
            if declared == "1.0":
                self.findings.add("upgraded_from_1_0", "info", f"{prefix}.version",
                                  "OCDS 1.0 data: upgraded to 1.1 with ocdskit before validation")
            elif declared != "1.1":
                self.findings.add("unknown_version", "error", f"{prefix}.version",
                                  f"unknown OCDS version {str(declared)[:20]!r}: validated as 1.1")
            return str(declared)
        from ocdskit.util import get_ocds_minor_version

        first = document.peek()  # a bare release or record
        version = str(get_ocds_minor_version(first)) if isinstance(first, dict) else "1.1"
        self.versions.add(version)
        return version

    def _collect_metadata(self, metadata: dict[str, Any]) -> None:
        for key in _METADATA_KEYS:
            if key in metadata and key not in self.metadata:
                self.metadata[key] = metadata[key]
        published = metadata.get("publishedDate")
        if isinstance(published, str) and published > str(self.metadata.get("publishedDate", "")):
            self.metadata["publishedDate"] = published

    def _package_shell(self, context: _DocumentContext) -> None:
        metadata = dict(context.document.metadata)
        key = "records" if context.document.kind == "record_package" else "releases"
        if context.upgrade:
            metadata["version"] = "1.1"
        if key not in metadata:  # reading took the array out; the shell checks it is not empty
            metadata[key] = [{}] if context.document.item_count != 0 else []
        self.findings.extend(self.shell(context.document.kind).findings(metadata, (), context.prefix))
        if not metadata.get("license"):
            self.findings.add("license_missing", "warning", f"{context.prefix}.license",
                              "the package declares no licence: users cannot tell how they may reuse the data")

    # --- releases and records ---------------------------------------------------------

    def read_release(self, release: Any, item_path: tuple[str | int, ...], context: _DocumentContext) -> None:
        path = json_path(item_path, context.prefix)
        if not isinstance(release, dict):
            self.findings.add("schema.type", "error", path, "expected a release (object)")
            return
        if context.upgrade:
            from ocdskit.upgrade import upgrade_release_10_11

            with _upgrade_warnings(self.findings, path):
                upgrade_release_10_11(release, reorder=False)
        self.check_release(release, item_path, context)
        self.spool.add_release(release, path, context.number)

    def check_release(self, release: dict[str, Any], item_path: tuple[str | int, ...],
                      context: _DocumentContext) -> None:
        path = json_path(item_path, context.prefix)
        self.findings.extend(context.release.validator.findings(release, item_path, context.prefix))
        self.prefixes.add(release.get("ocid"), f"{path}.ocid")
        self.dates.release(release, context.published, path, self.findings)
        if not self.options.compile:  # when compiling, compiled releases are walked instead (5x fewer)
            self.note_additional_fields(release, context.release.fields, path)

    def note_additional_fields(self, release: dict[str, Any], fields: FieldTree, path: str) -> None:
        for pattern, where in fields.additional(release):
            self.note_additional_field(pattern, json_path(where, path))

    def note_additional_field(self, pattern: str, path: str) -> None:
        seen = self.additional.get(pattern)
        if seen is None:
            self.additional[pattern] = [1, path]
        else:
            seen[0] += 1

    def read_record(self, record: Any, item_path: tuple[str | int, ...], context: _DocumentContext) -> None:
        path = json_path(item_path, context.prefix)
        self.record_count += 1
        if not isinstance(record, dict):
            self.findings.add("schema.type", "error", path, "expected a record (object)")
            return
        if context.upgrade:
            from ocdskit.upgrade import upgrade_record_10_11

            with _upgrade_warnings(self.findings, path):
                upgrade_record_10_11(record, reorder=False)
        self.findings.extend(self.shell("record").findings(record, item_path, context.prefix))
        found = record.get("releases")
        releases: list[Any] = found if isinstance(found, list) else []
        embedded = [r for r in releases if isinstance(r, dict) and not _is_linked(r)]
        for index, release in enumerate(releases):
            release_path = (*item_path, "releases", index)
            if isinstance(release, dict) and _is_linked(release):
                self.findings.extend(self.shell("linked_release").findings(release, release_path, context.prefix))
            elif isinstance(release, dict):
                self.check_release(release, release_path, context)
                self.spool.add_release(release, json_path(release_path, context.prefix), context.number)
        self.dates.linked_order(releases, path, self.findings)
        compiled = record.get("compiledRelease")
        if isinstance(compiled, dict):
            self.check_release(compiled, (*item_path, "compiledRelease"), context)
            if not embedded:
                self.spool.add_compiled_record(record, path)
        elif not embedded:
            self.findings.add("record_without_data", "warning", path,
                              "the record has only linked releases and no compiledRelease: nothing to compile")

    def finish_checks(self) -> None:
        self.spool.finish()
        for duplicate in self.spool.duplicates():
            self.findings.add("duplicate_release_id", "error", duplicate.paths[1],
                              f"release id {duplicate.release_id[:60]!r} is used {len(duplicate.paths)} times "
                              f"within ocid {duplicate.ocid[:80]}; first at {duplicate.paths[0]}")
        self.prefixes.report(self.findings)

    def report_additional_fields(self) -> None:
        unit = "contracting processes" if self.options.compile else "releases"
        for pattern, (count, first) in sorted(self.additional.items()):
            self.findings.add("additional_field", "info", first,
                              f"non-standard field {pattern} (not in the schema or its extensions; "
                              f"{unit}: {count})", count=count)

    def report(self, counts: dict[str, int]) -> OcdsReport:
        metadata = dict(self.metadata)
        metadata["versions"] = sorted(self.versions)
        metadata["extensions"] = list(self.extensions)
        metadata["ocid_prefixes"] = self.prefixes.as_dict()
        schema = {"version": self.core.version, "origin": self.core.origin} if self._core else {}
        return OcdsReport(
            valid=self.findings.error_count == 0, inputs=self.inputs, counts=counts, metadata=metadata,
            summary=self.findings.summary(), findings=self.findings.sorted_findings(), schema=schema,
        )


class _CountingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def _upgrade_warnings(findings: FindingCollector, path: str) -> Iterator[None]:
    """ocdskit logs whole parties (names, contacts) when it merges them: count, never log them."""
    logger = logging.getLogger("ocdskit")
    handler, propagate = _CountingHandler(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    if handler.count:
        findings.add("upgrade_party_conflict", "warning", path,
                     "upgrading 1.0 to 1.1: the same organisation (same identifier) has different details in "
                     "different roles; the details of its first role were kept", count=handler.count)


def _is_linked(release: dict[str, Any]) -> bool:
    """A linked release has a url and at most date and tag besides (ocdskit's rule)."""
    return "url" in release and len(release) <= 3


def process(inputs: Sequence[InputFile], out_dir: Path, settings: SchemaSettings,
            options: ProcessOptions | None = None) -> OcdsResult:
    """Read, validate and (unless options.compile is false) compile and flatten ``inputs``."""
    from publisher.ocds.outputs import write_outputs

    options = options or ProcessOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(settings, options, out_dir / ".work")
    run.multiple_inputs = len(inputs) > 1
    started = time.perf_counter()
    try:
        run.core  # noqa: B018 -- fail early when no schema can be found
        for source in inputs:
            run.read_file(source)
        run.finish_checks()
        validated = time.perf_counter()
        result = write_outputs(run, out_dir, compile_releases=options.compile)
    finally:
        run.spool.close()
    result.seconds["read_validate"] = round(validated - started, 3)
    result.seconds["compile_write_flatten"] = round(time.perf_counter() - validated, 3)
    log.info("OCDS: %s", result.report.one_line())
    return result


def iter_inputs(paths: Sequence[Path]) -> Iterator[InputFile]:
    for path in paths:
        yield InputFile(path=path, label=path.name)
