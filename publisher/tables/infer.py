"""Inferring column types from ALL values, the way an Argentine city writes them.

Each column starts with every rule alive; a value a rule does not accept
kills it. At the end the first surviving rule in this order wins:

- ``integer``: ``-?(0|[1-9][0-9]*)``; leading zeros (``01``, ``007``) are codes,
  so they stay strings, and so do ``0164A`` and the like;
- ``number`` with a decimal point (``0.0``, ``.003465``, ``1,234.5``);
- ``number`` with a decimal comma (``11657123,2``, ``1.234,56``); a column
  that fits both styles (``1.234``) is read with a decimal point;
- ``boolean``: ``true``/``false`` in any case (``si``/``no`` are text);
- ``date``: ``yyyy-mm-dd``, ``dd/mm/yyyy``, ``d/m/yyyy``, ``dd-mm-yyyy``,
  ``yyyy/mm/dd`` (real calendar dates only; one format per column);
- ``datetime``: ISO 8601 (``2026-09-04 09:30:00``, ``T``, ``Z``, offsets,
  fractions) or ``dd/mm/yyyy hh:mm[:ss]`` / ``dd-mm-yyyy hh:mm[:ss]``;
- otherwise ``string``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

INTEGER_RE = re.compile(r"-?(?:0|[1-9]\d*)")
POINT_RE = re.compile(r"-?(?:(?:0|[1-9]\d*|[1-9]\d{0,2}(?:,\d{3})+)(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
COMMA_RE = re.compile(r"-?(?:(?:0|[1-9]\d*|[1-9]\d{0,2}(?:\.\d{3})+)(?:,\d+)?|,\d+)")
LOSSY_RE = re.compile(r"[^\W\d_]\?\?|\?\?[^\W\d_]|\d\?\?")
MAX_SPELLINGS = 16
ACCEPTED_CACHE = 4096
_NUMERIC = frozenset({"integer", "number.", "number,"})


@dataclass(frozen=True)
class Pattern:
    """A date or datetime layout: its regex, strptime form and group order."""

    type: str  # date or datetime
    regex: re.Pattern[str]
    strptime: str | None  # None: the Frictionless default (ISO) format
    order: tuple[int, int, int]  # positions of year, month, day among the groups


def _pattern(kind: str, regex: str, strptime: str | None, order: tuple[int, int, int]) -> Pattern:
    return Pattern(kind, re.compile(regex), strptime, order)


_DMY = (2, 1, 0)
_YMD = (0, 1, 2)
DATE_PATTERNS = (
    _pattern("date", r"(\d{4})-(\d{2})-(\d{2})", None, _YMD),
    _pattern("date", r"(\d{1,2})/(\d{1,2})/(\d{4})", "%d/%m/%Y", _DMY),
    _pattern("date", r"(\d{1,2})-(\d{1,2})-(\d{4})", "%d-%m-%Y", _DMY),
    _pattern("date", r"(\d{4})/(\d{1,2})/(\d{1,2})", "%Y/%m/%d", _YMD),
)
_TIME = r"[ T](\d{1,2}):(\d{2})"
_SECONDS = r":(\d{2})"
DATETIME_PATTERNS = (
    _pattern("datetime", r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME + _SECONDS, "%d/%m/%Y %H:%M:%S", _DMY),
    _pattern("datetime", r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME, "%d/%m/%Y %H:%M", _DMY),
    _pattern("datetime", r"(\d{1,2})-(\d{1,2})-(\d{4})" + _TIME + _SECONDS, "%d-%m-%Y %H:%M:%S", _DMY),
    _pattern("datetime", r"(\d{1,2})-(\d{1,2})-(\d{4})" + _TIME, "%d-%m-%Y %H:%M", _DMY),
)
ISO_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_pattern(pattern: Pattern, value: str) -> dt.date | dt.datetime | None:
    """The date/datetime ``value`` denotes in ``pattern``, or None."""
    match = pattern.regex.fullmatch(value)
    if match is None:
        return None
    groups = match.groups()
    year, month, day = (int(groups[i]) for i in pattern.order)
    try:
        if pattern.type == "date":
            return dt.date(year, month, day)
        second = int(groups[5]) if len(groups) > 5 and groups[5] else 0
        return dt.datetime(year, month, day, int(groups[3]), int(groups[4]), second)
    except ValueError:
        return None


def parse_iso_datetime(value: str) -> dt.datetime | None:
    if ISO_DATETIME_RE.fullmatch(value) is None:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace(",", "."))
    except ValueError:
        return None


@dataclass
class ColumnStats:
    """What pass 1 learned about one column."""

    alive: list[str] = field(default_factory=lambda: list(RULES))
    values: int = 0  # non-missing values
    point_grouped: bool = False
    comma_grouped: bool = False
    iso_short: bool = False  # an ISO datetime without seconds (Frictionless default needs them)
    true_spellings: set[str] = field(default_factory=set)
    false_spellings: set[str] = field(default_factory=set)
    lossy: int = 0  # values with '??' where letters were
    numeric_only: bool = False  # only integer/number rules alive, integer first
    accepted: set[str] = field(default_factory=set)  # values every alive rule accepted
    bare_fraction: bool = False  # a number written without its leading zero (.5)
    markers: frozenset[str] = frozenset()  # the steward's missing values (besides "")
    marked: int = 0  # cells holding one of them

    def feed(self, value: str) -> None:
        """Take one stripped, non-empty cell."""
        if self.markers and value in self.markers:
            self.marked += 1
            return
        self.values += 1
        if "??" in value and LOSSY_RE.search(value):
            self.lossy += 1
        alive = self.alive
        if not alive:
            return
        if value in self.accepted:
            return  # the alive rules only shrink: what they all took once, they take again
        if self.numeric_only and INTEGER_RE.fullmatch(value):
            return  # an integer fits both number styles too
        self.alive = [rule for rule in alive if RULE_CHECKS[rule](self, value)]
        self.numeric_only = bool(self.alive) and self.alive[0] == "integer" and set(self.alive) <= _NUMERIC
        if self.alive and len(self.accepted) < ACCEPTED_CACHE:
            self.accepted.add(value)

    def result(self) -> Inferred:
        if self.values == 0:
            return Inferred("string")
        for rule in self.alive:
            return _inferred(self, rule)
        return Inferred("string")


@dataclass(frozen=True)
class Inferred:
    """An inferred type plus how the source writes it."""

    type: str
    decimal_char: str = "."
    group_char: str | None = None
    pattern: Pattern | None = None  # date/datetime layouts other than ISO
    iso_short: bool = False
    true_spellings: tuple[str, ...] = ()
    false_spellings: tuple[str, ...] = ()
    bare_fraction: bool = True  # False when no value needs a leading zero added


RULES: tuple[str, ...] = (
    "integer",
    "number.",
    "number,",
    "boolean",
    *(f"date{i}" for i in range(len(DATE_PATTERNS))),
    "datetime-iso",
    *(f"datetime{i}" for i in range(len(DATETIME_PATTERNS))),
)


def _accept_integer(stats: ColumnStats, value: str) -> bool:
    return INTEGER_RE.fullmatch(value) is not None


def _accept_point(stats: ColumnStats, value: str) -> bool:
    ok = POINT_RE.fullmatch(value) is not None
    if ok:
        stats.point_grouped |= "," in value
        stats.bare_fraction |= "." in value[:2]
    return ok


def _accept_comma(stats: ColumnStats, value: str) -> bool:
    ok = COMMA_RE.fullmatch(value) is not None
    stats.comma_grouped |= ok and "." in value
    return ok


def _accept_iso_datetime(stats: ColumnStats, value: str) -> bool:
    ok = parse_iso_datetime(value) is not None
    stats.iso_short |= ok and len(value) < 19
    return ok


def _accept_pattern(pattern: Pattern) -> Callable[[ColumnStats, str], bool]:
    def accept(stats: ColumnStats, value: str) -> bool:
        return parse_pattern(pattern, value) is not None

    return accept


def _boolean(stats: ColumnStats, value: str) -> bool:
    lower = value.lower()
    if lower == "true":
        if len(stats.true_spellings) < MAX_SPELLINGS:
            stats.true_spellings.add(value)
        return True
    if lower == "false":
        if len(stats.false_spellings) < MAX_SPELLINGS:
            stats.false_spellings.add(value)
        return True
    return False


RULE_CHECKS: dict[str, Callable[[ColumnStats, str], bool]] = {
    "integer": _accept_integer,
    "number.": _accept_point,
    "number,": _accept_comma,
    "boolean": _boolean,
    **{f"date{i}": _accept_pattern(p) for i, p in enumerate(DATE_PATTERNS)},
    "datetime-iso": _accept_iso_datetime,
    **{f"datetime{i}": _accept_pattern(p) for i, p in enumerate(DATETIME_PATTERNS)},
}


def _inferred(stats: ColumnStats, rule: str) -> Inferred:
    if rule == "integer":
        return Inferred("integer")
    if rule == "number.":
        return Inferred("number", ".", "," if stats.point_grouped else None, bare_fraction=stats.bare_fraction)
    if rule == "number,":
        return Inferred("number", ",", "." if stats.comma_grouped else None)
    if rule == "boolean":
        return Inferred(
            "boolean",
            true_spellings=tuple(sorted(stats.true_spellings)),
            false_spellings=tuple(sorted(stats.false_spellings)),
        )
    if rule == "datetime-iso":
        return Inferred("datetime", iso_short=stats.iso_short)
    if rule.startswith("datetime"):
        pattern = DATETIME_PATTERNS[int(rule.removeprefix("datetime"))]
        return Inferred("datetime", pattern=pattern)
    pattern = DATE_PATTERNS[int(rule.removeprefix("date"))]
    return Inferred("date", pattern=pattern if pattern.strptime else None)


def type_hints_descriptor(inferred: Inferred) -> dict[str, Any]:
    """Frictionless field properties needed to read the SOURCE values."""
    hints: dict[str, Any] = {}
    if inferred.type == "number":
        if inferred.decimal_char != ".":
            hints["decimalChar"] = inferred.decimal_char
            hints["groupChar"] = inferred.group_char or "."
        elif inferred.group_char:
            hints["groupChar"] = inferred.group_char
    elif inferred.type in ("date", "datetime"):
        if inferred.pattern is not None and inferred.pattern.strptime:
            hints["format"] = inferred.pattern.strptime
        elif inferred.iso_short:
            hints["format"] = "any"
    elif inferred.type == "boolean":
        hints.update(_boolean_hints(inferred))
    return hints


def _boolean_hints(inferred: Inferred) -> dict[str, Any]:
    defaults_true, defaults_false = {"true", "True", "TRUE"}, {"false", "False", "FALSE"}
    if set(inferred.true_spellings) <= defaults_true and set(inferred.false_spellings) <= defaults_false:
        return {}
    return {
        "trueValues": sorted(defaults_true | set(inferred.true_spellings)),
        "falseValues": sorted(defaults_false | set(inferred.false_spellings)),
    }
