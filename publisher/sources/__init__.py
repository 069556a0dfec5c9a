"""Source kinds behind one small protocol, looked up by name in a registry.

    from publisher.sources import registry
    source_class = registry.get("file")

Each kind lives in its own module and registers itself with ``@register``.
"""

from __future__ import annotations

import importlib

from publisher.sources.base import Extraction, ReadOptions, Source, SourceContext, StagedFile

__all__ = ["Extraction", "ReadOptions", "Source", "SourceContext", "StagedFile", "register", "registry"]

# kind name -> module that defines it; imported on first use so heavy drivers stay lazy
_BUILTIN_MODULES: dict[str, str] = {
    "file": "publisher.sources.file",
    "http": "publisher.sources.http",
    "ocds": "publisher.sources.ocds",
    "sql": "publisher.sources.sql",
    "api": "publisher.sources.api",
    "geo": "publisher.sources.geo",
}


class _Registry:
    def __init__(self) -> None:
        self._classes: dict[str, type[Source]] = {}

    def register(self, source_class: type[Source]) -> type[Source]:
        self._classes[source_class.kind] = source_class
        return source_class

    def kinds(self) -> list[str]:
        return sorted(set(self._classes) | set(_BUILTIN_MODULES))

    def get(self, kind: str) -> type[Source] | None:
        if kind not in self._classes and kind in _BUILTIN_MODULES:
            importlib.import_module(_BUILTIN_MODULES[kind])
        return self._classes.get(kind)


registry = _Registry()


def register(source_class: type[Source]) -> type[Source]:
    """Class decorator: make a source kind available by its ``kind`` name."""
    return registry.register(source_class)
