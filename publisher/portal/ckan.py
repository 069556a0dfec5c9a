"""CkanPortal: publish written data packages to CKAN, idempotently and non-destructively.

``sync()`` reads the remote state, builds a plan (publisher.portal.plan) and,
unless it is a dry run, applies it through the one client wrapper
(publisher.portal.client). ``withdraw_removed()`` handles datasets that left
the config. The publisher touches only datasets that carry its mark (the
extra ``publisher_managed = "true"``); a same-name dataset without it is
refused with a clear error.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from publisher.config import Config, DatasetConfig, resolve
from publisher.errors import ConfigError, PortalError, PublisherError, Stage
from publisher.outcomes import DatasetResult, Outcome, RunReport
from publisher.portal import datastore
from publisher.portal.client import CkanClient, CkanNotFound
from publisher.portal.mapping import MANAGED_MARK, DesiredDataset, desired_dataset, volatile_extras
from publisher.portal.plan import Action, ActionKind, Plan, RemoteFacts, managed_resources, plan_dataset_sync

log = logging.getLogger(__name__)


def from_config(config: Config, environ: Mapping[str, str] | None = None, *,
                session: requests.Session | None = None) -> CkanPortal | None:
    """The portal of ``[portal]``, or None when the config has none."""
    if config.portal is None:
        return None
    url = resolve(config.portal.url, "portal.url", environ)
    token = resolve(config.portal.api_key, "portal.api_key", environ) if config.portal.api_key else None
    client = CkanClient(url, token=token, timeout=config.portal.timeout, retries=config.portal.retries,
                        session=session or requests.Session())
    return CkanPortal(client)


def is_managed(package: Mapping[str, Any]) -> bool:
    return any(e.get("key") == MANAGED_MARK and str(e.get("value")).lower() == "true"
               for e in package.get("extras", []))


class CkanPortal:
    """The ``Portal`` of publisher.runner for CKAN."""

    def __init__(self, client: CkanClient) -> None:
        self.client = client
        self._licenses: set[str] | None = None
        self._groups: dict[str, bool] = {}
        self._organizations: set[str] = set()

    def __repr__(self) -> str:
        return f"CkanPortal(url={self.client.url!r})"

    def dataset_url(self, name: str) -> str:
        return f"{self.client.url}/dataset/{name}"

    # --- sync -----------------------------------------------------------------------

    def sync(self, config: Config, dataset: DatasetConfig, package_dir: Path, result: DatasetResult,
             *, dry_run: bool) -> None:
        """Plan and (unless ``dry_run``) apply; fills the result's outcome, plan and write count."""
        writes_before = self.client.write_calls
        try:
            plan = self.plan(config, dataset, package_dir, harvested_at=_timestamp(result.started_at))
            result.plan = plan.to_dicts()
            result.ckan_id = plan.package_id
            result.ckan_url = self.dataset_url(dataset.name)
            if not plan.write_actions:
                result.outcome, result.message = Outcome.UNCHANGED, "CKAN already shows this version"
            elif dry_run:
                result.outcome = Outcome.SKIPPED
                result.message = f"would make {len(plan.write_actions)} change(s) in CKAN: {_summary(plan)}"
            else:
                result.ckan_id = self.apply(plan, dataset)
                result.outcome = Outcome.PUBLISHED
                result.message = f"published to {result.ckan_url}: {_summary(plan)}"
        except PublisherError as e:
            raise e.with_context(dataset=dataset.name, stage=Stage.PUBLISH) from e.__cause__
        finally:
            result.write_calls += self.client.write_calls - writes_before

    def plan(self, config: Config, dataset: DatasetConfig, package_dir: Path, *,
             harvested_at: str | None = None) -> Plan:
        """Compare the package in ``package_dir`` with CKAN; reads only."""
        if config.portal is None:
            raise PortalError("no [portal] section in the config", dataset=dataset.name, stage=Stage.PLAN)
        desired = desired_dataset(config, dataset, package_dir)
        remote = self._show(dataset.name)
        if remote is not None and not is_managed(remote):
            raise PortalError(
                f"a dataset named '{dataset.name}' exists in CKAN but is not managed by the publisher; "
                "refusing to modify it", dataset=dataset.name, stage=Stage.PLAN, action="package_show",
                hint="rename the dataset in the config, or add the extra publisher_managed = true in CKAN to adopt it",
            )
        self._check_license(desired)
        self._check_organization(config.portal.organization, dataset.name)
        facts = self._facts(desired, remote, create_groups=config.portal.create_groups)
        return plan_dataset_sync(desired, remote, facts, volatile_extras(harvested_at or _timestamp(None)))

    def _show(self, name: str) -> dict[str, Any] | None:
        try:
            package: dict[str, Any] = self.client.call("package_show", {"id": name})
        except CkanNotFound:
            return None
        return package

    def _check_license(self, desired: DesiredDataset) -> None:
        if self._licenses is None:
            self._licenses = {str(item["id"]) for item in self.client.call("license_list")}
        license_id = desired.fields["license_id"]
        if license_id not in self._licenses:
            raise PortalError(
                f"licence '{license_id}' is not in the portal's licence register "
                f"(known: {', '.join(sorted(self._licenses))})",
                dataset=desired.name, stage=Stage.PLAN, action="license_list",
                hint="set a licence the portal knows in harvest_config.toml",
            )

    def _check_organization(self, organization: str, dataset: str) -> None:
        """The organization exists and the token's user may create datasets in it (one cached read)."""
        if organization in self._organizations or not self.client.token:
            return
        # organization_show would count the organization's datasets through a search: slow on big portals
        allowed = self.client.call("organization_list_for_user", {"permission": "create_dataset"})
        self._organizations.update(str(org["name"]) for org in allowed)
        if organization not in self._organizations:
            raise PortalError(f"organization '{organization}' does not exist on the portal, or the token's user "
                              "may not create datasets in it", dataset=dataset, stage=Stage.PLAN,
                              action="organization_list_for_user",
                              hint="create it in CKAN, give the user the editor role, or fix portal.organization")

    def _facts(self, desired: DesiredDataset, remote: Mapping[str, Any] | None, *,
               create_groups: bool) -> RemoteFacts:
        present = {g["name"] for g in (remote or {}).get("groups", [])}
        missing = frozenset(g for g in desired.groups if g not in present and not self._group_exists(g))
        if missing and not create_groups:
            raise PortalError(f"group(s) {', '.join(sorted(missing))} do not exist on the portal and "
                              "portal.create_groups is false", dataset=desired.name, stage=Stage.PLAN,
                              action="group_show", hint="create them in CKAN or set create_groups = true")
        if not desired.datastore:
            return RemoteFacts(missing_groups=missing)
        existing, _ = managed_resources(remote)
        local_rows = {r.name: datastore.count_rows(r.path) for r in desired.resources if r.table_schema}
        loaded = {str(r["id"]): self._datastore_rows(str(r["id"])) for r in existing.values()
                  if r.get("datastore_active")}
        return RemoteFacts(missing_groups=missing, datastore_rows=loaded, local_rows=local_rows)

    def _group_exists(self, name: str) -> bool:
        if name not in self._groups:
            try:
                self.client.call("group_show", {"id": name, "include_datasets": False})
                self._groups[name] = True
            except CkanNotFound:
                self._groups[name] = False
        return self._groups[name]

    def _datastore_rows(self, resource_id: str) -> int | None:
        try:
            answer = self.client.call("datastore_search", {"resource_id": resource_id, "limit": 0})
        except CkanNotFound:
            return None
        return int(answer.get("total", 0))

    # --- apply ----------------------------------------------------------------------

    def apply(self, plan: Plan, dataset: DatasetConfig) -> str | None:
        """Run the plan's write actions in order; returns the CKAN dataset id."""
        package_id = plan.package_id
        created: dict[str, str] = {}
        for action in plan.write_actions:
            try:
                package_id = self._apply_one(action, package_id, created)
            except PublisherError as e:
                step = f"{action.kind} '{action.target}'"
                e.action = f"{step} via {e.action}" if e.action else step
                raise e.with_context(dataset=dataset.name, stage=Stage.PUBLISH) from e.__cause__
        return package_id

    def _apply_one(self, action: Action, package_id: str | None, created: dict[str, str]) -> str | None:
        kind, call = action.kind, self.client.call
        if kind is ActionKind.CREATE_GROUP:
            call("group_create", action.payload)
            self._groups[action.target] = True
        elif kind is ActionKind.CREATE_DATASET:
            package_id = str(call("package_create", action.payload)["id"])
        elif kind is ActionKind.CREATE_RESOURCE:
            answer = call("resource_create", {"package_id": package_id, **action.payload}, upload=action.file)
            created[action.target] = str(answer["id"])
        elif kind is ActionKind.UPLOAD:
            call("resource_patch", action.payload, upload=action.file)
        elif kind is ActionKind.PATCH_RESOURCE:
            call("resource_patch", action.payload)
        elif kind is ActionKind.DELETE_RESOURCE:
            call("resource_delete", action.payload)
        elif kind is ActionKind.LOAD_DATASTORE:
            self._load_datastore(action, created)
        elif kind is ActionKind.PATCH_DATASET:
            call("package_patch", action.payload)
        return package_id

    def _load_datastore(self, action: Action, created: dict[str, str]) -> None:
        resource_id = action.resource_id or created.get(action.target)
        if resource_id is None or action.file is None or action.table_schema is None:
            raise PortalError(f"resource '{action.target}' is not on the portal yet", action="load_datastore")
        datastore.load(self.client, resource_id, action.file, action.table_schema,
                       replace=action.resource_id is not None)

    # --- withdrawal -----------------------------------------------------------------

    def withdraw_removed(self, config: Config, *, dry_run: bool, allow_mass: bool) -> list[DatasetResult]:
        """Datasets the publisher manages in the organization that left the config (see withdrawal.py)."""
        from publisher.portal.withdrawal import withdraw_removed

        return withdraw_removed(self, config, dry_run=dry_run, allow_mass=allow_mass)


