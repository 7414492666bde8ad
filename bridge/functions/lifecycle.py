"""Account lifecycle: CreateAccount, Suspend, Unsuspend, Terminate, ChangePassword, ChangePackage, and the buttons.

Every function holds the service's lock for its whole run (calls for one service are serialized), is idempotent,
and validates all input before it changes anything.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from typing import Any

from bridge import redact
from bridge.backends.base import AccountSpec, StorageBackend
from bridge.backends.capabilities import AccessKeys, RateLimiting, StorageQuotas, TrafficStatistics
from bridge.domain import effects, naming, policies
from bridge.domain.naming import NamingError
from bridge.domain.params import Params, ServerParams, optional_int, require_str
from bridge.domain.passwords import PasswordRuleError, check_password
from bridge.domain.policies import PolicyKind
from bridge.domain.product_settings import SETTINGS, InvalidSetting, ProductSettings, parse_product
from bridge.errors import BadParam, BridgeError, Unsupported
from bridge.functions.context import Outcome, Resources
from bridge.functions.ownership import authorize
from bridge.whmcs.records import ServiceRecord, UsernameTaken

USERNAME_ATTEMPTS = 10
GIB = 1024**3


class NoAccount(BridgeError):
    status = 409
    code = "no_account"


@dataclass(frozen=True)
class Call:
    serviceid: int
    clientid: int
    server: ServerParams
    backend: StorageBackend
    product: ProductSettings


def _setting(number: int) -> Any:
    return next(s for s in SETTINGS if s.number == number)


def prepare(resources: Resources, params: Params) -> Call:
    """Parse and validate everything a lifecycle call needs; nothing is touched yet."""
    serviceid = optional_int(params, "serviceid")
    if not serviceid or serviceid <= 0:
        raise BadParam("serviceid", "must be a positive whole number")
    clientid = optional_int(params, "userid") or 0
    product = parse_product(params)
    server = ServerParams.from_params(params)
    if product.backend != server.backend:
        raise InvalidSetting(
            _setting(1),
            f"is '{product.backend}', but server {server.endpoint} is '{server.backend}'"
            f" (its Access Hash says backend={server.backend})",
        )
    if product.group and server.backend != "minio":
        raise InvalidSetting(_setting(7), f"is a MinIO feature; {server.backend} has no user groups (leave it empty)")
    return Call(serviceid, clientid, server, resources.backend_for(server), product)


async def apply_native_limits(call: Call, username: str) -> None:
    """Backends that enforce limits themselves (ostor): storage quota from the disk limit, rate limits."""
    if isinstance(call.backend, StorageQuotas):
        limit = call.product.disk_limit_bytes
        await call.backend.set_quota_gb(username, -(-limit // GIB) if limit else None)
        await call.backend.set_bucket_quotas_gb(username, call.product.bucket_quota_gb or None)
    if isinstance(call.backend, RateLimiting):
        await call.backend.set_rate_limits(username, call.product.rate_limits)


def policy_docs(product: ProductSettings, username: str) -> dict[PolicyKind, dict[str, Any]]:
    return {
        "standard": policies.render(product.standard_policy, username),
        "limited": policies.render(product.limited_policy, username),
    }


async def require_account(resources: Resources, call: Call) -> ServiceRecord:
    rec = await resources.records.get(call.serviceid)
    if rec is None or rec.state in ("terminated", "creating"):
        what = "is still being created; run Create again" if rec and rec.state == "creating" else "does not exist"
        raise NoAccount(f"the storage account of service {call.serviceid} {what}")
    return rec


async def _new_username(resources: Resources, call: Call) -> str:
    """A username from the product's rule that neither our records nor the server already have."""
    rule = call.product.username_rule
    attempts = USERNAME_ATTEMPTS if naming.has_random_part(rule) else 1
    name = ""
    for _ in range(attempts):
        try:
            name = naming.expand_rule(rule, client_id=call.clientid, service_id=call.serviceid, now=resources.now())
        except NamingError as e:
            raise InvalidSetting(_setting(15), str(e)) from None
        if call.product.default_bucket:
            try:
                naming.default_bucket(name, call.product.bucket_suffix)
            except NamingError as e:
                raise InvalidSetting(_setting(13), str(e)) from None
        taken = await resources.records.username_in_use(call.server.server_id or 0, name, other_than=call.serviceid)
        if not taken and not await call.backend.account_exists(name):
            return name
    raise InvalidSetting(
        _setting(15),
        f"yields '{name}', which already exists on the server and does not belong"
        " to this service; change the rule (e.g. add {service_id})",
    )


