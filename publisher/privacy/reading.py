"""Reading a normalised CSV as string columns, in bounded chunks (pyarrow.csv).

A normalised CSV is rectangular; when one is not (a ragged row), the file is
read again with Python's csv module, short rows padded and the cells of long
rows kept in the last column, so that no cell escapes the screen.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

BLOCK_SIZE = 8 << 20  # bytes per chunk: memory stays bounded whatever the file size
FALLBACK_ROWS = 50_000


def read_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


def iter_batches(path: Path, block_size: int = BLOCK_SIZE, *, tolerant: bool = False) -> Iterator[pa.RecordBatch]:
    """Every column as strings (empty cells as ""), one record batch per block.

    pyarrow raises ``pa.ArrowInvalid`` on a ragged row; read again with ``tolerant=True``.
    """
    header = read_header(path)
    if not header:
        return
    names = [f"c{i}" for i in range(len(header))]  # positional: headers may repeat or be blank
    if tolerant:
        yield from _python_batches(path, names)
        return
    yield from pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_size),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _python_batches(path: Path, names: list[str]) -> Iterator[pa.RecordBatch]:
    width = len(names)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)
        while block := list(itertools.islice(rows, FALLBACK_ROWS)):
            fitted = [_fit(row, width) for row in block]
            columns = [pa.array([row[i] for row in fitted], pa.string()) for i in range(width)]
            yield pa.RecordBatch.from_arrays(columns, names=names)


def _fit(row: list[str], width: int) -> list[str]:
    if len(row) > width:
        return [*row[: width - 1], ",".join(row[width - 1:])]
    return row + [""] * (width - len(row))
