"""Sniffing the delimiter of a delimited text file.

``csv.Sniffer`` is easily fooled by commas inside Spanish text and decimal
commas. Instead each candidate (``,`` ``;`` tab ``|``) is used to parse a
sample with the csv module itself (so quotes and embedded newlines are
honoured) and scored by how consistent the number of cells per record is.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = (",", ";", "\t", "|")
SAMPLE_CHARS = 256 * 1024
SAMPLE_RECORDS = 200


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    line_terminator: str  # "\r\n" or "\n" (as found; reading accepts both)

    def as_descriptor(self) -> dict[str, str]:
        return {"delimiter": self.delimiter, "lineTerminator": self.line_terminator}


def read_sample(path: Path, encoding: str) -> tuple[str, bool]:
    """The first SAMPLE_CHARS characters, and whether that is the whole file."""
    with path.open(encoding=encoding, newline="") as handle:
        text = handle.read(SAMPLE_CHARS)
        complete = handle.read(1) == ""
    return text, complete


def sniff_dialect(sample: str, complete: bool, delimiter: str | None = None) -> Dialect:
    """The dialect of the sample; ``delimiter`` (steward's) wins when given."""
    terminator = "\r\n" if "\r\n" in sample[:SAMPLE_CHARS] else "\n"
    if delimiter is not None:
        return Dialect(delimiter, terminator)
    return Dialect(sniff_delimiter(sample, complete), terminator)


def sniff_delimiter(sample: str, complete: bool) -> str:
    """The candidate giving the most consistent (and widest) records; ``,`` on a tie."""
    best = ","
    best_score: tuple[bool, float, int] = (False, 0.0, 1)
    for candidate in CANDIDATES:
        if candidate not in sample:
            continue
        score = _consistency(sample, complete, candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _consistency(sample: str, complete: bool, delimiter: str) -> tuple[bool, float, int]:
    """(header has the modal width, share of records with it, modal width).

    Decimal commas can make ``,`` look consistent in a ``;`` file; the header
    has no decimal commas, so its width settles it.
    """
    widths = []
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                widths.append(len(record))
            if len(widths) >= SAMPLE_RECORDS:
                break
    except csv.Error:
        return (False, 0.0, 1)
    if not complete and len(widths) > 1 and len(widths) < SAMPLE_RECORDS:
        widths.pop()  # the sample may cut the last record
    if not widths:
        return (False, 0.0, 1)
    width, count = Counter(widths).most_common(1)[0]
    if width < 2:
        return (False, 0.0, 1)
    return (widths[0] == width, round(count / len(widths), 2), width)
