"""Non-standard fields: keys the (extended) release schema does not define.

OCDS allows additional fields, but publishers should document them; lib-cove
reports them as "additional fields". Each is reported once per field path
(``planning.budget.amountyear``) with how many releases carry it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Node:
    properties: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None
    open: bool = True  # no "properties": anything goes below


class FieldTree:
    """The release schema's property tree, with "$ref"s resolved (lazily, so cycles are fine)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._definitions: dict[str, Any] = schema.get("definitions", {})
        self._memo: dict[str, _Node] = {}
        self.root = self._node(schema)

    def _node(self, schema: Any) -> _Node:
        if not isinstance(schema, dict):
            return _Node()
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            name = ref.rsplit("/", 1)[1]
            if name not in self._memo:
                node = _Node()
                self._memo[name] = node  # placed before recursing: cycles reuse it
                built = self._node(self._definitions.get(name, {}))
                node.properties, node.items, node.open = built.properties, built.items, built.open
            return self._memo[name]
        node = _Node()
        properties = schema.get("properties")
        if isinstance(properties, dict):
            node.open = False
            node.properties = {key: self._node(value) for key, value in properties.items()}
        if "items" in schema:
            node.items = self._node(schema["items"])
        for keyword in ("oneOf", "anyOf", "allOf"):
            for branch in schema.get(keyword, []) or []:
                _merge(node, self._node(branch))
        return node

    def additional(self, instance: Any) -> Iterator[tuple[str, tuple[str | int, ...]]]:
        """(field pattern like ``awards.value.dateexchangeRate``, first concrete path) per extra key."""
        yield from _walk(instance, self.root, "", ())


def _merge(target: _Node, other: _Node) -> None:
    if not other.open:
        target.open = False
        for key, value in other.properties.items():
            target.properties.setdefault(key, value)
    if other.items is not None and target.items is None:
        target.items = other.items


def _walk(value: Any, node: _Node, pattern: str, path: tuple[str | int, ...]
          ) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    if isinstance(value, dict):
        if node.open:
            return
        for key, child in value.items():
            child_node = node.properties.get(key)
            child_pattern = f"{pattern}.{key}" if pattern else key
            if child_node is None:
                yield child_pattern, (*path, key)
            elif isinstance(child, dict | list):
                yield from _walk(child, child_node, child_pattern, (*path, key))
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from _walk(item, node.items, pattern, (*path, index))
