"""Core commands: config check, list, describe, validate, run."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from publisher.cli import EXIT_FAILED, EXIT_OK, CliState, echo_json, handle_errors
from publisher.outcomes import DatasetResult, Outcome, RunReport

# publisher.validation.choose_engine: frictionless, the fast columnar engine, or auto (by size).
# Spelled here so that `publisher --help` does not import frictionless.
ENGINE_CHOICE = click.Choice(["frictionless", "fast", "auto"])

OUTCOME_COLOURS = {
    Outcome.PUBLISHED: "green", Outcome.WRITTEN: "green", Outcome.UNCHANGED: "cyan",
    Outcome.BLOCKED: "yellow", Outcome.FAILED: "red", Outcome.SKIPPED: "magenta",
}


def register(group: click.Group) -> None:
    group.add_command(config_group)
    group.add_command(list_datasets)
    group.add_command(describe)
    group.add_command(validate)
    group.add_command(run)


# --- config -------------------------------------------------------------------

@click.group("config")
def config_group() -> None:
    """Check the steward's harvest_config.toml."""


@config_group.command("check")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="The file to check (default: the global --config, PUBLISHER_CONFIG or ./harvest_config.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def config_check(state: CliState, config_path: Path | None, as_json: bool) -> None:
    """Validate a config file: exit 0 when valid, 2 with every problem when not."""
    from publisher.config_check import check_config

    result = check_config(config_path or state.config_path)
    if as_json:
        echo_json(result)
    else:
        for problem in result["errors"]:
            click.secho(f"error: {problem}", fg="red", err=True)
        for warning in result["warnings"]:
            click.secho(f"warning: {warning}", fg="yellow", err=True)
        if result["valid"]:
            click.echo(f"{result['path']}: valid ({result['datasets']} datasets)")
    raise SystemExit(EXIT_OK if result["valid"] else 2)


# --- list ---------------------------------------------------------------------

