"""Wiring: the runner's dependencies for a config, as the CLI and the scheduler use them."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from publisher.config import Config
from publisher.outcomes import DatasetResult
from publisher.runner import RunDeps, StateStore


def default_deps(config: Config, *, state: StateStore | None = None, environ: Mapping[str, str] | None = None,
                 full_refresh: bool = False, engine: str = "auto", allow_mass_withdrawal: bool = False,
                 on_result: Callable[[DatasetResult], None] | None = None, **extra: Any) -> RunDeps:
    """The real state store, privacy screen and (when [portal] is set) CKAN portal for ``config``."""
    from publisher.portal import from_config
    from publisher.privacy import screen_tables
    from publisher.state import open_state

    env = os.environ if environ is None else environ
    return RunDeps(
        state=state if state is not None else open_state(config),
        portal=from_config(config, env),
        screen=functools.partial(screen_tables, environ=env),
        environ=env,
        on_result=on_result,
        full_refresh=full_refresh,
        validation_engine=engine,
        allow_mass_withdrawal=allow_mass_withdrawal,
        **extra,
    )
