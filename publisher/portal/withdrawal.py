"""Withdraw datasets that left the config: ``on_removed = "keep" | "private" | "delete"``.

The policy of a removed dataset is the one it had when it was last published
(the extra ``publisher_on_removed``), else ``[defaults].on_removed``. ``keep``
leaves the dataset as it is, with a warning on every run; ``private`` hides it
(and marks it ``publisher_withdrawn``, so that it comes back public if the
dataset returns to the config); ``delete`` calls ``package_delete`` (CKAN's
trash: a sysadmin can restore it).

The mass-withdrawal guard: when a run would withdraw more than
``portal.max_withdrawal_share`` of the datasets the publisher manages in the
organization, it withdraws none and says why, unless ``allow_mass`` is given.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from publisher.config import Config, OnRemoved
from publisher.errors import PublisherError, Stage
from publisher.outcomes import DatasetResult, Outcome
from publisher.portal.mapping import EXTRA_ON_REMOVED, EXTRA_WITHDRAWN, MANAGED_MARK

if TYPE_CHECKING:
    from publisher.portal.ckan import CkanPortal

log = logging.getLogger(__name__)
PAGE = 500
WITHDRAWAL_CHECK = "(withdrawal check)"  # the result's name when the portal cannot be listed
POLICIES: tuple[OnRemoved, ...] = ("keep", "private", "delete")


def managed_datasets(portal: CkanPortal, organization: str) -> list[dict[str, Any]]:
    """Every active dataset of ``organization`` that carries the publisher's mark (private ones too)."""
    return [p for p in _search_all(portal, organization)
            if any(e.get("key") == MANAGED_MARK and str(e.get("value")).lower() == "true"
                   for e in p.get("extras", []))]


def _search_all(portal: CkanPortal, organization: str) -> Iterator[dict[str, Any]]:
    start = 0
    while True:
        answer = portal.client.call("package_search", {
            "fq": f"organization:{organization} extras_{MANAGED_MARK}:true", "include_private": True,
            "rows": PAGE, "start": start, "sort": "name asc",
        })
        results = answer.get("results", [])
        yield from results
        start += len(results)
        if not results or start >= int(answer.get("count", 0)):
            return


def is_withdrawn(package: dict[str, Any]) -> bool:
    return bool(package.get("private")) and _extra(package, EXTRA_WITHDRAWN) is not None


def _extra(package: dict[str, Any], key: str) -> str | None:
    for item in package.get("extras", []):
        if item.get("key") == key:
            return str(item.get("value"))
    return None


def policy_of(package: dict[str, Any], config: Config) -> OnRemoved:
    remembered = _extra(package, EXTRA_ON_REMOVED)
    for policy in POLICIES:
        if remembered == policy:
            return policy
    return config.defaults.on_removed


def withdraw_removed(portal: CkanPortal, config: Config, *, dry_run: bool, allow_mass: bool) -> list[DatasetResult]:
    """One result per managed dataset that is no longer in the config."""
    assert config.portal is not None
    configured = {d.name for d in config.datasets}
    try:
        listed = managed_datasets(portal, config.portal.organization)
    except PublisherError as e:
        e.with_context(stage=Stage.PUBLISH)
        now = dt.datetime.now(dt.UTC)
        return [DatasetResult(dataset=WITHDRAWAL_CHECK, outcome=Outcome.FAILED, stage=Stage.PUBLISH,
                              message=f"cannot list the datasets to withdraw: {e.one_line()}",
                              error_type=type(e).__name__, started_at=now, finished_at=now)]
    managed = [p for p in listed if not is_withdrawn(p)]
    removed = [p for p in managed if p["name"] not in configured]
    to_withdraw = [p for p in removed if policy_of(p, config) != "keep"]
    share = config.portal.max_withdrawal_share
    results = [_keep(portal, p) for p in removed if policy_of(p, config) == "keep"]
    if to_withdraw and len(to_withdraw) > share * len(managed) and not allow_mass:
        reason = (f"mass-withdrawal guard: this run would withdraw {len(to_withdraw)} of the {len(managed)} "
                  f"datasets the publisher manages ({len(to_withdraw) / len(managed):.0%} > {share:.0%} "
                  "portal.max_withdrawal_share); withdrew none (rerun with --allow-mass-withdrawal if intended)")
        log.warning("%s", reason)
        return results + [_result(portal, p, Outcome.BLOCKED, reason) for p in to_withdraw]
    return results + [_withdraw(portal, p, policy_of(p, config), dry_run=dry_run) for p in to_withdraw]


def _result(portal: CkanPortal, package: dict[str, Any], outcome: Outcome, message: str) -> DatasetResult:
    now = dt.datetime.now(dt.UTC)
    return DatasetResult(dataset=str(package["name"]), outcome=outcome, stage=Stage.PUBLISH, message=message,
                         ckan_id=str(package["id"]), ckan_url=portal.dataset_url(str(package["name"])),
                         started_at=now, finished_at=now)


def _keep(portal: CkanPortal, package: dict[str, Any]) -> DatasetResult:
    message = "no longer in the config; kept on the portal as it is (on_removed = \"keep\")"
    log.warning("dataset '%s': %s", package["name"], message)
    result = _result(portal, package, Outcome.UNCHANGED, message)
    result.plan = [{"action": "withdraw", "target": package["name"], "policy": "keep", "reason": "not in config"}]
    return result


def _withdraw(portal: CkanPortal, package: dict[str, Any], policy: OnRemoved, *, dry_run: bool) -> DatasetResult:
    verb = "made private" if policy == "private" else "deleted"
    plan = [{"action": "withdraw", "target": package["name"], "policy": policy, "reason": "not in config"}]
    if dry_run:
        result = _result(portal, package, Outcome.SKIPPED, f"no longer in the config; would be {verb}")
        result.plan = plan
        return result
    writes_before = portal.client.write_calls
    try:
        if policy == "private":
            extras = [e for e in package.get("extras", []) if e.get("key") != EXTRA_WITHDRAWN]
            extras.append({"key": EXTRA_WITHDRAWN, "value": _now()})
            portal.client.call("package_patch", {"id": package["id"], "private": True, "extras": extras})
        else:
            portal.client.call("package_delete", {"id": package["id"]})
        result = _result(portal, package, Outcome.PUBLISHED, f"no longer in the config: {verb} (on_removed = "
                                                             f"\"{policy}\")")
    except PublisherError as e:
        e.with_context(dataset=str(package["name"]), stage=Stage.PUBLISH)
        result = _result(portal, package, Outcome.FAILED, e.one_line())
        result.error_type = type(e).__name__
    result.plan = plan
    result.write_calls = portal.client.write_calls - writes_before
    return result


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
