"""Reading staged files as tables, inferring types the way a Spanish-language
city writes them, and writing normalised CSV with a Table Schema."""

from __future__ import annotations

from publisher.tables.model import DescribedTable

__all__ = ["DescribedTable", "describe_file"]


def describe_file(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Placeholder until publisher.tables.describe lands (see its module)."""
    from publisher.tables.describe import describe_file as implementation

    return implementation(*args, **kwargs)
