"""Checks the OCDS schema cannot express.

- ocid prefixes: each ocid should start with a registered prefix,
  ``ocds-`` and six lower-case letters or digits; all ocids of one publisher
  should share one prefix;
- release ids are unique within an ocid (found in the spool, see ``spool``);
- release dates: not after the package's ``publishedDate``, not in the
  future, and linked releases in a record listed in date order.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from publisher.ocds.findings import FindingCollector

_PREFIX_RE = re.compile(r"^(ocds-[a-z0-9]{6})-", re.IGNORECASE)
_FUTURE_SLACK = dt.timedelta(days=1)


def parse_date(value: Any) -> dt.datetime | None:
    """An aware datetime, or None when the value is not one (the schema check reports it)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass
class OcidPrefixes:
    """Counts ocid prefixes; reports malformed and inconsistent ones at the end."""

    counts: Counter[str] = field(default_factory=Counter)
    first_path: dict[str, str] = field(default_factory=dict)
    malformed: int = 0
    malformed_path: str = ""

    def add(self, ocid: Any, path: str) -> None:
        if not isinstance(ocid, str):
            return
        match = _PREFIX_RE.match(ocid)
        if match is None:
            self.malformed += 1
            self.malformed_path = self.malformed_path or path
            return
        prefix = match.group(1)
        self.counts[prefix] += 1
        self.first_path.setdefault(prefix, path)

    def report(self, findings: FindingCollector) -> None:
        if self.malformed:
            findings.add("ocid_prefix_missing", "warning", self.malformed_path,
                         "ocid does not start with an ocid prefix (ocds- and 6 letters or digits, then '-')",
                         count=self.malformed)
        for prefix, count in sorted(self.counts.items()):
            if prefix != prefix.lower():
                findings.add("ocid_prefix_case", "warning", self.first_path[prefix],
                             f"ocid prefix {prefix} is not lower case: registered prefixes are lower case "
                             f"({prefix.lower()}) and ocids compare case-sensitively", count=count)
        lowered = {p.lower() for p in self.counts}
        if len(self.counts) > 1:
            shown = ", ".join(f"{p} ({n})" for p, n in self.counts.most_common(5))
            case_only = " (differing only in case)" if len(lowered) == 1 else ""
            findings.add("ocid_prefix_inconsistent", "warning", "$",
                         f"{len(self.counts)} different ocid prefixes{case_only}: {shown}")

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts.most_common())


@dataclass
class DateChecks:
    """Release dates against the package's publishedDate and the clock."""

    now: dt.datetime

    def release(self, release: dict[str, Any], published: dt.datetime | None, path: str,
                findings: FindingCollector) -> None:
        date = parse_date(release.get("date"))
        if date is None:
            return
        if published is not None and date > published:
            findings.add("release_date_after_published", "warning", f"{path}.date",
                         f"release date {release['date']} is after the package's publishedDate "
                         f"{published.isoformat()}")
        if date > self.now + _FUTURE_SLACK:
            findings.add("release_date_in_future", "warning", f"{path}.date",
                         f"release date {release['date']} is in the future")

    def linked_order(self, releases: list[Any], path: str, findings: FindingCollector) -> None:
        dates = [parse_date(r.get("date")) if isinstance(r, dict) else None for r in releases]
        known = [(i, d) for i, d in enumerate(dates) if d is not None]
        for (_, before), (index, after) in itertools.pairwise(known):
            if after < before:
                findings.add("releases_not_in_date_order", "warning", f"{path}.releases[{index}].date",
                             "a record's releases must be sorted by date, oldest first; "
                             f"release {index} is older than the one before it")
                return
