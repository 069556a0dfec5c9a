"""The only module that knows the whole sequence for one dataset:

    extract -> describe -> screen -> validate -> write -> publish

``run()`` is called by the CLI and by the scheduler. A failure stops that
dataset only; it is recorded with its stage and one-line cause, and the next
dataset goes on. The portal and datapackages/<name>/ keep the last good
version because nothing is replaced until every earlier stage passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from publisher import package, validation
from publisher.config import Config, DatasetConfig
from publisher.errors import PublisherError, Stage
from publisher.outcomes import DatasetResult, Outcome, RunReport
from publisher.sources import Extraction, Source, SourceContext, registry

log = logging.getLogger(__name__)


class StateStore(Protocol):
    """Run history, source validators and locks (publisher.state implements it)."""

    def source_state(self, dataset: str) -> Mapping[str, str]: ...
    def begin_run(self, report: RunReport) -> int | None: ...
    def record(self, report: RunReport, result: DatasetResult) -> None: ...
    def finish_run(self, report: RunReport) -> None: ...
    def commit_source_state(self, dataset: str, state: Mapping[str, str]) -> None: ...
    def lock(self, dataset: str) -> contextlib.AbstractContextManager[None]: ...


class Portal(Protocol):
    """Publishes a written package (publisher.portal implements it for CKAN)."""

    def sync(self, config: Config, dataset: DatasetConfig, package_dir: Path, result: DatasetResult,
             *, dry_run: bool) -> None:
        """Plan and (unless dry_run) apply; fill result.outcome, ckan_id, plan, write_calls."""
        ...

    def withdraw_removed(self, config: Config, *, dry_run: bool, allow_mass: bool) -> list[DatasetResult]:
        """Apply on_removed to the datasets it manages that left the config; one result each."""
        ...


class Screen(Protocol):
    """The privacy screen (publisher.privacy implements it)."""

    def __call__(self, config: Config, dataset: DatasetConfig, tables: list[Any],
                 result: DatasetResult) -> list[Any]:
        """Return the tables to publish (policies applied); raise PrivacyBlocked when unhandled."""
        ...


class MemoryState:
    """A StateStore that keeps nothing between processes (used when none is given)."""

    def __init__(self) -> None:
        self._source_state: dict[str, dict[str, str]] = {}

    def source_state(self, dataset: str) -> Mapping[str, str]:
        return self._source_state.get(dataset, {})

    def begin_run(self, report: RunReport) -> int | None:
        return None

    def record(self, report: RunReport, result: DatasetResult) -> None:
        return None

    def finish_run(self, report: RunReport) -> None:
        return None

    def commit_source_state(self, dataset: str, state: Mapping[str, str]) -> None:
        self._source_state[dataset] = dict(state)

    @contextlib.contextmanager
    def lock(self, dataset: str) -> Iterator[None]:
        yield


@dataclass
class RunDeps:
    """Everything the runner talks to, injected (tests pass real local servers)."""

    state: StateStore = field(default_factory=MemoryState)
    portal: Portal | None = None
    screen: Screen | None = None
    session_factory: Callable[[], requests.Session] = requests.Session
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    on_result: Callable[[DatasetResult], None] | None = None  # progress display
    # called with the live result as a dataset starts (the scheduler reads .stage to record an abort)
    on_start: Callable[[DatasetResult], None] | None = None
    full_refresh: bool = False
    validation_engine: str = "auto"
    allow_mass_withdrawal: bool = False  # lift the portal's mass-withdrawal guard for this run


def run(config: Config, names: Sequence[str] = (), *, dry_run: bool = False,
        deps: RunDeps | None = None, trigger: str = "manual") -> RunReport:
    """Run the pipeline for the named datasets (all when none); never raises for one dataset."""
    deps = deps or RunDeps()
    datasets = config.select(names)
    report = RunReport(trigger=trigger, dry_run=dry_run, started_at=deps.now())
    report.run_id = deps.state.begin_run(report)
    for dataset in datasets:
        _add_result(report, run_dataset(config, dataset, dry_run=dry_run, deps=deps), deps)
    if not names and deps.portal is not None:
        # Datasets the portal holds for us that left the config: only when the whole config runs.
        for result in deps.portal.withdraw_removed(config, dry_run=dry_run, allow_mass=deps.allow_mass_withdrawal):
            _add_result(report, result, deps)
    report.finished_at = deps.now()
    deps.state.finish_run(report)
    return report


def _add_result(report: RunReport, result: DatasetResult, deps: RunDeps) -> None:
    """Record one outcome in the report and the state store, and show it."""
    report.results.append(result)
    deps.state.record(report, result)
    if deps.on_result:
        deps.on_result(result)


def run_dataset(config: Config, dataset: DatasetConfig, *, dry_run: bool, deps: RunDeps) -> DatasetResult:
    """One dataset, start to end, under its lock; the outcome is always recorded."""
    result = DatasetResult(dataset=dataset.name, started_at=deps.now())
    if deps.on_start:
        deps.on_start(result)
    try:
        with deps.state.lock(dataset.name), tempfile.TemporaryDirectory(prefix=f"publisher-{dataset.name}-") as tmp:
            _run_stages(config, dataset, Path(tmp), result, dry_run=dry_run, deps=deps)
    except PublisherError as e:
        e.with_context(dataset=dataset.name, stage=result.stage)
        result.outcome = _outcome_for(e)
        result.stage = e.stage or result.stage
        result.error_type = type(e).__name__
        result.message = e.one_line()
        log.warning("%s", result.message)
    except Exception as e:  # a bug must not stop the other datasets; its type is kept, its text is not
        # (an unexpected error's text may quote data); the traceback is logged at debug level.
        log.debug("dataset '%s': unexpected error", dataset.name, exc_info=True)
        result.outcome = Outcome.FAILED
        result.error_type = type(e).__name__
        result.message = (f"dataset '{dataset.name}' [{result.stage}]: internal error ({type(e).__name__}); "
                          "rerun with --debug for the traceback and report it")
        log.error("%s", result.message)
    result.finished_at = deps.now()
    return result


def _outcome_for(error: PublisherError) -> Outcome:
    from publisher.errors import PrivacyBlocked, StateError, ValidationFailed

    if isinstance(error, PrivacyBlocked | ValidationFailed):
        return Outcome.BLOCKED
    if isinstance(error, StateError) and error.action == "lock":
        return Outcome.SKIPPED
    return Outcome.FAILED


@contextlib.contextmanager
def _stage(result: DatasetResult, stage: Stage) -> Iterator[None]:
    result.stage = stage
    started = time.perf_counter()
    try:
        yield
    finally:
        result.durations[str(stage)] = round(time.perf_counter() - started, 4)


def _run_stages(config: Config, dataset: DatasetConfig, workdir: Path, result: DatasetResult,
                *, dry_run: bool, deps: RunDeps) -> None:
    target = config.output_path / dataset.name
    with _stage(result, Stage.EXTRACT):
        source, extraction = _extract(config, dataset, target, workdir, deps, full_refresh=deps.full_refresh)
        if extraction.not_modified and not _same_config(config, dataset, target):
            # The source has not changed but the steward's settings have: rebuild from a full extract.
            source, extraction = _extract(config, dataset, target, workdir, deps, full_refresh=True)
        result.source_state = dict(extraction.state)
    if extraction.not_modified:
        result.outcome = Outcome.UNCHANGED
        result.message = "source not modified since the last run"
        return
    with _stage(result, Stage.DESCRIBE):
        tables = package.describe_files(extraction.files, dataset, workdir / "package" / "data")
    if deps.screen is not None:
        with _stage(result, Stage.SCREEN):
            tables = _withhold_unscreened_files(deps.screen(config, dataset, tables, result), result)
    with _stage(result, Stage.VALIDATE):
        built = package.build(config, dataset, tables, origin=source.describe_origin(), privacy=result.findings)
        package.materialise(built, workdir / "package")
        report = validation.validate_package(built.descriptor, workdir / "package", engine=deps.validation_engine)
        package.write_report(report, workdir / "package")
        result.validation = validation.summarise(report)
        _fill_figures(result, built)
    if not report.get("valid", False):
        _handle_invalid(config, dataset, built, workdir, result, dry_run=dry_run)
    with _stage(result, Stage.WRITE):
        unchanged = package.same_as_written(built, target)
        if not dry_run and not unchanged:
            package.write_atomic(built, workdir / "package", target)
        result.package_path = str(target)
    if deps.portal is not None:
        with _stage(result, Stage.PUBLISH):
            deps.portal.sync(config, dataset, target if not dry_run else workdir / "package", result,
                             dry_run=dry_run)
    else:
        result.outcome = Outcome.UNCHANGED if unchanged else Outcome.WRITTEN
        verb = "would write" if dry_run else "wrote"
        result.message = "no change since the last run" if unchanged else f"{verb} {target}"
        if dry_run and not unchanged:
            result.outcome = Outcome.SKIPPED
    if not dry_run and result.ok:
        deps.state.commit_source_state(dataset.name, result.source_state)


def _extract(config: Config, dataset: DatasetConfig, target: Path, workdir: Path, deps: RunDeps,
             *, full_refresh: bool) -> tuple[Source, Extraction]:
    source_class = registry.get(dataset.source.kind)
    assert source_class is not None  # checked when the config was loaded
    context = SourceContext(
        dataset=dataset.name, base_dir=config.base_dir, environ=deps.environ,
        session_factory=deps.session_factory, previous_state=deps.state.source_state(dataset.name),
        now=deps.now, full_refresh=full_refresh,
        previous_package_dir=target if package.exists(target) else None,
    )
    source = source_class(dataset.source, context)
    staging = workdir / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    return source, source.extract(staging)


def _same_config(config: Config, dataset: DatasetConfig, target: Path) -> bool:
    written = package.read_publisher_metadata(target).get("config_sha256")  # None when there is no package
    return written == package.config_sha256(config, dataset)


def _withhold_unscreened_files(tables: list[Any], result: DatasetResult) -> list[Any]:
    """Files published beside the tables (GeoJSON, OCDS JSON) carry the same values unscreened:
    when a privacy policy changed any column, they are withheld."""
    if not any(f.get("policy") not in (None, "allow") for f in result.findings):
        return tables
    withheld = []
    for table in tables:
        if table.extra_files:
            names = ", ".join(p.name for p in table.extra_files)
            note = f"withheld {names}: privacy policies changed columns that these files hold unscreened"
            table = dataclasses.replace(table, extra_files=(), notes=(*table.notes, note))
        withheld.append(table)
    return withheld


def _fill_figures(result: DatasetResult, built: package.BuiltPackage) -> None:
    result.rows = sum(t.row_count for t in built.tables)
    result.bytes = sum(t.bytes for t in built.tables)
    result.content_sha256 = {t.name: t.sha256 for t in built.tables}
    result.package_sha256 = built.package_sha256


def _handle_invalid(config: Config, dataset: DatasetConfig, built: package.BuiltPackage, workdir: Path,
                    result: DatasetResult, *, dry_run: bool) -> None:
    from publisher.errors import ValidationFailed

    summary = validation.one_line_summary(result.validation)
    if config.on_invalid_of(dataset) == "warn":
        log.warning("dataset '%s': %s (on_invalid = \"warn\": publishing anyway)", dataset.name, summary)
        return
    rejected = config.output_path / ".rejected" / dataset.name
    if not dry_run:
        shutil.rmtree(rejected, ignore_errors=True)
        rejected.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(workdir / "package", rejected)
    raise ValidationFailed(
        f"{summary}; the previous package was kept",
        dataset=dataset.name,
        hint=f"see {rejected / 'validation.json'}, fix the source or set on_invalid = \"warn\"",
    )
