"""The local CKAN for tests marked ``@pytest.mark.ckan``.

``ckan_env`` (session): uses the CKAN named by CKAN_URL/CKAN_API_TOKEN when it
answers; else one already started by ``scripts/ckan-local`` (its .ckan/env.sh);
else starts one with ``scripts/ckan-local up`` and stops it at the end of the
session (only when this session started it).

``ckan_org`` (function): a fresh organization per test, so that tests (and
withdrawal counts) never see each other's datasets.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "ckan-local"
ENV_FILE = REPO / ".ckan" / "env.sh"


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url.rstrip('/')}/api/3/action/status_show", timeout=5).ok
    except requests.RequestException:
        return False


def read_env_file(path: Path) -> dict[str, str]:
    """``export NAME=value`` lines of .ckan/env.sh."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            values[name.strip()] = value.strip().strip("'\"")
    return values


@pytest.fixture(scope="session")
def ckan_env() -> Iterator[dict[str, str]]:
    url, token = os.environ.get("CKAN_URL"), os.environ.get("CKAN_API_TOKEN")
    if url and token and _answers(url):
        yield {"CKAN_URL": url, "CKAN_API_TOKEN": token}
        return
    started = False
    if not (ENV_FILE.is_file() and subprocess.run([str(SCRIPT), "status"], capture_output=True).returncode == 0):
        completed = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=900)
        if completed.returncode != 0:
            pytest.fail(f"scripts/ckan-local up failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
        started = True
    try:
        yield read_env_file(ENV_FILE)
    finally:
        if started:
            subprocess.run([str(SCRIPT), "down"], capture_output=True, timeout=120)


@pytest.fixture
def ckan_org(ckan_env: dict[str, str]) -> str:
    """A new, empty organization on the local CKAN; returns its name."""
    from publisher.portal import CkanClient

    name = f"org-{uuid.uuid4().hex[:10]}"
    client = CkanClient(ckan_env["CKAN_URL"], token=ckan_env["CKAN_API_TOKEN"])
    client.call("organization_create", {"name": name, "title": f"Test organization {name}"})
    return name
