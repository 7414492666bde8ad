"""Only the owner sees or acts on a service from the client area.

In a client's context the shim sends the logged-in client as `bridge_client_id`: the service's tblhosting.userid
must be that client, or the call is refused and audited. Admin context (`bridge_admin_id`) and WHMCS's own
automation (neither) pass. A call naming a client is the client's even if it also names an admin: WHMCS keeps
both in one session ("Login as Client"), and the shim decides by the area the request came from.
"""

from __future__ import annotations

from bridge import logs
from bridge.domain.params import Params, optional_int
from bridge.errors import BridgeError
from bridge.functions.context import Resources
from bridge.whmcs import audit


class NotOwner(BridgeError):
    status = 403
    code = "not_owner"


class AdminOnly(BridgeError):
    """An admin action (an admin button, the fleet console) asked for from elsewhere."""

    status = 403
    code = "admin_only"


async def authorize(resources: Resources, params: Params, serviceid: int, action: str) -> None:
    """Refuse (and audit) a client asking for a service that is not theirs. Admins and WHMCS itself pass."""
    client = optional_int(params, "bridge_client_id")
    if not client:
        return
    owner = await resources.records.client_of(serviceid)
    if owner != client:
        rid = logs.request_id()
        await audit.record(
            resources.db,
            request_id=rid,
            action=f"client:{action}",
            outcome="refused",
            detail=f"client {client} asked for service {serviceid}, owned by {owner}",
            serviceid=serviceid,
        )
        raise NotOwner(f"service {serviceid} does not belong to the logged-in client")


def is_admin(params: Params) -> bool:
    """An admin in the admin area: an admin id and no client (a client-area call is the client's, whoever else is
    in WHMCS's session)."""
    return bool(optional_int(params, "bridge_admin_id")) and not optional_int(params, "bridge_client_id")
