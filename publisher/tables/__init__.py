"""Reading staged files as tables, inferring types the way a Spanish-language
city writes them, and writing normalised CSV with a Table Schema.

- ``describe_file(staged, out_csv, overrides, *, resource_name=None) -> DescribedTable``
- ``source_descriptor(staged) -> dict``: the Frictionless resource of the file as read
"""

from __future__ import annotations

from publisher.tables.describe import describe_file, slugify, source_descriptor
from publisher.tables.model import DescribedTable

__all__ = ["DescribedTable", "describe_file", "slugify", "source_descriptor"]
