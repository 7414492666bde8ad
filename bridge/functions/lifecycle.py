"""Account lifecycle: CreateAccount, Suspend, Unsuspend, Terminate, ChangePassword, ChangePackage, and the buttons.

Every function holds the service's lock for its whole run (calls for one service are serialized), is idempotent,
and validates all input before it changes anything.
"""

from __future__ import annotations

from typing import Any

from bridge import logs, redact
from bridge.backends.base import AccountSpec
from bridge.backends.capabilities import AccessKeys, StorageQuotas, TrafficStatistics
from bridge.backends.s3.data import ObjectsRetained
from bridge.domain import effects, naming, policies
from bridge.domain.naming import NamingError
from bridge.domain.params import Params, require_str
from bridge.domain.passwords import PasswordRuleError, check_password
from bridge.domain.policies import PolicyKind
from bridge.domain.product_settings import InvalidSetting, setting
from bridge.domain.secret import Secret
from bridge.errors import BadParam, BridgeError, Unsupported
from bridge.functions.call import Target, account, service, target_of
from bridge.functions.context import Outcome, Resources
from bridge.functions.limits import apply_native_limits, remove_module_quotas
from bridge.functions.ownership import AdminOnly, authorize, is_admin
from bridge.whmcs import audit
from bridge.whmcs.area_queries import RETAINED_OUTCOME
from bridge.whmcs.services import ServiceRecord, UsernameTaken

USERNAME_ATTEMPTS = 10


async def _new_username(resources: Resources, target: Target) -> str:
    """A username from the product's rule that neither our records nor the server already have."""
    rule = target.product.username_rule
    attempts = USERNAME_ATTEMPTS if naming.has_random_part(rule) else 1
    name = ""
    for _ in range(attempts):
        try:
            name = naming.expand_rule(rule, client_id=target.clientid, service_id=target.serviceid, now=resources.now())
        except NamingError as e:
            raise InvalidSetting(setting(15), str(e)) from None
        if target.product.default_bucket:
            try:
                naming.default_bucket(name, target.product.bucket_suffix)
            except NamingError as e:
                raise InvalidSetting(setting(13), str(e)) from None
        taken = await resources.records.username_in_use(target.server.server_id or 0, name, other_than=target.serviceid)
        if not taken and not await target.backend.account_exists(name):
            return name
    raise InvalidSetting(
        setting(15),
        f"yields '{name}', which already exists on the server and does not belong"
        " to this service; change the rule (e.g. add {service_id})",
    )


class BucketsInNamespace(BridgeError):
    status = 409
    code = "buckets_exist"


def _names(buckets: list[str], limit: int = 10) -> str:
    shown = ", ".join(buckets[:limit])
    return shown + (f" and {len(buckets) - limit} more" if len(buckets) > limit else "")


class OrderedBucketInvalid(BridgeError):
    status = 400
    code = "ordered_bucket_invalid"


def _packageid(params: Params) -> int:
    try:
        return int(params.get("pid") or params.get("packageid") or 0)
    except (TypeError, ValueError):
        return 0


def _ordered_bucket(username: str, suffix: str) -> str:
    """The bucket named in the panel order, in the account's namespace; refused with the reason when it cannot be."""
    try:
        return naming.default_bucket(username, suffix)
    except NamingError as e:
        raise OrderedBucketInvalid(
            f"the bucket named in this service's order cannot be created: {e}; nothing was created. Correct or"
            " remove the row for this service in mod_s3bridge_orders, then run Create again"
        ) from None


def _first_buckets(target: Target, username: str, ordered: str | None) -> tuple[str, ...]:
    """The product's default bucket (if it has one) and the bucket named in the order (if any), once each."""
    names: list[str] = []
    if target.product.default_bucket:
        names.append(naming.default_bucket(username, target.product.bucket_suffix))
    if ordered is not None:
        names.append(_ordered_bucket(username, ordered))
    return tuple(dict.fromkeys(names))


async def adopt_buckets(resources: Resources, params: Params) -> Outcome:
    """Admin button: CreateAccount that gives the buckets already in the new account's namespace to this service
    (left over on the server, or made there by an admin), after the admin has looked at them. Audited."""
    if not is_admin(params):
        raise AdminOnly("only an administrator can adopt existing buckets")
    return await create_account(resources, params, adopt=True)


