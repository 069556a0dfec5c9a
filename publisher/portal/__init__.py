"""Publishing to CKAN: plan, apply, withdraw, pull.

    from_config(config, environ) -> CkanPortal | None   the runner's Portal for [portal]
    CkanPortal.sync(...)                                plan + apply one dataset
    CkanPortal.withdraw_removed(...)                    datasets that left the config
    pull_dataset(portal, name, dest)                    CKAN -> a Frictionless package
"""

from __future__ import annotations

from publisher.portal.ckan import CkanPortal, from_config, is_managed, plan_run, plan_summary
from publisher.portal.client import CkanClient, CkanNotAuthorized, CkanNotFound, CkanValidationError
from publisher.portal.plan import Action, ActionKind, Plan, plan_dataset_sync

__all__ = [
    "Action",
    "ActionKind",
    "CkanClient",
    "CkanNotAuthorized",
    "CkanNotFound",
    "CkanPortal",
    "CkanValidationError",
    "Plan",
    "from_config",
    "is_managed",
    "plan_dataset_sync",
    "plan_run",
    "plan_summary",
]
