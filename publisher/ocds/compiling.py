"""Compile releases into records and flatten them, in batches, optionally in worker processes.

Compiling uses ocdsmerge's ``Merger`` with the local (extended) release
schema, so it never downloads anything. Each record lists its releases as
linked releases (``<package uri>#<release id>``) when the package has a URI,
else embeds them, and carries the compiled release, which is flattened into
table rows and searched for non-standard fields.

Contracting processes are independent, so batches of them are handed to a
pool of worker processes (``spawn``: safe in a threaded scheduler) when
there are many releases; the results come back in order, and the main
process only writes. Small inputs are done in-process by the same function.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from publisher.ocds.fields import FieldTree
from publisher.ocds.findings import Finding, json_path
from publisher.ocds.flatten import Row, RowMaker

PARALLEL_MIN_RELEASES = 20_000
BATCH_OCIDS = 250
MAX_WORKERS = 4

# (kind, payload): ("releases", (ocid, [(release JSON, document number), ...])) or ("record", record JSON)
Job = tuple[str, Any]


@dataclass(frozen=True)
class Setup:
    """What every worker needs, sent once when it starts."""

    release_schema: dict[str, Any]  # without "id"
    document_uris: tuple[str | None, ...]


@dataclass
class Compiled:
    """The result for one contracting process."""

    record: bytes | None
    rows: dict[str, list[Row]] = field(default_factory=dict)
    additional: list[tuple[str, str]] = field(default_factory=list)  # (field pattern, first path)
    findings: list[Finding] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)


_STATE: dict[str, Any] = {}


def init_worker(setup: Setup) -> None:
    import ocdsmerge

    _STATE["merger"] = ocdsmerge.Merger(setup.release_schema)
    _STATE["fields"] = FieldTree(setup.release_schema)
    _STATE["uris"] = setup.document_uris


def compile_batch(batch: list[Job]) -> list[Compiled]:
    """Compile and flatten a batch of contracting processes (in a worker or in-process)."""
    return [_compile_job(kind, payload) for kind, payload in batch]


def _compile_job(kind: str, payload: Any) -> Compiled:
    if kind == "record":
        record = orjson.loads(payload)
        compiled = record.get("compiledRelease")
        result = Compiled(record=payload)
        if isinstance(compiled, dict):
            _flatten(compiled, result)
        return result
    ocid, group = payload
    return _compile_releases(ocid, [(orjson.loads(body), document) for body, document in group])


def _compile_releases(ocid: str, group: list[tuple[dict[str, Any], int]]) -> Compiled:
    from ocdsmerge.exceptions import DuplicateIdValueWarning, OCDSMergeError

    dated = sorted((pair for pair in group if isinstance(pair[0].get("date"), str)),
                   key=lambda pair: str(pair[0]["date"]))  # a record's releases go oldest first
    result = Compiled(record=None)
    if len(dated) < len(group):
        result.findings.append(Finding("release_not_compiled", "warning", ocid,
                                       "a release without a date was left out of the compiled release",
                                       count=len(group) - len(dated)))
    if not dated:
        return result
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DuplicateIdValueWarning)
            compiled = _STATE["merger"].create_compiled_release([release for release, _ in dated])
    except OCDSMergeError as e:
        result.findings.append(Finding("compile_failed", "error", ocid,
                                       f"cannot compile the releases of this ocid ({type(e).__name__})"))
        return result
    duplicates = sum(1 for w in caught if issubclass(w.category, DuplicateIdValueWarning))
    if duplicates:
        result.findings.append(Finding("duplicate_id_in_array", "warning", ocid,
                                       "objects in one array share an id; compiling merged them into one",
                                       count=duplicates))
    linked = [_linked(release, document) for release, document in dated]
    result.record = orjson.dumps({"ocid": ocid, "releases": linked, "compiledRelease": compiled})
    _flatten(compiled, result)
    return result


def _flatten(compiled: dict[str, Any], result: Compiled) -> None:
    maker = RowMaker()
    result.rows = maker.rows(compiled)
    result.dropped = maker.dropped
    prefix = f"compiledRelease[{compiled.get('ocid')}]"
    result.additional = [(pattern, json_path(where, prefix))
                         for pattern, where in _STATE["fields"].additional(compiled)]


def _linked(release: dict[str, Any], document: int) -> dict[str, Any]:
    uris: tuple[str | None, ...] = _STATE["uris"]
    uri = uris[document] if 0 <= document < len(uris) else None
    if not uri or release.get("id") is None:
        return release
    linked = {"url": f"{uri}#{release['id']}", "date": release["date"]}
    if isinstance(release.get("tag"), list):
        linked["tag"] = release["tag"]
    return linked


def worker_count(release_count: int, requested: int | None) -> int:
    """``requested`` when given; else one per CPU (up to 4) for large inputs, and 1 for small ones."""
    if requested is not None:
        return max(1, requested)
    if release_count < PARALLEL_MIN_RELEASES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def batches(jobs: Iterable[Job], size: int = BATCH_OCIDS) -> Iterator[list[Job]]:
    batch: list[Job] = []
    for job in jobs:
        batch.append(job)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_batches(setup: Setup, jobs: Iterable[Job], workers: int) -> Iterator[Compiled]:
    """Every job's result, in order; at most ``2 * workers`` batches are in flight."""
    if workers <= 1:
        init_worker(setup)
        for batch in batches(jobs):
            yield from compile_batch(batch)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker, initargs=(setup,)) as pool:
        pending: deque[Future[list[Compiled]]] = deque()
        for batch in batches(jobs):
            pending.append(pool.submit(compile_batch, batch))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
