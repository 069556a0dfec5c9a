"""Open Contracting Data Standard (OCDS): read, validate, compile, flatten.

    from publisher import ocds

    report = ocds.check_path(Path("compras.json"), schema_dir=Path("schemas/ocds-1.1.5"))
    result = ocds.process([ocds.InputFile(path, "compras.json")], out_dir, settings)
    extras = ocds.package_metadata(result.report)

Modules: ``decoding`` (bytes -> UTF-8, never garbled), ``reading`` (packages,
releases, records, JSON Lines, concatenated), ``schemas`` (schema folder,
cache, download, extensions), ``validators`` (fast + detailed JSON Schema),
``checks`` (what the schema cannot say), ``spool`` (releases on disk),
``outputs`` (compile with ocdsmerge, write packages), ``flatten`` (CSV tables
with Table Schemas), ``persons`` (natural-person parties), ``metadata``
(CKAN extras).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from publisher.ocds.findings import Finding
from publisher.ocds.flatten import FlatTable
from publisher.ocds.metadata import package_metadata, package_metadata_from_file
from publisher.ocds.pipeline import (
    RECORD_PACKAGE_FILE,
    RELEASE_PACKAGE_FILE,
    REPORT_FILE,
    InputFile,
    OcdsResult,
    ProcessOptions,
    process,
)
from publisher.ocds.report import OcdsReport
from publisher.ocds.schemas import SCHEMA_DIR_ENV, SchemaSettings

__all__ = [
    "RECORD_PACKAGE_FILE", "RELEASE_PACKAGE_FILE", "REPORT_FILE", "SCHEMA_DIR_ENV",
    "Finding", "FlatTable", "InputFile", "OcdsReport", "OcdsResult", "ProcessOptions", "SchemaSettings",
    "check_path", "package_metadata", "package_metadata_from_file", "process",
]


def check_path(path: Path, *, schema_dir: Path | None = None, environ: Mapping[str, str] | None = None,
               cache_dir: Path | None = None, fetch_extensions: bool = True,
               encoding: str | None = None) -> OcdsReport:
    """Read and validate one OCDS file (no compiling); the report says whether it is valid."""
    import os

    settings = SchemaSettings.from_environment(
        os.environ if environ is None else environ, schema_dir=schema_dir, cache_dir=cache_dir,
        fetch_extensions=fetch_extensions,
    )
    with tempfile.TemporaryDirectory(prefix="publisher-ocds-") as tmp:
        result = process([InputFile(path=path, label=path.name)], Path(tmp), settings,
                         ProcessOptions(compile=False, encoding=encoding))
    return result.report
