"""plan(desired, remote) -> the typed actions that make CKAN show the package.

The plan is pure: it reads nothing and writes nothing; ``CkanPortal`` gathers
the remote state (``package_show`` and a few cached lookups) and applies the
actions in the order given here, which keeps CKAN consistent if a run stops
half-way: groups, then the dataset, then each data file, then
``datapackage.json`` (which names the data files' hashes), ``validation.json``,
then deletions of files that left the package, and the dataset's metadata last.

Lists are merged, never replaced: tags, groups, extras and resources that the
publisher does not manage are sent back unchanged (``package_patch`` replaces
whole lists). Volatile values (``last_harvested``, ``publisher_version``) are
written along with a real change, never as the only one.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from publisher.portal.mapping import (
    DESCRIPTOR_RESOURCE,
    EXTRA_GROUPS,
    EXTRA_TAGS,
    EXTRA_WITHDRAWN,
    MANAGED_MARK,
    VALIDATION_RESOURCE,
    DesiredDataset,
    DesiredResource,
    canonical_json,
)


class ActionKind(StrEnum):
    CREATE_GROUP = "create_group"
    CREATE_DATASET = "create_dataset"
    CREATE_RESOURCE = "create_resource"  # a new resource, with its upload
    UPLOAD = "upload"  # new content for an existing resource (and any changed fields)
    PATCH_RESOURCE = "patch_resource"  # fields only
    LOAD_DATASTORE = "load_datastore"
    DELETE_RESOURCE = "delete_resource"
    PATCH_DATASET = "patch_dataset"
    SKIP = "skip"


@dataclass(frozen=True)
class Action:
    """One step of a plan; ``changes`` maps a field to (value in CKAN, value to send)."""

    kind: ActionKind
    target: str  # the dataset, resource or group name
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)  # what is sent to CKAN
    file: Path | None = None  # the file to upload, or to load into the DataStore
    table_schema: dict[str, Any] | None = None  # LOAD_DATASTORE only
    resource_id: str | None = None
    reason: str = ""

    @property
    def writes(self) -> bool:
        return self.kind is not ActionKind.SKIP

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": str(self.kind), "target": self.target}
        if self.resource_id:
            data["resource_id"] = self.resource_id
        if self.changes:
            data["changes"] = {k: {"from": _short(old), "to": _short(new)} for k, (old, new) in self.changes.items()}
        if self.file is not None:
            data["file"] = self.file.name
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass
class Plan:
    dataset: str
    package_id: str | None  # None until the dataset exists
    actions: list[Action]

    @property
    def write_actions(self) -> list[Action]:
        return [a for a in self.actions if a.writes]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [a.to_dict() for a in self.actions]


@dataclass(frozen=True)
class RemoteFacts:
    """What the portal told us besides ``package_show``."""

    missing_groups: frozenset[str] = frozenset()
    datastore_rows: Mapping[str, int | None] = field(default_factory=dict)  # resource id -> rows loaded
    local_rows: Mapping[str, int] = field(default_factory=dict)  # resource name -> rows in the file


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 120:
        return f"{value[:60]}... ({len(value)} chars)"
    return value


def plan_dataset_sync(desired: DesiredDataset, remote: Mapping[str, Any] | None, facts: RemoteFacts,
                      volatile: Mapping[str, str]) -> Plan:
    """The actions that make ``remote`` (``package_show``, or None) show ``desired``."""
    actions = [Action(ActionKind.CREATE_GROUP, g, payload={"name": g, "title": g}, reason="group missing")
               for g in desired.groups if g in facts.missing_groups]
    if remote is None:
        actions.append(_create_dataset(desired, volatile))
    resource_actions = plan_resources(desired, remote, facts)
    actions.extend(resource_actions)
    if remote is not None:
        writes = any(a.writes for a in actions)
        actions.append(_patch_dataset(desired, remote, volatile, force=writes))
    return Plan(dataset=desired.name, package_id=remote["id"] if remote else None, actions=actions)


# --- the dataset ------------------------------------------------------------------

def _create_dataset(desired: DesiredDataset, volatile: Mapping[str, str]) -> Action:
    extras = {**desired.extras, **_list_marks(desired.tags, desired.groups), **volatile}
    payload: dict[str, Any] = {
        "name": desired.name, **desired.fields, "private": False,
        "tags": [{"name": t} for t in desired.tags],
        "groups": [{"name": g} for g in desired.groups],
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
    }
    changes = {k: (None, v) for k, v in payload.items() if k not in ("name", "extras")}
    return Action(ActionKind.CREATE_DATASET, desired.name, changes=changes, payload=payload,
                  reason="not on the portal")


def _list_marks(tags: Collection[str], groups: Collection[str]) -> dict[str, str]:
    return {EXTRA_TAGS: canonical_json(sorted(tags)), EXTRA_GROUPS: canonical_json(sorted(groups))}


def _patch_dataset(desired: DesiredDataset, remote: Mapping[str, Any], volatile: Mapping[str, str],
                   *, force: bool) -> Action:
    changes: dict[str, tuple[Any, Any]] = {}
    for key, value in desired.fields.items():
        current = _remote_org(remote) if key == "owner_org" else remote.get(key)
        if not _same(current, value):
            changes[key] = (current, value)
    tags, groups, extras = _merged_lists(desired, remote)
    remote_tags = [t["name"] for t in remote.get("tags", [])]
    if set(tags) != set(remote_tags):
        changes["tags"] = (sorted(remote_tags), sorted(tags))
    remote_groups = [g["name"] for g in remote.get("groups", [])]
    if set(groups) != set(remote_groups):
        changes["groups"] = (sorted(remote_groups), sorted(groups))
    remote_extras = _extras(remote)
    for key in sorted(set(extras) | set(remote_extras)):
        if extras.get(key) != remote_extras.get(key):
            changes[f"extras.{key}"] = (remote_extras.get(key), extras.get(key))
    changes.update(_restore(remote))
    if not changes and not force:
        return Action(ActionKind.SKIP, desired.name, reason="metadata unchanged")
    extras.update(volatile)
    payload: dict[str, Any] = {
        "id": remote["id"], **desired.fields,
        "tags": [{"name": t} for t in tags], "groups": [{"name": g} for g in groups],
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        **{k: new for k, (_, new) in _restore(remote).items()},
    }
    reason = "metadata changed" if changes else "records the harvest of new content"
    return Action(ActionKind.PATCH_DATASET, desired.name, changes=changes, payload=payload,
                  resource_id=None, reason=reason)


def _merged_lists(desired: DesiredDataset, remote: Mapping[str, Any]) -> tuple[list[str], list[str], dict[str, str]]:
    """Remote lists minus what the publisher put there before, plus what it wants now."""
    remote_extras = _extras(remote)
    ours_before_tags = set(_json_list(remote_extras.get(EXTRA_TAGS)))
    ours_before_groups = set(_json_list(remote_extras.get(EXTRA_GROUPS)))
    tags = [t["name"] for t in remote.get("tags", []) if t["name"] not in ours_before_tags]
    tags += [t for t in desired.tags if t not in tags]
    groups = [g["name"] for g in remote.get("groups", []) if g["name"] not in ours_before_groups]
    groups += [g for g in desired.groups if g not in groups]
    extras = {k: v for k, v in remote_extras.items() if k != EXTRA_WITHDRAWN}
    extras.update(desired.extras)
    extras.update(_list_marks(desired.tags, desired.groups))
    return tags, groups, extras


def _restore(remote: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """A dataset the publisher withdrew comes back when its config entry does."""
    changes: dict[str, tuple[Any, Any]] = {}
    if remote.get("state") == "deleted":
        changes["state"] = ("deleted", "active")
    if remote.get("private") and EXTRA_WITHDRAWN in _extras(remote):
        changes["private"] = (True, False)
    return changes


def _remote_org(remote: Mapping[str, Any]) -> Any:
    org = remote.get("organization")
    return org.get("name") if isinstance(org, dict) else remote.get("owner_org")


def _extras(remote: Mapping[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in remote.get("extras", []) if "key" in e}


def _json_list(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _same(current: Any, wanted: Any) -> bool:
    if current in (None, "") and wanted in (None, ""):
        return True
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        try:
            return int(current) == wanted
        except (TypeError, ValueError):
            return False
    return bool(current == wanted)


# --- the resources ----------------------------------------------------------------

def managed_resources(remote: Mapping[str, Any] | None) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The publisher's resources in CKAN by name, and duplicates left by an interrupted run."""
    by_name: dict[str, dict[str, Any]] = {}
    duplicates: list[dict[str, Any]] = []
    for resource in (remote or {}).get("resources", []):
        if str(resource.get(MANAGED_MARK, "")).lower() != "true":
            continue
        if resource.get("name") in by_name:
            duplicates.append(resource)
        else:
            by_name[str(resource.get("name"))] = resource
    return by_name, duplicates


