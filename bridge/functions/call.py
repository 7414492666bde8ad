"""The one path every account function takes before it does its own work.

1. `target_of(resources, params)`: parse the call and check the product's settings against the server (nothing touched);
2. `account(resources, target, params)`: hold the service's lock, load its record (the account must exist), and settle
   a pending key rotation once WHMCS holds the new pair; the body runs with the settled record.

CreateAccount and TerminateAccount take steps 1 and the lock only: they are the functions for which "no account yet"
(or "already gone") is a normal state, not an error.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from bridge.backends.base import StorageBackend
from bridge.backends.capabilities import AccessKeys
from bridge.domain.params import Params, ServerParams, optional_int
from bridge.domain.product_settings import InvalidSetting, ProductSettings, parse_product, setting
from bridge.errors import BadParam, BridgeError
from bridge.functions.context import Resources
from bridge.whmcs.records import ServiceRecord


class NoAccount(BridgeError):
    status = 409
    code = "no_account"


@dataclass(frozen=True)
class Target:
    """Which service a call is about, on which server and backend, under which product settings (all checked)."""

    serviceid: int
    clientid: int
    server: ServerParams
    backend: StorageBackend
    product: ProductSettings


def target_of(resources: Resources, params: Params) -> Target:
    """Parse and validate everything an account call needs, the product against the server included; nothing is
    touched yet."""
    serviceid = optional_int(params, "serviceid")
    if not serviceid or serviceid <= 0:
        raise BadParam("serviceid", "must be a positive whole number")
    clientid = optional_int(params, "userid") or 0
    product = parse_product(params)
    server = ServerParams.from_params(params)
    if product.backend != server.backend:
        raise InvalidSetting(
            setting(1),
            f"is '{product.backend}', but server {server.endpoint} is '{server.backend}'"
            f" (its Access Hash says backend={server.backend})",
        )
    if product.group and server.backend != "minio":
        raise InvalidSetting(setting(7), f"is a MinIO feature; {server.backend} has no user groups (leave it empty)")
    return Target(serviceid, clientid, server, resources.backend_for(server), product)


async def require_account(resources: Resources, target: Target) -> ServiceRecord:
    """The service's record; NoAccount when it has no storage account (never created, terminated, or half made)."""
    rec = await resources.records.get(target.serviceid)
    if rec is None or rec.state in ("terminated", "creating", "retained"):
        what = {
            "creating": "is still being created; run Create again",
            "retained": "was terminated except for data under Object Lock retention (see the admin tab); it stays"
            " disabled until Terminate can finish",
        }.get(rec.state if rec else "", "does not exist")
        raise NoAccount(f"the storage account of service {target.serviceid} {what}")
    return rec


async def settle_rotation(resources: Resources, target: Target, rec: ServiceRecord, params: Params) -> ServiceRecord:
    """Step 2 of a key rotation: once WHMCS passes the new secret back as the service password, revoke every other
    pair. A no-op for backends without key pairs and for services with no rotation pending."""
    if not (rec.pending_access_key and isinstance(target.backend, AccessKeys)):
        return rec
    held = str(params.get("password") or "")
    pairs = {p.access_key: p for p in await target.backend.key_pairs(rec.username)}
    new = pairs.get(rec.pending_access_key)
    if new is None or not held or not hmac.compare_digest(new.secret_key.encode(), held.encode()):
        return rec
    await target.backend.finish_key_rotation(rec.username, new.access_key)
    await resources.records.update(target.serviceid, access_key=new.access_key, pending_access_key="")
    return replace(rec, access_key=new.access_key, pending_access_key="")


@contextlib.asynccontextmanager
async def account(
    resources: Resources, target: Target, params: Params, *, lock: bool = True, settle: bool = True
) -> AsyncIterator[ServiceRecord]:
    """Hold the service's lock (calls for one service run one at a time), load its record (NoAccount when there is
    no account) and settle a pending rotation. `lock=False` only for reads, or where the body takes the lock itself;
    `settle=False` where the function itself deals with a pending rotation (Rotate Keys, which hands out the same
    pending pair again) or only reads."""
    async with resources.locks.hold(target.serviceid) if lock else contextlib.nullcontext():
        rec = await require_account(resources, target)
        if settle:
            rec = await settle_rotation(resources, target, rec, params)
        yield rec
