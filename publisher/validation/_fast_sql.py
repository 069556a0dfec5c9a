"""SQL for the fast engine: one "certainly valid" predicate and one key per field.

The fast engine never decides that a cell is *invalid* in SQL. For every field
it builds a predicate that is true only when frictionless would certainly
accept the cell and every constraint holds (canonical spellings: ``-12``,
``3.50``, ``2024-01-31``, ``true``...). Rows where any predicate is false are
"flagged" and re-read in Python with frictionless's own cell readers, so the
errors of a flagged row are exactly frictionless's. A field whose type, format
or constraint has no exact SQL form gets the predicate "the cell is a missing
value", which sends its cells to Python: slower, never wrong.

Keys (for ``unique`` and ``primaryKey``) are the typed value of a certainly
valid cell, in a SQL type whose equality is the equality of the Python value
frictionless compares (``01`` == ``1`` for integers, ``1.0`` == ``1`` for
numbers).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from frictionless import Field

INTEGER_RE = r"-?[0-9]{1,18}"
NUMBER_RE = r"-?[0-9]{1,20}(\.[0-9]{1,18})?"
DATETIME_KEY = "%Y-%m-%dT%H:%M:%S.%f"
SHORT_NUMBER = 16  # at most 15 digits: DOUBLE keeps their order and equality
DATE_RE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
TIME_RE = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
TZ_RE = r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?"
EMAIL_RE = r"[a-z0-9]+([._+-][a-z0-9]+)*@[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*\.[a-z]{2,12}"
EMAIL_MAX = 64  # shorter than every length limit of the validators package
UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
URI_RE = r"[A-Za-z][A-Za-z0-9+.-]*:[!-~]*"
# longitude within [-180, 180] and latitude within [-90, 90], at most 15 digits each
LON_RE = r"-?((1[0-7][0-9]|[0-9]{1,2})(\.[0-9]{1,12})?|180(\.0{1,12})?)"
LAT_RE = r"-?([0-8]?[0-9](\.[0-9]{1,13})?|90(\.0{1,13})?)"
GEOPOINT_RE = LON_RE + r", ?" + LAT_RE

# strptime directives with a fixed-width, always-parseable spelling.
_DIRECTIVES = {
    "%Y": "[0-9]{4}",
    "%m": "(0[1-9]|1[0-2])",
    "%d": "(0[1-9]|[12][0-9]|3[01])",
    "%H": "([01][0-9]|2[0-3])",
    "%M": "[0-5][0-9]",
    "%S": "[0-5][0-9]",
}
_VALUE_CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_SQL_OPERATORS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


class Unsupported(Exception):
    """This field (type, format or constraint) has no exact SQL form."""


@dataclass(frozen=True)
class FieldSql:
    """The SQL of one field over column ``column`` (VARCHAR, NULL = cell absent)."""

    certain: str  # true only if frictionless certainly accepts the cell
    blank: str  # true if frictionless reads the cell as None without a type error
    key: str  # typed value of a certainly valid, non-missing cell (else NULL)
    key_type: str  # SQL type of ``key``; late keys are CAST to it


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def field_sql(field: Field, column: str, missing_values: list[str], *, keyed: bool) -> FieldSql:
    """The predicate and key of one field; the cell-is-missing predicate when unsupported."""
    absent = _in_list(column, missing_values)
    blank = f"({column} IS NULL OR {absent})"
    required = bool(field.constraints.get("required"))
    try:
        ok, key, key_type = _typed(field, column, keyed=keyed)
    except Unsupported:
        ok, key, key_type = "false", "NULL", "VARCHAR"
    missing_ok = "false" if required else "true"
    certain = f"({column} IS NOT NULL AND CASE WHEN {absent} THEN {missing_ok} ELSE coalesce({ok}, false) END)"
    key_expr = f"CASE WHEN {column} IS NULL OR {absent} THEN NULL ELSE {key} END"
    return FieldSql(certain=certain, blank=blank, key=key_expr, key_type=key_type)


def _in_list(column: str, values: list[str]) -> str:
    if not values:
        return "false"
    return f"{column} IN ({', '.join(quote(v) for v in values)})"


def _typed(field: Field, c: str, *, keyed: bool) -> tuple[str, str, str]:
    """(certain-valid predicate for a present non-missing cell, key, key type)."""
    builders = {
        "integer": _integer,
        "number": _number,
        "boolean": _boolean,
        "date": _date,
        "datetime": _datetime,
        "time": _time,
        "year": _year,
        "string": _string,
        "geopoint": _geopoint,
        "any": _any,
    }
    builder = builders.get(field.type)
    if builder is None:
        raise Unsupported(field.type)
    return builder(field, c, keyed)


def _full(c: str, pattern: str) -> str:
    return f"regexp_full_match({c}, {quote(pattern)})"


def _bounds(field: Field, value: str, literal: Any) -> list[str]:
    """min/max/exclusive and enum as SQL, constraint values read as frictionless does."""
    reader = field.create_value_reader()
    parts: list[str] = []
    for name in _VALUE_CONSTRAINTS:
        if field.constraints.get(name) is not None:
            bound = reader(field.constraints[name])
            if bound is None:
                raise Unsupported(f"{name} not readable")
            parts.append(f"{value} {_SQL_OPERATORS[name]} {literal(bound)}")
    if field.constraints.get("enum") is not None:
        values = [v for v in map(reader, field.constraints["enum"]) if v is not None]
        parts.append(f"{value} IN ({', '.join(literal(v) for v in values)})" if values else "false")
    return parts


def _and(parts: list[str]) -> str:
    return "(" + " AND ".join(parts) + ")" if parts else "true"


def _integer(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    value = f"TRY_CAST({c} AS BIGINT)"
    parts = [_full(c, INTEGER_RE), *_bounds(field, value, _int_literal)]
    return _and(parts), value, "BIGINT"


def _int_literal(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
        raise Unsupported("integer bound")
    return str(value)


def _number(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    if getattr(field, "float_number", False):
        raise Unsupported("floatNumber")
    processed = c
    guard = "true"
    defined = set(field.list_defined())
    if defined & {"group_char", "decimal_char", "bare_number"}:
        group, decimal = field.group_char, field.decimal_char  # type: ignore[attr-defined]
        if group:
            processed = f"replace({processed}, {quote(group)}, '')"
        if decimal != ".":
            guard = f"NOT contains({processed}, '.')"
            processed = f"replace({processed}, {quote(decimal)}, '.')"
    short = f"length({processed}) <= {SHORT_NUMBER}"
    double = f"TRY_CAST({processed} AS DOUBLE)"
    exact = f"TRY_CAST({processed} AS DECIMAL(38,18))"
    bounds = _bounds(field, "v", _decimal_literal)
    parts = [guard, _full(processed, NUMBER_RE)]
    if keyed:
        parts.append(short)
    if bounds:
        # DOUBLE is exact for short spellings and much faster than DECIMAL(38,18)
        checks = " AND ".join(bounds)
        parts.append(
            f"CASE WHEN {short} THEN {checks.replace('v ', double + ' ')} ELSE {checks.replace('v ', exact + ' ')} END"
        )
    return _and(parts), double, "DOUBLE"


def _decimal_literal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise Unsupported("number bound")
    text = format(Decimal(value), "f")
    if not re.fullmatch(NUMBER_RE, text) or len(text) > SHORT_NUMBER:
        raise Unsupported("number bound precision")
    return text


def _boolean(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    trues = list(field.true_values)  # type: ignore[attr-defined]
    falses = list(field.false_values)  # type: ignore[attr-defined]
    value = f"(NOT {_in_list(c, falses)})"
    ok = f"({_in_list(c, trues)} OR {_in_list(c, falses)})"
    parts = [ok, *_bounds(field, value, lambda v: "true" if v else "false")]
    return _and(parts), value, "BOOLEAN"


def _strptime_pattern(fmt: str) -> str:
    """A regex every match of which Python's strptime(fmt) parses; Unsupported otherwise."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            directive = fmt[i : i + 2]
            if directive not in _DIRECTIVES:
                raise Unsupported(f"format directive {directive}")
            out.append(_DIRECTIVES[directive])
            i += 2
            continue
        if fmt[i].isspace() or fmt[i].isalpha():
            raise Unsupported("format literal")
        out.append(re.escape(fmt[i]))
        i += 1
    return "".join(out)


