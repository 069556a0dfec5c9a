"""Read OCDS JSON: packages, bare releases and records, JSON Lines, concatenated.

``read_documents(path)`` yields ``Document``s; each has a ``kind``, the
package ``metadata`` (every top-level field but ``releases`` / ``records``)
and a lazy ``items()`` iterator of (path, release-or-record) that must be
consumed before the next document is asked for.

Small files are parsed whole with orjson. Large files are streamed: a JSON
Lines file line by line; a single large package in two passes with ijson
(the first collects the metadata, which may come after the releases, the
second builds one release at a time), so memory does not grow with the
number of releases. Input must already be UTF-8 (see ``decoding``).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ijson
import orjson

from publisher.ocds.findings import Finding

Kind = Literal["release_package", "record_package", "release", "record", "unknown"]
ItemPath = tuple[str | int, ...]
STREAM_THRESHOLD_BYTES = 32 * 1024 * 1024
_ARRAY_KEYS = ("releases", "records")


class JsonInvalid(Exception):
    """The input is not JSON (or not a stream of JSON documents)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def finding(self, label: str) -> Finding:
        return Finding("json_invalid", "error", label, self.message)


@dataclass
class Document:
    """One top-level JSON document (or one element of a top-level array)."""

    index: int
    prefix: str  # JSON path prefix of this document: "$", "$[3]" (array element or stream position)
    kind: Kind
    metadata: dict[str, Any] = field(default_factory=dict)
    item_count: int = 0
    _items: Iterator[tuple[ItemPath, Any]] = field(default_factory=lambda: iter(()))

    def items(self) -> Iterator[tuple[ItemPath, Any]]:
        """(path within the document, release or record) pairs, once."""
        return self._items

    def peek(self) -> Any:
        """The first item, left in place for ``items()`` (None when there is none)."""
        first = next(self._items, None)
        if first is None:
            return None
        self._items = itertools.chain([first], self._items)
        return first[1]


def classify(keys: set[str] | dict[str, Any]) -> Kind:
    """Which OCDS shape a top-level object has, from its keys (as ocdskit does)."""
    if "records" in keys:
        return "record_package"
    if "releases" in keys:
        return "record" if "ocid" in keys else "release_package"
    if {"ocid", "date", "tag", "id"} & set(keys):
        return "release"
    return "unknown"


def read_documents(path: Path) -> Iterator[Document]:
    """Every document in ``path`` (UTF-8); raises JsonInvalid when it is not JSON."""
    if path.stat().st_size <= STREAM_THRESHOLD_BYTES:
        yield from _small(path.read_bytes())
        return
    first = _first_byte(path)
    if first == b"[":
        yield from _stream_array(path)
    elif _looks_like_json_lines(path):
        yield from _stream_lines(path)
    else:
        yield from _stream_objects(path)


# --- small files -----------------------------------------------------------------

def _small(data: bytes) -> Iterator[Document]:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as whole_error:
        values = _several(data, whole_error)
        for index, value in enumerate(values):
            yield _document_from_value(value, index, f"$[{index}]")
        return
    if isinstance(parsed, list):
        for index, value in enumerate(parsed):
            yield _document_from_value(value, index, f"$[{index}]")
    else:
        yield _document_from_value(parsed, 0, "$")


def _several(data: bytes, whole_error: orjson.JSONDecodeError) -> list[Any]:
    """JSON Lines or concatenated JSON; the first error when it is neither."""
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) > 1:
        try:
            return [orjson.loads(line) for line in lines]
        except orjson.JSONDecodeError:
            pass
    try:
        values = list(ijson.items(io.BytesIO(data), "", multiple_values=True, use_float=True))
    except ijson.JSONError:
        values = []
    if len(values) > 1:
        return values
    raise JsonInvalid(f"not valid JSON: {whole_error.msg} at line {whole_error.lineno}, "
                      f"column {whole_error.colno} (byte {whole_error.pos})")


def _document_from_value(value: Any, index: int, prefix: str) -> Document:
    if not isinstance(value, dict):
        return Document(index=index, prefix=prefix, kind="unknown")
    kind = classify(value)
    if kind in ("release", "record"):
        return Document(index=index, prefix=prefix, kind=kind, item_count=1, _items=iter([((), value)]))
    if kind == "unknown":
        return Document(index=index, prefix=prefix, kind=kind)
    key = "records" if kind == "record_package" else "releases"
    array = value.get(key)
    metadata = {k: v for k, v in value.items() if k != key}
    array_ok = isinstance(array, list)
    if not array_ok:
        metadata[key] = array  # the shell validation reports it
    items = (((key, i), item) for i, item in enumerate(array)) if isinstance(array, list) else iter(())
    return Document(index=index, prefix=prefix, kind=kind, metadata=metadata,
                    item_count=len(array) if isinstance(array, list) else 0, _items=items)


# --- large files -----------------------------------------------------------------

def _first_byte(path: Path) -> bytes:
    with path.open("rb") as stream:
        while chunk := stream.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]
    return b""


def _looks_like_json_lines(path: Path) -> bool:
    with path.open("rb") as stream:
        first = stream.readline(STREAM_THRESHOLD_BYTES)
        rest = stream.read(1)
    if not rest:
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def _stream_lines(path: Path) -> Iterator[Document]:
    with path.open("rb") as stream:
        index = 0
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                raise JsonInvalid(f"line {number} is not valid JSON: {e.msg} at column {e.colno}") from None
            yield _document_from_value(value, index, f"$[{index}]")
            index += 1


def _stream_array(path: Path) -> Iterator[Document]:
    with path.open("rb") as stream:
        try:
            for index, value in enumerate(ijson.items(stream, "item", use_float=True)):
                yield _document_from_value(value, index, f"$[{index}]")
        except ijson.JSONError as e:
            raise JsonInvalid(_ijson_message(e)) from None


