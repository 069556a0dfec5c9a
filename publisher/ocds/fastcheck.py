"""A yes/no JSON Schema (draft 4) checker compiled into closures, for the keywords OCDS uses.

OCDS objects are sparse: a Tender has some 40 properties and a release sets a
handful. Generic validators walk every property of the schema for every
object (fastjsonschema does; it also matches the language-variant
``patternProperties`` regexes against every key). This checker walks the
keys the data has, resolves ``patternProperties`` for the schema's own
property names once, at compile time, and compares enums with set
membership. It only answers "valid or not"; a release it rejects is
validated again by jsonschema, which lists the errors with their paths.

``compile_checker`` returns None when the schema uses a keyword this module
does not implement (an extension might): the caller then uses another
validator. Known difference: ``uniqueItems`` compares objects by their
canonical JSON, so ``[{"a": 1}, {"a": 1.0}]`` counts as unique here (jsonschema
says not); a release with such an array is checked as valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from publisher.ocds.schemas import is_date_time, is_uri

Check = Callable[[Any], bool]

_IGNORED = frozenset({
    "title", "description", "codelist", "openCodelist", "deprecated", "deprecatedVersion", "versionId",
    "omitWhenMerged", "wholeListMerge", "mergeStrategy", "mergeOptions", "default", "id", "$schema",
    "definitions", "$id", "examples", "extensible",
})
_SUPPORTED = frozenset({
    "type", "properties", "patternProperties", "items", "required", "enum", "format", "uniqueItems",
    "minLength", "maxLength", "minItems", "maxItems", "pattern", "$ref", "minimum", "maximum",
    "minProperties",
}) | _IGNORED
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
    "null": (type(None),), "array": (list,), "object": (dict,),
}
_FORMATS: dict[str, Callable[[object], bool]] = {"date-time": is_date_time, "uri": is_uri}


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) this checker does not implement."""