def plan_resources(desired: DesiredDataset, remote: Mapping[str, Any] | None, facts: RemoteFacts) -> list[Action]:
    existing, duplicates = managed_resources(remote)
    actions: list[Action] = []
    loads: list[Action] = []
    for wanted in desired.resources:
        current = existing.get(wanted.name)
        action = _resource_action(wanted, current)
        actions.append(action)
        if desired.datastore and wanted.table_schema is not None:
            load = _datastore_action(wanted, current, action, facts)
            if load is not None:
                loads.append(load)
    # data files and their DataStore tables before the descriptor that describes them
    split = next((i for i, a in enumerate(actions) if a.target in _descriptor_names(desired)), len(actions))
    ordered = actions[:split] + loads + actions[split:]
    wanted_names = {r.name for r in desired.resources}
    stale = [r for name, r in existing.items() if name not in wanted_names] + duplicates
    ordered += [Action(ActionKind.DELETE_RESOURCE, str(r.get("name")), payload={"id": r["id"]},
                       resource_id=r["id"], reason="no longer in the package" if r.get("name") not in wanted_names
                       else "duplicate left by an interrupted run") for r in stale]
    return ordered


def _descriptor_names(desired: DesiredDataset) -> set[str]:
    return {DESCRIPTOR_RESOURCE, VALIDATION_RESOURCE} & {r.name for r in desired.resources}


