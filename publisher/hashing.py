"""Content hashes of files, read in blocks so memory does not grow with the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK = 1 << 20


def sha256_and_size(path: Path) -> tuple[str, int]:
    """The hex sha256 of a file's bytes and its size in bytes."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    return sha256_and_size(path)[0]