def compile_checker(schema: dict[str, Any]) -> Check | None:
    """A function telling whether an instance is valid against ``schema`` (None: unsupported schema)."""
    try:
        return _Compiler(schema).compile(schema)
    except Unsupported:
        return None


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self._definitions: dict[str, Any] = root.get("definitions", {})
        self._refs: dict[str, Check] = {}
        self._compiling: set[str] = set()

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, dict):
            raise Unsupported("schema is not an object")
        unknown = set(schema) - _SUPPORTED
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        if "$ref" in schema:
            return self._ref(schema["$ref"])
        return _node(self._type(schema), self._enum(schema), self._object(schema), self._array(schema),
                     self._string(schema), self._number(schema))

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#/definitions/"):
            raise Unsupported(f"$ref {ref!r}")
        name = ref.rsplit("/", 1)[1]
        if name in self._refs:
            return self._refs[name]
        if name in self._compiling:  # a recursive definition: call through the table, once it is filled
            return lambda value: self._refs[name](value)
        self._compiling.add(name)
        self._refs[name] = self.compile(self._definitions.get(name, {}))
        self._compiling.discard(name)
        return self._refs[name]

    def _type(self, schema: dict[str, Any]) -> tuple[tuple[type, ...], bool] | None:
        names = schema.get("type")
        if names is None:
            return None
        names = [names] if isinstance(names, str) else list(names)
        if any(n not in _TYPES for n in names):
            raise Unsupported(f"type {names!r}")
        return tuple(t for n in names for t in _TYPES[n]), "boolean" in names

    def _enum(self, schema: dict[str, Any]) -> Check | None:
        members = schema.get("enum")
        if members is None:
            return None
        if not isinstance(members, list) or any(isinstance(m, dict | list) for m in members):
            raise Unsupported("enum of objects or arrays")
        bools = {m for m in members if isinstance(m, bool)}
        others = frozenset(m for m in members if not isinstance(m, bool))

        def check(value: Any) -> bool:
            if isinstance(value, bool):
                return value in bools
            return not isinstance(value, dict | list) and value in others
        return check

    def _string(self, schema: dict[str, Any]) -> Check | None:
        checks: list[Callable[[str], bool]] = []
        if "minLength" in schema:
            low = int(schema["minLength"])
            checks.append(lambda text: len(text) >= low)
        if "maxLength" in schema:
            high = int(schema["maxLength"])
            checks.append(lambda text: len(text) <= high)
        if "pattern" in schema:
            checks.append(re.compile(schema["pattern"]).search)  # type: ignore[arg-type]
        if schema.get("format") in _FORMATS:
            checks.append(_FORMATS[schema["format"]])
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]

        return lambda text: all(one(text) for one in checks)

    def _number(self, schema: dict[str, Any]) -> Check | None:
        if "minimum" not in schema and "maximum" not in schema:
            return None
        if "exclusiveMinimum" in schema or "exclusiveMaximum" in schema:
            raise Unsupported("exclusive bounds")
        low, high = schema.get("minimum"), schema.get("maximum")

        def check(value: Any) -> bool:
            return (low is None or value >= low) and (high is None or value <= high)
        return check

    def _object(self, schema: dict[str, Any]) -> Check | None:
        properties = {name: self.compile(sub) for name, sub in (schema.get("properties") or {}).items()}
        patterns = [(re.compile(p), self.compile(sub)) for p, sub in (schema.get("patternProperties") or {}).items()]
        # patternProperties apply to declared properties too: resolve those once, here
        for name in list(properties):
            extra = [check for regex, check in patterns if regex.search(name)]
            if extra:
                checks = [properties[name], *extra]
                properties[name] = lambda value, checks=checks: all(c(value) for c in checks)  # type: ignore[misc]
        required = tuple(schema.get("required") or ())
        min_properties = int(schema.get("minProperties", 0))
        if not properties and not patterns and not required and not min_properties:
            return None
        # scalar properties checked inline, without a call: most of a release's keys
        leaves = {name: leaf for name, sub in (schema.get("properties") or {}).items()
                  if not any(regex.search(name) for regex, _ in patterns)
                  and (leaf := self._leaf_types(sub)) is not None}

        def check(value: Any) -> bool:
            if len(value) < min_properties:
                return False
            for name in required:
                if name not in value:
                    return False
            for key, item in value.items():
                leaf = leaves.get(key)
                if leaf is not None:
                    if not isinstance(item, leaf[0]) or (item.__class__ is bool and not leaf[1]):
                        return False
                    continue
                sub = properties.get(key)
                if sub is not None:
                    if not sub(item):
                        return False
                elif patterns:
                    for regex, pattern_check in patterns:
                        if regex.search(key) and not pattern_check(item):
                            return False
            return True
        return check

    def _leaf_types(self, schema: Any) -> tuple[tuple[type, ...], bool] | None:
        """(types, booleans allowed) when the schema only says a scalar type, else None."""
        if isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and len(schema) == 1:
            schema = self._definitions.get(schema["$ref"].rsplit("/", 1)[1])
        if not isinstance(schema, dict) or set(schema) - _IGNORED != {"type"}:
            return None
        names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if not isinstance(names, list) or not set(names) <= {"string", "number", "integer", "boolean", "null"}:
            return None
        return self._type(schema)

    def _array(self, schema: dict[str, Any]) -> Check | None:
        items = schema.get("items")
        if isinstance(items, list):
            raise Unsupported("tuple items")
        item_check = self.compile(items) if items is not None else None
        low, high = int(schema.get("minItems", 0)), schema.get("maxItems")
        unique = bool(schema.get("uniqueItems"))
        if item_check is None and not low and high is None and not unique:
            return None

        def check(value: Any) -> bool:
            if len(value) < low or (high is not None and len(value) > high):
                return False
            if unique and not _unique(value):
                return False
            if item_check is not None:
                for item in value:
                    if not item_check(item):
                        return False
            return True
        return check


def _always(value: Any) -> bool:
    return True


def _node(types: tuple[tuple[type, ...], bool] | None, enum: Check | None, obj: Check | None,
          array: Check | None, string: Check | None, number: Check | None) -> Check:
    """One schema node: the type, then the checks of the value's own kind."""
    allowed, bool_ok = types if types is not None else (None, True)
    if allowed is None and enum is None and obj is None and array is None and string is None and number is None:
        return _always

    def check(value: Any) -> bool:
        kind = value.__class__
        if allowed is not None and (not isinstance(value, allowed) or (kind is bool and not bool_ok)):
            return False
        if enum is not None and not enum(value):
            return False
        if kind is str:
            return string is None or string(value)
        if kind is dict or isinstance(value, dict):  # ocdskit's upgrade makes some OrderedDicts
            return obj is None or obj(value)
        if kind is list:
            return array is None or array(value)
        if number is not None and (kind is int or kind is float):
            return number(value)
        return True
    return check


def _unique(items: list[Any]) -> bool:
    if len(items) < 2:
        return True
    seen: set[Any] = set()
    for item in items:
        if isinstance(item, dict | list):
            key: Any = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
        elif isinstance(item, bool):
            key = ("bool", item)
        else:
            key = item
        if key in seen:
            return False
        seen.add(key)
    return True
