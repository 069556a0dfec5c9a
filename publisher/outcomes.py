"""Results are data: what happened to each dataset in a run, and to the run.

The runner fills these; the CLI renders them; the state store records them;
notifications and exit codes are computed from them, never from logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from publisher.errors import Stage


class Outcome(StrEnum):
    PUBLISHED = "published"  # the portal now shows this run's data or metadata
    WRITTEN = "written"  # no portal configured: datapackages/<name>/ was (re)written
    UNCHANGED = "unchanged"  # nothing changed since the last good run: nothing written
    BLOCKED = "blocked"  # a policy stopped it (invalid data, personal data)
    FAILED = "failed"  # an error stopped it at `stage`
    SKIPPED = "skipped"  # not attempted (locked by another process, dry run of a later stage)


SUCCESSFUL = frozenset({Outcome.PUBLISHED, Outcome.WRITTEN, Outcome.UNCHANGED})


@dataclass
class DatasetResult:
    """One dataset's outcome in one run."""

    dataset: str
    outcome: Outcome = Outcome.SKIPPED
    stage: Stage = Stage.EXTRACT  # the last stage reached
    message: str = ""  # one line for people; never a secret, never a raw personal value
    error_type: str | None = None
    rows: int = 0
    bytes: int = 0
    content_sha256: dict[str, str] = field(default_factory=dict)  # resource name -> sha256
    package_sha256: str | None = None
    durations: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    package_path: str | None = None
    ckan_id: str | None = None
    ckan_url: str | None = None
    write_calls: int = 0
    plan: list[dict[str, Any]] = field(default_factory=list)  # planned portal actions (dry run / plan)
    findings: list[dict[str, Any]] = field(default_factory=list)  # privacy findings (masked)
    validation: dict[str, Any] = field(default_factory=dict)  # summary: valid, error counts by type
    source_state: dict[str, str] = field(default_factory=dict)  # validators/cursors to commit
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in SUCCESSFUL

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["stage"] = str(self.stage)
        for key in ("started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


@dataclass
class RunReport:
    """A whole run: one DatasetResult per selected dataset, in config order."""

    trigger: str = "manual"  # manual | scheduled
    dry_run: bool = False
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    results: list[DatasetResult] = field(default_factory=list)
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok or (r.outcome is Outcome.SKIPPED and self.dry_run) for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when every dataset succeeded, 1 when any failed, was blocked or skipped."""
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[str(result.outcome)] = counts.get(str(result.outcome), 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "ok": self.ok,
            "counts": self.counts(),
            "results": [r.to_dict() for r in self.results],
        }
