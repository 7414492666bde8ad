"""The Virtuozzo Hybrid Infrastructure (ostor) driver: admin services through `OstorAdminClient` (aiohttp), data
through minio-py with the account's own key pair, in a bounded thread pool.

Per account on the gateway: one ostor user whose email is `<username>@<email_domain>` (usernames are unique per
server, so two services of one client never share a user; the client's own email is never used), its key pairs
(the gateway generates them, at most 2), and the buckets that user owns. Isolation comes from ownership: an ostor
user reaches only its own buckets, so the product's policy templates have no ostor equivalent.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from minio import Minio
from minio.error import S3Error

from bridge.backends.base import AccountInfo, AccountSpec, ConnectionReport, DeletionReport, Usage
from bridge.backends.ostor.admin_client import Target, for_bucket, for_user
from bridge.backends.ostor.answers import OstorBucket, OstorUser
from bridge.backends.ostor.clients import OstorClients
from bridge.backends.ostor.errors import OstorNotFound, OstorProtocolError
from bridge.backends.ostor.settings import OstorSettings, user_email
from bridge.backends.s3.data import credentials_work, empty_and_remove, empty_bucket, ensure_bucket
from bridge.backends.s3.panel_files import Identity, S3PanelFiles
from bridge.config import BackendSettings
from bridge.domain.drift import StoredAccount
from bridge.domain.params import ServerParams
from bridge.domain.policies import PolicyKind
from bridge.domain.values import BucketUsage, KeyPair, RateLimits, TrafficCollection, TrafficRecord
from bridge.errors import BackendAuthError, BackendError, BackendForbidden, Unsupported
from bridge.logs import get_logger

T = TypeVar("T")
log = get_logger("s3bridge.ostor")
MAX_KEY_PAIRS = 2  # per user (guide l.260)


class OstorBackend:
    """`StorageBackend` plus the AccessKeys, RateLimiting, StorageQuotas and TrafficStatistics capabilities."""

    name = "ostor"
    counts_objects = False  # usage is the gateway's `size.current` per bucket; its answer has no object count

    def __init__(self, server: ServerParams, clients: OstorClients, settings: OstorSettings | None = None) -> None:
        self.server = server
        self.clients = clients
        self.settings = settings or OstorSettings()
        self.admin = clients.admin(server, self.settings)
        self.files = S3PanelFiles(server, clients, self._own_identity)

    def email(self, username: str) -> str:
        return user_email(username, self.settings.email_domain)

    def _where(self) -> str:
        return f"Virtuozzo ostor gateway at {self.server.endpoint}"

    async def _data(self, fn: Callable[[], T], action: str) -> T:
        return await self.clients.run(fn, endpoint=self.server.endpoint, action=action)

    def _s3(self, pair: KeyPair) -> Minio:
        return self.clients.s3_as(self.server, self.settings, pair)

    async def test_connection(self) -> ConnectionReport:
        # Querying a user that does not exist proves reachability, the signature and admin rights in one small call
        # (listing all users or buckets could be huge): 404 and 200 are both fine, 403 means "not a system user".
        probe = f"s3bridge-connection-check@{self.settings.email_domain}"
        await self.admin.get_user(probe)
        return ConnectionReport(
            backend=self.name,
            endpoint=self.server.endpoint,
            details={"signature": self.settings.signature, "email_domain": self.settings.email_domain},
        )

    # -- users -------------------------------------------------------------------------------------------------

    async def _user(self, username: str) -> OstorUser | None:
        return await self.admin.get_user(self.email(username))

    async def _require_user(self, username: str) -> OstorUser:
        user = await self._user(username)
        if user is None:
            raise BackendError(
                f"{self._where()} has no user '{self.email(username)}' for account '{username}'",
                code="no_such_account",
            )
        return user

    async def account_exists(self, username: str) -> bool:
        return await self._user(username) is not None

    async def account_info(self, username: str) -> AccountInfo | None:
        """The user's `State` from one query; ostor has no groups and no per-user policies, so those stay empty.
        A gateway that reports no `State` is asked through the data plane: do the user's keys reach S3?"""
        user = await self._user(username)
        if user is None:
            return None
        enabled = user.enabled
        if enabled is None:
            enabled = await self._keys_reach_s3(user) is not False
        return AccountInfo(enabled=enabled)

    async def _keys_reach_s3(self, user: OstorUser) -> bool | None:
        """True if the user's first key pair lists buckets, False if refused, None when it has no pair to try."""
        if not user.keys:
            return None
        s3 = self._s3(user.keys[0])

        def reach() -> bool:
            try:
                s3.list_buckets()
            except S3Error as e:
                if e.code in ("AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId"):
                    return False
                raise
            return True

        return await self._data(reach, f"check the data access of {user.email}")

    async def _set_state(self, email: str, enabled: bool) -> None:
        """Send enable/disable every time (the POST is idempotent: never skipped because of a state read before)
        and confirm: a gateway that reports another state afterwards is named, with the state it reported."""
        flag = "enable" if enabled else "disable"
        await self.admin.set_user_enabled(email, enabled)
        after = await self.admin.get_user(email)
        if after is None:
            raise BackendError(f"{self._where()} lost user '{email}' while asked to {flag} it", code="no_such_account")
        reached = after.enabled
        if reached is None:
            reached = await self._keys_reach_s3(after)
        if reached is not None and reached != enabled:
            state = (
                f"its state as '{after.state}'"
                if after.state
                else "no state, and its keys " + ("still reach S3" if reached else "are refused")
            )
            raise BackendError(
                f"{self._where()} accepted '{flag}' for user '{email}' but reports {state}; check the user with"
                f" `ostor-s3-admin query-user-info -e {email}` on the cluster",
                code="state_mismatch",
            )

    async def list_accounts(self) -> list[StoredAccount]:
        """AccountInventory: every user from one `GET ?ostor-users`. Users of the bridge's e-mail domain are the
        bridge's (`managed`), named by the part before the @; others keep their whole e-mail as the name. ostor has no
        per-user policies (`policy` None); `owner_id` is the user id, which buckets name as their owner."""
        suffix = "@" + self.settings.email_domain
        out = []
        for u in await self.admin.list_users():
            ours = u.email.endswith(suffix)
            name = u.email[: -len(suffix)] if ours else u.email
            out.append(StoredAccount(username=name, enabled=u.enabled, owner_id=u.user_id, managed=ours))
        return sorted(out, key=lambda a: a.username)

    async def list_buckets(self, username: str) -> list[tuple[str, str]]:
        """Every bucket the account's user owns (whatever its name), with the gateway's `creation_date`; empty when
        the user does not exist."""
        user = await self._user(username)
        if user is None:
            return []
        mine, _ = await self._buckets_of(user)
        return sorted((b.name, b.created) for b in mine)

    async def _buckets_of(self, user: OstorUser) -> tuple[list[OstorBucket], list[OstorBucket]]:
        """(the user's buckets, the others) of `?ostor-buckets&emailAddress=`: the email filter is not trusted, a
        bucket is the user's only when its `owner_id` (guide l.711) is the user's id."""
        try:
            listed = await self.admin.list_buckets(user.email)
        except OstorNotFound:
            return [], []
        mine = [b for b in listed if b.owner_id == user.user_id]
        return mine, [b for b in listed if b.owner_id != user.user_id]

    async def server_usage(self) -> list[BucketUsage]:
        """Every bucket on the gateway with `size.current`, from ONE `GET ?ostor-buckets` (no email), as the guide
        documents; never one call per account.

        The guide's answer carries no object count, so `objects` is always 0 here (as in `usage`). ostor users may
        name buckets freely, so each bucket carries its `owner_id`: the caller assigns by owner, never by name (a
        bucket another user named `<username>--x` is that other user's)."""
        return [BucketUsage(b.name, b.size, 0, b.created, owner=b.owner_id) for b in await self.admin.list_buckets()]

    async def _ensure_user(self, username: str) -> OstorUser:
        """Create the user once: the gateway accepts a second PUT for the same email and makes a second user."""
        email = self.email(username)
        async with self.clients.locks.hold(("ostor-user", self.server.endpoint, email)):
            user = await self.admin.get_user(email)
            if user is None:
                await self.admin.create_user(email)  # the gateway generates the first key pair
                user = await self._require_user(username)
            return user

    async def _own_identity(self, username: str) -> Identity:
        """The panel's files act as the account's own key pair, as the driver's own data calls (the gateway makes
        the user the owner of what it creates)."""
        pair = await self._usable_pair(await self._require_user(username))
        return pair.access_key, pair.secret_key, self.settings.region, "s3v4"

    async def _usable_pair(self, user: OstorUser) -> KeyPair:
        """A key pair to reach the user's buckets with; generates one if an admin revoked them all."""
        if user.keys:
            return user.keys[0]
        return await self._generate_pair(user.email, before=())

    async def _generate_pair(self, email: str, *, before: tuple[KeyPair, ...]) -> KeyPair:
        """genKey, and the new pair told apart as the one the user did not hold before: a gateway may answer with
        the new pair only (the guide) or with all of the user's pairs in any order (what public clients expect)."""
        held = {k.access_key for k in before}
        new = [k for k in await self.admin.generate_key(email) if k.access_key not in held]
        if len(new) != 1:  # the answer did not single it out: ask for the user's pairs now
            user = await self.admin.get_user(email)
            new = [k for k in (user.keys if user else ()) if k.access_key not in held]
        if len(new) != 1:
            raise BackendError(
                f"{self._where()} generated a key pair for '{email}' but neither its answer nor the user's key list"
                " shows which pair is new; nothing was revoked or handed out",
                code="backend_protocol",
            )
        return new[0]

    async def set_enabled(self, username: str, enabled: bool) -> None:
        user = await self._require_user(username)
        await self._set_state(user.email, enabled)

    async def set_secret(self, username: str, secret: str, *, enabled: bool) -> None:
        raise Unsupported(
            f"{self._where()} generates secret keys itself and cannot take a chosen password;"
            " rotate the account's key pair instead (the new secret is then stored in WHMCS)"
        )

    async def credentials_valid(self, username: str, secret: str) -> bool:
        user = await self._user(username)
        if user is None:
            return False
        for pair in user.keys:
            if hmac.compare_digest(pair.secret_key.encode(), secret.encode()):
                return await self._probe(pair)
        return False

    async def _probe(self, pair: KeyPair) -> bool:
        s3 = self._s3(pair)
        return await self._data(lambda: credentials_work(s3), "list buckets as the account")

    # -- policies and groups: ostor has neither --------------------------------------------------------------------

    def _check_policy(self, kind: PolicyKind) -> None:
        if kind != "standard":
            raise Unsupported(
                f"{self._where()} has no per-user policies, so the '{kind}' policy cannot be applied; every ostor"
                " user reaches only its own buckets. Use a storage quota to stop an account from growing"
            )

    async def apply_policy(self, username: str, kind: PolicyKind, policies: dict[PolicyKind, dict[str, Any]]) -> None:
        """'standard' (own buckets only) is what ownership already gives on ostor; anything else is refused."""
        self._check_policy(kind)
        await self._require_user(username)

    async def set_group(self, username: str, old: str, new: str) -> None:
        if new:
            raise Unsupported(f"{self._where()} has no user groups; clear the product's Group setting")

    # -- lifecycle ----------------------------------------------------------------------------------------------

    async def provision(self, spec: AccountSpec) -> None:
        """Create or complete the account. The gateway generates the key pair, which the caller reads with
        `key_pairs` and hands to WHMCS (`spec.secret` is not used). Policies: see `apply_policy`."""
        if spec.group:
            await self.set_group(spec.username, "", spec.group)
        self._check_policy(spec.active_policy)
        if not spec.create:
            user = await self._require_user(spec.username)
        else:
            user = await self._ensure_user(spec.username)
        missing: list[str] = []
        if spec.buckets:
            owned = {b.name for b in (await self._buckets_of(user))[0]}
            missing = [b for b in spec.buckets if b not in owned]
        if spec.enabled or (missing and not user.enabled):
            await self._set_state(user.email, True)  # its keys must work to create buckets
        if missing:
            s3 = self._s3(await self._usable_pair(user))
            for bucket in missing:
                await self._data(lambda b=bucket: ensure_bucket(s3, b), f"create bucket {bucket}")  # type: ignore[misc]
        if not spec.enabled:
            await self._set_state(user.email, False)

    async def usage(self, username: str, *, budget_s: float) -> Usage:
        """The gateway's own size of each bucket the user owns (`?ostor-buckets`, `size.current`, guide l.704-709),
        with the system user's keys: no listing with the account's keys, whose requests the gateway's statistics
        would bill to the customer. No object counts (the answer has none: 0). `budget_s` is not needed."""
        user = await self._user(username)
        if user is None:
            return Usage((), True)
        mine, _ = await self._buckets_of(user)
        return Usage(tuple(BucketUsage(b.name, b.size, 0, b.created) for b in mine), exact=True, listed=False)

    async def delete_account(self, username: str) -> DeletionReport:
        """Every bucket the user owns by `owner_id` (all object versions), its limits, its accounts, then the user.
        Buckets the gateway lists for the user's email but another user owns are left alone and named in the
        report. Quotas are the caller's (it knows which the module set); per-bucket limits are never touched.

        Buckets go the guide's way: deleted with the system user's keys (`s3_curl DELETE .../bucketname`), emptied
        with them too where the gateway allows it. Where it lets only the owner delete objects, an enabled user's own
        keys empty the bucket; a suspended user's keys are never re-enabled for that (its data would be reachable
        by the customer during the termination): the deletion stops with a sentence saying what to do."""
        user = await self._user(username)
        if user is None:
            return DeletionReport()
        buckets, foreign = await self._buckets_of(user)
        if foreign:
            log.warning("ostor_foreign_buckets_left", user=user.email, buckets=[b.name for b in foreign][:20])
        objects = 0
        for b in buckets:
            objects += await self._delete_bucket(user, b)
        if not (await self._limits(user)).unlimited:  # read first: deleting limits never set is an error on some
            await self.admin.delete_limits(for_user(user.email))
        for account in user.accounts:
            await self.admin.delete_account(user.email, account.name)
        removed = await self.admin.delete_user(user.email)
        return DeletionReport(
            buckets=len(buckets),
            objects=objects,
            user_removed=removed,
            foreign_buckets=tuple(sorted(b.name for b in foreign)),
        )

    async def _delete_bucket(self, user: OstorUser, bucket: OstorBucket) -> int:
        system = self.clients.s3_as(self.server, self.settings, self.admin.keys)
        where, name = self._where(), bucket.name
        try:
            return await self._data(lambda: empty_and_remove(system, name, where), f"delete bucket {name}")
        except (BackendForbidden, BackendAuthError):
            pass  # this gateway lets only the owner delete objects
        refused = BackendError(
            f"{where} does not let the system user delete the objects in bucket '{name}' of suspended user"
            f" '{user.email}', and the bridge does not re-enable a suspended customer's keys to do it; unsuspend"
            " the service and terminate it again, or empty the bucket on the cluster",
            code="delete_refused",
        )
        if user.enabled is False or not user.keys:
            raise refused
        owner = self._s3(user.keys[0])  # an enabled user's own keys (or one whose state the gateway does not say)
        try:
            emptied = await self._data(lambda: empty_bucket(owner, name, where), f"empty bucket {name} as its owner")
        except (BackendForbidden, BackendAuthError):
            raise refused from None
        await self._data(lambda: system.remove_bucket(name), f"delete bucket {name}")  # the guide's way
        return emptied

    # -- AccessKeys ---------------------------------------------------------------------------------------------

    async def key_pairs(self, username: str) -> tuple[KeyPair, ...]:
        user = await self._user(username)
        return user.keys if user else ()

    async def begin_key_rotation(self, username: str, current_access_key: str, pending_access_key: str = "") -> KeyPair:
        """The pending pair of this service's unfinished rotation if the user still has it, else genKey. Any other
        pair the user holds (the customer's own, made in the panel) is never handed out; with two pairs held and
        none of them pending, nothing is generated or revoked and the sentence names the pair to revoke first."""
        email = self.email(username)
        async with self.clients.locks.hold(("ostor-keys", self.server.endpoint, email)):
            user = await self._require_user(username)
            pending = [k for k in user.keys if pending_access_key and k.access_key == pending_access_key]
            if pending:
                return pending[0]
            if len(user.keys) >= MAX_KEY_PAIRS:
                others = ", ".join(k.access_key for k in user.keys if k.access_key != current_access_key)
                raise BackendError(
                    f"{self._where()}: user '{email}' already has {len(user.keys)} key pairs, the most ostor allows,"
                    f" and {others} is not one this module handed to WHMCS (the customer may have made it in the"
                    " panel); revoke it (the customer in the panel, or the Revoke Old Keys button) and rotate again."
                    " Nothing was generated or revoked",
                    code="too_many_keys",
                )
            return await self._generate_pair(email, before=user.keys)

    async def finish_key_rotation(self, username: str, keep_access_key: str) -> int:
        email = self.email(username)
        async with self.clients.locks.hold(("ostor-keys", self.server.endpoint, email)):
            user = await self._require_user(username)
            if keep_access_key not in {k.access_key for k in user.keys}:
                raise BackendError(
                    f"{self._where()}: user '{email}' has no key '{keep_access_key}'; nothing was revoked, so the"
                    " account keeps the keys it has",
                    code="no_such_key",
                )
            revoked = 0
            for pair in user.keys:
                if pair.access_key != keep_access_key:
                    revoked += await self.admin.revoke_key(email, pair.access_key)
            return revoked

    # -- RateLimiting and StorageQuotas ---------------------------------------------------------------------------

    async def _limits(self, user: OstorUser) -> RateLimits:
        return await self.admin.get_limits(for_user(user.email), self.settings.bandwidth_unit, self.settings.ops_unit)

    async def rate_limits(self, username: str) -> RateLimits:
        return await self._limits(await self._require_user(username))

    async def set_rate_limits(self, username: str, limits: RateLimits) -> RateLimits:
        """Read first; PUT what differs (or DELETE when all zero and some are set); then read back what the gateway
        holds, converted to the product's unit as it was sent."""
        user = await self._require_user(username)
        target = for_user(user.email)
        current = await self._limits(user)
        if current == limits:
            return current
        if limits.unlimited:
            await self.admin.delete_limits(target)
        else:
            await self.admin.set_limits(target, limits, self.settings.bandwidth_unit, self.settings.ops_unit)
        return await self._limits(user)

    async def quota_gb(self, username: str) -> int | None:
        user = await self._require_user(username)
        quota = await self.admin.get_quota(for_user(user.email))
        return quota.size_gb if quota else None

    async def set_quota_gb(self, username: str, gigabytes: int | None) -> None:
        if gigabytes is not None and gigabytes < 1:
            raise ValueError("a quota is a whole number of gigabytes from 1; None removes it")
        user = await self._require_user(username)
        await self._converge_quota(for_user(user.email), gigabytes)

    async def set_bucket_quotas_gb(self, username: str, gigabytes: int | None, *, replacing: int | None) -> int:
        """Each bucket the user owns whose quota is none or `replacing` (the module's; None: not recorded, any
        counts) gets `gigabytes` (None: removed). A quota someone else set stays. Returns the buckets changed."""
        if gigabytes is not None and gigabytes < 1:
            raise ValueError("a quota is a whole number of gigabytes from 1; None removes it")
        user = await self._require_user(username)
        changed = 0
        for bucket in (await self._buckets_of(user))[0]:
            target = for_bucket(bucket.name)
            current = await self.admin.get_quota(target)
            held = current.size_gb if current else None
            if held == gigabytes or not (held is None or replacing is None or held == replacing):
                continue  # already so, or not the module's
            if gigabytes is None:
                await self.admin.delete_quota(target)
            else:
                await self.admin.set_quota(target, gigabytes)
            changed += 1
        return changed

    async def _converge_quota(self, target: Target, gigabytes: int | None) -> None:
        """Make one target's quota `gigabytes` (None: none), read first: written only when it differs, deleted only
        when there is one."""
        current = await self.admin.get_quota(target)
        held = current.size_gb if current else None
        if held == gigabytes:
            return
        if gigabytes is None:
            await self.admin.delete_quota(target)
        else:
            await self.admin.set_quota(target, gigabytes)

    # -- TrafficStatistics --------------------------------------------------------------------------------------

    async def owner_id(self, username: str) -> str | None:
        user = await self._user(username)
        return user.user_id if user else None

    async def collect_traffic(
        self,
        store: Callable[[str, tuple[TrafficRecord, ...]], Awaitable[None]],
        *,
        max_objects: int = 1000,
    ) -> TrafficCollection:
        """Page through `?ostor-usage` (with `after=`, which the guide does not document): a page that brings no name
        not seen before ends the collection, so a gateway that ignores `after` and keeps saying `truncated` cannot
        make it loop. An object that cannot be read is kept on the gateway (never deleted), named in the result and
        logged; the others are stored, then deleted."""
        collected, unreadable, seen = 0, [], set()
        after: str | None = None
        stopped = False
        while collected < max_objects:
            listing = await self.admin.list_usage(after)
            fresh = [n for n in listing.items if n not in seen]
            if not fresh:
                stopped = listing.truncated
                if stopped:
                    log.warning("ostor_usage_paging_stopped", server=self.server.endpoint, after=after)
                break
            for name in fresh[: max_objects - collected]:
                seen.add(name)
                try:
                    records = await self.admin.get_usage(name)
                except OstorProtocolError:
                    unreadable.append(name)
                    log.warning("ostor_usage_object_unreadable", server=self.server.endpoint, object=name)
                    continue
                if records is None:
                    continue  # deleted meanwhile (another collector)
                await store(name, records)
                await self.admin.delete_usage(name)  # only now: the records are safely stored
                collected += 1
            if not listing.truncated:
                break
            after = listing.items[-1]
        return TrafficCollection(collected, tuple(unreadable), stopped)


class OstorDriver:
    """ostor's entry in the driver table (`backends.registry.DRIVERS`): the shared clients, and a backend per call
    with the server's own settings (its Access Hash lines)."""

    def __init__(self, settings: BackendSettings) -> None:
        self.clients = OstorClients(settings)

    def backend(self, server: ServerParams) -> OstorBackend:
        return OstorBackend(server, self.clients, OstorSettings.from_server(server))

    async def close(self) -> None:
        await self.clients.close()
