"""A throw-away PostgreSQL for the tests: initdb + pg_ctl on 127.0.0.1, a free port.

The same server binaries CKAN's recipe uses. initdb and postgres refuse to run
as root, so as root they run as the ``postgres`` OS user (created if missing).
The server lives in a temporary folder and is stopped (pg_ctl stop) and removed
at the end of the session. Tests that use it are skipped when no PostgreSQL
binaries are installed.

    def test_x(postgres: PostgresServer) -> None:
        url = postgres.create_database("obras")  # postgresql+psycopg://...
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "pg-superuser-secret"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    base: Path

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str = SUPERUSER_PASSWORD) -> str:
        return f"postgresql+psycopg://{user}:{password}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={SUPERUSER} password={SUPERUSER_PASSWORD} dbname={database}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database (dropped first if it exists); returns its superuser URL."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        return self.url(name)


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
                       check=True)
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], log: Path) -> None:
    with log.open("ab") as handle:
        done = subprocess.run(_as_server_user(command), stdout=handle, stderr=subprocess.STDOUT, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed; see {log}:\n{log.read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server in a temporary folder; stop it (pg_ctl stop) and remove the folder on exit."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    base = Path(tempfile.mkdtemp(prefix="publisher-pg-"))
    data, log, pwfile = base / "data", base / "commands.log", base / "pwfile"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        _as_server_user(["true"])  # creates the postgres OS user when missing
        shutil.chown(base, user="postgres")
        shutil.chown(pwfile, user="postgres")
    port = _free_port()
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
              "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8"], log)
        options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c TimeZone=America/Argentina/Cordoba")
        pg_ctl = str(bin_dir / "pg_ctl")
        _run([pg_ctl, "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o", options, "start"],
             log)
        try:
            yield PostgresServer("127.0.0.1", port, base)
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], log)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for the whole session (skips when none is installed)."""
    if _pg_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with running_postgres() as server:
        yield server
