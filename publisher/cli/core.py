"""Core commands: describe, validate, list, run, config check."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Placeholder: the core commands land next."""
