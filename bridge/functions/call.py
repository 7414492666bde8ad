"""The one path every account function takes before it does its own work.

1. `target_of(resources, params)`: parse the call and check the product's settings against the server (nothing touched);
2. `account(resources, target, params)`: hold the service's lock, load its record (the account must exist), and settle
   a pending key rotation once WHMCS holds the new pair; the body runs with the settled record.

CreateAccount and TerminateAccount take step 1 and `service` (the lock and the record, which may be missing): they are
the functions for which "no account yet" (or "already gone") is a normal state, not an error. Limit decisions made
outside a WHMCS call (the cron's loop, the audit stream) switch a policy with `change_policy`.

Nothing else holds a service's lock or changes an account: tests/unit/architecture/test_account_call_path.py walks
every module under bridge/ and fails on a side door.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from bridge.backends.base import StorageBackend
from bridge.backends.capabilities import AccessKeys
from bridge.domain.params import Params, ServerParams, optional_int
from bridge.domain.policies import PolicyKind
from bridge.domain.product_settings import InvalidSetting, ProductSettings, parse_product, setting
from bridge.errors import BadParam, BridgeError
from bridge.functions.context import Resources
from bridge.whmcs.services import ServiceRecord


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
async def service(resources: Resources, serviceid: int) -> AsyncIterator[ServiceRecord | None]:
    """Hold the service's lock and read its record under it: None when the service has none (never created). For
    the functions to which a missing or terminated account is a normal state (CreateAccount, TerminateAccount)."""
    async with resources.locks.hold(serviceid):
        yield await resources.records.get(serviceid)


async def change_policy(
    resources: Resources,
    backend: StorageBackend,
    serviceid: int,
    username: str,
    kind: PolicyKind,
    policies: dict[PolicyKind, dict[str, Any]],
) -> bool:
    """Switch a service's policy for a limit decision made outside a WHMCS call (the cron's loop, the audit stream):
    under the service's lock, on the record read again, only while the account is active or suspended. False when it
    was terminated (or is being created) meanwhile: then nothing changed. No rotation is settled here: only a call
    from WHMCS carries the password that says WHMCS holds the new pair."""
    async with service(resources, serviceid) as rec:
        if rec is None or rec.state not in ("active", "suspended"):
            return False
        await backend.apply_policy(username, kind, policies)
    return True


async def settled(resources: Resources, target: Target, params: Params) -> ServiceRecord:
    """The record with a pending rotation settled, under the service's lock (a page that shows the keys)."""
    async with account(resources, target, params) as rec:
        return rec


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
