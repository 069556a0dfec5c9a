"""What `publisher status` shows: per dataset, its last run and its freshness.

A dataset is *overdue* when its last success is older than its declared
update frequency (ISO 8601, e.g. ``R/P1D``) plus ``[state].freshness_grace``.
Months and years are calendar months and years (P1M from 31 January is the
last day of February).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from publisher.config import Config
from publisher.state.reader import iso, parse_iso


class StatusSource(Protocol):
    """What status and history read (the store, or the light SQLite reader)."""

    @property
    def location(self) -> str: ...

    def reap(self) -> None: ...
    def dataset_rows(self) -> dict[str, dict[str, Any]]: ...
    def locks_held(self) -> dict[str, str]: ...
    def history(self, dataset: str | None = None, limit: int = 20) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...

_DURATION_RE = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_AGE_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Period:
    """An ISO 8601 duration: calendar part (years, months) and exact part."""

    months: int = 0
    exact: dt.timedelta = dt.timedelta(0)

    def after(self, moment: dt.datetime) -> dt.datetime:
        return add_months(moment, self.months) + self.exact


def parse_duration(text: str) -> Period:
    """``P1D``, ``PT6H``, ``P1M``, ``P1Y2M``... -> Period; ValueError otherwise."""
    match = _DURATION_RE.match(text.strip())
    if not match or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    exact = dt.timedelta(weeks=parts.get("weeks", 0), days=parts.get("days", 0), hours=parts.get("hours", 0),
                         minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0))
    return Period(months=12 * parts.get("years", 0) + parts.get("months", 0), exact=exact)


def parse_frequency(text: str) -> Period | None:
    """``R/P1D`` -> Period; ``eventual`` (no promise) -> None."""
    if text.strip().lower() == "eventual":
        return None
    if not text.startswith("R/"):
        raise ValueError(f"not an ISO 8601 repeating interval: {text!r}")
    return parse_duration(text[2:])


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    if not months:
        return moment
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def parse_age(text: str) -> dt.timedelta:
    """``90d``, ``12h``, ``2w`` (also ISO ``P90D``) -> timedelta."""
    match = _AGE_RE.match(text)
    if match:
        return dt.timedelta(**{_AGE_UNITS[match.group(2)]: int(match.group(1))})
    period = parse_duration(text)
    if period.months:
        raise ValueError(f"use days, not months or years, for an age: {text!r}")
    return period.exact


@dataclass(frozen=True)
class DatasetStatus:
    """One row of `publisher status`."""

    dataset: str
    last_run_at: str | None
    last_outcome: str | None
    last_stage: str | None
    last_message: str | None
    last_success_at: str | None
    last_published_at: str | None
    update_frequency: str
    due_by: str | None  # last success + frequency + grace
    freshness: str  # fresh | overdue | never (no success yet) | eventual (no promised frequency)
    locked_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def freshness(last_success: dt.datetime | None, frequency: Period | None, grace: Period,
              now: dt.datetime) -> tuple[str, dt.datetime | None]:
    """(fresh | overdue | never | eventual, due_by)."""
    if frequency is None:
        return "eventual", None
    if last_success is None:
        return "never", None
    due_by = grace.after(frequency.after(last_success))
    return ("overdue" if now > due_by else "fresh"), due_by


def dataset_status(config: Config, state: StatusSource, now: dt.datetime | None = None) -> list[DatasetStatus]:
    """One DatasetStatus per configured dataset, in config order."""
    now = now or dt.datetime.now(dt.UTC)
    state.reap()
    summary = state.dataset_rows()
    held = state.locks_held()
    grace = parse_duration(config.state.freshness_grace)
    rows = []
    for dataset in config.datasets:
        row = summary.get(dataset.name, {})
        frequency = config.frequency_of(dataset)
        label, due_by = freshness(parse_iso(row.get("last_success_at")), parse_frequency(frequency), grace, now)
        rows.append(DatasetStatus(
            dataset=dataset.name, last_run_at=row.get("last_at"), last_outcome=row.get("last_outcome"),
            last_stage=row.get("last_stage"), last_message=row.get("last_message"),
            last_success_at=row.get("last_success_at"), last_published_at=row.get("last_published_at"),
            update_frequency=frequency, due_by=iso(due_by) if due_by else None, freshness=label,
            locked_by=held.get(dataset.name),
        ))
    return rows