async def create_account(resources: Resources, params: Params) -> Outcome:
    call = prepare(resources, params)
    async with resources.locks.hold(call.serviceid):
        rec = await resources.records.get(call.serviceid)
        whmcs_password = str(params.get("password") or "")
        redact.add_request_secrets([whmcs_password])
        if whmcs_password:
            resources.pending.settle(call.serviceid, whmcs_password)

        if rec is not None and rec.state == "suspended":
            return Outcome(
                {"message": f"account '{rec.username}' already exists and is suspended; nothing changed"},
                [effects.store_credentials(call.serviceid, rec.access_key or rec.username)],
            )
        if rec is None or rec.state == "terminated":
            username = await _new_username(resources, call)
            rec = ServiceRecord(
                call.serviceid,
                call.clientid,
                call.server.server_id or 0,
                call.backend.name,
                username,
                "creating",
                "standard",
                call.product.group,
            )
            try:
                await resources.records.claim(rec)
            except UsernameTaken:
                raise InvalidSetting(_setting(15), f"yields '{username}', which another service already has") from None

        if isinstance(call.backend, AccessKeys):
            return await _create_with_keys(resources, call, rec)

        # The secret to write to storage, and the one to hand to WHMCS. A repeat before WHMCS stored the pending
        # secret hands out the same one again; a working WHMCS password is kept; otherwise a new one is made.
        pending = resources.pending.get(call.serviceid)
        set_secret: str | None = None
        tell_whmcs: str | None = None
        if rec.state == "active" and pending is not None:
            tell_whmcs = pending
        elif (
            rec.state == "active"
            and whmcs_password
            and await call.backend.credentials_valid(rec.username, whmcs_password)
        ):
            pass
        else:
            set_secret = tell_whmcs = call.product.password_rule.generate()
            redact.add_request_secrets([set_secret])

        buckets: tuple[str, ...] = ()
        if call.product.default_bucket:
            buckets = (naming.default_bucket(rec.username, call.product.bucket_suffix),)
        kind: PolicyKind = rec.policy if rec.state == "active" else "standard"
        await call.backend.provision(
            AccountSpec(
                username=rec.username,
                secret=set_secret,
                policies=policy_docs(call.product, rec.username),
                active_policy=kind,
                group=call.product.group,
                buckets=buckets,
            )
        )
        if set_secret is not None:
            resources.pending.put(call.serviceid, set_secret)
        was_active = rec.state == "active"
        await resources.records.update(call.serviceid, state="active", policy=kind, grp=call.product.group)
        message = (
            f"account '{rec.username}' already existed; completed and checked"
            if was_active
            else f"account '{rec.username}' created"
        )
        return Outcome(
            {"message": message, "username": rec.username},
            [effects.store_credentials(call.serviceid, rec.username, tell_whmcs)],
        )


async def _create_with_keys(resources: Resources, call: Call, rec: ServiceRecord) -> Outcome:
    """Backends that generate key pairs (ostor): create or complete, then hand WHMCS the pair the gateway holds
    (access key as the service username, secret key as its password). A retry reads the same pair again."""
    assert isinstance(call.backend, AccessKeys)
    buckets: tuple[str, ...] = ()
    if call.product.default_bucket:
        buckets = (naming.default_bucket(rec.username, call.product.bucket_suffix),)
    await call.backend.provision(
        AccountSpec(
            username=rec.username,
            secret=None if rec.state == "active" else "",
            policies=policy_docs(call.product, rec.username),
            active_policy="standard",
            buckets=buckets,
        )
    )
    pairs = await call.backend.key_pairs(rec.username)
    pair = next((p for p in pairs if p.access_key == rec.access_key), pairs[0])
    redact.add_request_secrets([pair.secret_key])
    await apply_native_limits(call, rec.username)
    owner = await call.backend.owner_id(rec.username) if isinstance(call.backend, TrafficStatistics) else None
    was_active = rec.state == "active"
    await resources.records.update(
        call.serviceid, state="active", policy="standard", access_key=pair.access_key, backend_user_id=owner or ""
    )
    message = f"account '{rec.username}' " + ("already existed; completed and checked" if was_active else "created")
    return Outcome(
        {"message": message, "username": rec.username, "access_key": pair.access_key},
        [effects.store_credentials(call.serviceid, pair.access_key, pair.secret_key)],
    )


