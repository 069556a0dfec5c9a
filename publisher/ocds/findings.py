"""Findings: what reading, validating and compiling OCDS data found.

A finding has a stable ``code``, a ``severity`` (``error`` makes the data
invalid; ``warning`` and ``info`` do not), a JSON path into the input
(``$.releases[3].tender.items[0].quantity``, prefixed by the file name when
there are several inputs) and a one-line message. Messages never carry
free-text values from the data (names, descriptions): only codes, dates and
field names, so a report is safe to print and publish.

Large inputs can produce millions of findings; the collector keeps every
count but only the first ``examples_per_code`` findings of each code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem or observation, at one place in the input."""

    code: str
    severity: Severity
    path: str
    message: str
    count: int = 1  # for aggregated findings (e.g. one non-standard field seen in 500 releases)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code, "severity": self.severity, "path": self.path, "message": self.message,
        }
        if self.count != 1:
            data["count"] = self.count
        return data

    def one_line(self) -> str:
        times = f" (x{self.count})" if self.count != 1 else ""
        return f"{self.severity} {self.code} at {self.path}: {self.message}{times}"


@dataclass
class FindingCollector:
    """Counts every finding; keeps the first few examples of each code."""

    examples_per_code: int = 50
    findings: list[Finding] = field(default_factory=list)
    by_code: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    _severity_of_code: dict[str, Severity] = field(default_factory=dict)
    _kept: Counter[str] = field(default_factory=Counter)

    def add(self, code: str, severity: Severity, path: str, message: str, count: int = 1) -> None:
        self.by_code[code] += count
        self.by_severity[severity] += count
        self._severity_of_code.setdefault(code, severity)
        if self._kept[code] < self.examples_per_code:
            self._kept[code] += 1
            self.findings.append(Finding(code, severity, path, message, count))

    def extend(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.add(finding.code, finding.severity, finding.path, finding.message, finding.count)

    @property
    def error_count(self) -> int:
        return self.by_severity["error"]

    def summary(self) -> dict[str, dict[str, int]]:
        """``{"error": {"invalid_date": 3}, "warning": {...}, "info": {...}}``."""
        result: dict[str, dict[str, int]] = {severity: {} for severity in SEVERITIES}
        for code, count in sorted(self.by_code.items()):
            result[self._severity_of_code[code]][code] = count
        return result

    def sorted_findings(self) -> list[Finding]:
        order = {severity: index for index, severity in enumerate(SEVERITIES)}
        return sorted(self.findings, key=lambda f: order[f.severity])


def json_path(parts: list[str | int] | tuple[str | int, ...], prefix: str = "$") -> str:
    """``["releases", 3, "date"]`` -> ``$.releases[3].date``."""
    text = prefix
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}"
    return text