def _resource_action(wanted: DesiredResource, current: Mapping[str, Any] | None) -> Action:
    if current is None:
        return Action(ActionKind.CREATE_RESOURCE, wanted.name, payload=dict(wanted.fields), file=wanted.path,
                      changes={"content_sha256": (None, wanted.content_sha256)}, reason="new file")
    rid = str(current["id"])
    changes = {k: (current.get(k), v) for k, v in wanted.fields.items()
               if not _same_resource_field(k, current.get(k), v)}
    if "content_sha256" not in changes:
        changes.pop("size", None)  # follows the content; validation.json varies in size with its timings
    if "content_sha256" in changes or current.get("url_type") != "upload":
        return Action(ActionKind.UPLOAD, wanted.name, changes=changes, payload={"id": rid, **wanted.fields},
                      file=wanted.path, resource_id=rid, reason="content changed")
    if changes:
        payload = {"id": rid, **{k: new for k, (_, new) in changes.items()}}
        return Action(ActionKind.PATCH_RESOURCE, wanted.name, changes=changes, payload=payload,
                      resource_id=rid, reason="resource metadata changed")
    return Action(ActionKind.SKIP, wanted.name, resource_id=rid, reason="same content (sha256) and metadata")


def _same_resource_field(key: str, current: Any, wanted: Any) -> bool:
    if key == "format":
        return str(current or "").upper() == str(wanted or "").upper()
    if key == "schema":
        return bool(_parsed(current) == _parsed(wanted))
    return _same(current, wanted)


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _datastore_action(wanted: DesiredResource, current: Mapping[str, Any] | None, action: Action,
                      facts: RemoteFacts) -> Action | None:
    rid = str(current["id"]) if current else None
    expected = facts.local_rows.get(wanted.name)
    if action.kind in (ActionKind.CREATE_RESOURCE, ActionKind.UPLOAD):
        reason = "new content"
    elif current is None or not current.get("datastore_active"):
        reason = "no DataStore table yet"
    elif rid is not None and expected is not None and facts.datastore_rows.get(rid) != expected:
        reason = f"DataStore holds {facts.datastore_rows.get(rid)} rows, the file {expected}"
    else:
        return None
    return Action(ActionKind.LOAD_DATASTORE, wanted.name, file=wanted.path, table_schema=wanted.table_schema,
                  resource_id=rid,
                  changes={"rows": (facts.datastore_rows.get(rid) if rid else None, expected)}, reason=reason)
