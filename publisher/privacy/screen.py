"""The privacy screen: between describe and validate, for every dataset.

    findings = scan every table (masked samples only)
    match each finding to the dataset's column policy
    any finding without a policy -> PrivacyBlocked (the dataset is not published)
    otherwise rewrite the tables with the policies applied (drop, hash, mask,
    generalise; small-cell suppression) and return them

``result.findings`` receives every finding as a dict, including the allowed
columns with their reasons (the package metadata carries them).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.config import ColumnPolicy, Config, DatasetConfig, resolve
from publisher.errors import ConfigError, PrivacyBlocked, Stage
from publisher.hashing import sha256_and_size
from publisher.outcomes import DatasetResult
from publisher.privacy import policies
from publisher.privacy.detectors import Finding
from publisher.privacy.reading import read_header
from publisher.privacy.scan import scan_csv
from publisher.tables.model import DescribedTable

log = logging.getLogger(__name__)
MIN_KEY_LENGTH = 16


@dataclass
class TableScreen:
    """One table's findings and the policies that apply to its columns."""

    table: DescribedTable
    findings: list[Finding]
    policies: dict[str, ColumnPolicy] = field(default_factory=dict)  # column -> policy
    suppressed: dict[str, int] = field(default_factory=dict)  # column -> cells suppressed


def policy_for(column: str, configured: Mapping[str, ColumnPolicy]) -> ColumnPolicy | None:
    """The policy named for ``column`` (exact name first, then case-insensitive)."""
    if column in configured:
        return configured[column]
    folded = {name.casefold(): policy for name, policy in configured.items()}
    return folded.get(column.casefold())


def with_policy(finding: Finding, policy: ColumnPolicy | None) -> Finding:
    if policy is None:
        return finding
    return dataclasses.replace(finding, policy=policy.policy, reason=policy.reason)


def screen_findings(dataset: DatasetConfig, tables: Sequence[DescribedTable]) -> list[TableScreen]:
    """Scan every table and attach the configured policies (nothing is rewritten)."""
    configured = dataset.privacy.columns
    screens = []
    for table in tables:
        columns = read_header(table.path)
        applying = {c: p for c in columns if (p := policy_for(c, configured)) is not None}
        allowed = {c for c, p in applying.items() if p.policy == "allow"}
        scanned = scan_csv(table.path, table.name, table.schema, allowed)
        findings = [with_policy(f, applying.get(f.column)) for f in scanned]
        flagged = {f.column for f in findings}
        for column, policy in applying.items():
            if column not in flagged:
                findings.append(Finding(resource=table.name, column=column, kind=None, confidence=0.0, count=0,
                                        cells=0, policy=policy.policy, reason=policy.reason))
        screens.append(TableScreen(table=table, findings=findings, policies=applying))
    _warn_unused(dataset, screens)
    return screens


def _warn_unused(dataset: DatasetConfig, screens: Sequence[TableScreen]) -> None:
    used = {c.casefold() for s in screens for c in s.policies}
    for column in dataset.privacy.columns:
        if column.casefold() not in used:
            log.warning("dataset '%s': privacy policy for column %r matches no column", dataset.name, column)
    suppression = dataset.privacy.suppress_small_cells
    present = {c for s in screens for c in read_header(s.table.path)}
    for column in suppression.columns if suppression else ():
        if column not in present:
            log.warning("dataset '%s': suppress_small_cells names column %r, which no table has",
                        dataset.name, column)


def unhandled(screens: Sequence[TableScreen]) -> list[Finding]:
    return [f for s in screens for f in s.findings if f.policy == "unhandled"]


def blocked_message(findings: Sequence[Finding]) -> str:
    """One line: how many columns, which columns and kinds (never values), what to do."""
    listed = ", ".join(f"{f.resource}.{f.column} ({f.kind})" for f in findings)
    noun = "column" if len(findings) == 1 else "columns"
    return (
        f"personal data in {len(findings)} {noun} with no privacy policy: {listed}; add a policy for each under "
        "[datasets.privacy.columns] in harvest_config.toml (drop, hash, mask, generalise, or allow with a reason)"
    )


