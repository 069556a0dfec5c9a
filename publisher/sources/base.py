"""The contract every source kind implements.

A source kind is a class with ``kind`` (its name in harvest_config.toml), an
``Options`` model (the keys of ``source = {...}``) and ``extract()``, which
writes staging files into a work folder and returns an ``Extraction``. It
knows nothing about describing, validating or publishing.

Heavy drivers (database clients, GIS libraries) are imported inside the
kind's module, lazily, so that ``publisher --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import requests
from pydantic import Field

from publisher.config import Model, SourceOptions

TableFormat = Literal["csv", "tsv", "xlsx", "xls", "ods", "json", "ndjson", "geojson"]
FORMATS: tuple[str, ...] = ("csv", "tsv", "xlsx", "xls", "ods", "json", "ndjson", "geojson")


class ReadOptions(Model):
    """How to read a staged file as a table; every key is optional (detected)."""

    format: TableFormat | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | int | None = None
    header_row: int | None = Field(default=None, ge=1)
    skip_rows: int = Field(default=0, ge=0)
    records_path: str | None = None


@dataclass(frozen=True)
class StagedFile:
    """One file written by a source, to be described as one resource."""

    path: Path
    name: str
    read: ReadOptions = field(default_factory=ReadOptions)
    # Table Schema fields the source knows for sure (database column types);
    # describe uses them instead of inferring.
    schema_hint: dict[str, Any] | None = None
    origin: str = ""  # where it came from, for the package's "sources" (never a secret)
    # Files published beside this table as they are (e.g. an OCDS release package JSON).
    extra_files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Extraction:
    """What ``extract()`` returns."""

    files: tuple[StagedFile, ...] = ()
    # True when the source says nothing changed since the validators in state
    # (HTTP 304); files is then empty and the run outcome is "unchanged".
    not_modified: bool = False
    # Values to remember for the next run (ETag, Last-Modified, cursors). The
    # runner stores them only after a successful publish.
    state: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceContext:
    """What a source may use, injected so tests can pass real local servers."""

    dataset: str
    base_dir: Path
    environ: Mapping[str, str]
    session_factory: Callable[[], requests.Session] = requests.Session
    previous_state: Mapping[str, str] = field(default_factory=dict)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    full_refresh: bool = False
    # datapackages/<name>/ as last written (None the first time): incremental
    # sources merge new rows into its data.
    previous_package_dir: Path | None = None


@runtime_checkable
class Source(Protocol):
    """A kind of source: ``kind``, ``Options`` and ``extract()``."""

    kind: ClassVar[str]
    Options: ClassVar[type[SourceOptions]]

    def __init__(self, options: Any, context: SourceContext) -> None: ...

    def extract(self, workdir: Path) -> Extraction:
        """Write staging files into ``workdir``; raise SourceError on failure."""
        ...

    def describe_origin(self) -> str:
        """A short, secret-free description of where the data comes from."""
        ...
