"""Scanning a normalised CSV: one tally per column, then one finding per column."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping, Set
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa

from publisher.errors import PrivacyBlocked
from publisher.privacy.decide import decide_table
from publisher.privacy.detectors import ColumnTally, Finding, scan_chunk
from publisher.privacy.reading import iter_batches, read_header

log = logging.getLogger(__name__)
WORKERS = min(4, os.cpu_count() or 1)


def field_types(schema: Mapping[str, Any] | None) -> dict[str, str]:
    """Column name -> Table Schema type (string when unknown)."""
    fields = (schema or {}).get("fields", [])
    return {str(f.get("name")): str(f.get("type", "string")) for f in fields if isinstance(f, Mapping)}


def scan_csv(path: Path, resource: str, schema: Mapping[str, Any] | None = None,
             allowed: Set[str] = frozenset()) -> list[Finding]:
    """The findings for one normalised CSV (masked samples only).

    ``allowed`` names columns the steward allowed: they do not make the table "about people".
    """
    try:
        header = read_header(path)
        try:
            tallies = _tally(path, header, field_types(schema), tolerant=False)
        except pa.ArrowInvalid:
            log.debug("%s: ragged rows; reading it again with the csv module", resource)
            tallies = _tally(path, header, field_types(schema), tolerant=True)
    except (pa.ArrowException, OSError, UnicodeDecodeError, csv.Error) as e:
        # The reader's message may quote a row: only the error's type is reported.
        raise PrivacyBlocked(
            f"resource '{resource}' could not be read to screen it ({type(e).__name__}); it is held back",
            hint="describe should have written a UTF-8 CSV; check the staged file",
        ) from None
    findings = decide_table(tallies, resource, allowed)
    log.debug("screened %s: %d columns, %d findings", resource, len(header), len(findings))
    return findings


def _tally(path: Path, header: list[str], types: Mapping[str, str], *, tolerant: bool) -> list[ColumnTally]:
    """Columns are scanned on a small thread pool: pyarrow's kernels release the GIL."""
    tallies = [ColumnTally(column=name, field_type=types.get(name, "string")) for name in header]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for batch in iter_batches(path, tolerant=tolerant):
            list(pool.map(scan_chunk, tallies, batch.columns))
    return tallies
