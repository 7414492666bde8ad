"""The MinIO driver: admin API through minio-py's MinioAdmin, data through minio-py's Minio, in a bounded pool.

Per account on the server: the user `<username>`, the policies `s3bridge-<username>` (standard) and
`s3bridge-<username>-limited`, membership of the product's group, and the buckets `<username>--*`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from minio.error import MinioAdminException

from bridge.backends.base import AccountInfo, AccountSpec, ConnectionReport, DeletionReport, Usage
from bridge.backends.minio import keys as minio_keys
from bridge.backends.minio.clients import MinioClients
from bridge.backends.minio.errors import admin_error_code, unless_gone
from bridge.backends.minio.usage_info import UnreadableUsageInfo, decode_usage_info
from bridge.backends.s3.data import ObjectsRetained, credentials_work, empty_and_remove, ensure_bucket, measure
from bridge.backends.s3.panel_files import Identity, S3PanelFiles
from bridge.config import BackendSettings
from bridge.domain.drift import StoredAccount
from bridge.domain.naming import owns_bucket
from bridge.domain.object_lock import RetainedVersion, retained_sentence
from bridge.domain.panel.storage import AccessKey, KeySpec, NewAccessKey
from bridge.domain.params import ServerParams
from bridge.domain.policies import PolicyKind
from bridge.domain.values import BucketUsage
from bridge.errors import BackendError

T = TypeVar("T")
_NO_SUCH_USER = "XMinioAdminNoSuchUser"
_NO_SUCH_POLICY = "XMinioAdminNoSuchPolicy"


def policy_name(username: str, kind: PolicyKind) -> str:
    return f"s3bridge-{username}" if kind == "standard" else f"s3bridge-{username}-limited"


class MinioBackend:
    """`StorageBackend` plus ServiceAccountKeys (the account user's service accounts) and PanelFiles (as the server's
    admin, after the use case checked the bucket is in the account's namespace; forms and links signed by the
    account's presigning key)."""

    name = "minio"
    counts_objects = True  # usage lists (Recalculate) or reads the scanner, both with object counts

    def __init__(self, server: ServerParams, clients: MinioClients) -> None:
        self.server = server
        self.clients = clients
        self.admin = clients.admin(server)
        self.s3 = clients.s3(server)
        self.last_scan: datetime | None = None  # ScannerClock: when the scanner measured server_usage's figures
        self.files = S3PanelFiles(server, clients, self._admin_identity, self._presign_identity)

    async def _call(self, fn: Callable[[], T], action: str) -> T:
        return await self.clients.call(self.server, fn, action=action)

    async def _admin_identity(self, username: str) -> Identity:
        return self.server.access_key, self.server.secret_key, "us-east-1", "s3v4"

    async def _presign_identity(self, username: str) -> Identity:
        """The account's presigning key (`minio.keys.ensure_presign_key`): MinIO applies the user's policy and state
        when a form or link it signed is used. Set once per process, user and admin secret."""
        ready = (self.server.endpoint, username, hashlib.sha256(self.server.secret_key.encode()).hexdigest())
        if ready in self.clients.presign_ready:
            access, secret = minio_keys.presign_credentials(self.server.secret_key, username)
        else:
            async with self.clients.crypto_slots:  # encrypted admin calls (Argon2id)
                access, secret = await self._call(
                    lambda: minio_keys.ensure_presign_key(self.admin, self.server.secret_key, username),
                    "admin add presigning service account",
                )
            self.clients.presign_ready.add(ready)
        return access, secret, "us-east-1", "s3v4"

    async def list_access_keys(self, username: str) -> list[AccessKey]:
        return await self._call(lambda: minio_keys.list_keys(self.admin, username), "admin list service accounts")

    async def create_access_key(self, username: str, spec: KeySpec) -> NewAccessKey:
        async with self.clients.crypto_slots:  # an encrypted admin call (Argon2id)
            return await self._call(
                lambda: minio_keys.add_key(self.admin, self.server.secret_key, username, spec),
                "admin add service account",
            )

    async def revoke_access_key(self, username: str, access_key: str) -> bool:
        keys = await self.list_access_keys(username)
        if access_key not in {k.access_key for k in keys}:
            return False
        await self._call(lambda: minio_keys.remove_key(self.admin, access_key), "admin delete service account")
        return True

    async def test_connection(self) -> ConnectionReport:
        raw = await self._call(self.admin.info, "admin ServerInfo")
        info: dict[str, Any] = json.loads(raw) if raw else {}
        servers = info.get("servers") or []
        version = str(servers[0].get("version", "")) if servers and isinstance(servers[0], dict) else ""
        return ConnectionReport(
            backend=self.name,
            endpoint=self.server.endpoint,
            version=version,
            details={"mode": str(info.get("mode", "")), "servers": str(len(servers))},
        )

    # -- users -------------------------------------------------------------------------------------------------

    async def user_info(self, username: str) -> dict[str, Any] | None:
        def info() -> dict[str, Any] | None:
            try:
                data: dict[str, Any] = json.loads(self.admin.user_info(username))
                return data
            except MinioAdminException as e:
                if admin_error_code(e) == _NO_SUCH_USER:
                    return None
                raise

        return await self._call(info, "admin user info")

    async def account_exists(self, username: str) -> bool:
        return await self.user_info(username) is not None

    async def account_info(self, username: str) -> AccountInfo | None:
        info = await self.user_info(username)
        if info is None:
            return None
        return AccountInfo(
            enabled=info.get("status") == "enabled",
            groups=tuple(info.get("memberOf") or ()),
            policy=str(info.get("policyName") or ""),
        )

    async def list_buckets(self, username: str) -> list[tuple[str, str]]:
        return await self._own_buckets(username)

    async def list_accounts(self) -> list[StoredAccount]:
        """AccountInventory: every user from one ListUsers call; `policy` is the kind of the attached s3bridge policy
        ("standard"/"limited"), another policy's name as MinIO shows it, or "" when none is attached."""

        def fetch() -> dict[str, Any]:
            data: dict[str, Any] = json.loads(self.admin.user_list() or "{}")
            return data

        users = await self._call(fetch, "admin list users")
        out = []
        for name, info in sorted(users.items()):
            attached = str((info or {}).get("policyName") or "")
            kinds = {policy_name(name, "standard"): "standard", policy_name(name, "limited"): "limited"}
            out.append(
                StoredAccount(
                    username=name,
                    enabled=(info or {}).get("status") == "enabled",
                    policy=kinds.get(attached, attached),
                    managed=any(p.startswith("s3bridge-") for p in attached.split(",")),
                )
            )
        return out

    async def bucket_names(self) -> set[str]:
        """LiveBucketNames: every bucket on the server now, from one ListBuckets call as the server's admin."""
        buckets = await self._call(self.s3.list_buckets, "list buckets")
        return {b.name for b in buckets}

    async def _add_user(self, username: str, secret: str) -> None:
        async with self.clients.crypto_slots:
            await self._call(lambda: self.admin.user_add(username, secret), "admin add user")

    async def set_enabled(self, username: str, enabled: bool) -> None:
        fn = self.admin.user_enable if enabled else self.admin.user_disable
        await self._call(lambda: fn(username), "admin enable user" if enabled else "admin disable user")

    async def set_secret(self, username: str, secret: str, *, enabled: bool) -> None:
        if await self.user_info(username) is None:
            raise BackendError(f"MinIO at {self.server.endpoint} has no user '{username}'", code="no_such_account")
        await self._add_user(username, secret)  # add-user replaces the secret and always enables the user
        if not enabled:
            await self.set_enabled(username, False)

    async def credentials_valid(self, username: str, secret: str) -> bool:
        client = self.clients.s3_as(self.server, username, secret)
        return await self._call(lambda: credentials_work(client), "list buckets as the user")

    # -- policies and groups ------------------------------------------------------------------------------------

    async def _put_policies(self, username: str, docs: dict[PolicyKind, dict[str, Any]]) -> None:
        for kind, doc in docs.items():
            name = policy_name(username, kind)
            await self._call(lambda n=name, d=doc: self.admin.policy_add(n, policy=d), "admin add policy")  # type: ignore[misc]

    async def apply_policy(self, username: str, kind: PolicyKind, policies: dict[PolicyKind, dict[str, Any]]) -> None:
        await self._put_policies(username, policies)
        # policy_set replaces the user's mapping in one call (attach would fail if already attached).
        await self._call(lambda: self.admin.policy_set(policy_name(username, kind), user=username), "admin set policy")

    async def set_group(self, username: str, old: str, new: str) -> None:
        if new:
            await self._call(lambda: self.admin.group_add(new, [username]), "admin add group member")  # type: ignore[arg-type]
        if old and old != new:
            # members given explicitly: without them MinIO would delete the whole group
            await self._call(
                lambda: unless_gone(
                    lambda: self.admin.group_remove(old, [username]),  # type: ignore[arg-type]
                    "XMinioAdminNoSuchGroup",
                    _NO_SUCH_USER,
                ),
                "admin remove group member",
            )

    # -- buckets ------------------------------------------------------------------------------------------------

    async def _own_buckets(self, username: str) -> list[tuple[str, str]]:
        buckets = await self._call(self.s3.list_buckets, "list buckets")
        return [
            (b.name, b.creation_date.isoformat() if b.creation_date else "")
            for b in buckets
            if owns_bucket(username, b.name)
        ]

    # -- lifecycle ----------------------------------------------------------------------------------------------

    async def provision(self, spec: AccountSpec) -> None:
        await self._put_policies(spec.username, spec.policies)
        if spec.secret is not None:
            await self._add_user(spec.username, spec.secret)  # creates or updates, and enables
        else:
            info = await self.user_info(spec.username)
            if info is None:
                why = "no secret was given to create it with" if spec.create else "the call needs an existing account"
                raise BackendError(
                    f"MinIO at {self.server.endpoint} has no user '{spec.username}' and {why}",
                    code="no_such_account",
                )
            if spec.enabled and info.get("status") != "enabled":
                await self.set_enabled(spec.username, True)
        await self._call(
            lambda: self.admin.policy_set(policy_name(spec.username, spec.active_policy), user=spec.username),
            "admin set policy",
        )
        if spec.group:
            await self.set_group(spec.username, "", spec.group)
        for bucket in spec.buckets:
            await self._call(lambda b=bucket: ensure_bucket(self.s3, b), "create bucket")  # type: ignore[misc]
        if not spec.enabled:
            await self.set_enabled(spec.username, False)

    async def server_usage(self) -> list[BucketUsage]:
        def fetch() -> tuple[list[BucketUsage], datetime | None]:
            # ~900 bytes of JSON per bucket (17 MB at 20,000 buckets): decoded in the worker, not on the event loop
            raw = self.admin.get_data_usage_info()  # type: ignore[no-untyped-call]  # minio-py leaves it untyped
            try:
                return decode_usage_info(raw)
            except UnreadableUsageInfo as e:
                raise BackendError(f"MinIO at {self.server.endpoint}: {e}") from None

        usage, self.last_scan = await self._call(fetch, "admin DataUsageInfo")
        return usage

    async def usage(self, username: str, *, budget_s: float) -> Usage:
        deadline = time.monotonic() + budget_s
        buckets = await self._own_buckets(username)

        out, exact = [], True
        for name, created in buckets:
            if time.monotonic() > deadline:
                exact = False
                out.append(BucketUsage(name, 0, 0, created))
                continue
            size, count, done = await self._call(lambda n=name: measure(self.s3, n, deadline), "list objects")  # type: ignore[misc]
            exact = exact and done
            out.append(BucketUsage(name, size, count, created))
        return Usage(tuple(out), exact)

    async def delete_account(self, username: str) -> DeletionReport:
        objects = 0
        where = f"MinIO at {self.server.endpoint}"
        buckets = await self._own_buckets(username)
        retained: list[RetainedVersion] = []
        for name, _ in buckets:
            assert owns_bucket(username, name)
            try:
                objects += await self._call(lambda n=name: empty_and_remove(self.s3, n, where), "delete bucket")  # type: ignore[misc]
            except ObjectsRetained as e:
                retained.extend(e.versions)
        if retained:  # the user stays, disabled, so the account and its remaining buckets are still one thing
            await self.set_enabled(username, False)
            raise ObjectsRetained(retained_sentence(retained, where, username), tuple(retained))

        user_removed = await self._call(
            lambda: unless_gone(lambda: self.admin.user_remove(username), _NO_SUCH_USER), "admin remove user"
        )
        removed = 0
        kinds: tuple[PolicyKind, ...] = ("standard", "limited")
        for kind in kinds:
            name = policy_name(username, kind)
            removed += await self._call(
                lambda n=name: unless_gone(lambda: self.admin.policy_remove(n), _NO_SUCH_POLICY),  # type: ignore[misc]
                "admin remove policy",
            )
        return DeletionReport(
            buckets=len(buckets), objects=objects, user_removed=user_removed, policies_removed=removed
        )

    async def audit_webhook(self, target: str) -> dict[str, str]:
        # The whole subsystem: asking for a target that does not exist yet is an error (and minio-py 7.2.20 hides
        # it behind an UnboundLocalError).
        raw = await self._call(lambda: self.admin.config_get("audit_webhook"), "admin get config")
        return parse_config_line(raw, f"audit_webhook:{target}")

    async def configure_audit_webhook(self, target: str, settings: dict[str, str]) -> bool:
        for k, v in settings.items():
            if not v or any(c.isspace() or c in "\"'=" for c in v):
                raise BackendError(f"audit webhook setting {k} must be one word without quotes or '='")
        before = await self.audit_webhook(target)
        async with self.clients.crypto_slots:  # config set is an encrypted admin call
            await self._call(
                lambda: self.admin.config_set(f"audit_webhook:{target}", {"enable": "on", **settings}),
                "admin set config audit_webhook",
            )
        return any(before.get(k) != v for k, v in settings.items() if k != "auth_token")


def parse_config_line(raw: str, name: str) -> dict[str, str]:
    """The settings of `name` (`audit_webhook:<target> endpoint=... batch_size=...`) in MinIO's config text;
    empty when there is no such target."""
    out: dict[str, str] = {}
    for line in raw.splitlines():
        words = line.split()
        if not words or words[0] != name:
            continue
        for word in words[1:]:
            k, sep, v = word.partition("=")
            if sep:
                out[k] = v.strip('"')
    return out


class MinioDriver:
    """MinIO's entry in the driver table (`backends.registry.DRIVERS`): the shared clients, a backend per call."""

    def __init__(self, settings: BackendSettings) -> None:
        self.clients = MinioClients(settings)

    def backend(self, server: ServerParams) -> MinioBackend:
        return MinioBackend(server, self.clients)

    async def close(self) -> None:
        self.clients.close()
