"""Portal commands: plan (what a run would change in CKAN) and pull (CKAN -> data package)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from publisher.cli import EXIT_FAILED, EXIT_OK, CliState, echo_json, handle_errors


def register(group: click.Group) -> None:
    group.add_command(plan)
    group.add_command(pull)


@click.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (one entry per dataset).")
@click.pass_obj
@handle_errors
def plan(state: CliState, names: tuple[str, ...], as_json: bool) -> None:
    """Show what `publisher run` would change in CKAN, writing nothing.

    Runs the pipeline in dry-run mode for all (or the named) datasets and
    compares each package with the portal: create, patch (field by field),
    upload, delete or skip. Exit 0 when every dataset could be planned.
    """
    from publisher.portal import plan_run, plan_summary

    config = state.load_config()
    report = plan_run(config, names, environ=os.environ)
    summary = plan_summary(report)
    if as_json:
        echo_json(summary)
    else:
        for entry in summary:
            _render_plan(entry)
    raise SystemExit(report.exit_code)


def _render_plan(entry: dict[str, Any]) -> None:
    colour = "red" if entry["outcome"] in ("failed", "blocked") else "cyan" if not entry["writes"] else "yellow"
    click.echo(f"{click.style(entry['dataset'], bold=True)}: "
               f"{click.style(entry['message'] or entry['outcome'], fg=colour)}")
    for action in entry["plan"]:
        if action["action"] == "skip":
            continue
        click.echo(f"  {action['action']:<16} {action['target']}  {action.get('reason', '')}")
        for field, change in action.get("changes", {}).items():
            click.echo(f"      {field}: {change['from']!r} -> {change['to']!r}")


@click.command()
@click.argument("name")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder to write the package into (as DEST/NAME/).")
@click.option("--url", default=None,
              help="CKAN URL to pull from (default: [portal].url of the config). "
                   "A token is read from CKAN_API_TOKEN when set.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
@handle_errors
def pull(state: CliState, name: str, dest: Path, url: str | None, as_json: bool) -> None:
    """Download a published dataset as a Frictionless data package and validate it.

    Writes DEST/NAME/datapackage.json and the data files, checks each file
    against the sha256 in datapackage.json, and validates the package.
    Exit 0 when it is valid, 1 when not.
    """
    from publisher.portal.pull import pull_dataset

    result = pull_dataset(_client(state, url), name, dest)
    if as_json:
        echo_json(result.to_dict())
    else:
        verdict = click.style("valid", fg="green") if result.valid else click.style("invalid", fg="red")
        click.echo(f"{result.path}: {len(result.resources)} resource(s), {result.bytes:,} bytes, {verdict}")
        for error in result.errors:
            click.echo(f"  {error}")
    raise SystemExit(EXIT_OK if result.valid else EXIT_FAILED)


def _client(state: CliState, url: str | None) -> Any:
    from publisher.errors import ConfigError
    from publisher.portal import CkanClient, from_config

    if url:
        return CkanClient(url, token=os.environ.get("CKAN_API_TOKEN") or None)
    portal = from_config(state.load_config(), os.environ)
    if portal is None:
        raise ConfigError("no [portal] section in the config and no --url given")
    return portal.client
