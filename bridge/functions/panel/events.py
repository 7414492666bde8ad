"""The service's history: lifecycle calls WHMCS made (created, suspended, ...) recorded beside the panel's own
events (buckets, keys, files, cancellations), with who did it."""

from __future__ import annotations

from bridge.domain.params import Params, optional_int
from bridge.functions.context import Outcome, Resources

LIFECYCLE_EVENTS = {
    "CreateAccount": "created",
    "SuspendAccount": "suspended",
    "UnsuspendAccount": "unsuspended",
    "TerminateAccount": "terminated",
    "ChangePassword": "password changed (access keys unchanged)",
    "ResetPassword": "new password (access keys unchanged)",
    "ChangePackage": "plan changed",
    "SetLimitedPolicy": "limited (writes refused)",
    "SetStandardPolicy": "standard policy",
    "UpdatePolicy": "policy updated",
    "RevokeOldKeys": "old key pair revoked",
}


def actor_of(params: Params) -> str:
    admin = optional_int(params, "bridge_admin_id")
    client = optional_int(params, "bridge_client_id")
    if client:  # a client-area call is the client's, even with an admin in WHMCS's session ("Login as Client")
        return f"client {client}"
    if admin:
        return f"admin {admin}"
    return "WHMCS automation"


POLICY_EVENTS = {
    "limited": "limited (over the disk limit: writes refused)",
    "standard": "unlimited again (standard policy)",
}


async def record_lifecycle(resources: Resources, function: str, params: Params, outcome: Outcome) -> None:
    result = outcome.result if isinstance(outcome.result, dict) else {}
    changes = result.get("policy_changes")
    if isinstance(changes, list):  # the cron's limit decisions, one per service that changed
        store = resources.stores.panel
        for change in changes:
            if isinstance(change, dict) and change.get("policy") in POLICY_EVENTS and change.get("serviceid"):
                await store.add_event(int(change["serviceid"]), POLICY_EVENTS[change["policy"]], "", actor_of(params))
    event = LIFECYCLE_EVENTS.get(function)
    serviceid = optional_int(params, "serviceid")
    if event is None or not serviceid:
        return
    detail = ""
    if isinstance(outcome.result, dict):
        detail = str(outcome.result.get("policy") or outcome.result.get("message") or "")[:200]
    await resources.stores.panel.add_event(serviceid, event, detail, actor_of(params))
