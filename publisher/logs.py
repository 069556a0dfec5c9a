"""Operator output: rich progress on a terminal, plain or JSON-lines logs otherwise.

    setup_logging(logging.INFO)                  # JSON lines when stderr is not a terminal
    with run_progress(len(datasets)) as on_result:
        runner.run(config, names, deps=RunDeps(..., on_result=on_result))
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

from publisher.outcomes import DatasetResult

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def is_terminal(stream: IO[str]) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def setup_logging(level: int = logging.WARNING, *, json_lines: bool | None = None,
                  stream: IO[str] | None = None) -> logging.Handler:
    """Configure the root logger once: JSON lines when ``json_lines`` (default: not a terminal)."""
    stream = stream or sys.stderr
    use_json = (not is_terminal(stream)) if json_lines is None else json_lines
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter() if use_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


@contextlib.contextmanager
def run_progress(total: int, *, stream: IO[str] | None = None,
                 enabled: bool | None = None) -> Iterator[Callable[[DatasetResult], None]]:
    """A rich progress bar on a terminal (an ``on_result`` callback); a log line per dataset otherwise."""
    stream = stream or sys.stderr
    log = logging.getLogger("publisher.progress")
    if not (is_terminal(stream) if enabled is None else enabled):
        def log_result(result: DatasetResult) -> None:
            log.info("%s: %s", result.dataset, result.outcome, extra={"dataset": result.dataset,
                                                                      "outcome": str(result.outcome)})
        yield log_result
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(file=stream), transient=False) as progress:
        task = progress.add_task("datasets", total=total)

        def advance(result: DatasetResult) -> None:
            progress.update(task, advance=1, description=f"{result.dataset}: {result.outcome}")

        yield advance
