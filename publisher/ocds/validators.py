"""JSON Schema validation of OCDS packages, releases and records.

Validating 100,000 releases with jsonschema alone takes minutes (about 2.6 ms
a release against the 1.1.5 schema). So each release is first checked by a
yes/no checker compiled from the schema (``fastcheck``; fastjsonschema when an
extension uses a keyword it lacks); only a release that fails is validated
again by jsonschema, which lists every error with its path. All use the same
format checks (``date-time``, ``uri``).

Package and record "shells" (the envelope without its releases) are
validated by jsonschema with the release arrays replaced by a plain array
schema, so a large package never holds all its releases at once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema

from publisher.ocds.fastcheck import compile_checker
from publisher.ocds.findings import Finding, json_path
from publisher.ocds.schemas import is_date_time, is_uri

_ARRAY = {"type": "array", "minItems": 1}
_VALUE_SHOWN = {"format", "enum", "pattern"}  # validators whose value is a code or a date, not free text


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(is_date_time)
    checker.checks("uri")(is_uri)
    return checker


def _without_id(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy without ``id``, so "#/definitions/..." never resolves to a remote URL."""
    copied = dict(schema)
    copied.pop("id", None)
    copied.pop("$id", None)
    return copied


class SchemaValidator:
    """Validates instances against one schema; fast check first, details on failure."""

    def __init__(self, schema: dict[str, Any], *, fast: bool = True) -> None:
        schema = _without_id(schema)
        self._detailed = jsonschema.Draft4Validator(schema, format_checker=_format_checker())
        self._fast: Any = None
        if fast:
            self._fast = _fast_checker(schema)

    def findings(self, instance: Any, path: tuple[str | int, ...], prefix: str = "$") -> list[Finding]:
        """Every schema error in ``instance`` (found at ``path``), as findings."""
        if self._fast is not None and self._fast(instance):
            return []
        return [_finding(e, path, prefix) for e in self._iter_errors(instance)]

    def _iter_errors(self, instance: Any) -> Iterator[jsonschema.ValidationError]:
        for error in self._detailed.iter_errors(instance):
            yield from _leaves(error)


def _leaves(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """oneOf/anyOf errors: report the best-matching branch's errors, not the umbrella."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            yield from _leaves(best)
            return
    yield error


def _finding(error: jsonschema.ValidationError, path: tuple[str | int, ...], prefix: str) -> Finding:
    parts: list[str | int] = [*path, *error.absolute_path]
    validator = str(error.validator)
    if validator == "required":
        missing = _missing_field(error)
        where = json_path([*parts, missing], prefix) if missing else json_path(parts, prefix)
        return Finding("missing_ocid" if missing == "ocid" and len(error.absolute_path) == 0 else "schema.required",
                       "error", where, f"required field {missing!r} is missing")
    if validator == "format" and error.validator_value == "date-time":
        return Finding("invalid_date", "error", json_path(parts, prefix),
                       f"{_shown(error.instance)} is not an RFC 3339 date-time with a time zone "
                       "(e.g. 2024-05-01T10:00:00-03:00)")
    return Finding(f"schema.{validator}", "error", json_path(parts, prefix), _message(error))


def _missing_field(error: jsonschema.ValidationError) -> str | None:
    if isinstance(error.instance, dict) and isinstance(error.validator_value, list):
        for name in error.validator_value:
            if name not in error.instance:
                return str(name)
    return None


def _message(error: jsonschema.ValidationError) -> str:
    validator, expected = str(error.validator), error.validator_value
    if validator == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"expected {wanted}, got {_json_type(error.instance)}"
    if validator == "enum":
        codes = [c for c in expected if c is not None] if isinstance(expected, list) else []
        shown = ", ".join(map(str, codes[:12])) + (", ..." if len(codes) > 12 else "")
        codelist = error.schema.get("codelist") if isinstance(error.schema, dict) else None
        where = f" of the closed codelist {codelist}" if codelist else ""
        return f"{_shown(error.instance)} is not one of the values{where}: {shown}"
    if validator == "format":
        return f"{_shown(error.instance)} is not a valid {expected}"
    if validator in ("minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum", "minProperties"):
        return f"fails {validator} = {expected}"
    if validator == "uniqueItems":
        return "array items are not unique"
    if validator == "pattern":
        return f"{_shown(error.instance)} does not match the pattern {expected}"
    if validator in ("oneOf", "anyOf"):
        return f"matches none of the allowed forms ({validator})"
    return f"fails {validator}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fast_checker(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """Our closure checker; fastjsonschema when the schema has keywords it lacks; None: jsonschema only."""
    checker = compile_checker(schema)
    if checker is not None:
        return checker
    try:
        import fastjsonschema
    except ImportError:  # optional: validation is only slower without it
        return None
    validate = fastjsonschema.compile(schema, formats={"date-time": is_date_time, "uri": is_uri}, use_default=False)

    def check(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True
    return check


# --- shells --------------------------------------------------------------------

def release_package_shell(schema: dict[str, Any]) -> dict[str, Any]:
    shell = copy.deepcopy(schema)
    shell["properties"]["releases"] = dict(_ARRAY)
    return shell


def record_package_shell(schema: dict[str, Any]) -> dict[str, Any]:
    shell = copy.deepcopy(schema)
    shell["properties"]["records"] = dict(_ARRAY)
    shell.pop("definitions", None)
    return shell


def record_shell(record_package_schema: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(record_package_schema["definitions"]["record"])
    record["properties"]["releases"] = dict(_ARRAY)
    record["properties"]["compiledRelease"] = {"type": "object"}
    record["properties"]["versionedRelease"] = {"type": "object"}
    return record


def linked_release_schema(record_package_schema: dict[str, Any]) -> dict[str, Any]:
    forms = record_package_schema["definitions"]["record"]["properties"]["releases"]["oneOf"]
    items = forms[0]["items"]
    return dict(items) if isinstance(items, dict) else {}
