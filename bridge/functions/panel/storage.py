"""Panel methods on the account's storage: buckets, files, access keys. Only the account's own buckets, ever:
every bucket name is checked against the account's namespace before the storage server is asked anything."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge import redact
from bridge.backends.capabilities import AccessKeys, PanelFiles, PanelStorage, ServiceAccountKeys
from bridge.backends.s3.panel_files import StorageRefused
from bridge.domain import naming
from bridge.domain.naming import NamingError
from bridge.domain.panel import cursor
from bridge.domain.panel.envelope import Conflict, Forbidden, NotFound, PanelError
from bridge.domain.panel.methods import check_object_name
from bridge.domain.panel.storage import AccessKey, key_spec
from bridge.domain.secret import Secret
from bridge.errors import BridgeError
from bridge.functions.panel.context import PanelAccount, PanelContext, changing, target


def _storage(t: PanelAccount) -> PanelStorage:
    if not isinstance(t.call.backend, PanelFiles):
        raise PanelError(f"the {t.call.backend.name} backend does not offer this through the panel", status=501)
    return t.call.backend.files


def _usable(t: PanelAccount, *, writing: bool = False) -> None:
    if t.record.state == "suspended":
        raise Forbidden(f"account {t.username} is suspended; its storage cannot be used until it is unsuspended")
    if writing and t.record.policy == "limited":
        raise Forbidden(f"account {t.username} is over its disk limit; free space or upgrade before uploading")


def bucket_name(t: PanelAccount, given: str) -> str:
    """The full bucket name in the account's namespace, from the full name or the part after the prefix."""
    prefix = naming.bucket_prefix(t.username)
    if given.startswith(prefix):
        suffix = given[len(prefix) :]
    elif naming.SEPARATOR in given:
        raise Forbidden(f"bucket names of account {t.username} start with '{prefix}'; '{given}' is outside it")
    else:
        suffix = given
    try:
        naming.check_bucket_suffix(suffix, len(t.username))
    except NamingError as e:
        raise PanelError(f"Invalid bucket name: {e}", {"parameter": "bucket_name", "prefix": prefix}) from None
    return prefix + suffix


async def _owned_bucket(ctx: PanelContext, t: PanelAccount, given: str) -> str:
    name = bucket_name(t, given)
    listed = {n for n, _ in await t.call.backend.list_buckets(t.username)}
    if name not in listed:
        raise NotFound(f"bucket '{name}' not found in account {t.username}")
    return name