async def create_account(resources: Resources, params: Params, *, adopt: bool = False) -> Outcome:
    target = target_of(resources, params)
    async with service(resources, target.serviceid) as rec:
        whmcs_password = str(params.get("password") or "")
        redact.add_request_secrets([whmcs_password])
        if whmcs_password:
            await resources.pending.settle(target.serviceid, whmcs_password)

        if rec is not None and rec.state == "suspended":
            return Outcome(
                {"message": f"account '{rec.username}' already exists and is suspended; nothing changed"},
                [effects.store_credentials(target.serviceid, rec.access_key or rec.username)],
            )
        adopted: list[str] = []
        fresh = rec is None or rec.state == "creating"  # a new service takes a waiting order; a re-creation not
        ordered = await resources.stores.orders.take(target.serviceid, target.clientid, _packageid(params), bind=fresh)
        if rec is None or rec.state == "terminated":
            username = await _new_username(resources, target)
            if ordered is not None:  # refused before anything is made, naming the order's bucket
                _ordered_bucket(username, ordered)
            # Buckets already in the namespace would become this tenant's (readable, and deleted by Terminate).
            existing = sorted(name for name, _ in await target.backend.list_buckets(username))
            if existing and not adopt:
                raise BucketsInNamespace(
                    f"buckets already exist in the namespace of '{username}' on {target.server.endpoint}:"
                    f" {_names(existing)}. They belong to no service, so CreateAccount will not hand them to"
                    f" service {target.serviceid}: remove them, or use the admin button 'Adopt Existing Buckets'"
                    " to create the account with them"
                )
            adopted = existing
            rec = ServiceRecord(
                target.serviceid,
                target.clientid,
                target.server.server_id or 0,
                target.backend.name,
                username,
                "creating",
                "standard",
                target.product.group,
            )
            try:
                await resources.records.claim(rec)
            except UsernameTaken:
                raise InvalidSetting(setting(15), f"yields '{username}', which another service already has") from None

        if adopted:
            await audit.record(
                resources.db,
                request_id=logs.request_id(),
                action="AdoptBuckets",
                outcome="adopted",
                detail=f"'{rec.username}' takes {len(adopted)} existing bucket(s): {_names(adopted, 50)}",
                serviceid=target.serviceid,
            )
        if isinstance(target.backend, AccessKeys):
            return await _create_with_keys(resources, target, rec, ordered)

        # The secret to write to storage, and the one to hand to WHMCS. A repeat before WHMCS stored the pending
        # secret hands out the same one again; a working WHMCS password is kept; otherwise a new one is made.
        pending = await resources.pending.get(target.serviceid)
        set_secret: Secret | None = None
        tell_whmcs: Secret | None = None
        if rec.state == "active" and pending is not None:
            tell_whmcs = pending
        elif (
            rec.state == "active"
            and whmcs_password
            and await target.backend.credentials_valid(rec.username, whmcs_password)
        ):
            pass
        else:
            set_secret = tell_whmcs = target.product.password_rule.generate()
            redact.add_request_secrets([set_secret])

        buckets = _first_buckets(target, rec.username, ordered)
        kind: PolicyKind = rec.policy if rec.state == "active" else "standard"
        await target.backend.provision(
            AccountSpec(
                username=rec.username,
                create=set_secret is not None,
                secret=set_secret,
                policies=target.product.policy_documents(rec.username),
                active_policy=kind,
                group=target.product.group,
                buckets=buckets,
            )
        )
        if set_secret is not None:
            await resources.pending.put(target.serviceid, set_secret)
        was_active = rec.state == "active"
        await resources.records.update(target.serviceid, state="active", policy=kind, grp=target.product.group)
        message = (
            f"account '{rec.username}' already existed; completed and checked"
            if was_active
            else f"account '{rec.username}' created"
        ) + (f", with {len(adopted)} existing bucket(s) adopted: {_names(adopted)}" if adopted else "")
        return Outcome(
            {"message": message, "username": rec.username},
            [effects.store_credentials(target.serviceid, rec.username, tell_whmcs)],
        )


async def _create_with_keys(resources: Resources, target: Target, rec: ServiceRecord, ordered: str | None) -> Outcome:
    """Backends that generate key pairs (ostor): create or complete, then hand WHMCS the pair the gateway holds
    (access key as the service username, secret key as its password). A retry reads the same pair again."""
    assert isinstance(target.backend, AccessKeys)
    buckets = _first_buckets(target, rec.username, ordered)
    await target.backend.provision(
        AccountSpec(
            username=rec.username,
            create=rec.state != "active",
            policies=target.product.policy_documents(rec.username),
            active_policy="standard",
            buckets=buckets,
        )
    )
    pairs = await target.backend.key_pairs(rec.username)
    pair = next((p for p in pairs if p.access_key == rec.access_key), pairs[0])
    redact.add_request_secrets([pair.secret_key])
    note = (await apply_native_limits(resources, target, rec)).note
    owner = await target.backend.owner_id(rec.username) if isinstance(target.backend, TrafficStatistics) else None
    was_active = rec.state == "active"
    await resources.records.update(
        target.serviceid, state="active", policy="standard", access_key=pair.access_key, backend_user_id=owner or ""
    )
    message = f"account '{rec.username}' " + ("already existed; completed and checked" if was_active else "created")
    message += f". {note}" if note else ""
    return Outcome(
        {"message": message, "username": rec.username, "access_key": pair.access_key},
        [effects.store_credentials(target.serviceid, pair.access_key, Secret(pair.secret_key))],
    )