def _summary(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for action in plan.write_actions:
        counts[str(action.kind)] = counts.get(str(action.kind), 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _timestamp(moment: dt.datetime | None) -> str:
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def plan_run(config: Config, names: Sequence[str] = (), *, environ: Mapping[str, str] | None = None,
             session: requests.Session | None = None) -> RunReport:
    """The pipeline in dry-run mode against the portal: each result's ``plan`` says what CKAN would get.

    Sources are read afresh (``full_refresh``) so that the plan compares the
    current data with CKAN, not with the last run's record.
    """
    import dataclasses

    from publisher.app import default_deps
    from publisher.runner import run

    portal = from_config(config, environ, session=session)
    if portal is None:
        raise ConfigError(f"{config.path.name}: no [portal] section: nothing to plan against",
                          hint="add [portal] with url, api_key and organization")
    deps = dataclasses.replace(default_deps(config, environ=environ, full_refresh=True), portal=portal)
    return run(config, names, dry_run=True, deps=deps)


def plan_summary(report: RunReport) -> list[dict[str, Any]]:
    """What ``publisher plan --json`` prints: one entry per dataset."""
    return [{"dataset": r.dataset, "outcome": str(r.outcome), "message": r.message, "ckan_url": r.ckan_url,
             "writes": sum(1 for a in r.plan if a.get("action") != "skip"), "plan": r.plan}
            for r in report.results]
