"""Operations commands: status, history (and history prune), schedule."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import click

from publisher.cli import EXIT_USAGE, CliState, echo_json, fail, handle_errors

FRESHNESS_STYLES = {"fresh": "green", "overdue": "bold red", "never": "red", "eventual": "dim"}
OUTCOME_STYLES = {
    "published": "green", "written": "green", "unchanged": "cyan", "blocked": "yellow",
    "failed": "red", "skipped": "magenta",
}


def register(group: click.Group) -> None:
    group.add_command(status)
    group.add_command(history)
    group.add_command(schedule)


def _short(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") if stamp else "-"


def _print_table(title: str, headers: list[str], rows: list[list[str]], styles: list[dict[int, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row, style in zip(rows, styles, strict=True):
        table.add_row(*[f"[{style[i]}]{cell}[/]" if i in style else cell for i, cell in enumerate(row)])
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
@handle_errors
def status(state: CliState, as_json: bool) -> None:
    """One row per dataset: last run, outcome, last success, frequency and freshness."""
    from publisher.state import dataset_status, open_reader

    config = state.load_config()
    store = open_reader(config)
    try:
        rows = dataset_status(config, store)
    finally:
        store.close()
    if as_json:
        echo_json([row.to_dict() for row in rows])
        return
    if not rows:
        click.echo("no datasets configured")
        return
    _print_table(
        f"state: {store.location}",
        ["dataset", "last run", "outcome", "last success", "frequency", "freshness", "note"],
        [[r.dataset, _short(r.last_run_at), r.last_outcome or "-", _short(r.last_success_at),
          r.update_frequency, r.freshness, (r.locked_by and f"locked by {r.locked_by}") or r.last_message or ""]
         for r in rows],
        [{2: OUTCOME_STYLES.get(r.last_outcome or "", "dim"), 5: FRESHNESS_STYLES[r.freshness]} for r in rows],
    )


class _HistoryGroup(click.Group):
    """`history [NAME] [--limit N]` lists; `history prune ...` prunes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_HistoryGroup)
def history() -> None:
    """Run history: `history [NAME] [--limit N] [--json]`, `history prune --older-than 90d`."""


@history.command("list")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Outcomes to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
@click.pass_obj
@handle_errors
def history_list(state: CliState, name: str | None, limit: int, as_json: bool) -> None:
    """Recorded outcomes, newest first (of one dataset when NAME is given)."""
    from publisher.state import open_reader

    config = state.load_config()
    if name:
        config.dataset(name)  # an unknown name is a usage error that lists the configured ones
    store = open_reader(config)
    try:
        rows = store.history(name, limit)
    finally:
        store.close()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no runs recorded yet")
        return
    _print_table(
        "history", ["run", "finished", "trigger", "dataset", "outcome", "stage", "rows", "seconds", "message"],
        [[str(r["run_id"]), _short(r["finished_at"]), r["trigger"] + (" (dry)" if r["dry_run"] else ""),
          r["dataset"], r["outcome"], r["stage"] or "-", str(r["rows"]),
          f"{sum(r['durations'].values()):.1f}", r["message"] or ""] for r in rows],
        [{4: OUTCOME_STYLES.get(r["outcome"], "dim")} for r in rows],
    )


@history.command("prune")
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Delete runs that started longer ago than AGE: 90d, 12w, 36h (or ISO P90D).")
@click.option("--json", "as_json", is_flag=True, help="Print what was deleted as JSON.")
@click.pass_obj
@handle_errors
def history_prune(state: CliState, older_than: str, as_json: bool) -> None:
    """Delete old runs and their outcomes (the per-dataset status is kept)."""
    from publisher.state import open_state, parse_age

    try:
        age = parse_age(older_than)
    except ValueError as e:
        fail(f"--older-than: {e}", EXIT_USAGE)
    store = open_state(state.load_config())
    try:
        result = store.prune(age)
    finally:
        store.close()
    if as_json:
        echo_json(result)
    else:
        click.echo(f"deleted {result['runs']} runs and {result['outcomes']} outcomes started before "
                   f"{result['cutoff']}")


@click.command()
@click.option("--list", "list_only", is_flag=True, help="Print each dataset's next fire time and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON.")
@click.option("--now", "run_now", is_flag=True, help="Also run every dataset once right away.")
@click.option("--stop-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to let running datasets finish after SIGTERM/SIGINT before aborting them.")
@click.option("--workers", type=click.IntRange(min=1, max=32), default=2, show_default=True,
              help="Datasets that may run at the same time.")
@click.option("--misfire-grace", type=click.IntRange(min=1), default=3600, show_default=True,
              help="Seconds late a fire may still start (after a reboot or a long run).")
@click.option("--digest-delay", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Idle seconds before the notification digest of finished runs is sent.")
@click.pass_obj
@handle_errors
def schedule(state: CliState, list_only: bool, as_json: bool, run_now: bool, stop_timeout: float, workers: int,
             misfire_grace: int, digest_delay: float) -> None:
    """Run the scheduler in the foreground (for systemd); SIGHUP reloads the config."""
    from publisher.schedule import JobOptions, SchedulerService, ServiceOptions, next_fire_times

    config = state.load_config()
    if list_only:
        rows = next_fire_times(config, dt.datetime.now(dt.UTC))
        if as_json:
            echo_json(rows)
        else:
            _print_fire_times(rows)
        return
    import logging

    from publisher.logs import setup_logging

    # a foreground service reports what it does: INFO, as JSON lines under systemd/supervisor
    setup_logging(logging.DEBUG if state.debug else logging.INFO)
    options = ServiceOptions(stop_timeout=stop_timeout, workers=workers, digest_delay=digest_delay,
                             jobs=JobOptions(misfire_grace_time=misfire_grace), run_now=run_now)
    service = SchedulerService(state.config_path, config, options=options)
    raise SystemExit(service.serve())


def _print_fire_times(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("no datasets configured")
    width = max((len(r["dataset"]) for r in rows), default=7)
    for row in rows:
        click.echo(f"{row['dataset']:<{width}}  {row['schedule']:<15}  {row['next_fire_time'] or 'never'}")
