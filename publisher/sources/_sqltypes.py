"""Database column types -> Table Schema fields, and values -> staging CSV text.

Three ways to learn a column's type, best first:

1. the table's reflected SQLAlchemy type (a named table);
2. the driver's cursor description (PostgreSQL type OIDs through psycopg);
3. the Python types of the values seen while streaming (any driver).

Values are written the way Table Schema reads them by default: ISO 8601 dates,
``Z``-suffixed UTC datetimes (time-zone-aware values are converted), ``true`` /
``false``, plain decimal numbers, ``NaN`` / ``INF``, base64 for bytes, JSON text
for JSON and arrays. NULL becomes the empty cell.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Converter = Callable[[Any], Any]


_DATETIME = dt.datetime
_DATE = dt.date
_DECIMAL = Decimal


def _boolean(value: Any) -> Any:
    if value is None:
        return None
    return "true" if value else "false"


def _number(value: Any) -> Any:
    if value.__class__ is _DECIMAL:
        if value.is_finite():
            return format(value, "f")  # str() would give 1E-8
        return "NaN" if value.is_nan() else ("INF" if value > 0 else "-INF")
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return repr(value)
    return value


def _datetime(value: Any) -> Any:
    if value.__class__ is _DATETIME:
        text: str = value.isoformat()
        if text.endswith("+00:00"):
            return text[:-6] + "Z"
        if value.tzinfo is None or value.utcoffset() is None:
            return text
        return value.astimezone(dt.UTC).isoformat()[:-6] + "Z"
    if isinstance(value, str):  # SQLite keeps datetimes as text
        try:
            return _datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _date(value: Any) -> Any:
    if value is None or value.__class__ is _DATE:
        return value  # the csv module writes str(date), which is ISO 8601
    if isinstance(value, str):  # SQLite keeps dates as text
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else _datetime(value)
    return value


def _time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.time) else value


def _json(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return _json_text(value)


def _duration(value: Any) -> Any:
    if not isinstance(value, dt.timedelta):
        return value
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    seconds = value.seconds + value.microseconds / 1_000_000
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"{sign}P{value.days}DT{text}S"


def _json_text(value: Any) -> Any:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _binary(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def any_value(value: Any) -> Any:
    """Staging text for a value of any type (columns whose type is unknown)."""
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    if isinstance(value, bool):
        return _boolean(value)
    if isinstance(value, float | Decimal):
        return _number(value)
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _binary(value)
    if isinstance(value, dict | list | tuple):
        return _json_text(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def _skip_none(convert: Converter) -> Converter:
    def converter(value: Any) -> Any:
        return None if value is None else convert(value)

    return converter


# Table Schema type -> converter of possibly-NULL values; None: the csv module's own str() is right.
# "json" is internal: JSON columns are published as strings holding JSON text.
CONVERTERS: dict[str, Converter | None] = {
    "integer": None, "string": None, "json": _json, "boolean": _boolean, "number": _skip_none(_number),
    "datetime": _skip_none(_datetime), "date": _date, "time": _skip_none(_time),
    "duration": _skip_none(_duration), "array": _skip_none(_json_text),
}


@dataclass
class Column:
    """One result column: its Table Schema type when known, and how to write it."""

    name: str
    type: str | None = None  # None: learn it from the values
    format: str | None = None
    required: bool = False
    seen: set[str] = field(default_factory=set)  # Python type names observed (unknown type only)

    @property
    def converter(self) -> Converter | None:
        if self.type is None:
            return any_value
        if self.type == "string" and self.format == "binary":
            return _skip_none(_binary)
        return CONVERTERS.get(self.type, any_value)

    def field(self) -> dict[str, Any]:
        """The Table Schema field descriptor."""
        ts_type = self.type or _type_from_seen(self.seen)
        descriptor: dict[str, Any] = {"name": self.name, "type": "string" if ts_type == "json" else ts_type}
        if self.format:
            descriptor["format"] = self.format
        if self.required:
            descriptor["constraints"] = {"required": True}
        return descriptor


_SEEN_TYPES = {
    "bool": "boolean", "int": "integer", "float": "number", "Decimal": "number",
    "datetime": "datetime", "date": "date", "time": "time", "timedelta": "duration",
}


def _type_from_seen(seen: set[str]) -> str:
    types = {_SEEN_TYPES.get(name, "string") for name in seen}
    if not types:
        return "string"
    if len(types) == 1:
        return types.pop()
    if types == {"integer", "number"}:
        return "number"
    return "string"


def from_sqlalchemy(sa_type: Any) -> tuple[str | None, str | None]:
    """A reflected SQLAlchemy type -> (Table Schema type, format); (None, None) if unknown."""
    from sqlalchemy import types as t

    checks: list[tuple[type[Any], str, str | None]] = [
        (t.Boolean, "boolean", None), (t.Integer, "integer", None), (t.Numeric, "number", None),
        (t.Float, "number", None),  # SQLAlchemy 2.1: Float is no longer a Numeric
        (t.DateTime, "datetime", None), (t.Date, "date", None), (t.Time, "time", None),
        (t.Interval, "duration", None), (t.ARRAY, "array", None), (t.JSON, "json", None),
        (t.LargeBinary, "string", "binary"), (t.Uuid, "string", "uuid"), (t.String, "string", None),
        (t.Enum, "string", None),
    ]
    for sa_class, ts_type, ts_format in checks:
        if isinstance(sa_type, sa_class):
            return ts_type, ts_format
    if isinstance(sa_type, t.NullType):
        return None, None
    return "string", None


_PG_TYPES: dict[str, tuple[str, str | None]] = {
    "int2": ("integer", None), "int4": ("integer", None), "int8": ("integer", None),
    "oid": ("integer", None), "numeric": ("number", None), "float4": ("number", None),
    "float8": ("number", None), "bool": ("boolean", None), "date": ("date", None),
    "timestamp": ("datetime", None), "timestamptz": ("datetime", None), "time": ("time", None),
    "timetz": ("time", None), "interval": ("duration", None), "json": ("json", None),
    "jsonb": ("json", None), "uuid": ("string", "uuid"), "bytea": ("string", "binary"),
}


def from_postgres_oid(oid: Any) -> tuple[str | None, str | None]:
    """A psycopg cursor-description type code -> (Table Schema type, format)."""
    try:
        from psycopg.postgres import types as pg_types
    except ImportError:  # another driver: learn from the values
        return None, None
    info = pg_types.get(oid) if isinstance(oid, int) else None
    if info is None:
        return None, None
    if oid == info.array_oid:
        return "array", None
    return _PG_TYPES.get(info.name, ("string", None))