async def suspend_account(resources: Resources, params: Params) -> Outcome:
    return await _set_enabled(resources, params, enabled=False)


async def unsuspend_account(resources: Resources, params: Params) -> Outcome:
    return await _set_enabled(resources, params, enabled=True)


async def _set_enabled(resources: Resources, params: Params, *, enabled: bool) -> Outcome:
    call = prepare(resources, params)
    async with resources.locks.hold(call.serviceid):
        rec = await settle_rotation(resources, call, await require_account(resources, call), params)
        await call.backend.set_enabled(rec.username, enabled)
        await resources.records.update(call.serviceid, state="active" if enabled else "suspended")
        verb = "enabled" if enabled else "disabled"
        return Outcome({"message": f"account '{rec.username}' {verb}"})


async def terminate_account(resources: Resources, params: Params) -> Outcome:
    call = prepare(resources, params)
    async with resources.locks.hold(call.serviceid):
        rec = await resources.records.get(call.serviceid)
        if rec is None or rec.state == "terminated":
            return Outcome(
                {
                    "message": f"service {call.serviceid} has no storage account (never created or already"
                    " terminated); nothing to delete"
                }
            )
        await resources.records.update(call.serviceid, state="terminating")
        report = await call.backend.delete_account(rec.username)
        await resources.records.update(call.serviceid, state="terminated")
        resources.pending.drop(call.serviceid)
        return Outcome(
            {
                "message": f"account '{rec.username}' deleted: {report.buckets} bucket(s),"
                f" {report.objects} object version(s)",
                "deleted": report.__dict__,
            }
        )


async def change_password(resources: Resources, params: Params) -> Outcome:
    """WHMCS's ChangePassword: the admin or client chose the new password; it arrives as `password`."""
    call = prepare(resources, params)
    password = require_str(params, "password")
    redact.add_request_secrets([password])
    try:
        check_password(password)
    except PasswordRuleError as e:
        raise BadParam("password", str(e)) from None
    if isinstance(call.backend, AccessKeys):
        raise Unsupported(
            f"{call.server.backend} generates key pairs and cannot take a chosen password; use the Rotate Keys button"
        )
    async with resources.locks.hold(call.serviceid):
        rec = await require_account(resources, call)
        await call.backend.set_secret(rec.username, password, enabled=rec.state != "suspended")
        resources.pending.drop(call.serviceid)
        return Outcome(
            {
                "message": f"password of '{rec.username}' changed"
                + (" (account stays suspended)" if rec.state == "suspended" else "")
            }
        )


async def reset_password(resources: Resources, params: Params) -> Outcome:
    """The Change Password button: a new password from the product's rule, stored in WHMCS by an effect."""
    call = prepare(resources, params)
    await authorize(resources, params, call.serviceid, "ResetPassword")
    async with resources.locks.hold(call.serviceid):
        rec = await require_account(resources, call)
        if isinstance(call.backend, AccessKeys):
            return await _begin_rotation(resources, call, rec, call.backend)
        secret = call.product.password_rule.generate()
        redact.add_request_secrets([secret])
        await call.backend.set_secret(rec.username, secret, enabled=rec.state != "suspended")
        resources.pending.put(call.serviceid, secret)
        return Outcome(
            {"message": f"new password set for '{rec.username}'"},
            [effects.store_credentials(call.serviceid, rec.username, secret)],
        )


async def _begin_rotation(resources: Resources, call: Call, rec: ServiceRecord, keys: AccessKeys) -> Outcome:
    """Step 1 of a key rotation: a new pair goes to WHMCS; the old one keeps working until WHMCS holds the new one
    (`settle_rotation`, run by the next call for the service, or the Revoke Old Keys button)."""
    new = await keys.begin_key_rotation(rec.username, rec.access_key)
    redact.add_request_secrets([new.secret_key])
    await resources.records.update(call.serviceid, pending_access_key=new.access_key)
    return Outcome(
        {
            "message": f"new key pair {new.access_key} handed to WHMCS; the old pair {rec.access_key} is revoked once"
            " WHMCS holds the new one",
            "access_key": new.access_key,
        },
        [effects.store_credentials(call.serviceid, new.access_key, new.secret_key)],
    )