def _stream_objects(path: Path) -> Iterator[Document]:
    package = _package_outline(path)
    if package is None:  # not one large package: several documents, or an odd shape
        yield from _stream_documents(path)
        return
    kind, key, metadata = package
    yield Document(index=0, prefix="$", kind=kind, metadata=metadata, item_count=-1,
                   _items=_stream_items(path, key))


def _stream_documents(path: Path) -> Iterator[Document]:
    scanned = _scan(path)
    if len(scanned) == 1 and classify(scanned[0][0]) in ("release_package", "record_package"):
        keys, metadata = scanned[0]
        key = "records" if "records" in keys else "releases"
        yield Document(index=0, prefix="$", kind=classify(keys), metadata=metadata, item_count=-1,
                       _items=_stream_items(path, key))
        return
    with path.open("rb") as stream:
        try:
            for index, value in enumerate(ijson.items(stream, "", multiple_values=True, use_float=True)):
                yield _document_from_value(value, index, f"$[{index}]")
        except ijson.JSONError as e:
            raise JsonInvalid(_ijson_message(e)) from None


def _package_outline(path: Path) -> tuple[Kind, str, dict[str, Any]] | None:
    """Kind, array key and metadata of one large package, without parsing its releases twice.

    The metadata before the array is read event by event until the array starts; the metadata
    after it (rare) is parsed from the end of the file. None when this shortcut cannot tell.
    """
    head = _metadata_before_array(path)
    if head is None:
        return None
    key, metadata = head
    tail = _metadata_after_array(path)
    if tail is None:
        return None
    metadata.update(tail)
    kind = classify({*metadata, key})
    if kind not in ("release_package", "record_package"):
        return None
    return kind, key, metadata


def _metadata_before_array(path: Path) -> tuple[str, dict[str, Any]] | None:
    metadata: dict[str, Any] = {}
    builder: Any = None
    key = ""
    with path.open("rb") as stream:
        try:
            for prefix, event, value in ijson.parse(stream, use_float=True):
                if prefix == "" and event == "start_map":
                    continue
                if prefix:
                    if prefix in _ARRAY_KEYS and event == "start_array" and builder is None:
                        return prefix, metadata
                    if builder is not None:
                        builder.event(event, value)
                    continue
                if builder is not None:
                    metadata[key], builder = builder.value, None
                if event != "map_key":
                    return None  # the document ended (or is not an object) before any array
                key = str(value)
                if key not in _ARRAY_KEYS:
                    builder = ijson.ObjectBuilder()
        except ijson.JSONError:
            return None
    return None


_TAIL_BYTES = 256 * 1024
_TAIL_START_RE = re.compile(rb"\]\s*,\s*\"")
_TAIL_END_RE = re.compile(rb"\]\s*\}\s*$")


def _metadata_after_array(path: Path) -> dict[str, Any] | None:
    """The top-level fields after the big array: {} when it closes the document, None when unsure."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        stream.seek(max(0, size - _TAIL_BYTES))
        tail = stream.read()
    for match in _TAIL_START_RE.finditer(tail):
        candidate = b"{" + tail[match.end() - 1:]
        try:
            fields = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue  # inside the last release: the rest does not close as one object
        if isinstance(fields, dict) and not set(fields) & set(_ARRAY_KEYS):
            return fields
    return {} if _TAIL_END_RE.search(tail) else None


def _stream_items(path: Path, key: str) -> Iterator[tuple[ItemPath, Any]]:
    count = 0
    with path.open("rb") as stream:
        try:
            for item in ijson.items(stream, f"{key}.item", use_float=True):
                yield (key, count), item
                count += 1
        except ijson.JSONError as e:
            raise JsonInvalid(f"{_ijson_message(e)} (after {count} {key}; several large packages in one "
                              "file must be JSON Lines, one package per line)") from None


def _scan(path: Path) -> list[tuple[set[str], dict[str, Any]]]:
    """Each top-level object's keys and its metadata (all but the release/record arrays)."""
    documents: list[tuple[set[str], dict[str, Any]]] = []
    keys: set[str] = set()
    metadata: dict[str, Any] = {}
    builder: Any = None
    key = ""
    with path.open("rb") as stream:
        try:
            for prefix, event, value in ijson.parse(stream, multiple_values=True, use_float=True):
                if prefix:
                    if builder is not None:
                        builder.event(event, value)
                    continue
                if builder is not None:
                    metadata[key] = builder.value
                    builder = None
                if event == "start_map":
                    keys, metadata = set(), {}
                elif event == "map_key":
                    key = str(value)
                    keys.add(key)
                    if key not in _ARRAY_KEYS:
                        builder = ijson.ObjectBuilder()
                elif event == "end_map":
                    documents.append((keys, metadata))
                else:  # a top-level array or scalar: not an OCDS document
                    documents.append((set(), {}))
        except ijson.JSONError as e:
            raise JsonInvalid(_ijson_message(e)) from None
    return documents


def _ijson_message(error: Exception) -> str:
    # yajl's message quotes the input around the error: keep only its first words
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"not valid JSON: {text[:80]}"


def next_link(path: Path, scratch_dir: Path, encoding: str | None = None) -> str | None:
    """The ``links.next`` URL of a package page (None when absent or when the page is not JSON)."""
    from publisher.ocds.decoding import to_utf8

    decoded = to_utf8(path, scratch_dir, label=path.name, encoding=encoding).path
    try:
        with decoded.open("rb") as stream:
            found = next(iter(ijson.items(stream, "links.next", use_float=True)), None)
    except ijson.JSONError:
        return None
    return found if isinstance(found, str) and found else None
