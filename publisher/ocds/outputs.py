"""Write the published files: the release package, the record package, the tables, the report.

Files are written as streams: memory holds a few batches of contracting
processes at a time (see ``compiling``).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from publisher.ocds.compiling import Compiled, Job, Setup, run_batches, worker_count
from publisher.ocds.flatten import TableWriter
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
    writer = TableWriter(out_dir)
    collected = _Collected(run, writer)
    result.record_package = out_dir / RECORD_PACKAGE_FILE
    _write_package(result.record_package, package, "records", collected.records(_results(run)))
    run.report_additional_fields()
    flat = writer.close(collected.dropped)
    for column, count in sorted(flat.dropped.items()):
        run.findings.add("flatten_value_dropped", "warning", column,
                         f"{count} value(s) are not of the column's type and were left empty", count=count)
    counts.update(contracting_processes=collected.compiled, compiled_releases=collected.compiled)
    result.tables = flat.tables
    result.report = run.report(counts)
    result.report_path = out_dir / REPORT_FILE
    result.report_path.write_text(json.dumps(result.report.as_dict(), ensure_ascii=False, indent=2) + "\n",
                                  encoding="utf-8")
    return result


def _results(run: _Run) -> Iterator[Compiled]:
    schema = _without_id(run.release_schema(tuple(run.extensions)).schema)
    setup = Setup(release_schema=schema, document_uris=tuple(run.document_uris))
    jobs: Iterator[Job] = _jobs(run)
    workers = worker_count(run.spool.release_count, run.options.workers)
    log.info("compiling with %d worker process(es)", workers)
    return run_batches(setup, jobs, workers)


def _jobs(run: _Run) -> Iterator[Job]:
    for ocid, group in run.spool.releases_by_ocid():
        yield "releases", (ocid, group)
    for record in run.spool.compiled_records():
        yield "record", record


class _Collected:
    """Writes each result's rows and gathers its findings, in order."""

    def __init__(self, run: _Run, writer: TableWriter) -> None:
        self._run = run
        self._writer = writer
        self.dropped: Counter[str] = Counter()
        self.compiled = 0

    def records(self, results: Iterable[Compiled]) -> Iterator[bytes]:
        for compiled in results:
            self._run.findings.extend(compiled.findings)
            if compiled.rows:
                self._writer.write(compiled.rows)
                self.dropped.update(compiled.dropped)
                self.compiled += 1
                for pattern, path in compiled.additional:
                    self._run.note_additional_field(pattern, path)
            if compiled.record is not None:
                yield compiled.record


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