@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the datasets as JSON.")
@click.pass_obj
@handle_errors
def list_datasets(state: CliState, as_json: bool) -> None:
    """List the datasets in the config."""
    config = state.load_config()
    rows = [
        {
            "name": d.name, "title": d.title, "source": d.source.kind,
            "schedule": config.schedule_of(d), "update_frequency": config.frequency_of(d),
            "license": config.license_of(d),
        }
        for d in config.datasets
    ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no datasets configured")
    width = max((len(r["name"]) for r in rows), default=4)
    for row in rows:
        click.echo(f"{row['name']:<{width}}  {row['source']:<5}  {row['schedule']:<12}  {row['title']}")


# --- describe / validate a local file -----------------------------------------

def _read_options(func: Any) -> Any:
    func = click.option("--sheet", default=None, help="Spreadsheet sheet: a name or a number from 1.")(func)
    func = click.option("--encoding", default=None, help="Force the encoding (default: detected).")(func)
    func = click.option("--delimiter", default=None, help="Force the CSV delimiter (default: detected).")(func)
    func = click.option("--header-row", type=int, default=None,
                        help="1-based row of the header in a spreadsheet (default: detected).")(func)
    return func


def _staged_file(path: Path, sheet: str | None, encoding: str | None, delimiter: str | None,
                 header_row: int | None) -> Any:
    from publisher.sources import ReadOptions, StagedFile

    sheet_value: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet
    read = ReadOptions(encoding=encoding, delimiter=delimiter, sheet=sheet_value, header_row=header_row)
    return StagedFile(path=path, name=path.stem, read=read, origin=str(path))


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_read_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the Frictionless resource descriptor of the file as read.")
@click.pass_obj
@handle_errors
def describe(state: CliState, path: Path, sheet: str | None, encoding: str | None, delimiter: str | None,
             header_row: int | None, as_json: bool) -> None:
    """Describe a local file with no config: encoding, dialect and typed schema."""
    from publisher.tables.describe import source_descriptor

    descriptor = source_descriptor(_staged_file(path, sheet, encoding, delimiter, header_row))
    if as_json:
        echo_json(descriptor)
        return
    click.echo(f"{path}: {descriptor.get('format')}, encoding {descriptor.get('encoding', 'n/a')}")
    dialect = descriptor.get("dialect") or {}
    if dialect:
        click.echo(f"dialect: {json.dumps(dialect, ensure_ascii=False)}")
    fields = descriptor.get("schema", {}).get("fields", [])
    width = max((len(f["name"]) for f in fields), default=4)
    for field in fields:
        click.echo(f"  {field['name']:<{width}}  {field.get('type', 'any')}")


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A Table Schema (JSON or YAML) to validate against instead of the inferred one.")
@_read_options
@click.option("--engine", type=ENGINE_CHOICE, default="auto", show_default=True,
              help="Validation engine: frictionless, the fast columnar one, or auto (by size).")
@click.option("--json", "as_json", is_flag=True, help="Print the validation report as JSON.")
@click.pass_obj
@handle_errors
def validate(state: CliState, path: Path, schema_path: Path | None, sheet: str | None, encoding: str | None,
             delimiter: str | None, header_row: int | None, engine: str, as_json: bool) -> None:
    """Validate a local file: exit 0 when valid, 1 when invalid."""
    from publisher.validation import summarise, validate_file

    staged = _staged_file(path.resolve(), sheet, encoding, delimiter, header_row)
    report = validate_file(staged, schema_path=schema_path, engine=engine)
    if as_json:
        echo_json(report)
    else:
        _render_summary(path, summarise(report))
    raise SystemExit(EXIT_OK if report["valid"] else EXIT_FAILED)


def _render_summary(path: Path, summary: dict[str, Any]) -> None:
    if summary["valid"]:
        click.secho(f"{path}: valid", fg="green")
        return
    counts = ", ".join(f"{n} {kind}" for kind, n in summary["by_type"].items())
    click.secho(f"{path}: invalid: {summary['errors']} errors ({counts})", fg="red")
    for error in summary["first_errors"]:
        where = " ".join(p for p in (
            f"row {error['row']}" if error["row"] else "", f"field '{error['field']}'" if error["field"] else "",
        ) if p)
        click.echo(f"  {error['type']:<16} {where}: {error['message']}")


# --- run ------------------------------------------------------------------------

@click.command()
@click.argument("names", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Do everything but write: show what would be written or published.")
@click.option("--full", is_flag=True, help="Ignore incremental cursors and cached validators: extract everything.")
@click.option("--engine", type=ENGINE_CHOICE, default="auto", show_default=True,
              help="Validation engine.")
@click.option("--allow-mass-withdrawal", is_flag=True,
              help="Let this run withdraw more than the configured share of managed datasets.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.pass_obj
@handle_errors
def run(state: CliState, names: tuple[str, ...], dry_run: bool, full: bool, engine: str,
        allow_mass_withdrawal: bool, as_json: bool) -> None:
    """Run the pipeline for all (or the named) datasets.

    One line per dataset with its outcome. Exit 0 when every dataset succeeded,
    1 when any failed or was blocked.
    """
    from publisher.app import default_deps
    from publisher.notify import notify
    from publisher.runner import run as run_pipeline

    config = state.load_config()
    with _result_display(enabled=not as_json, total=len(config.select(names))) as on_result:
        deps = default_deps(config, full_refresh=full, engine=engine, allow_mass_withdrawal=allow_mass_withdrawal,
                            on_result=on_result)
        report = run_pipeline(config, names, dry_run=dry_run, deps=deps)
    sent = [] if dry_run else notify(config, report)
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_footer(report, config)
        for line in sent:
            click.echo(f"notified: {line}")
    raise SystemExit(report.exit_code)


@contextlib.contextmanager
def _result_display(*, enabled: bool, total: int) -> Iterator[Callable[[DatasetResult], None] | None]:
    """One line per dataset as it finishes; above a progress bar when stdout is a terminal."""
    if not enabled:
        yield None
        return
    if not sys.stdout.isatty():
        yield lambda result: click.echo(_result_line(result))
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("datasets"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(), transient=True) as progress:
        task = progress.add_task("datasets", total=total)

        def show(result: DatasetResult) -> None:
            progress.console.print(_result_line(result), markup=False, highlight=False)
            progress.advance(task)

        yield show


def _result_line(result: DatasetResult) -> str:
    colour = OUTCOME_COLOURS.get(result.outcome, "white")
    figures = f" ({result.rows:,} rows)" if result.rows and result.ok else ""
    return f"{click.style(f'{result.outcome:<9}', fg=colour)} {result.dataset}: {result.message}{figures}"


def _print_footer(report: RunReport, config: Any) -> None:
    counts = ", ".join(f"{n} {outcome}" for outcome, n in report.counts().items()) or "no datasets"
    click.echo(f"{'dry run: ' if report.dry_run else ''}{counts}")
    if config.portal is None and not report.dry_run and any(r.outcome is Outcome.WRITTEN for r in report.results):
        click.echo(f"no [portal] configured: packages are in {config.output_path}/")
