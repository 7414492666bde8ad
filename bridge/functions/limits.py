"""Buttons for backends that enforce limits themselves (ostor): show, apply and clear the storage quota and the
rate limits, and the list of buttons each backend supports (so the shim shows only those)."""

from __future__ import annotations

from typing import Any

from bridge.backends.base import StorageBackend
from bridge.backends.capabilities import AccessKeys, AuditWebhook, RateLimiting, StorageQuotas
from bridge.domain.params import Params, ServerParams
from bridge.domain.values import RateLimits
from bridge.errors import Unsupported
from bridge.functions.call import Target, account, target_of
from bridge.functions.context import Outcome, Resources

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


async def apply_native_limits(target: Target, username: str, *, fresh: bool = False) -> None:
    """Backends that enforce limits themselves (ostor): storage quota from the disk limit, rate limits.

    A `fresh` account (just created) has no quota to clear, so quotas are only called when the product sets one:
    an ostor cluster without quota accounting (`ostor-ctl add-acc`) refuses every quota request."""
    if isinstance(target.backend, StorageQuotas):
        limit, per_bucket = target.product.disk_limit_bytes, target.product.bucket_quota_gb
        if limit or not fresh:
            await target.backend.set_quota_gb(username, -(-limit // GIB) if limit else None)
        if per_bucket or not fresh:
            await target.backend.set_bucket_quotas_gb(username, per_bucket or None)
    if isinstance(target.backend, RateLimiting):
        await target.backend.set_rate_limits(username, target.product.rate_limits)


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
        out["quota_gb"] = await backend.quota_gb(username)
    if isinstance(backend, RateLimiting):
        out["rate_limits"] = (await backend.rate_limits(username)).__dict__
    return out


def limits_sentence(username: str, d: dict[str, Any]) -> str:
    quota = d.get("quota_gb")
    limits = d.get("rate_limits") or {}
    rate = ", ".join(f"{k} {v:g}" for k, v in limits.items() if v) or "none"
    return f"'{username}': storage quota {f'{quota} GB' if quota else 'none'}; rate limits {rate}"


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
        await apply_native_limits(target, rec.username)
        d = await describe_limits(target.backend, rec.username)
    return Outcome({"message": "applied from the product: " + limits_sentence(rec.username, d), **d})


async def clear_limits(resources: Resources, params: Params) -> Outcome:
    target = target_of(resources, params)
    _limited(target.backend)
    async with account(resources, target, params, settle=False) as rec:
        if isinstance(target.backend, StorageQuotas):
            await target.backend.set_quota_gb(rec.username, None)
            await target.backend.set_bucket_quotas_gb(rec.username, None)
        if isinstance(target.backend, RateLimiting):
            await target.backend.set_rate_limits(rec.username, RateLimits())
        d = await describe_limits(target.backend, rec.username)
    return Outcome({"message": "cleared: " + limits_sentence(rec.username, d), **d})
