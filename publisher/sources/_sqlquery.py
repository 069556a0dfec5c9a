"""Checks on the SQL a steward writes in harvest_config.toml (no database needed).

``single_select`` accepts exactly one ``SELECT`` (or ``WITH ... SELECT``)
statement and refuses anything that writes: a second statement, ``SELECT
INTO``, data-modifying CTEs, ``FOR UPDATE`` locks.
"""

from __future__ import annotations

import re

_LITERALS_RE = re.compile(
    r"""'(?:[^']|'')*'          # 'string' with '' escapes
      | "(?:[^"]|"")*"          # "quoted identifier"
      | \$(\w*)\$.*?\$\1\$      # $tag$ dollar quoting $tag$ (PostgreSQL)
      | `[^`]*`                 # `identifier` (MySQL)
      | \[[^\]]*\]              # [identifier] (SQL Server)
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENTS_RE = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_WRITE_WORDS = (
    "insert", "update", "delete", "merge", "upsert", "create", "drop", "alter",
    "truncate", "grant", "revoke", "copy", "call", "exec", "execute", "into", "lock",
    "vacuum", "attach", "detach", "pragma", "set",
)
_WRITE_RE = re.compile(r"\b(" + "|".join(_WRITE_WORDS) + r")\b", re.IGNORECASE)
_FOR_UPDATE_RE = re.compile(r"\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b", re.IGNORECASE)
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def _without_literals(query: str) -> str:
    """The query with comments removed and literals blanked (keywords inside them are data)."""
    text = _LITERALS_RE.sub(" '' ", query)
    return _COMMENTS_RE.sub(" ", text)


def single_select(query: str) -> str:
    """The query without a trailing ``;``; ValueError unless it is one read-only SELECT."""
    stripped = query.strip().rstrip(";").strip()
    code = _without_literals(stripped)
    if not stripped or not code.strip():
        raise ValueError("the query is empty")
    if ";" in code:
        raise ValueError("expected a single SELECT statement; found more than one statement (';')")
    first = code.split(None, 1)[0].lower().lstrip("(")
    if first not in ("select", "with"):
        raise ValueError(f"expected a single SELECT statement; the query starts with {first.upper()!r}")
    match = _WRITE_RE.search(code)
    if match:
        raise ValueError(f"expected a read-only SELECT; the query contains {match.group(1).upper()!r}")
    lock = _FOR_UPDATE_RE.search(code)
    if lock:
        raise ValueError(f"expected a read-only SELECT; the query locks rows ({lock.group(0).upper()!r})")
    return stripped


def table_name(value: str) -> tuple[str | None, str]:
    """``reclamos`` -> (None, 'reclamos'); ``obras.reclamos`` -> ('obras', 'reclamos')."""
    parts = value.split(".")
    if len(parts) > 2 or not all(IDENTIFIER_RE.match(part) for part in parts):
        raise ValueError(f"expected a table name such as 'reclamos' or 'obras.reclamos'; got {value!r}")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
