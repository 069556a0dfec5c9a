"""Turning inferred types plus steward overrides into one plan per column.

A ``ColumnPlan`` says what the normalised CSV's header cell is, the final
Table Schema field, the Frictionless field needed to read the SOURCE file,
and the converter from source text to normalised text.

Precedence: the steward's override, then the source's own ``schema_hint``
(database column types), then inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from publisher.config import FieldOverride, SchemaOverrides
from publisher.errors import DescribeError
from publisher.tables import normalise
from publisher.tables.infer import Inferred, type_hints_descriptor

FRICTIONLESS_DEFAULT_FORMAT_TYPES = ("date", "datetime", "time")


@dataclass(frozen=True)
class ColumnPlan:
    label: str  # header label as read, trimmed ('' when blank)
    name: str  # field name in the final schema
    header: str  # header cell written into the normalised CSV
    field: dict[str, Any]  # final Table Schema field (describes the normalised CSV)
    source_field: dict[str, Any]  # Frictionless field that reads the source file
    convert: normalise.Converter | None  # None: written as read (stripped)


def field_names(labels: Sequence[str]) -> list[str]:
    """Frictionless-style names: blank labels become ``field<N>``, duplicates ``<name>2``."""
    names = [label or f"field{index}" for index, label in enumerate(labels, start=1)]
    result: list[str] = []
    used: set[str] = set()
    for name in names:
        candidate, suffix = name, 2
        while candidate in used:
            candidate, suffix = f"{name}{suffix}", suffix + 1
        result.append(candidate)
        used.add(candidate)
    return result


def plan_columns(
    labels: Sequence[str],
    inferred: Sequence[Inferred],
    overrides: SchemaOverrides,
    schema_hint: dict[str, Any] | None,
    file_name: str,
) -> list[ColumnPlan]:
    names = field_names(labels)
    by_key = _override_lookup(labels, names, overrides, file_name)
    hints = _hint_fields(schema_hint)
    plans = []
    for label, name, guess in zip(labels, names, inferred, strict=True):
        override = by_key.get(name) or FieldOverride()
        plans.append(_plan(label, name, guess, override, hints.get(name) or hints.get(label)))
    _check_unique_names([p.name for p in plans], file_name)
    return plans


def _override_lookup(
    labels: Sequence[str], names: Sequence[str], overrides: SchemaOverrides, file_name: str
) -> dict[str, FieldOverride]:
    """Overrides keyed by field name; an override may name a field by label or by name."""
    known = dict(zip(names, names, strict=True))
    for label, name in zip(labels, names, strict=True):
        known.setdefault(label, name)
    lookup: dict[str, FieldOverride] = {}
    for key, override in overrides.fields.items():
        if key not in known:
            raise DescribeError(
                f"{file_name}: schema override for unknown field {key!r}; fields: {', '.join(names)}",
                hint="fix the name under [datasets.schema.fields]",
            )
        lookup[known[key]] = override
    return lookup


def hint_field_list(schema_hint: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A source's schema hint as a list of fields: ``{"fields": [...]}`` or ``{name: type}``."""
    if not schema_hint:
        return []
    if "fields" in schema_hint:
        return [f for f in schema_hint["fields"] if isinstance(f, dict) and "name" in f]
    return [
        {"name": key, **value} if isinstance(value, dict) else {"name": key, "type": value}
        for key, value in schema_hint.items()
    ]