async def settle_rotation(resources: Resources, call: Call, rec: ServiceRecord, params: Params) -> ServiceRecord:
    """Step 2: once WHMCS passes the new secret back as the service password, revoke every other pair."""
    if not (rec.pending_access_key and isinstance(call.backend, AccessKeys)):
        return rec
    held = str(params.get("password") or "")
    pairs = {p.access_key: p for p in await call.backend.key_pairs(rec.username)}
    new = pairs.get(rec.pending_access_key)
    if new is None or not held or not hmac.compare_digest(new.secret_key.encode(), held.encode()):
        return rec
    await call.backend.finish_key_rotation(rec.username, new.access_key)
    await resources.records.update(call.serviceid, access_key=new.access_key, pending_access_key="")
    return replace(rec, access_key=new.access_key, pending_access_key="")


async def revoke_old_keys(resources: Resources, params: Params) -> Outcome:
    """Button: finish a rotation now (WHMCS must hold the new pair), or revoke stray pairs beside the current one."""
    call = prepare(resources, params)
    if not isinstance(call.backend, AccessKeys):
        raise Unsupported(f"{call.server.backend} has no access key pairs to revoke")
    async with resources.locks.hold(call.serviceid):
        rec = await settle_rotation(resources, call, await require_account(resources, call), params)
        if rec.pending_access_key:
            raise BridgeError(
                f"WHMCS does not hold the new key pair {rec.pending_access_key} yet, so the old pair"
                f" {rec.access_key} stays valid; rotate again or save the new keys first",
                code="rotation_pending",
            )
        revoked = await call.backend.finish_key_rotation(rec.username, rec.access_key)
        return Outcome({"message": f"{revoked} old key pair(s) revoked; {rec.access_key} is the one in use"})


async def _decide_and_apply(
    resources: Resources,
    call: Call,
    rec: ServiceRecord,
    kind: PolicyKind | None,
) -> dict[str, Any]:
    """Apply `kind`, or when None the policy the current usage calls for (the same rule enforcement uses).
    Backends that enforce the disk limit natively (ostor's quota) get their limits instead of a policy switch."""
    detail: dict[str, Any] = {}
    if kind is None:
        usage = await call.backend.usage(rec.username, budget_s=resources.usage_budget_s)
        kind = policies.choose(usage.bytes, call.product.disk_limit_bytes)
        detail = {"used_bytes": usage.bytes, "limit_bytes": call.product.disk_limit_bytes, "exact": usage.exact}
    if isinstance(call.backend, StorageQuotas) and kind == "limited" and "used_bytes" in detail:
        await apply_native_limits(call, rec.username)
    else:
        await call.backend.apply_policy(rec.username, kind, policy_docs(call.product, rec.username))
    await resources.records.update(call.serviceid, policy=kind)
    return {"policy": kind, **detail}


async def change_package(resources: Resources, params: Params) -> Outcome:
    call = prepare(resources, params)
    async with resources.locks.hold(call.serviceid):
        rec = await settle_rotation(resources, call, await require_account(resources, call), params)
        await apply_native_limits(call, rec.username)
        if rec.grp != call.product.group:
            await call.backend.set_group(rec.username, rec.grp, call.product.group)
            await resources.records.update(call.serviceid, grp=call.product.group)
        decision = await _decide_and_apply(resources, call, rec, None)
        return Outcome({"message": f"package applied to '{rec.username}': {decision['policy']} policy", **decision})


async def update_policy(resources: Resources, params: Params) -> Outcome:
    return await _policy_button(resources, params, None)


async def set_standard_policy(resources: Resources, params: Params) -> Outcome:
    return await _policy_button(resources, params, "standard")


async def set_limited_policy(resources: Resources, params: Params) -> Outcome:
    return await _policy_button(resources, params, "limited")


async def _policy_button(resources: Resources, params: Params, kind: PolicyKind | None) -> Outcome:
    call = prepare(resources, params)
    async with resources.locks.hold(call.serviceid):
        rec = await settle_rotation(resources, call, await require_account(resources, call), params)
        decision = await _decide_and_apply(resources, call, rec, kind)
        return Outcome({"message": f"{decision['policy']} policy applied to '{rec.username}'", **decision})
