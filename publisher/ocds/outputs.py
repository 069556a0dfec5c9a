"""Compile spooled releases into records and write the published files.

Compiling uses ocdsmerge's ``Merger`` with the local (extended) release
schema, so it never downloads anything. Each record lists its releases as
linked releases (``<package uri>#<release id>``) when the package has a
URI, else embeds them, and carries the compiled release. Files are written
as a stream: memory holds one ocid's releases at a time.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from publisher.ocds.flatten import Flattener
from publisher.ocds.validators import _without_id

if TYPE_CHECKING:
    from publisher.ocds.pipeline import OcdsResult, _Run

log = logging.getLogger(__name__)


def write_outputs(run: _Run, out_dir: Path, *, compile_releases: bool) -> OcdsResult:
    from publisher.ocds.pipeline import RECORD_PACKAGE_FILE, RELEASE_PACKAGE_FILE, REPORT_FILE, OcdsResult

    counts = {"releases": run.spool.release_count, "records": run.record_count}
    if not compile_releases:
        run.report_additional_fields()
        counts["contracting_processes"] = run.spool.ocid_count()
        return OcdsResult(report=run.report(counts), out_dir=out_dir)
    result = OcdsResult(report=run.report(counts), out_dir=out_dir)
    package = package_header(run)
    if run.spool.release_count:
        result.release_package = out_dir / RELEASE_PACKAGE_FILE
        _write_package(result.release_package, package, "releases", run.spool.releases_in_order())
    flattener = Flattener(out_dir)
    compiler = _Compiler(run, flattener)
    result.record_package = out_dir / RECORD_PACKAGE_FILE
    _write_package(result.record_package, package, "records", (orjson.dumps(r) for r in compiler.records()))
    run.report_additional_fields()
    flat = flattener.close()
    result.seconds["flatten"] = round(flattener.seconds, 3)
    for column, count in sorted(flat.dropped.items()):
        run.findings.add("flatten_value_dropped", "warning", column,
                         f"{count} value(s) are not of the column's type and were left empty", count=count)
    counts.update(contracting_processes=compiler.compiled, compiled_releases=compiler.compiled)
    result.tables = flat.tables
    result.report = run.report(counts)
    result.report_path = out_dir / REPORT_FILE
    result.report_path.write_text(json.dumps(result.report.as_dict(), ensure_ascii=False, indent=2) + "\n",
                                  encoding="utf-8")
    return result


def package_header(run: _Run) -> dict[str, Any]:
    """Package metadata for the published packages: the inputs' own, as OCDS 1.1."""
    metadata = run.metadata
    header: dict[str, Any] = {
        "uri": metadata.get("uri") or "",
        "version": "1.1",
        "publishedDate": metadata.get("publishedDate") or run.dates.now.isoformat(timespec="seconds"),
        "publisher": metadata.get("publisher") or {"name": ""},
    }
    if run.extensions:
        header["extensions"] = list(run.extensions)
    for key in ("license", "publicationPolicy"):
        if metadata.get(key):
            header[key] = metadata[key]
    return header


def _write_package(path: Path, header: dict[str, Any], key: str, items: Iterable[bytes]) -> None:
    with path.open("wb") as stream:
        head = orjson.dumps({**header, key: []})
        stream.write(head[: -len(b"[]}")] + b"[")
        first = True
        for item in items:
            if not first:
                stream.write(b",\n")
            stream.write(item)
            first = False
        stream.write(b"]}\n")


class _Compiler:
    """Records with compiled releases, one ocid at a time."""

    def __init__(self, run: _Run, flattener: Flattener) -> None:
        import ocdsmerge

        self._run = run
        self._flattener = flattener
        release = run.release_schema(tuple(run.extensions))
        self._fields = release.fields
        self._merger = ocdsmerge.Merger(_without_id(release.schema))
        self.compiled = 0

    def records(self) -> Iterator[dict[str, Any]]:
        for ocid, group in self._run.spool.releases_by_ocid():
            record = self._compile(ocid, group)
            if record is not None:
                yield record
        for record in self._run.spool.compiled_records():
            compiled = record.get("compiledRelease")
            if isinstance(compiled, dict):
                self._add(compiled)
            yield record

    def _compile(self, ocid: str, group: list[tuple[dict[str, Any], int]]) -> dict[str, Any] | None:
        from ocdsmerge.exceptions import DuplicateIdValueWarning, OCDSMergeError

        releases = [release for release, _ in group]
        usable = [r for r in releases if isinstance(r.get("date"), str)]
        if len(usable) < len(releases):
            self._run.findings.add("release_not_compiled", "warning", ocid,
                                   "a release without a date was left out of the compiled release",
                                   count=len(releases) - len(usable))
        if not usable:
            return None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DuplicateIdValueWarning)
                compiled = self._merger.create_compiled_release(usable)
        except OCDSMergeError as e:
            self._run.findings.add("compile_failed", "error", ocid,
                                   f"cannot compile the releases of this ocid ({type(e).__name__})")
            return None
        duplicates = [w for w in caught if issubclass(w.category, DuplicateIdValueWarning)]
        if duplicates:
            self._run.findings.add("duplicate_id_in_array", "warning", ocid,
                                   "objects in one array share an id; compiling merged them into one",
                                   count=len(duplicates))
        self._add(compiled)
        in_order = sorted((pair for pair in group if isinstance(pair[0].get("date"), str)),
                          key=lambda pair: str(pair[0]["date"]))  # a record's releases go oldest first
        linked = [self._linked(release, document) for release, document in in_order]
        return {"ocid": ocid, "releases": linked, "compiledRelease": compiled}

    def _add(self, compiled: dict[str, Any]) -> None:
        ocid = compiled.get("ocid")
        self._run.note_additional_fields(compiled, self._fields, f"compiledRelease[{ocid}]")
        self._flattener.add(compiled)
        self.compiled += 1

    def _linked(self, release: dict[str, Any], document: int) -> dict[str, Any]:
        uri = self._run.document_uris[document] if 0 <= document < len(self._run.document_uris) else None
        if not uri or release.get("id") is None:
            return release
        linked = {"url": f"{uri}#{release['id']}", "date": release["date"]}
        if isinstance(release.get("tag"), list):
            linked["tag"] = release["tag"]
        return linked