def _hint_fields(schema_hint: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {str(f["name"]): f for f in hint_field_list(schema_hint)}


def _check_unique_names(names: list[str], file_name: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DescribeError(f"{file_name}: two fields would be named {name!r} after renaming")
        seen.add(name)


def _plan(label: str, name: str, guess: Inferred, override: FieldOverride, hint: dict[str, Any] | None) -> ColumnPlan:
    field_type, convert, source_hints = _decide(guess, override, hint)
    final_name = override.rename or name
    field: dict[str, Any] = {"name": final_name, "type": field_type}
    if override.format and not _is_source_pattern(field_type, override.format):
        field["format"] = override.format
    elif hint and hint.get("format") and field_type not in FRICTIONLESS_DEFAULT_FORMAT_TYPES:
        field["format"] = hint["format"]
    for key in ("title", "description"):
        value = getattr(override, key)
        if value:
            field[key] = value
    if override.constraints:
        field["constraints"] = dict(override.constraints)
    elif hint and isinstance(hint.get("constraints"), dict) and hint["constraints"]:
        # What the source knows for sure (a NOT NULL column) unless the steward says otherwise.
        field["constraints"] = dict(hint["constraints"])
    source_field = {"name": name, "type": field_type, **source_hints}
    if "format" in field:
        source_field.setdefault("format", field["format"])
    header = override.rename or label
    return ColumnPlan(label, final_name, header, field, source_field, convert)


def _is_source_pattern(field_type: str, fmt: str) -> bool:
    return field_type in FRICTIONLESS_DEFAULT_FORMAT_TYPES and "%" in fmt


def _decide(
    guess: Inferred, override: FieldOverride, hint: dict[str, Any] | None
) -> tuple[str, normalise.Converter | None, dict[str, Any]]:
    """(final type, converter, source-side Frictionless hints)."""
    forced = override.type or (hint.get("type") if hint else None)
    if forced is None and (override.decimal_char or override.group_char):
        forced = "number"
    if forced is None and (override.true_values or override.false_values):
        forced = "boolean"
    if forced is None and override.format and guess.type in ("date", "datetime"):
        forced = guess.type
    if forced is None or (forced == guess.type and not _changes_reading(override)):
        return guess.type, _inferred_converter(guess), type_hints_descriptor(guess)
    return _forced(str(forced), guess, override)


def _changes_reading(override: FieldOverride) -> bool:
    return bool(
        override.decimal_char
        or override.group_char
        or override.true_values
        or override.false_values
        or (override.format and "%" in override.format)
    )


def _inferred_converter(guess: Inferred) -> normalise.Converter | None:
    """Converters for values pass 1 checked; None means 'write as is'."""
    if guess.type == "number":
        return normalise.checked_number_converter(guess.decimal_char, guess.group_char, guess.bare_fraction)
    if guess.type == "boolean":
        return normalise.boolean_converter(None, None)
    if guess.type == "date":
        if guess.pattern is None:
            return None
        if guess.pattern.strptime in ("%d/%m/%Y", "%d-%m-%Y"):
            return normalise.checked_dmy_converter(guess.pattern.strptime[2])
        return normalise.temporal_converter("date", guess.pattern, None)
    if guess.type == "datetime":
        if guess.pattern is None:
            return normalise.iso_datetime_converter
        return normalise.temporal_converter("datetime", guess.pattern, None)
    return None


def _forced(
    field_type: str, guess: Inferred, override: FieldOverride
) -> tuple[str, normalise.Converter | None, dict[str, Any]]:
    hints: dict[str, Any] = {}
    if field_type in ("integer", "number"):
        same_kind = guess.type in ("integer", "number")
        decimal = override.decimal_char or (guess.decimal_char if same_kind else ".")
        group = override.group_char or (guess.group_char if same_kind else None)
        if field_type == "integer":
            convert = normalise.integer_converter(group)
        else:
            convert = normalise.number_converter(decimal, group)
            if decimal != ".":
                hints["decimalChar"] = decimal
            if group:
                hints["groupChar"] = group
        return field_type, convert, hints
    if field_type == "boolean":
        trues, falses = override.true_values, override.false_values
        if trues:
            hints["trueValues"] = list(trues)
        if falses:
            hints["falseValues"] = list(falses)
        return field_type, normalise.boolean_converter(trues, falses), hints
    if field_type in ("date", "datetime"):
        strptime = override.format if override.format and "%" in override.format else None
        pattern = guess.pattern if guess.type == field_type else None
        if strptime:
            hints["format"] = strptime
        elif pattern is not None and pattern.strptime:
            hints["format"] = pattern.strptime
        return field_type, normalise.temporal_converter(field_type, pattern, strptime), hints
    return field_type, None, hints