def _temporal(field: Field, c: str, iso_re: str, sql_type: str, literal: Any) -> tuple[str, str, str]:
    if field.format in ("default", "any"):
        pattern, value = iso_re, f"TRY_CAST({c} AS {sql_type})"
    else:
        pattern = _strptime_pattern(field.format)
        value = f"TRY_CAST(TRY_STRPTIME({c}, {quote(field.format)}) AS {sql_type})"
    parts = [_full(c, pattern), f"{value} IS NOT NULL", *_bounds(field, value, literal)]
    if sql_type != "TIME":
        parts.append(f"year({value}) >= 1")  # Python has no year 0
    return _and(parts), value, sql_type


def _date(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    if field.format not in ("default", "any") and ("%H" in field.format or "%M" in field.format):
        raise Unsupported("date format with a time")
    return _temporal(field, c, DATE_RE, "DATE", lambda v: f"DATE {quote(_iso(v, dt.date))}")


def _datetime(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    if field.format not in ("default", "any"):
        ok, value, _ = _temporal(field, c, "", "TIMESTAMP", _ts_literal)
        return ok, f"strftime({value}, '{DATETIME_KEY}')", "VARCHAR"
    has_values = keyed or any(field.constraints.get(n) is not None for n in (*_VALUE_CONSTRAINTS, "enum"))
    if has_values:  # naive spellings only: their SQL value is frictionless's value
        ok, value, _ = _temporal(field, c, DATE_RE + "T" + TIME_RE, "TIMESTAMP", _ts_literal)
        # a text key, so that timezone-aware values read in Python can take part too
        return ok, f"strftime({value}, '{DATETIME_KEY}')", "VARCHAR"
    # Unkeyed and unconstrained: only validity matters; the time part is fully
    # checked by the pattern, the date part by a DATE cast.
    ok = _and([_full(c, DATE_RE + "T" + TIME_RE + TZ_RE), f"year(TRY_CAST(substr({c}, 1, 10) AS DATE)) >= 1"])
    return ok, "NULL", "TIMESTAMP"


def _ts_literal(value: Any) -> str:
    return f"TIMESTAMP {quote(_iso(value, dt.datetime))}"


def _time(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    if field.format not in ("default", "any"):
        raise Unsupported("custom time format")
    return _temporal(field, c, TIME_RE, "TIME", lambda v: f"TIME {quote(_iso(v, dt.time))}")


def _iso(value: Any, kind: type) -> str:
    if not isinstance(value, kind) or getattr(value, "tzinfo", None) is not None:
        raise Unsupported("temporal bound")
    if kind is dt.date and isinstance(value, dt.datetime):
        raise Unsupported("temporal bound")
    return str(value.isoformat())  # type: ignore[attr-defined]


def _year(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    value = f"TRY_CAST({c} AS INTEGER)"
    parts = [_full(c, "[0-9]{4}"), *_bounds(field, value, _int_literal)]
    return _and(parts), value, "INTEGER"


def _string(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    formats = {"default": None, "email": EMAIL_RE, "uuid": UUID_RE, "uri": URI_RE}
    if field.format not in formats:
        raise Unsupported(f"string format {field.format}")
    parts: list[str] = []
    if formats[field.format]:
        parts.append(_full(c, formats[field.format] or ""))
    if field.format == "email":
        parts.append(f"length({c}) <= {EMAIL_MAX}")
    constraints = field.constraints
    if constraints.get("minLength") is not None:
        parts.append(f"length({c}) >= {int(constraints['minLength'])}")
    if constraints.get("maxLength") is not None:
        parts.append(f"length({c}) <= {int(constraints['maxLength'])}")
    if constraints.get("pattern") is not None:
        parts.append(_full(c, str(constraints["pattern"])))
    if constraints.get("enum") is not None:
        values = [v for v in constraints["enum"] if isinstance(v, str)]
        parts.append(f"{c} IN ({', '.join(quote(v) for v in values)})" if values else "false")
    return _and(parts), c, "VARCHAR"


def _geopoint(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    if field.format != "default" or field.constraints.get("enum") is not None:
        raise Unsupported("geopoint format/enum")
    lon = f"TRY_CAST(trim(split_part({c}, ',', 1)) AS DOUBLE)"
    lat = f"TRY_CAST(trim(split_part({c}, ',', 2)) AS DOUBLE)"
    return _full(c, GEOPOINT_RE), f"list_value({lon}, {lat})", "DOUBLE[]"


def _any(field: Field, c: str, keyed: bool) -> tuple[str, str, str]:
    if field.constraints.get("enum") is not None:
        raise Unsupported("any with enum")
    return "true", c, "VARCHAR"


def late_key_text(value: Any, field_type: str) -> str | None:
    """The text of a Python cell value that CASTs to the field's SQL key.

    None when the value has no exact SQL key (it then takes part in no
    uniqueness comparison; see the module docstring of ``fast``).
    """
    if value is None:
        return None
    if field_type == "number":
        return _short_decimal(value)
    if field_type == "geopoint":
        lon, lat = (_short_decimal(part) for part in value)
        return None if lon is None or lat is None else f"[{lon}, {lat}]"
    if field_type == "boolean":
        return "true" if value else "false"
    if field_type == "integer" and abs(value) >= 2**63:
        return None
    if field_type == "datetime" and isinstance(value, dt.datetime):
        if value.utcoffset() is not None:
            return value.astimezone(dt.UTC).strftime(DATETIME_KEY) + "Z"
        return value.strftime(DATETIME_KEY)
    if field_type == "time" and getattr(value, "tzinfo", None) is not None:
        return None
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _short_decimal(value: Any) -> str | None:
    """A decimal spelling of at most 15 digits (DOUBLE equality is then Decimal equality)."""
    try:
        number = Decimal(value)
        text = format(number.normalize(), "f")
    except (InvalidOperation, ValueError, TypeError):
        return None
    digits = sum(ch.isdigit() for ch in text.lstrip("-0."))
    return text if number.is_finite() and digits <= 15 else None