async def create_bucket(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    async with changing(ctx, p) as t:
        _usable(t)
        storage = _storage(t)
        name = bucket_name(t, p["bucket_name"])
        limit = t.call.product.max_buckets
        existing = await t.call.backend.list_buckets(t.username)
        if name in {n for n, _ in existing}:
            raise Conflict(f"bucket '{name}' already exists")
        if limit and len(existing) >= limit:
            raise Conflict(f"account {t.username} has {len(existing)} of {limit} buckets its plan allows")
        try:
            await storage.create_bucket(t.username, name)
        except StorageRefused as e:
            if e.s3_code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
                raise Conflict(f"bucket '{name}' already exists") from None
            raise
        await ctx.event(t.account.serviceid, "bucket created", name)
        bucket = {"name": name, "prefix": naming.bucket_prefix(t.username)}
        return {"bucket": bucket, "message": f"bucket {name} created"}


async def delete_bucket(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    async with changing(ctx, p) as t:
        _usable(t)
        storage = _storage(t)
        name = await _owned_bucket(ctx, t, p["bucket_name"])
        try:
            await storage.delete_bucket(t.username, name)
        except StorageRefused as e:
            if e.s3_code == "BucketNotEmpty":
                raise Conflict("Delete S3 bucket error: Bucket not empty or access denied", {"bucket": name}) from None
            raise
        await ctx.event(t.account.serviceid, "bucket deleted", name)
        return {"message": f"bucket {name} deleted"}


def object_name(key: str, what: str = "filename") -> str:
    """The domain's rule (`methods.check_object_name`, applied to every object-name parameter by `validate`)."""
    return check_object_name(key, what)


def _listing(t: PanelAccount, bucket: str, p: dict[str, Any]) -> cursor.Listing:
    return cursor.Listing(t.account.serviceid, bucket, p["prefix"], p["search"], p["search_mode"])


async def get_files(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    if p["search"] and p["search_mode"] == "prefix":  # the two make one S3 prefix: it must not build a '..' either
        object_name(p["prefix"] + p["search"], "search")
    t = await target(ctx, p)
    _usable(t)
    storage = _storage(t)
    bucket = await _owned_bucket(ctx, t, p["bucket_name"])
    listing = _listing(t, bucket, p)
    position = ""
    if p.get("continuation_token"):
        position = cursor.open_token(p["continuation_token"], listing, secrets=ctx.cursor_secrets, now=ctx.clock())
    prefix, search = p["prefix"], p["search"]
    if search and p["search_mode"] == "contains":
        page = await storage.search_contains(
            t.username, bucket, prefix, search, position, p["max_keys"], ctx.settings.search_budget
        )
    else:
        page = await storage.list_page(t.username, bucket, prefix + search, position, p["max_keys"])
    token = cursor.sign(listing, page.position, secret=ctx.cursor_secrets[0], now=ctx.clock()) if page.position else ""
    files = [
        {"name": e.key[len(prefix) :], "key": e.key, "type": "folder" if e.folder else "file", "size": e.size,
         "last_modified": e.modified, "etag": e.etag}
        for e in page.entries
    ]  # fmt: skip
    out: dict[str, Any] = {
        "bucket": bucket, "prefix": prefix, "files": files, "continuation_token": token, "is_truncated": bool(token),
    }  # fmt: skip
    if search:
        out["search"] = {"query": search, "mode": p["search_mode"], "complete": page.complete, "scanned": page.scanned}
        if not page.complete:
            out["search"]["note"] = (
                f"stopped after {page.scanned} objects ({ctx.settings.search_budget:g} s budget);"
                " continue with continuation_token"
            )
    return out


async def delete_file(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    t = await target(ctx, p)
    _usable(t)
    storage = _storage(t)
    bucket = await _owned_bucket(ctx, t, p["bucket_name"])
    names = tuple(object_name(k) for k in p["filename"])
    deleted, errors = await storage.delete_objects(t.username, bucket, names)
    if deleted:
        more = "..." if len(deleted) > 1 else ""
        detail = f"{bucket}: {len(deleted)} ({deleted[0][:200]}{more})"
        await ctx.event(t.account.serviceid, "files deleted", detail)
    if errors and not deleted:
        raise PanelError(f"Delete file error: {errors[0]['error']}", {"errors": errors})
    return {"deleted": deleted, "errors": errors}


async def download_url(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    t = await target(ctx, p)
    _usable(t)
    bucket = await _owned_bucket(ctx, t, p["bucket_name"])
    expires = ctx.settings.presign_expiry
    try:
        url = await _storage(t).presign_get(
            t.username, bucket, object_name(p["filename"]), expires, t.call.product.endpoint_url
        )
    except StorageRefused as e:
        if e.s3_code == "NoSuchKey":
            raise NotFound(f"file not found in bucket {bucket}") from None
        raise
    return {"url": url, "expires_in": expires}


def return_page(ctx: PanelContext, bucket: str) -> str:
    """Where an upload form sends the browser afterwards: the service's own WHMCS page (the shim names it from
    WHMCS's System URL), never a place the client chooses; '' on the `[api]` listener (the form answers 201)."""
    shim = ctx.caller.shim_params or {}
    back = str(shim.get("bridge_return_url") or "")
    return f"{back}&s3tab=files&bucket={bucket}" if back else ""


async def upload_form(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    """A presigned POST form, signed by a key the storage server checks against the account's policy and state when
    the form is used (`PanelStorage.presign_post`): a file at most the room left under the disk limit, for a few
    minutes, sending the browser back only to the service's WHMCS page."""
    t = await target(ctx, p)
    _usable(t, writing=True)
    bucket = await _owned_bucket(ctx, t, p["bucket_name"])
    redirect = return_page(ctx, bucket)
    if p["redirect"] and p["redirect"] != redirect:
        raise PanelError(
            "redirect may only be this service's WHMCS page (the client area fills it in); leave it empty: the form"
            " then answers 201"
        )
    limit = t.call.product.disk_limit_bytes
    max_bytes = ctx.settings.max_upload_bytes
    if limit > 0:
        used = (await ctx.res.stores.areas.latest(t.account.serviceid)).used_bytes
        if used >= limit:
            raise Forbidden(f"account {t.username} has no room left under its disk limit; free space or upgrade first")
        max_bytes = min(max_bytes, limit - used)
    expires = ctx.settings.presign_expiry
    prefix = object_name(p["prefix"], "prefix")
    form = await _storage(t).presign_post(
        t.username, bucket, prefix, expires, max_bytes, endpoint_url=t.call.product.endpoint_url, redirect=redirect
    )
    return {"url": form["url"], "fields": form["fields"], "script_fields": form["script_fields"],
            "max_bytes": max_bytes, "expires_in": expires}  # fmt: skip


# -- access keys --------------------------------------------------------------------------------------------------


def _key_json(k: AccessKey) -> dict[str, Any]:
    return {"access_key": k.access_key, "name": k.name, "expires": k.expires, "status": k.status,
            "restricted": k.restricted, "primary": k.primary}  # fmt: skip


async def _keys(t: PanelAccount) -> list[AccessKey]:
    backend = t.call.backend
    if isinstance(backend, ServiceAccountKeys):
        return await backend.list_access_keys(t.username)
    if isinstance(backend, AccessKeys):
        held = {t.record.access_key, t.record.pending_access_key} - {""}
        return [AccessKey(kp.access_key, primary=kp.access_key in held) for kp in await backend.key_pairs(t.username)]
    raise PanelError(f"the {backend.name} backend has no access keys", status=501)


async def list_keys(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    t = await target(ctx, p)
    keys = await _keys(t)
    out: dict[str, Any] = {"keys": [_key_json(k) for k in keys], "suspended": t.record.state == "suspended"}
    if isinstance(t.call.backend, AccessKeys):
        out["max_keys"] = 2
    return out


async def create_key(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    async with changing(ctx, p) as t:
        _usable(t)
        spec = key_spec(p["name"], p["expires"], p["read_only"], p["buckets"], today=datetime.now(UTC).date())
        for b in spec.buckets:
            await _owned_bucket(ctx, t, b)
        spec = type(spec)(spec.name, spec.expires, spec.read_only, tuple(bucket_name(t, b) for b in spec.buckets))
        backend = t.call.backend
        if isinstance(backend, ServiceAccountKeys):
            new = await backend.create_access_key(t.username, spec)
            secret, access, expires = new.secret_key, new.access_key, new.expires
        elif isinstance(backend, AccessKeys):
            if spec.expires or spec.read_only or spec.buckets:
                raise PanelError("ostor key pairs cannot expire or be limited to reading or to some buckets")
            if len(await backend.key_pairs(t.username)) >= 2:
                raise Conflict(
                    "ostor allows 2 key pairs per user and this account has both; revoke the extra pair first"
                )
            pair = await backend.begin_key_rotation(t.username, t.record.access_key)
            secret, access, expires = pair.secret_key, pair.access_key, ""
        else:
            raise PanelError(f"the {backend.name} backend has no access keys", status=501)
        redact.add_request_secrets([secret])
        await ctx.event(t.account.serviceid, "key created", f"{access} {spec.name}".strip())
        return {"access_key": access, "secret_key": Secret(secret), "expires": expires, "read_only": spec.read_only,
                "buckets": list(spec.buckets), "note": "the secret key is shown once; store it now"}  # fmt: skip


async def revoke_key(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    async with changing(ctx, p) as t:
        access = p["access_key"]
        backend = t.call.backend
        if isinstance(backend, ServiceAccountKeys):
            if not await backend.revoke_access_key(t.username, access):
                raise NotFound(f"access key {access[:40]} is not one of account {t.username}'s")
        elif isinstance(backend, AccessKeys):
            held = {t.record.access_key, t.record.pending_access_key} - {""}
            if access in held:
                raise Forbidden(
                    "this is the key pair WHMCS holds for the service; rotate it with Change Password instead"
                )
            if access not in {kp.access_key for kp in await backend.key_pairs(t.username)}:
                raise NotFound(f"access key {access[:40]} is not one of account {t.username}'s")
            await backend.finish_key_rotation(t.username, t.record.access_key)
        else:
            raise PanelError(f"the {backend.name} backend has no access keys", status=501)
        await ctx.event(t.account.serviceid, "key revoked", access)
        return {"message": f"access key {access} revoked"}


def storage_error(e: BridgeError) -> PanelError:
    return PanelError(e.message, {"error": e.code}, status=e.status)
