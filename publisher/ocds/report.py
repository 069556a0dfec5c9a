"""The OCDS report: what was read, the package metadata, and every finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from publisher.ocds.findings import Finding


@dataclass
class InputSummary:
    label: str
    encoding: str
    documents: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "encoding": self.encoding, "documents": self.documents,
                "kinds": dict(sorted(self.kinds.items()))}


@dataclass
class OcdsReport:
    """The result of reading and validating OCDS data (and compiling it, when asked)."""

    valid: bool
    inputs: list[InputSummary]
    counts: dict[str, int]  # releases, records, contracting_processes, compiled_releases
    metadata: dict[str, Any]  # publisher, uri, license, publication policy, ocid prefixes, versions, extensions
    summary: dict[str, dict[str, int]]  # severity -> code -> count
    findings: list[Finding]
    schema: dict[str, str]  # version and where the schemas came from

    @property
    def error_count(self) -> int:
        return sum(self.summary.get("error", {}).values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "inputs": [i.as_dict() for i in self.inputs],
            "counts": dict(self.counts),
            "metadata": self.metadata,
            "schema": dict(self.schema),
            "summary": self.summary,
            "findings": [f.as_dict() for f in self.findings],
        }

    def one_line(self) -> str:
        """``3 errors, 2 warnings: invalid_date x2 at $.releases[3].date; ...``."""
        errors = self.error_count
        warnings = sum(self.summary.get("warning", {}).values())
        head = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        shown = [f for f in self.findings if f.severity == "error"][:3]
        if not shown:
            return head
        return head + ": " + "; ".join(f"{f.code} at {f.path}" for f in shown)
