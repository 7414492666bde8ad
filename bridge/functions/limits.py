"""Buttons for backends that enforce limits themselves (ostor): show, apply and clear the storage quota and the
rate limits, and the list of buttons each backend supports (so the shim shows only those)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any

from bridge.backends.base import StorageBackend
from bridge.backends.capabilities import AccessKeys, AuditWebhook, RateLimiting, StorageQuotas
from bridge.domain.params import Params, ServerParams
from bridge.domain.values import RateLimits
from bridge.errors import BackendError, Unsupported
from bridge.functions.call import Target, account, target_of
from bridge.functions.context import Outcome, Resources
from bridge.whmcs.services import ServiceRecord

MINIO_ADMIN = {
    "Recalculate Disk Space": "RecalculateDiskSpace",
    "Update Policy": "UpdatePolicy",
    "Set Standard Policy": "SetStandardPolicy",
    "Set Limited Policy": "SetLimitedPolicy",
    "Change Password": "ResetPassword",
    "Adopt Existing Buckets": "AdoptBuckets",
}
GIB = 1024**3
KEYS_ADMIN = {"Rotate Keys": "ResetPassword", "Revoke Old Keys": "RevokeOldKeys"}
LIMITS_ADMIN = {"Show Limits": "ShowLimits", "Apply Limits": "ApplyLimits", "Clear Limits": "ClearLimits"}


@dataclass(frozen=True)
class Applied:
    record: ServiceRecord  # with the quotas the module set now
    differences: list[str]  # where the server holds other rate limits than the product sells (read back)

    @property
    def note(self) -> str:
        return held_note(self.differences)


async def apply_native_limits(resources: Resources, target: Target, rec: ServiceRecord) -> Applied:
    """Backends that enforce limits themselves (ostor): storage quota from the disk limit, per-bucket quotas, rate
    limits. Returns where the server, read back after the change, holds other rate limits than the product sells.

    Quotas are only ever touched when the product sets one or the module set one before (the service's record): a
    cluster without quota accounting (`ostor-ctl add-acc`) refuses every quota request, and a quota someone else set
    on a bucket is not the module's to change. What is removed is read first (`set_quota_gb(None)` and
    `set_bucket_quotas_gb` read before they delete)."""
    backend = target.backend
    if isinstance(backend, StorageQuotas):
        limit = target.product.disk_limit_bytes
        quota = -(-limit // GIB) if limit else 0
        per_bucket = target.product.bucket_quota_gb
        if quota:
            await backend.set_quota_gb(rec.username, quota)
        if per_bucket:
            await backend.set_bucket_quotas_gb(rec.username, per_bucket, replacing=rec.bucket_quota_gb)
        await remove_module_quotas(backend, rec, user=not quota, buckets=not per_bucket)
        if (rec.quota_gb, rec.bucket_quota_gb) != (quota, per_bucket):
            await resources.records.update(target.serviceid, quota_gb=quota, bucket_quota_gb=per_bucket)
            rec = replace(rec, quota_gb=quota, bucket_quota_gb=per_bucket)
    differences: list[str] = []
    if isinstance(backend, RateLimiting):
        sold = target.product.rate_limits
        differences = sold.differences(await backend.set_rate_limits(rec.username, sold))
    return Applied(rec, differences)


async def remove_module_quotas(backend: StorageQuotas, rec: ServiceRecord, *, user: bool, buckets: bool) -> None:
    """Remove the account's quota (`user`) and the per-bucket quotas (`buckets`) the module set, as its record says;
    nothing at all when it set none. For a service made before the module kept that record, a refusal because the
    cluster has no quota accounting means there is none (the only refusal taken as an answer)."""

    async def unset(call: Awaitable[object], recorded: int | None) -> None:
        try:
            await call
        except BackendError as e:
            if not (recorded is None and e.code == "quota_accounting_off"):
                raise

    if user and rec.quota_gb != 0:
        await unset(backend.set_quota_gb(rec.username, None), rec.quota_gb)
    if buckets and rec.bucket_quota_gb != 0:
        await unset(
            backend.set_bucket_quotas_gb(rec.username, None, replacing=rec.bucket_quota_gb), rec.bucket_quota_gb
        )


def held_note(differences: list[str]) -> str:
    """One sentence for the admin: the gateway holds other limits than the product sells (and why that may be)."""
    if not differences:
        return ""
    return (
        "The gateway holds other rate limits than the product sells (" + "; ".join(differences) + "): its unit"
        " differs from the product setting's, or someone changed them on the cluster; see the README, 'Bandwidth unit'"
        " (units in the server's Access Hash), then Apply Limits"
    )


def buttons_for(backend: StorageBackend) -> dict[str, dict[str, str]]:
    """Admin and client buttons the backend supports: label -> module function suffix."""
    if isinstance(backend, AccessKeys):
        admin = {"Recalculate Disk Space": "RecalculateDiskSpace", **KEYS_ADMIN}
        client = {"Rotate Keys": "ResetPassword", "Recalculate Disk Space": "RecalculateDiskSpace"}
    else:
        admin = dict(MINIO_ADMIN)
        client = {"Change Password": "ResetPassword", "Recalculate Disk Space": "RecalculateDiskSpace"}
    if isinstance(backend, StorageQuotas | RateLimiting):
        admin.update(LIMITS_ADMIN)
    if isinstance(backend, AuditWebhook):
        admin["Enable Traffic Metering"] = "EnableMetering"
    return {"admin": admin, "client": client}


async def buttons(resources: Resources, params: Params) -> Outcome:
    return Outcome(buttons_for(resources.backend_for(ServerParams.from_params(params))))


def _limited(backend: StorageBackend) -> None:
    if not isinstance(backend, StorageQuotas | RateLimiting):
        raise Unsupported(
            f"{backend.name} has no native quotas or rate limits; it enforces the disk limit with the limited policy"
        )


async def describe_limits(backend: StorageBackend, username: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(backend, StorageQuotas):
        try:
            out["quota_gb"] = await backend.quota_gb(username)
        except BackendError as e:
            if e.code != "quota_accounting_off":
                raise
            out["quota_gb"], out["quota_unavailable"] = None, True  # shown as such, never as "none"
    if isinstance(backend, RateLimiting):
        out["rate_limits"] = (await backend.rate_limits(username)).__dict__
    return out


def limits_sentence(username: str, d: dict[str, Any]) -> str:
    quota = d.get("quota_gb")
    limits = d.get("rate_limits") or {}
    rate = ", ".join(f"{k} {v:g}" for k, v in limits.items() if v) or "none"
    shown = "unavailable (no quota accounting on the cluster)" if d.get("quota_unavailable") else "none"
    return f"'{username}': storage quota {f'{quota} GB' if quota else shown}; rate limits {rate}"


async def show_limits(resources: Resources, params: Params) -> Outcome:
    target = target_of(resources, params)
    _limited(target.backend)
    async with account(resources, target, params, lock=False, settle=False) as rec:  # a read
        d = await describe_limits(target.backend, rec.username)
    return Outcome({"message": limits_sentence(rec.username, d), **d})


async def apply_limits(resources: Resources, params: Params) -> Outcome:
    target = target_of(resources, params)
    _limited(target.backend)
    async with account(resources, target, params) as rec:
        note = (await apply_native_limits(resources, target, rec)).note
        d = await describe_limits(target.backend, rec.username)
    message = "applied from the product: " + limits_sentence(rec.username, d) + (f". {note}" if note else "")
    return Outcome({"message": message, **d})


async def clear_limits(resources: Resources, params: Params) -> Outcome:
    """The module's own limits go: the account's quota and rate limits, and per-bucket quotas the module set (a
    bucket quota someone else set stays)."""
    target = target_of(resources, params)
    _limited(target.backend)
    async with account(resources, target, params, settle=False) as rec:
        if isinstance(target.backend, StorageQuotas):
            await remove_module_quotas(target.backend, rec, user=True, buckets=True)
            await resources.records.update(target.serviceid, quota_gb=0, bucket_quota_gb=0)
        if isinstance(target.backend, RateLimiting):
            await target.backend.set_rate_limits(rec.username, RateLimits())
        d = await describe_limits(target.backend, rec.username)
    return Outcome({"message": "cleared: " + limits_sentence(rec.username, d), **d})
