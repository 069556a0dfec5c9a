"""``publisher screen``: the privacy screen's findings for a file or a configured dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from publisher.cli import EXIT_FAILED, EXIT_OK, CliState, echo_json, handle_errors


def register(group: click.Group) -> None:
    group.add_command(screen)


@click.command("screen")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_obj
@handle_errors
def screen(state: CliState, target: str, as_json: bool) -> None:
    """Screen PATH (any table file) or a configured dataset NAME for personal data.

    Prints one line per column with personal data (kind, count, masked samples,
    policy). Exit 1 when anything is unhandled, 0 otherwise. A file is
    screened with no policies; a dataset with the policies in its
    [datasets.privacy] section.
    """
    from publisher.privacy import screen_dataset, screen_file

    path = Path(target)
    if path.is_file():
        report = screen_file(path)
    else:
        config = state.load_config()
        report = screen_dataset(config, config.dataset(target))
    if as_json:
        echo_json(report.to_dict())
    else:
        _render(report.target, report.findings, report.unhandled)
    raise SystemExit(EXIT_FAILED if report.blocked else EXIT_OK)


def _render(target: str, findings: list[dict[str, Any]], unhandled: int) -> None:
    if not findings:
        click.echo(f"{target}: no personal data found")
        return
    for finding in findings:
        policy = finding["policy"]
        colour = "red" if policy == "unhandled" else "green"
        kind = finding["kind"] or "-"
        contains = finding.get("contains")
        detail = f" [{', '.join(f'{k} {v}' for k, v in contains.items())}]" if contains else ""
        samples = ", ".join(finding.get("samples", []))
        reason = f" ({finding['reason']})" if finding.get("reason") else ""
        click.echo(
            f"{finding['resource']}.{finding['column']}: {kind}{detail}, {finding['count']} cells, "
            f"confidence {finding['confidence']:.2f}" + (f", e.g. {samples}" if samples else "") + " -> "
            + click.style(f"{policy}{reason}", fg=colour)
        )
    verdict = f"{unhandled} unhandled: add policies under [datasets.privacy.columns]" if unhandled else "all handled"
    click.echo(f"{target}: {len(findings)} findings, {verdict}")