def hash_key(config: Config, dataset: DatasetConfig, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The HMAC key when a hash policy is configured; a one-line error names the variable when unset."""
    if not any(p.policy == "hash" for p in dataset.privacy.columns.values()):
        return None
    reference = config.defaults.privacy.hash_key
    try:
        key = resolve(reference, "defaults.privacy.hash_key", environ)
    except ConfigError as e:
        raise ConfigError(
            f"dataset '{dataset.name}' has a hash policy but the environment variable {reference.env} "
            "(the HMAC key) is not set", dataset=dataset.name, stage=Stage.SCREEN,
            hint=f"export {reference.env}=<a secret of at least {MIN_KEY_LENGTH} characters>",
        ) from e
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the HMAC key in {reference.env} is shorter than {MIN_KEY_LENGTH} characters",
            dataset=dataset.name, stage=Stage.SCREEN,
        )
    return key.encode("utf-8")


def screen_tables(config: Config, dataset: DatasetConfig, tables: list[DescribedTable],
                  result: DatasetResult, *, environ: Mapping[str, str] | None = None) -> list[DescribedTable]:
    """The runner's Screen: apply the dataset's policies, or raise PrivacyBlocked when data is unhandled."""
    screens = screen_findings(dataset, tables)
    result.findings = [f.to_dict() for s in screens for f in s.findings]
    missing = unhandled(screens)
    if missing:
        raise PrivacyBlocked(blocked_message(missing), dataset=dataset.name)
    key = hash_key(config, dataset, environ)
    suppression = dataset.privacy.suppress_small_cells
    k = (suppression.k if suppression and suppression.k else config.defaults.privacy.small_cell_k)
    suppress_columns = set(suppression.columns) if suppression else set()
    screened = [apply_policies(s, key, suppress_columns, k) for s in screens]
    result.findings = [f.to_dict() for s in screens for f in s.findings] + [
        _suppression_finding(s, column, k) for s in screens for column in s.suppressed
    ]
    return screened


def _suppression_finding(screen: TableScreen, column: str, k: int) -> dict[str, Any]:
    return {
        "resource": screen.table.name, "column": column, "kind": "small_cells", "count": screen.suppressed[column],
        "policy": "suppress", "k": k,
        "note": f"{screen.suppressed[column]} counts from 1 to {k - 1} suppressed (left empty)",
    }


# --- rewriting ----------------------------------------------------------------

def apply_policies(screen: TableScreen, key: bytes | None, suppress_columns: set[str], k: int) -> DescribedTable:
    """Rewrite one table's CSV with its policies applied; unchanged tables are returned as they are."""
    table = screen.table
    header = read_header(table.path)
    kinds = {f.column: f.kind for f in screen.findings}
    plan: dict[int, Callable[[str], str] | None] = {}
    for index, column in enumerate(header):
        policy = screen.policies.get(column)
        if policy is not None and policy.policy != "allow":
            plan[index] = policies.transform_for(policy, kinds.get(column), key)
    suppress = {i: policies.suppressor(k) for i, c in enumerate(header) if c in suppress_columns}
    if not plan and not suppress:
        return table
    counts = _rewrite(table.path, plan, suppress)
    screen.suppressed = {header[i]: n for i, n in counts.items()}
    digest, size = sha256_and_size(table.path)
    return dataclasses.replace(table, schema=_schema_after(table.schema, screen, header, k), bytes=size,
                               sha256=digest, notes=table.notes + _notes(screen, k))


def _rewrite(path: Path, plan: Mapping[int, Callable[[str], str] | None],
             suppress: Mapping[int, Callable[[str], tuple[str, bool]]]) -> dict[int, int]:
    """Stream the CSV through the transforms into a temp file, then replace it atomically."""
    dropped = {i for i, transform in plan.items() if transform is None}
    transforms = {i: t for i, t in plan.items() if t is not None}
    suppressed = dict.fromkeys(suppress, 0)
    temp = path.with_name(path.name + ".screening")
    with path.open(encoding="utf-8", newline="") as source, temp.open("w", encoding="utf-8", newline="") as target:
        reader, writer = csv.reader(source), csv.writer(target, lineterminator="\n")
        writer.writerow([c for i, c in enumerate(next(reader, [])) if i not in dropped])
        for row in reader:
            for index, transform in transforms.items():
                if index < len(row) and row[index]:
                    row[index] = transform(row[index])
            for index, suppressor in suppress.items():
                if index < len(row) and row[index]:
                    row[index], hit = suppressor(row[index])
                    suppressed[index] += hit
            writer.writerow([c for i, c in enumerate(row) if i not in dropped] if dropped else row)
    os.replace(temp, path)
    return suppressed


def _schema_after(schema: Mapping[str, Any], screen: TableScreen, header: Sequence[str], k: int) -> dict[str, Any]:
    dropped = {c for c, p in screen.policies.items() if p.policy == "drop"}
    fields = []
    for item in schema.get("fields", []):
        name = item.get("name")
        if name in dropped:
            continue
        policy = screen.policies.get(name)
        updated = policies.field_after(dict(item), policy) if policy else dict(item)
        if name in screen.suppressed:
            updated = policies.suppressed_field(updated, k)
        fields.append(updated)
    result = {key: value for key, value in schema.items() if key not in ("primaryKey", "foreignKeys")}
    result["fields"] = fields
    primary = schema.get("primaryKey")
    if primary and not set([primary] if isinstance(primary, str) else primary) & dropped:
        result["primaryKey"] = primary
    foreign = [fk for fk in schema.get("foreignKeys", []) if not _names(fk.get("fields")) & dropped]
    if foreign:
        result["foreignKeys"] = foreign
    return result


def _names(fields: Any) -> set[str]:
    return {fields} if isinstance(fields, str) else set(fields or [])


def _notes(screen: TableScreen, k: int) -> tuple[str, ...]:
    notes = [f"privacy: {p.policy} applied to column {c!r}" for c, p in screen.policies.items() if p.policy != "allow"]
    notes += [f"privacy: {n} counts below {k} suppressed in column {c!r}" for c, n in screen.suppressed.items()]
    return tuple(notes)