async def suspend_account(resources: Resources, params: Params) -> Outcome:
    return await _set_enabled(resources, params, enabled=False)


async def unsuspend_account(resources: Resources, params: Params) -> Outcome:
    return await _set_enabled(resources, params, enabled=True)


async def _set_enabled(resources: Resources, params: Params, *, enabled: bool) -> Outcome:
    target = target_of(resources, params)
    async with account(resources, target, params) as rec:
        await target.backend.set_enabled(rec.username, enabled)
        await resources.records.update(target.serviceid, state="active" if enabled else "suspended")
        verb = "enabled" if enabled else "disabled"
        return Outcome({"message": f"account '{rec.username}' {verb}"})


async def terminate_account(resources: Resources, params: Params) -> Outcome:
    target = target_of(resources, params)
    async with service(resources, target.serviceid) as rec:
        if rec is None or rec.state == "terminated":
            return Outcome(
                {
                    "message": f"service {target.serviceid} has no storage account (never created or already"
                    " terminated); nothing to delete"
                }
            )
        await resources.records.update(target.serviceid, state="terminating")
        if isinstance(target.backend, StorageQuotas) and (rec.quota_gb != 0 or rec.bucket_quota_gb != 0):
            # the quotas the module set, read first; a retried Terminate finds them recorded gone
            if await target.backend.account_exists(rec.username):
                await remove_module_quotas(target.backend, rec, user=True, buckets=True)
            await resources.records.update(target.serviceid, quota_gb=0, bucket_quota_gb=0)
        try:
            report = await target.backend.delete_account(rec.username)
        except ObjectsRetained as e:  # locked before policies denied Object Lock: the admin tab says so
            await resources.records.update(target.serviceid, state="retained")
            await audit.record(
                resources.db,
                request_id=logs.request_id(),
                action="TerminateAccount",
                outcome=RETAINED_OUTCOME,
                detail=e.message,
                serviceid=target.serviceid,
            )
            raise
        await resources.records.update(target.serviceid, state="terminated")
        await resources.pending.drop(target.serviceid)
        message = f"account '{rec.username}' deleted: {report.buckets} bucket(s), {report.objects} object version(s)"
        if report.foreign_buckets:
            left = foreign_buckets_note(report.foreign_buckets)
            await resources.stores.panel.add_event(target.serviceid, FOREIGN_BUCKETS_EVENT, left, "module")
            message += f"; {left}"
        return Outcome({"message": message, "deleted": report.__dict__})


FOREIGN_BUCKETS_EVENT = "buckets left alone"


