"""Shared test fixtures. Area fixtures live in tests/fixtures_*.py and are
listed in pytest_plugins (one line each)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"

pytest_plugins: list[str] = [
    "tests.fixtures_postgres",
    "tests.fixtures_ckan",
]


@pytest.fixture
def corpus() -> Path:
    """../shared/corpus/, or skip when it is absent (a user's clone has none)."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/ is absent")
    return CORPUS
