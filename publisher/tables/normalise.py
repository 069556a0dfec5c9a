"""Converters from source text to normalised text, one per column.

A converter takes a stripped, non-missing source value and returns its
normalised text (ISO 8601 dates, ``.`` decimal mark, no group separators,
``true``/``false``), or ``None`` when the value does not convert. The writer
then keeps the raw value so that validation reports the type error: data is
never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection

from publisher.tables.infer import DATE_PATTERNS, DATETIME_PATTERNS, Pattern, parse_iso_datetime, parse_pattern

Converter = Callable[[str], str | None]
PLAIN_NUMBER_RE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
PLAIN_INTEGER_RE = re.compile(r"[-+]?\d+")


def integer_converter(group_char: str | None) -> Converter:
    def convert(value: str) -> str | None:
        if group_char:
            value = value.replace(group_char, "")
        if PLAIN_INTEGER_RE.fullmatch(value) is None:
            return None
        return str(int(value))

    return convert


def number_converter(decimal_char: str, group_char: str | None) -> Converter:
    def convert(value: str) -> str | None:
        if group_char:
            value = value.replace(group_char, "")
        if decimal_char != ".":
            if "." in value:
                return None
            value = value.replace(decimal_char, ".")
        if PLAIN_NUMBER_RE.fullmatch(value) is None:
            return None
        if value.startswith("."):
            return "0" + value
        if value.startswith("-."):
            return "-0" + value[1:]
        return value

    return convert


def boolean_converter(true_values: Collection[str] | None, false_values: Collection[str] | None) -> Converter:
    """Steward's spellings match exactly; by default true/false in any case."""
    if true_values is None and false_values is None:

        def convert_default(value: str) -> str | None:
            lower = value.lower()
            return lower if lower in ("true", "false") else None

        return convert_default
    trues = set(true_values or ("true", "True", "TRUE"))
    falses = set(false_values or ("false", "False", "FALSE"))

    def convert(value: str) -> str | None:
        if value in trues:
            return "true"
        if value in falses:
            return "false"
        return None

    return convert


def temporal_converter(kind: str, pattern: Pattern | None, strptime: str | None) -> Converter:
    """date/datetime: a steward's strptime format, else the inferred layout, else any known one."""
    if strptime:
        return _strptime_converter(kind, strptime)
    if pattern is not None:
        return _pattern_converter([pattern])
    patterns = DATE_PATTERNS if kind == "date" else DATETIME_PATTERNS
    fallback = _pattern_converter(list(patterns))
    if kind == "date":
        return fallback

    def convert(value: str) -> str | None:
        parsed = parse_iso_datetime(value)
        return parsed.isoformat() if parsed is not None else fallback(value)

    return convert


def _pattern_converter(patterns: list[Pattern]) -> Converter:
    def convert(value: str) -> str | None:
        for pattern in patterns:
            parsed = parse_pattern(pattern, value)
            if parsed is not None:
                return parsed.isoformat()
        return None

    return convert


def _strptime_converter(kind: str, strptime: str) -> Converter:
    def convert(value: str) -> str | None:
        try:
            parsed = dt.datetime.strptime(value, strptime)
        except ValueError:
            return None
        return parsed.date().isoformat() if kind == "date" else parsed.isoformat()

    return convert


def iso_datetime_converter(value: str) -> str | None:
    parsed = parse_iso_datetime(value)
    return parsed.isoformat() if parsed is not None else None


# --- fast converters for values pass 1 already checked ----------------------


def _leading_zero(value: str) -> str:
    if "." not in value[:2]:
        return value
    if value[0] == ".":
        return "0" + value
    if value[:2] == "-.":
        return "-0" + value[1:]
    return value


def checked_number_converter(decimal_char: str, group_char: str | None, bare_fraction: bool) -> Converter | None:
    """For a column whose every value matched the inferred number style."""
    if decimal_char == "." and not group_char:
        return _leading_zero if bare_fraction else None
    if decimal_char == ".":
        return lambda value: _leading_zero(value.replace(",", ""))
    return lambda value: _leading_zero(value.replace(".", "").replace(",", "."))


def checked_dmy_converter(separator: str) -> Converter:
    """``d/m/yyyy`` (already checked to be a real date) -> ``yyyy-mm-dd``."""

    def convert(value: str) -> str | None:
        day, month, year = value.split(separator)
        return f"{year}-{month:0>2}-{day:0>2}"

    return convert
