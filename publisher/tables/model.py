"""The result of describing one staged file: a normalised table and its schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DescribedTable:
    """A staged file read, typed and rewritten as normalised CSV.

    The normalised CSV is UTF-8 (no BOM), comma-delimited, ``\\n`` line ends,
    minimal quoting, ISO 8601 dates/datetimes, ``.`` as the decimal mark and
    no thousands separators. ``schema`` is the final Table Schema (steward
    overrides applied) and describes the normalised CSV.
    """

    name: str  # resource name: lowercase, [a-z0-9._-]
    path: Path  # the normalised CSV
    schema: dict[str, Any]  # Table Schema descriptor
    row_count: int
    bytes: int
    sha256: str  # of the normalised CSV's bytes
    source_format: str  # csv, tsv, xlsx, xls, ods, json, ndjson, geojson
    source_encoding: str | None = None  # as detected in the staged file (None for binary formats)
    source_dialect: dict[str, Any] = field(default_factory=dict)  # e.g. {"delimiter": ";"}
    origin: str = ""  # where the staged file came from (no secrets)
    title: str | None = None
    description: str | None = None
    notes: tuple[str, ...] = ()  # what normalisation did: "dropped 30 blank rows"
    extra_files: tuple[Path, ...] = ()  # files published beside the CSV (e.g. the GeoJSON itself)
