"""publisher: harvest a city's datasets, describe and validate them as
Frictionless data packages, screen them for personal data and publish them to
CKAN, idempotently."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
