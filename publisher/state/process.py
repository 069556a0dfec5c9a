"""Who holds a lock or runs a run: host, pid and the pid's start time.

The start time (from /proc on Linux) tells a live holder from a new process
that reused a dead holder's pid. Holders on other hosts cannot be checked and
are assumed alive.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessId:
    host: str
    pid: int
    start: str | None  # clock ticks since boot when the process started; None when unknown

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


def current() -> ProcessId:
    pid = os.getpid()
    return ProcessId(host=socket.gethostname(), pid=pid, start=process_start(pid))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: split after its last ')'
    return raw[raw.rindex(")") + 2:].split()


def process_start(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def is_alive(holder: ProcessId) -> bool:
    """False only when the holder is certainly gone (same host, no such live process)."""
    if holder.host != socket.gethostname():
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    fields = _stat_fields(holder.pid)
    if fields is None:
        return True  # no /proc: trust kill(0)
    if fields[0] in ("Z", "X"):  # zombie: dead, not yet reaped by its parent
        return False
    return holder.start is None or fields[19] == holder.start
