"""The ``publisher`` command: a thin click layer over the library.

Every command parses options, calls one library function, renders the result
and picks the exit code. Errors print as one red line (tracebacks only with
``--debug``).

Exit codes: 0 success; 1 a dataset failed, was blocked, or data is invalid;
2 usage or configuration error; 3 an unexpected internal error.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from publisher import __version__
from publisher.config import Config
from publisher.errors import ConfigError, PublisherError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

# Modules that add commands to the group; each defines `register(group)`.
COMMAND_MODULES = (
    "publisher.cli.core",
    "publisher.cli.ops",
    "publisher.cli.portal",
    "publisher.cli.privacy",
    "publisher.cli.ocds",
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    config_path: Path | None
    verbose: bool
    debug: bool

    def load_config(self) -> Config:
        from publisher.config import load_config

        return load_config(self.config_path)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = EXIT_FAILED) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    raise SystemExit(code)


def handle_errors(func: F) -> F:
    """Turn a PublisherError into one red line and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = click.get_current_context().find_object(CliState)
        try:
            return func(*args, **kwargs)
        except ConfigError as e:
            if state and state.debug:
                raise
            for problem in e.problems:
                click.secho(f"error: {problem}", fg="red", err=True)
            if e.hint:
                click.echo(f"hint: {e.hint}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        except PublisherError as e:
            if state and state.debug:
                raise
            fail(e.one_line(), EXIT_FAILED)

    return wrapper  # type: ignore[return-value]


class MaskSecrets(logging.Filter):
    """Mask credentials and secret query values in every log line (urllib3 logs URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from publisher.sources._download import mask_urls_in

        record.msg = mask_urls_in(record.getMessage())
        record.args = None
        return True


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="publisher")
@click.option("--config", "config_path", type=click.Path(path_type=Path), envvar="PUBLISHER_CONFIG",
              default=None, help="harvest_config.toml to use (env PUBLISHER_CONFIG; default ./harvest_config.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: bool, debug: bool) -> None:
    """Harvest a city's datasets, describe and validate them as Frictionless
    data packages, screen them for personal data and publish them to CKAN.

    Start with `publisher config check`, then `publisher run`.
    """
    from publisher.logs import setup_logging

    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    # Plain lines on a terminal, JSON lines otherwise (cron, systemd); credentials masked in both.
    setup_logging(level).addFilter(MaskSecrets())
    ctx.obj = CliState(config_path=config_path, verbose=verbose, debug=debug)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(cli)


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.secho("interrupted", fg="yellow", err=True)
        raise SystemExit(130) from None
    except Exception as e:
        if debug:
            raise
        click.secho(f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)",
                    fg="red", err=True)
        raise SystemExit(EXIT_INTERNAL) from None
