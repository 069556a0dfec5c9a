"""``publisher ocds ...``: Open Contracting data without a config file."""

from __future__ import annotations

from pathlib import Path

import click

from publisher.cli import EXIT_FAILED, EXIT_OK, echo_json, handle_errors

SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def register(group: click.Group) -> None:
    group.add_command(ocds_group)


@click.group("ocds")
def ocds_group() -> None:
    """Open Contracting (OCDS) data: check packages against the standard."""


@ocds_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--schema-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              envvar="PUBLISHER_OCDS_SCHEMA_DIR", default=None,
              help="Folder with the OCDS schemas (env PUBLISHER_OCDS_SCHEMA_DIR; "
                   "default: download them into .publisher/ocds-schemas/).")
@click.option("--no-extensions", is_flag=True, help="Do not fetch the extensions a package declares.")
@click.option("--encoding", default=None, help="Read the file in this encoding instead of detecting it.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@handle_errors
def ocds_check(path: Path, schema_dir: Path | None, no_extensions: bool, encoding: str | None,
               as_json: bool) -> None:
    """Validate an OCDS file (release or record package, release, record, JSON Lines):
    exit 0 when valid, 1 when not."""
    from publisher.ocds import check_path

    report = check_path(path, schema_dir=schema_dir, cache_dir=Path(".publisher") / "ocds-schemas",
                        fetch_extensions=not no_extensions, encoding=encoding)
    if as_json:
        echo_json(report.as_dict())
    else:
        _render(path, report)
    raise SystemExit(EXIT_OK if report.valid else EXIT_FAILED)


def _render(path: Path, report: object) -> None:
    from publisher.ocds import OcdsReport

    assert isinstance(report, OcdsReport)
    for finding in report.findings:
        click.secho(finding.one_line(), fg=SEVERITY_COLOURS[finding.severity])
    counts = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in report.counts.items())
    verdict = click.style("valid", fg="green") if report.valid else click.style("invalid", fg="red")
    click.echo(f"{path}: {verdict} OCDS {report.schema.get('version', '')} ({counts}); {report.one_line()}")
