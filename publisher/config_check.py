"""`publisher config check`: every problem in a config file, as data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from publisher.config import Config, EnvRef, default_config_path, load_config
from publisher.errors import ConfigError


def check_config(path: Path | None = None) -> dict[str, Any]:
    """``{"valid", "path", "datasets", "errors", "warnings"}`` for a config file.

    Errors make the file unusable. Warnings name environment variables that
    the file references but this environment does not set (the nightly
    machine may set them; the values are never read into the result).
    """
    config_path = path or default_config_path()
    try:
        config = load_config(config_path)
    except ConfigError as e:
        return {"valid": False, "path": str(config_path), "datasets": 0, "errors": e.problems, "warnings": []}
    return {
        "valid": True,
        "path": str(config_path),
        "datasets": len(config.datasets),
        "errors": [],
        "warnings": [
            f"{config_path.name}: {key}: environment variable {name} is not set"
            for key, name in _env_references(config) if name not in os.environ
        ],
    }


def _env_references(config: Config) -> list[tuple[str, str]]:
    """(key path, variable name) for every { env = ... } in the config."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, EnvRef):
            found.append((key, value.env))
        elif hasattr(value, "model_fields"):
            for name in type(value).model_fields:
                walk(getattr(value, name), f"{key}.{name}" if key else name)
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{key}.{name}")
        elif isinstance(value, tuple | list):
            for index, item in enumerate(value):
                walk(item, f"{key}[{index}]")

    if config.portal is not None:
        walk(config.portal, "portal")
    for index, dataset in enumerate(config.datasets):
        walk(dataset, f"datasets[{index}]")
    return found
