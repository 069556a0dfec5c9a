"""What the file and http kinds share: the read keys of ``source = {...}``,
formats told from names and media types, and resource names.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import Field, field_validator

from publisher.sources.base import FORMATS, ReadOptions

# file extension -> table format
EXTENSION_FORMATS: dict[str, str] = {
    "csv": "csv", "txt": "csv", "tsv": "tsv", "tab": "tsv",
    "xlsx": "xlsx", "xlsm": "xlsx", "xls": "xls", "ods": "ods",
    "json": "json", "ndjson": "ndjson", "jsonl": "ndjson", "geojson": "geojson",
}
# what a steward may write in ``format`` besides the canonical names
FORMAT_ALIASES: dict[str, str] = {"txt": "csv", "jsonl": "ndjson", "tab": "tsv", "xlsm": "xlsx"}

# media type (Content-Type without parameters) -> table format
MEDIA_TYPE_FORMATS: dict[str, str] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/comma-separated-values": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "text/json": "json",
    "application/geo+json": "geojson",
    "application/vnd.geo+json": "geojson",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}

KNOWN_FORMATS_TEXT = ", ".join(FORMATS)
RESOURCE_NAME_RE = r"^[a-z0-9][a-z0-9._-]*$"

ResourceName = Annotated[str, Field(pattern=RESOURCE_NAME_RE, max_length=100)]


class ReadKeys(ReadOptions):
    """The ``ReadOptions`` keys, accepted directly in ``source = {...}``."""

    @field_validator("format", mode="before")
    @classmethod
    def _format_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return FORMAT_ALIASES.get(lowered, lowered)
        return value

    def read_options(self, table_format: str) -> ReadOptions:
        """The ``ReadOptions`` for one staged file, with its format decided."""
        keys = self.model_dump(include=set(ReadOptions.model_fields))
        keys["format"] = table_format
        return ReadOptions.model_validate(keys)


def format_from_name(name: str) -> str | None:
    """``datos.CSV`` -> ``csv``; None when the extension says nothing known."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    return EXTENSION_FORMATS.get(suffix)


def format_from_media_type(content_type: str | None) -> str | None:
    """``text/csv; charset=utf-8`` -> ``csv``; None for octet-stream and the like."""
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    return MEDIA_TYPE_FORMATS.get(media_type)


def slug(text: str) -> str:
    """``Cálculo de Recursos`` -> ``calculo-de-recursos``: lowercase ASCII ``[a-z0-9._-]``, maybe empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9._-]+", "-", ascii_text.lower()).strip("-._")


def resource_name(text: str, fallback: str) -> str:
    """A Frictionless resource name from a file stem: ``Presupuesto 2024`` -> ``presupuesto-2024``."""
    return slug(text)[:100] or fallback


def unique_names(names: list[str]) -> list[str]:
    """``[datos, datos, x]`` -> ``[datos, datos-2, x]``: two files never share a resource name."""
    used: set[str] = set()
    result: list[str] = []
    for name in names:
        candidate, number = name, 1
        while candidate in used:
            number += 1
            candidate = f"{name}-{number}"
        used.add(candidate)
        result.append(candidate)
    return result