def foreign_buckets_note(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return (
        f"not deleted: {shown}: the gateway listed {'them' if len(names) > 1 else 'it'} for this account, but"
        f" {'they belong' if len(names) > 1 else 'it belongs'} to another ostor user (owner_id)"
    )


async def change_password(resources: Resources, params: Params) -> Outcome:
    """WHMCS's ChangePassword: the admin or client chose the new password; it arrives as `password`."""
    target = target_of(resources, params)
    password = require_str(params, "password")
    redact.add_request_secrets([password])
    try:
        check_password(password)
    except PasswordRuleError as e:
        raise BadParam("password", str(e)) from None
    if isinstance(target.backend, AccessKeys):
        raise Unsupported(
            f"{target.server.backend} generates key pairs and cannot take a chosen password; use the Rotate Keys button"
        )
    async with account(resources, target, params) as rec:  # settling is a no-op: key-pair backends were refused
        await target.backend.set_secret(rec.username, password, enabled=rec.state != "suspended")
        await resources.pending.drop(target.serviceid)
        return Outcome(
            {
                "message": f"password of '{rec.username}' changed"
                + (" (account stays suspended)" if rec.state == "suspended" else "")
            }
        )


async def reset_password(resources: Resources, params: Params) -> Outcome:
    """The Change Password button: a new password from the product's rule, stored in WHMCS by an effect."""
    target = target_of(resources, params)
    await authorize(resources, params, target.serviceid, "ResetPassword")
    async with account(resources, target, params, settle=False) as rec:  # a pending pair is handed out again
        if isinstance(target.backend, AccessKeys):
            return await _begin_rotation(resources, target, rec, target.backend)
        secret = target.product.password_rule.generate()
        redact.add_request_secrets([secret])
        await target.backend.set_secret(rec.username, secret, enabled=rec.state != "suspended")
        await resources.pending.put(target.serviceid, secret)
        return Outcome(
            {"message": f"new password set for '{rec.username}'"},
            [effects.store_credentials(target.serviceid, rec.username, secret)],
        )


async def _begin_rotation(resources: Resources, target: Target, rec: ServiceRecord, keys: AccessKeys) -> Outcome:
    """Step 1 of a key rotation: a new pair goes to WHMCS; the old one keeps working until WHMCS holds the new one
    (`settle_rotation`, run by the next call for the service, or the Revoke Old Keys button)."""
    new = await keys.begin_key_rotation(rec.username, rec.access_key, rec.pending_access_key)
    redact.add_request_secrets([new.secret_key])
    await resources.records.update(target.serviceid, pending_access_key=new.access_key)
    return Outcome(
        {
            "message": f"new key pair {new.access_key} handed to WHMCS; the old pair {rec.access_key} is revoked once"
            " WHMCS holds the new one",
            "access_key": new.access_key,
        },
        [effects.store_credentials(target.serviceid, new.access_key, Secret(new.secret_key))],
    )


async def revoke_old_keys(resources: Resources, params: Params) -> Outcome:
    """Button: finish a rotation now (WHMCS must hold the new pair), or revoke stray pairs beside the current one."""
    target = target_of(resources, params)
    if not isinstance(target.backend, AccessKeys):
        raise Unsupported(f"{target.server.backend} has no access key pairs to revoke")
    async with account(resources, target, params) as rec:
        if rec.pending_access_key:
            raise BridgeError(
                f"WHMCS does not hold the new key pair {rec.pending_access_key} yet, so the old pair"
                f" {rec.access_key} stays valid; rotate again or save the new keys first",
                code="rotation_pending",
            )
        revoked = await target.backend.finish_key_rotation(rec.username, rec.access_key)
        return Outcome({"message": f"{revoked} old key pair(s) revoked; {rec.access_key} is the one in use"})


async def _decide_and_apply(
    resources: Resources,
    target: Target,
    rec: ServiceRecord,
    kind: PolicyKind | None,
) -> dict[str, Any]:
    """Apply `kind`, or when None the policy the current usage calls for (the same rule enforcement uses).
    Backends that enforce the disk limit natively (ostor's quota) get their limits instead of a policy switch."""
    detail: dict[str, Any] = {}
    if kind is None:
        usage = await target.backend.usage(rec.username, budget_s=resources.usage_budget_s)
        kind = policies.choose(usage.bytes, target.product.disk_limit_bytes)
        detail = {"used_bytes": usage.bytes, "limit_bytes": target.product.disk_limit_bytes, "exact": usage.exact}
    if isinstance(target.backend, StorageQuotas) and kind == "limited" and "used_bytes" in detail:
        await apply_native_limits(resources, target, rec)
    else:
        await target.backend.apply_policy(rec.username, kind, target.product.policy_documents(rec.username))
    await resources.records.update(target.serviceid, policy=kind)
    return {"policy": kind, **detail}


async def change_package(resources: Resources, params: Params) -> Outcome:
    target = target_of(resources, params)
    async with account(resources, target, params) as rec:
        applied = await apply_native_limits(resources, target, rec)
        rec = applied.record
        if rec.grp != target.product.group:
            await target.backend.set_group(rec.username, rec.grp, target.product.group)
            await resources.records.update(target.serviceid, grp=target.product.group)
        decision = await _decide_and_apply(resources, target, rec, None)
        note = f". {applied.note}" if applied.note else ""
        message = f"package applied to '{rec.username}': {decision['policy']} policy{note}"
        return Outcome({"message": message, **decision})


async def update_policy(resources: Resources, params: Params) -> Outcome:
    return await _policy_button(resources, params, None)


async def set_standard_policy(resources: Resources, params: Params) -> Outcome:
    return await _policy_button(resources, params, "standard")


async def set_limited_policy(resources: Resources, params: Params) -> Outcome:
    return await _policy_button(resources, params, "limited")


async def _policy_button(resources: Resources, params: Params, kind: PolicyKind | None) -> Outcome:
    target = target_of(resources, params)
    async with account(resources, target, params) as rec:
        decision = await _decide_and_apply(resources, target, rec, kind)
        return Outcome({"message": f"{decision['policy']} policy applied to '{rec.username}'", **decision})
