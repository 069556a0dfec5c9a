"""Wiring: the runner's dependencies for a config, as the CLI and scheduler use them."""

from __future__ import annotations

from collections.abc import Callable

from publisher.config import Config
from publisher.outcomes import DatasetResult
from publisher.runner import RunDeps


def default_deps(config: Config, *, full_refresh: bool = False, engine: str = "auto",
                 allow_mass_withdrawal: bool = False,
                 on_result: Callable[[DatasetResult], None] | None = None) -> RunDeps:
    """The real state store, portal and privacy screen for ``config``."""
    return RunDeps(
        on_result=on_result,
        full_refresh=full_refresh,
        validation_engine=engine,
    )
