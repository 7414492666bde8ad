"""EMULATOR - a stand-in for a Virtuozzo Hybrid Infrastructure S3 gateway (ostor), for tests and the demo only.

This is not Virtuozzo software and not a Virtuozzo product: Virtuozzo cannot run here. It reproduces what the
integration guide (`seeds/001_...`, chapter "Integration via REST API") documents for the gateway's admin services,
in memory, as an aiohttp app:

- every request is signed by AWS Signature V2 or V4 and checked with botocore's signers; SigV2 on the admin services
  signs `/?ostor-<service>` as the resource (as the guide's `s3_curl` does); only *system* users may call them;
- `?ostor-users`: create (PUT: a 16-hex user id and a first key pair whose id starts with it), list, query (state,
  flags, key pairs with secrets, accounts), enable/disable (POST), genKey/revokeKey (max 2 pairs per user and per
  account), delete (DELETE; refused while the user owns buckets);
- `?ostor-accounts` (create by PUT, or POST as the guide's sample does; delete), `?ostor-buckets` (all, or one user's,
  with `size.current/hmax/h_integral/last_ts`, owner, name and creation date; no object count, as the guide shows
  none), `?ostor-limits` (ops default/get/put/list/delete and bandwidth out,
  per user or bucket; zeros once deleted), `?ostor-quotas` (per user, per bucket, defaults; type "0" user, "1" bucket),
  `?ostor-usage` (statistics objects `s3-usage-<service>-<start>-<period>` listed, read and deleted).

Sources. Every answer below is marked with where it comes from: [G n] the guide, seeds/001_bea34c69edd5e391.txt at
line n; [L] the public Go client of the ostor admin API github.com/Luzilla/acronis-s3-usage, pkg/ostor (read
2026-11: ostor.go, utils.go, user.go, key.go, stats.go, types.go, and its mock pkg/ostormock); [P] the public Python
usage collector github.com/60111767/s3_usage (s3_usage_collector/api/s3client.py, tasks/usage.py); [R] Virtuozzo's
"Object Storage Orchestration API Reference" (docs.virtuozzo.com/..._ostor_api_reference, PUT/GET service
ostor-limits; Acronis Storage 2.x edition); [A] Virtuozzo Hybrid Infrastructure admin guide, "Managing S3 user limits";
**invented**: an answer no source documents (no guide line, no API reference page, no public client). Every
invented answer that the bridge's behaviour could depend on is a `Variant` field with a second way, and the contract
suite runs both (`VARIANTS`): the bridge must work whichever a real gateway sends. A live run settles them
(`tests/contract/live.py`).

- Signing: SigV2 string `METHOD\n\n\nDate\n/?ostor-<service>`, the service only [G 526-553 s3_curl, G 1395-1405 PHP; L
  utils.go createSignature; P signs the same resource]; `Date` in RFC 1123 with a zone name or a numeric zone [L:
  time.RFC1123Z]; SigV4 accepted [G 491]; only system users [G 491-509]; skew over 15 minutes refused [invented, as
  AWS].
- Errors of the admin services: the `X-Amz-Err-Message` header [L ostor.go: an error is read from that header]; the body
  is invented: S3 XML `<Error>` (GUIDE), JSON `{"Code", "Message"}` (MIXED, SPARSE) or empty (STRICT)
  (`Variant.error_body`); the S3 data plane answers XML as S3 does. Codes and statuses are invented: unknown user 404
  NoSuchUser, user owning buckets 409 UserHasBuckets [G 697: refused, the status invented], third key pair 409
  TooManyAccessKeys [G 260: "maximum of 2", the status invented], unknown key 404 NoSuchAccessKey, unset quota 404
  NoSuchQuota, non-system caller or disabled user 403 AccessDenied, bad signature 403 SignatureDoesNotMatch, skew 403
  RequestTimeTooSkewed, missing or bad parameter 400 InvalidArgument [R: 400 for bad parameters].
- Success statuses: DELETE 204 [L user.go DeleteUser expects 204]; others 200 [P: any status <= 204 is success], JSON
  where the guide shows a body, else empty [G].
- `?ostor-users` PUT: 16-hex user id, first pair whose id starts with it [G 589-600]; a second PUT for an existing email
  makes a second user [G 607-624 lists two users with one email]; by-email operations act on the oldest [invented].
- `?ostor-users` GET list: a bare array [G 607-624], or `{"Users": [...]}` with `Flags` [L types.go, a real answer
  quoted in a comment] (`Variant.users_wrapped`).
- `?ostor-users&emailAddress` GET: State, Flags, pairs with secrets, accounts [G 629-674]; `State` of a disabled user
  "disabled" [invented: the guide only shows "enabled"], or no `State` at all (`Variant.state_reported`) [invented].
- A disabled user's S3 requests: refused 403 AccessDenied, or 401 (`Variant.disabled_status`) [invented: the guide says
  only that a disabled user cannot reach its data].
- enable/disable by POST [G 676-687; L: "lock/unlock requires POST (not PUT)"].
- genKey: the new pair only [G 730-743], or all of the user's pairs, the new one first (`Variant.gen_key_lists_all`) [L
  key.go RotateKey filters the answer for the pair it did not hold; ostormock's genKey answers two pairs].
- revokeKey by POST [G 745-749]. Accounts: created by PUT (text) or POST (sample) [G 810-827], deleted [G 829-833].
- `?ostor-buckets`: `Buckets` with size.current/h_integral/hmax/last_ts, epoch, owner_id, name, creation_date, no object
  count [G 700-720, 756-808]; `size.current` exact bytes [invented: the guide's 12288 suggests 4 KiB rounding].
- Buckets are deleted with the system user's keys [G 718-722 `s3_curl DELETE .../bucketname`]; whether the system user
  may also list and delete another user's objects is not documented: yes by default [invented], no in
  `Variant.system_deletes_objects=False`.
- `?ostor-limits`: one limit-type/limit-resource/limit-value per PUT [G 867-924], values read back as "3600.00" and
  "100" [G 888-899]; integer-only values (`Variant.integer_limits`) [G: every example is an integer; R: "Type:
  integer"]; GET of a target without limits 404 NoSuchLimits (`Variant.limits_404_when_unset`) [R: "If limits for a
  user/bucket requested are disabled, an error will be returned"; the status 404 invented], else zeros [G 404-416
  rm-limits prints zeros]. Bandwidth unit "kbs/s" [G 374], "kb/s" [R, A], "kb/second" [L types.go]: stored as sent
  (the bridge sends the product's number unchanged unless the server declares the unit:
  `bridge.backends.ostor.units.to_gateway_bandwidth`).
- Bandwidth limits are enforced on downloads (GET object): at most `bandwidth:out` kilobytes per second (GUIDE,
  SPARSE) or kilobits per second (MIXED, STRICT), k = 1000, the lower of the user's and the bucket's
  (`Variant.bandwidth_unit`) [invented: every text writes "kb/s" or "kbs/s", none says bits or bytes; the live run's
  timed download settles it]. Operations limits and quotas are stored and reported, not enforced.
- `?ostor-quotas`: per user, bucket, default; type "0"/"1"; size in GB [G 951-1066]; they need quota accounting
  (`ostor-ctl add-acc`) [G 955-958]; without it (`Variant.quota_accounting=False`) every quota request is refused 400
  InvalidRequest, or 501 NotImplemented (`Variant.quota_off_status`) [invented: the status a real gateway sends is not
  public]. DELETE of limits or a quota never set: 204, or 404 NoSuchLimits / NoSuchQuota (`Variant.unset_deletes_404`)
  [invented; R says only that reading limits never set is "an error"].
- `?ostor-usage`: list `{nr_items, truncated, items}`, read, delete [G 1082-1148]; names `s3-usage-<service id>- <ISO
  start>-<period>` with hex service ids [G 1090-1097]; `service_id` printed as a bare number [G 1109], so a hex id is
  printed bare too, which is not valid JSON (`Variant.hex_stats`) [invented, from G; L's TODO: "limit queries over 710
  produce broken JSON response" shows real gateways can answer broken JSON]; paging with `after=<last name>` when
  truncated [R: `after` and `limit` are documented; L stats.go List(after)], or `after` ignored, the first page repeated
  (`Variant.ignores_after`) [invented; L's command loop guards against endless paging]. Public collectors also send
  `limit=` [P; L comments it out].
A user's limits and quota go with the user when it is deleted, a bucket's with the bucket [invented: the emulator
does so; `delete_account` reads and deletes what the bridge set before it deletes the user]. Limits and quotas
are stored and reported; only `bandwidth:out` is enforced (above). A variant is fixed per emulator; `VARIANTS` lists
the ones the contract suite runs on: GUIDE (the guide's reading, and the first way of each invented answer), MIXED
(public clients' readings where the bridge must still do everything), STRICT (every way at once, quota accounting
off) and SPARSE (the guide's documented answers with the second way of every invented one).

The data plane is a minimal in-memory S3 surface here, not a real MinIO, because ostor's ownership model must be the
same on both sides: a bucket belongs to the user whose key created it, `?ostor-buckets` reports its size, a user
owning buckets cannot be deleted, a disabled user's keys stop working, and statistics count per user and bucket.
Path-style only: ListBuckets, Create/Head/Delete bucket, GetBucketLocation, ListObjectsV2, ListObjectVersions,
Put/Get/Head/Delete object and multi-object delete. Anything else answers 501 NotImplemented.

Run it alone with `python -m rig.ostor_emulator --port N [--variant guide|mixed|strict]`: it prints one JSON line
with the URL, the variant and the system user's keys, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import signal
import string
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, cast
from urllib.parse import SplitResult, parse_qsl, quote_plus, unquote, urlsplit

from aiohttp import web
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEY_PAIRS = 2
MAX_SKEW_S = 15 * 60
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
LIMIT_KEYS = ("ops:default", "ops:get", "ops:put", "ops:list", "ops:delete", "bandwidth:out")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_V4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Variant:
    """How this gateway answers where real gateways differ or the guide is silent; `GUIDE` is the guide's reading,
    every field is one way a real gateway may vary (each is sourced in the module docstring)."""

    name: str = "guide"
    users_wrapped: bool = False  # GET ?ostor-users answers {"Users": [...]} instead of a bare array
    gen_key_lists_all: bool = False  # genKey answers all of the user's pairs, the new one first
    quota_accounting: bool = True  # False: `ostor-ctl add-acc` was never run, every ?ostor-quotas is refused
    integer_limits: bool = False  # limit-value must be a whole number ("3600.00" is refused)
    limits_404_when_unset: bool = False  # GET ?ostor-limits of a target without limits is 404, not zeros
    hex_stats: bool = False  # service ids with hex digits; statistics objects print `service_id` bare (invalid JSON)
    state_reported: bool = True  # False: user answers carry no `State`
    ignores_after: bool = False  # ?ostor-usage ignores `after=` and answers its first page again
    system_deletes_objects: bool = True  # False: the system user may delete others' buckets, not their objects
    # Answers no source documents at all ("invented"): each has a second way, and the contract suite runs both.
    unset_deletes_404: bool = False  # DELETE ?ostor-limits / ?ostor-quotas of a target with none set: 404, not 204
    quota_off_status: int = 400  # the status of every ?ostor-quotas request without quota accounting (or 501)
    disabled_status: int = 403  # what a disabled user's S3 request gets: 403 AccessDenied, or 401 AccessDenied
    error_body: Literal["xml", "json", "header"] = "xml"  # error bodies: S3 XML, JSON, or empty (header only)
    bandwidth_unit: Literal["kbyte", "kbit"] = "kbyte"  # what `bandwidth:out` counts when downloads are throttled
    # `hex_stats` above is the fifth: a hex `service_id` printed bare.


GUIDE = Variant()
STRICT = Variant(
    name="strict",
    users_wrapped=True,
    gen_key_lists_all=True,
    quota_accounting=False,
    integer_limits=True,
    limits_404_when_unset=True,
    hex_stats=True,
    state_reported=False,
    ignores_after=True,
    system_deletes_objects=False,
    unset_deletes_404=True,
    error_body="header",
    bandwidth_unit="kbit",
)
MIXED = Variant(  # the strict answers where the bridge must still do everything (quotas, owner-less deletes)
    name="mixed",
    users_wrapped=True,
    gen_key_lists_all=True,
    integer_limits=True,
    hex_stats=True,
    unset_deletes_404=True,
    disabled_status=401,
    error_body="json",
    bandwidth_unit="kbit",
)
SPARSE = Variant(  # the guide's answers where it has them, the other way for every invented one
    name="sparse",
    quota_accounting=False,
    quota_off_status=501,
    disabled_status=401,
    error_body="json",
    hex_stats=True,
    limits_404_when_unset=True,
)
VARIANTS = (GUIDE, MIXED, STRICT, SPARSE)


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# -- state ---------------------------------------------------------------------------------------------------------


@dataclass
class KeyRec:
    access_key: str
    secret_key: str = field(repr=False)
    user_id: str
    account: str | None = None


@dataclass
class User:
    user_id: str
    email: str
    system: bool = False
    state: str = "enabled"
    keys: list[KeyRec] = field(default_factory=list)
    accounts: dict[str, list[KeyRec]] = field(default_factory=dict)


@dataclass
class Obj:
    data: bytes
    etag: str
    modified: float


@dataclass
class Bucket:
    name: str
    owner_id: str
    created: float
    epoch: int
    objects: dict[str, Obj] = field(default_factory=dict)
    hmax: int = 0
    h_integral: int = 0
    last_ts: int = 0

    @property
    def size(self) -> int:
        return sum(len(o.data) for o in self.objects.values())


@dataclass
class Counters:
    put: int = 0
    get: int = 0
    list: int = 0
    other: int = 0
    uploaded: int = 0
    downloaded: int = 0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class State:
    """Everything the gateway knows; plain methods, no I/O."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        stats_period: int = 1800,
        page_size: int = 1000,
        variant: Variant = GUIDE,
    ):
        self.variant = variant
        self.clock = clock
        self.stats_period = stats_period
        self.page_size = page_size
        self.service_id = "8" + _random(string.hexdigits.lower() if variant.hex_stats else string.digits, 15)
        if variant.hex_stats and self.service_id.isdigit():
            self.service_id = self.service_id[:-1] + "a"
        self.users: dict[str, User] = {}  # by id, in creation order
        self.keys: dict[str, KeyRec] = {}
        self.buckets: dict[str, Bucket] = {}
        self.limits: dict[tuple[str, str], dict[str, float]] = {}
        self.quotas: dict[tuple[str, str], int] = {}
        self.traffic: dict[tuple[str, str, int], Counters] = {}
        self.stats: dict[str, dict[str, Any]] = {}
        self.raw_stats: dict[str, bytes] = {}  # objects served exactly as stored (a test's unreadable object)
        self.admin_calls: list[tuple[str, str, dict[str, str]]] = []  # (method, service, query): what was asked
        self.stuck_states: set[str] = set()  # a test's fault: emails whose enable/disable is accepted but not done
        # a test's fault: ?ostor-buckets&emailAddress=<key> also lists these buckets (whoever owns them)
        self.filter_leaks: dict[str, set[str]] = {}
        # a test's fault: a limit kind ("ops", "bandwidth") is read back as the value sent times this factor, as a
        # gateway whose GET reports another unit than its PUT takes (R: PUT ops/min, GET ops/sec)
        self.limit_readback: dict[str, float] = {}
        self.period_start = clock()
        self._epoch = 98304

    # users and keys

    def _new_key(self, user: User, account: str | None) -> KeyRec:
        key = KeyRec(
            user.user_id + _random(string.ascii_uppercase + string.digits, 4),
            _random(string.ascii_letters + string.digits, 40),
            user.user_id,
            account,
        )
        self.keys[key.access_key] = key
        return key

    def create_user(self, email: str, *, system: bool = False, keys: tuple[str, str] | None = None) -> User:
        user_id = secrets.token_hex(8)
        while user_id in self.users:
            user_id = secrets.token_hex(8)
        user = User(user_id, email, system=system)
        self.users[user_id] = user
        if keys:
            rec = KeyRec(keys[0], keys[1], user_id)
            self.keys[rec.access_key] = rec
        else:
            rec = self._new_key(user, None)
        user.keys.append(rec)
        return user

    def user_by_email(self, email: str) -> User:
        for user in self.users.values():
            if user.email == email:
                return user
        raise GatewayError(404, "NoSuchUser", f"no user with email {email}")

    def gen_key(self, user: User, account: str | None) -> KeyRec:
        pairs = user.keys if account is None else self._account(user, account)
        if len(pairs) >= MAX_KEY_PAIRS:
            raise GatewayError(409, "TooManyAccessKeys", f"at most {MAX_KEY_PAIRS} access key pairs are allowed")
        key = self._new_key(user, account)
        pairs.append(key)
        return key

    def revoke_key(self, user: User, account: str | None, access_key: str) -> None:
        pairs = user.keys if account is None else self._account(user, account)
        for key in pairs:
            if key.access_key == access_key:
                pairs.remove(key)
                del self.keys[access_key]
                return
        raise GatewayError(404, "NoSuchAccessKey", f"user {user.email} has no access key {access_key}")

    def _account(self, user: User, name: str) -> list[KeyRec]:
        if name not in user.accounts:
            raise GatewayError(404, "NoSuchAccount", f"user {user.email} has no account {name}")
        return user.accounts[name]

    def create_account(self, user: User, name: str) -> list[KeyRec]:
        if name in user.accounts:
            raise GatewayError(409, "AccountAlreadyExists", f"user {user.email} already has an account {name}")
        user.accounts[name] = []
        user.accounts[name].append(self._new_key(user, name))
        return user.accounts[name]

    def delete_account(self, user: User, name: str) -> None:
        for key in self._account(user, name):
            self.keys.pop(key.access_key, None)
        del user.accounts[name]

    def delete_user(self, user: User) -> None:
        owned = [b.name for b in self.buckets.values() if b.owner_id == user.user_id]
        if owned:
            raise GatewayError(
                409, "UserHasBuckets", f"user {user.email} owns {len(owned)} bucket(s); delete them first"
            )
        for key in [*user.keys, *(k for ks in user.accounts.values() for k in ks)]:
            self.keys.pop(key.access_key, None)
        del self.users[user.user_id]
        self.limits.pop(("user", user.user_id), None)  # ASSUMPTION: a user's limits and quota go with it
        self.quotas.pop(("user", user.user_id), None)

    # buckets and sizes

    def _settle(self, bucket: Bucket) -> None:
        """Advance the size history to now (before a change): byte-hours since the last change."""
        hour = int(self.clock() // 3600)
        if bucket.last_ts:
            bucket.h_integral += bucket.size * max(0, hour - bucket.last_ts)
        bucket.last_ts = hour

    def create_bucket(self, name: str, owner: User) -> Bucket:
        if not _BUCKET.match(name) or ".." in name:
            raise GatewayError(400, "InvalidBucketName", f"the bucket name {name} is not valid")
        if name in self.buckets:
            if self.buckets[name].owner_id == owner.user_id:
                raise GatewayError(409, "BucketAlreadyOwnedByYou", f"you already own bucket {name}")
            raise GatewayError(409, "BucketAlreadyExists", f"bucket {name} belongs to another user")
        self._epoch += 1
        bucket = Bucket(name, owner.user_id, self.clock(), self._epoch)
        self._settle(bucket)
        self.buckets[name] = bucket
        return bucket

    def put_object(self, bucket: Bucket, key: str, data: bytes) -> Obj:
        self._settle(bucket)
        obj = Obj(data, hashlib.md5(data, usedforsecurity=False).hexdigest(), self.clock())
        bucket.objects[key] = obj
        bucket.hmax = max(bucket.hmax, bucket.size)
        return obj

    def delete_object(self, bucket: Bucket, key: str) -> None:
        self._settle(bucket)
        bucket.objects.pop(key, None)

    def download_rate(self, user: User, bucket: Bucket) -> float:
        """Bytes per second a download may take: the lower of the user's and the bucket's `bandwidth:out` (0 none),
        read as `Variant.bandwidth_unit` says (k = 1000)."""
        values = [
            self.limits.get(target, {}).get("bandwidth:out", 0.0)
            for target in (("user", user.user_id), ("bucket", bucket.name))
        ]
        limit = min((v for v in values if v > 0), default=0.0)
        return limit * 1000 / (8 if self.variant.bandwidth_unit == "kbit" else 1)

    # traffic and statistics objects

    def count(self, user_id: str, bucket: str, op: str, *, uploaded: int = 0, downloaded: int = 0) -> None:
        epoch = self.buckets[bucket].epoch if bucket in self.buckets else 0
        c = self.traffic.setdefault((user_id, bucket, epoch), Counters())
        setattr(c, op, getattr(c, op) + 1)
        c.uploaded += uploaded
        c.downloaded += downloaded

    def roll_usage(self) -> str | None:
        """Close the current statistics period: write one statistics object, as the gateway does every period."""
        now = self.clock()
        if not self.traffic:
            self.period_start = now
            return None
        start = self.period_start
        name = f"s3-usage-{self.service_id}-{_iso(start)}-{self.stats_period}"
        items = [
            {
                "key": {"bucket": bucket, "epoch": epoch, "user_id": user_id, "tag": ""},
                "counters": {
                    "ops": {"put": c.put, "get": c.get, "list": c.list, "other": c.other},
                    "net_io": {"uploaded": c.uploaded, "downloaded": c.downloaded},
                },
            }
            for (user_id, bucket, epoch), c in self.traffic.items()
        ]
        self.stats[name] = {
            "fmt_version": 1,
            "service_id": int(self.service_id) if self.service_id.isdigit() else self.service_id,
            "start_ts": int(start),
            "period": max(1, int(now - start)),
            "nr_items": len(items),
            "items": items,
        }
        self.traffic = {}
        self.period_start = now
        return name


# -- signatures ----------------------------------------------------------------------------------------------------


class _SigV2(HmacV1Auth):
    """botocore's SigV2 with the request's own Date, and `/?ostor-<service>` as the admin services' resource."""

    def __init__(self, access_key: str, secret_key: str, date: str) -> None:
        super().__init__(Credentials(access_key, secret_key))
        self._date = date

    def _get_date(self) -> str:
        return self._date

    def canonical_resource(self, split: SplitResult, auth_path: str | None = None) -> str:
        first = split.query.split("&", 1)[0].split("=", 1)[0] if split.query else ""
        if split.path == "/" and first.startswith("ostor-"):
            return f"/?{first}"
        return super().canonical_resource(split, auth_path=auth_path)


def _check_skew(state: State, when: datetime) -> None:
    if abs(state.clock() - when.timestamp()) > MAX_SKEW_S:
        raise GatewayError(403, "RequestTimeTooSkewed", "the difference between the request time and now is too large")


def authenticate(state: State, method: str, url: str, headers: Any, body: bytes) -> KeyRec:
    """The key that signed the request, or GatewayError. `headers` is case-insensitive (aiohttp's CIMultiDict)."""
    auth = headers.get("Authorization", "")
    if auth.startswith("AWS4-HMAC-SHA256 "):
        return _verify_v4(state, method, url, headers, body, auth)
    if auth.startswith("AWS "):
        return _verify_v2(state, method, url, headers, auth)
    raise GatewayError(403, "AccessDenied", "anonymous requests are not allowed; sign with SigV2 or SigV4")


def _key(state: State, access_key: str) -> KeyRec:
    key = state.keys.get(access_key)
    if key is None:
        raise GatewayError(403, "InvalidAccessKeyId", "the access key id does not exist")
    return key


def _verify_v2(state: State, method: str, url: str, headers: Any, auth: str) -> KeyRec:
    access_key, _, signature = auth[4:].partition(":")
    key = _key(state, access_key)
    date = headers.get("Date", "")
    try:
        _check_skew(state, parsedate_to_datetime(date))
    except (TypeError, ValueError):
        raise GatewayError(403, "AccessDenied", "SigV2 requests need a valid Date header") from None
    copy = HTTPHeaders()
    for name, value in headers.items():
        copy[name] = value
    expected = _SigV2(key.access_key, key.secret_key, date).get_signature(method, urlsplit(url), cast(Any, copy))
    if not hmac.compare_digest(str(expected), signature):
        raise GatewayError(403, "SignatureDoesNotMatch", "the request signature we calculated does not match")
    return key


def _verify_v4(state: State, method: str, url: str, headers: Any, body: bytes, auth: str) -> KeyRec:
    m = _V4.match(auth)
    if not m:
        raise GatewayError(400, "AuthorizationHeaderMalformed", "the authorization header is malformed")
    access_key, day, region, service, signed, signature = m.groups()
    key = _key(state, access_key)
    stamp = headers.get("X-Amz-Date", "")
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise GatewayError(403, "AccessDenied", "SigV4 requests need an X-Amz-Date header") from None
    if stamp[:8] != day:
        raise GatewayError(403, "SignatureDoesNotMatch", "the credential date does not match X-Amz-Date")
    _check_skew(state, when)
    content_sha = headers.get("X-Amz-Content-SHA256")
    if content_sha is None:
        raise GatewayError(400, "InvalidRequest", "missing required header x-amz-content-sha256")
    if content_sha != "UNSIGNED-PAYLOAD" and content_sha != hashlib.sha256(body).hexdigest():
        raise GatewayError(400, "XAmzContentSHA256Mismatch", "the payload does not match x-amz-content-sha256")
    names = signed.split(";")
    if "host" not in names or any(n not in headers for n in names):
        raise GatewayError(403, "SignatureDoesNotMatch", "a signed header is missing from the request")
    request = AWSRequest(method=method, url=url, headers={n: ",".join(headers.getall(n)) for n in names}, data=body)
    request.context["timestamp"] = stamp
    signer = S3SigV4Auth(Credentials(key.access_key, key.secret_key), service, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, signature):
        raise GatewayError(403, "SignatureDoesNotMatch", "the request signature we calculated does not match")
    return key


# -- the admin services --------------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    service: str
    query: dict[str, str]
    caller: User


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, indent=2), content_type="application/json")


def _need(call: Call, name: str) -> str:
    value = call.query.get(name)
    if not value:
        raise GatewayError(400, "InvalidArgument", f"{call.service} needs the parameter {name}")
    return value


def _pairs(keys: list[KeyRec]) -> list[dict[str, str]]:
    return [{"AWSAccessKeyId": k.access_key, "AWSSecretAccessKey": k.secret_key} for k in keys]


def _state(state: State, user: User) -> dict[str, str]:
    return {"State": user.state} if state.variant.state_reported else {}


def _user_info(state: State, user: User) -> dict[str, Any]:
    return {
        "UserEmail": user.email,
        "UserId": user.user_id,
        **_state(state, user),
        "OwnerId": "0000000000000000",
        "Flags": ["system"] if user.system else [],
        "AWSAccessKeys": _pairs(user.keys),
        "AccountCount": str(len(user.accounts)),
        "Accounts": [{"Name": name, "AWSAccessKeys": _pairs(keys)} for name, keys in user.accounts.items()],
    }


def _bucket_info(b: Bucket) -> dict[str, Any]:
    """Exactly the guide's fields (no object count: the guide's answers have none)."""
    return {
        "size": {"current": b.size, "h_integral": b.h_integral, "hmax": b.hmax, "last_ts": b.last_ts},
        "epoch": 0,
        "owner_id": b.owner_id,
        "name": b.name,
        "creation_date": _iso(b.created),
    }


def admin_users(state: State, call: Call) -> web.Response:
    email = call.query.get("emailAddress")
    if call.method == "GET" and email is None:
        users = [
            {"UserEmail": u.email, "UserId": u.user_id, **_state(state, u), "OwnerId": "0000000000000000"}
            for u in state.users.values()
        ]
        return _json({"Users": [{**u, "Flags": []} for u in users]} if state.variant.users_wrapped else users)
    email = _need(call, "emailAddress")
    if call.method == "PUT":
        user = state.create_user(email)
        return _json({"UserEmail": user.email, "UserId": user.user_id, "AWSAccessKeys": _pairs(user.keys)})
    user = state.user_by_email(email)
    if call.method == "GET":
        return _json(_user_info(state, user))
    if call.method == "DELETE":
        state.delete_user(user)
        return web.Response(status=204)
    if call.method == "POST":
        account = call.query.get("accountName")
        if "genKey" in call.query:
            key = state.gen_key(user, account)
            pairs = [key]
            if state.variant.gen_key_lists_all:  # all pairs, the new one first (taking the last would be wrong)
                pairs += [k for k in (user.keys if account is None else user.accounts[account]) if k is not key]
            return _json({"UserEmail": user.email, "UserId": user.user_id, "AWSAccessKeys": _pairs(pairs)})
        if "revokeKey" in call.query:
            state.revoke_key(user, account, _need(call, "revokeKey"))
            return web.Response()
        if "disable" in call.query or "enable" in call.query:
            if user.email not in state.stuck_states:
                user.state = "disabled" if "disable" in call.query else "enabled"
            return web.Response()
        raise GatewayError(400, "InvalidArgument", "POST ?ostor-users needs enable, disable, genKey or revokeKey")
    raise GatewayError(405, "MethodNotAllowed", f"{call.method} is not supported on ?ostor-users")


def admin_accounts(state: State, call: Call) -> web.Response:
    user = state.user_by_email(_need(call, "emailAddress"))
    name = _need(call, "accountName")
    if call.method in ("PUT", "POST"):  # the guide's text says PUT, its sample sends POST
        return _json({"Name": name, "AWSAccessKeys": _pairs(state.create_account(user, name))})
    if call.method == "DELETE":
        state.delete_account(user, name)
        return web.Response(status=204)
    raise GatewayError(405, "MethodNotAllowed", f"{call.method} is not supported on ?ostor-accounts")


def admin_buckets(state: State, call: Call) -> web.Response:
    if call.method != "GET":
        raise GatewayError(405, "MethodNotAllowed", "?ostor-buckets only lists; delete buckets through S3")
    buckets = list(state.buckets.values())
    if "emailAddress" in call.query:
        email = _need(call, "emailAddress")
        owner = state.user_by_email(email)
        leaks = state.filter_leaks.get(email, set())
        buckets = [b for b in buckets if b.owner_id == owner.user_id or b.name in leaks]
    return _json({"Buckets": [_bucket_info(b) for b in buckets]})


def _target(state: State, call: Call, *, defaults: bool = False) -> tuple[str, str]:
    if "emailAddress" in call.query:
        return ("user", state.user_by_email(_need(call, "emailAddress")).user_id)
    if "bucket" in call.query:
        name = _need(call, "bucket")
        if name not in state.buckets:
            raise GatewayError(404, "NoSuchBucket", f"no bucket {name}")
        return ("bucket", name)
    if defaults and call.query.get("default") in ("user", "bucket"):
        return ("default", call.query["default"])
    raise GatewayError(400, "InvalidArgument", f"{call.service} needs emailAddress or bucket")


def _number(text: str, what: str, *, integer: bool = False) -> float:
    if integer and not text.isdigit():
        raise GatewayError(400, "InvalidArgument", f"{what} must be a whole number, got {text!r}")
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0 or value != value:  # negative or NaN
        raise GatewayError(400, "InvalidArgument", f"{what} must be a number >= 0, got {text!r}")
    return value


def admin_limits(state: State, call: Call) -> web.Response:
    target = _target(state, call)
    if call.method == "PUT":
        kind, resource = _need(call, "limit-type"), _need(call, "limit-resource")
        name = f"{kind}:{resource}"
        if name not in LIMIT_KEYS:
            raise GatewayError(400, "InvalidArgument", f"unknown limit {name}; known: {', '.join(LIMIT_KEYS)}")
        value = _number(_need(call, "limit-value"), "limit-value", integer=state.variant.integer_limits)
        value *= state.limit_readback.get(kind, 1.0)
        state.limits.setdefault(target, {})[name] = value if kind == "ops" else float(int(value))
        return web.Response()
    if call.method == "GET":
        if target not in state.limits and state.variant.limits_404_when_unset:
            raise GatewayError(404, "NoSuchLimits", "no limits are set")
        values = state.limits.get(target, {})
        return _json(
            {
                name: (f"{values.get(name, 0.0):.2f}" if name.startswith("ops:") else str(int(values.get(name, 0))))
                for name in LIMIT_KEYS
            }
        )
    if call.method == "DELETE":
        if state.limits.pop(target, None) is None and state.variant.unset_deletes_404:
            raise GatewayError(404, "NoSuchLimits", "no limits are set")
        return web.Response(status=204)
    raise GatewayError(405, "MethodNotAllowed", f"{call.method} is not supported on ?ostor-limits")


def admin_quotas(state: State, call: Call) -> web.Response:
    if not state.variant.quota_accounting:
        code = "NotImplemented" if state.variant.quota_off_status == 501 else "InvalidRequest"
        raise GatewayError(state.variant.quota_off_status, code, "quota accounting is not enabled on this volume")
    target = _target(state, call, defaults=True)
    kind = "0" if target[0] == "user" or target == ("default", "user") else "1"
    if call.method == "PUT":
        size = _number(_need(call, "quota-size"), "quota-size")
        state.quotas[target] = int(size)
        return web.Response()
    if target not in state.quotas and call.method == "DELETE" and not state.variant.unset_deletes_404:
        return web.Response(status=204)
    if target not in state.quotas:
        raise GatewayError(404, "NoSuchQuota", "no quota is set")
    if call.method == "GET":
        return _json({"version": "1", "type": kind, "size": str(state.quotas[target])})
    if call.method == "DELETE":
        del state.quotas[target]
        return web.Response(status=204)
    raise GatewayError(405, "MethodNotAllowed", f"{call.method} is not supported on ?ostor-quotas")


def admin_usage(state: State, call: Call) -> web.Response:
    obj = call.query.get("obj")
    if obj is None and call.method == "GET":
        names = sorted({*state.stats, *state.raw_stats})
        after = call.query.get("after")
        if after and not state.variant.ignores_after:
            names = [n for n in names if n > after]
        page = names[: state.page_size]
        return _json({"nr_items": len(page), "truncated": len(names) > len(page), "items": page})
    obj = _need(call, "obj")
    if obj in state.raw_stats:
        if call.method == "GET":
            return web.Response(body=state.raw_stats[obj], content_type="application/json")
        if call.method == "DELETE":
            del state.raw_stats[obj]
            return web.Response(status=204)
    if obj not in state.stats:
        raise GatewayError(404, "NoSuchKey", f"no statistics object {obj}")
    if call.method == "GET":
        text = json.dumps(state.stats[obj], indent=2)
        if isinstance(state.stats[obj]["service_id"], str):  # printed bare, as the guide prints the decimal one
            text = text.replace(
                f'"service_id": "{state.stats[obj]["service_id"]}"', f'"service_id": {state.service_id}'
            )
        return web.Response(text=text, content_type="application/json")
    if call.method == "DELETE":
        del state.stats[obj]
        return web.Response(status=204)
    raise GatewayError(405, "MethodNotAllowed", f"{call.method} is not supported on ?ostor-usage")


ADMIN: dict[str, Callable[[State, Call], web.Response]] = {
    "ostor-users": admin_users,
    "ostor-accounts": admin_accounts,
    "ostor-buckets": admin_buckets,
    "ostor-limits": admin_limits,
    "ostor-quotas": admin_quotas,
    "ostor-usage": admin_usage,
}


# -- the minimal S3 surface ----------------------------------------------------------------------------------------


def _xml(root: ET.Element, status: int = 200) -> web.Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
    return web.Response(status=status, body=body, content_type="application/xml")


def _el(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


def _root(tag: str) -> ET.Element:
    return ET.Element(tag, {"xmlns": S3_NS})


@dataclass
class S3Call:
    request: web.Request
    query: dict[str, str]
    body: bytes
    user: User


def _owned(state: State, call: S3Call, name: str, *, bucket_delete: bool = False) -> Bucket:
    """The bucket, if the caller owns it or is a system user (the guide deletes buckets with the system user's
    keys; whether it may also reach their objects is `Variant.system_deletes_objects`)."""
    bucket = state.buckets.get(name)
    if bucket is None:
        raise GatewayError(404, "NoSuchBucket", f"the bucket {name} does not exist")
    system = call.user.system and (bucket_delete or state.variant.system_deletes_objects)
    if bucket.owner_id != call.user.user_id and not system:
        raise GatewayError(403, "AccessDenied", f"access to bucket {name} denied")
    return bucket


def _encode_key(key: str, call: S3Call) -> str:
    return quote_plus(key, safe="/") if call.query.get("encoding-type") == "url" else key


def s3_list_buckets(state: State, call: S3Call) -> web.Response:
    state.count(call.user.user_id, "", "list")
    root = _root("ListAllMyBucketsResult")
    owner = _el(root, "Owner")
    _el(owner, "ID", call.user.user_id)
    _el(owner, "DisplayName", call.user.email)
    buckets = _el(root, "Buckets")
    for b in state.buckets.values():
        if b.owner_id == call.user.user_id:
            entry = _el(buckets, "Bucket")
            _el(entry, "Name", b.name)
            _el(entry, "CreationDate", _iso(b.created))
    return _xml(root)


def _page(bucket: Bucket, call: S3Call, marker: str) -> tuple[list[tuple[str, Obj]], bool]:
    prefix = call.query.get("prefix", "")
    try:
        max_keys = max(1, min(1000, int(call.query.get("max-keys") or 1000)))
    except ValueError:
        raise GatewayError(400, "InvalidArgument", "max-keys must be a number") from None
    keys = sorted(k for k in bucket.objects if k.startswith(prefix) and k > marker)
    return [(k, bucket.objects[k]) for k in keys[:max_keys]], len(keys) > max_keys


def s3_bucket(state: State, call: S3Call, name: str) -> web.Response:
    method, q = call.request.method, call.query
    if method == "PUT":
        state.create_bucket(name, call.user)
        state.count(call.user.user_id, name, "other")
        return web.Response(headers={"Location": f"/{name}"})
    bucket = _owned(state, call, name, bucket_delete=method == "DELETE")
    if method == "HEAD":
        state.count(call.user.user_id, name, "other")
        return web.Response()
    if method == "DELETE":
        if bucket.objects:
            raise GatewayError(409, "BucketNotEmpty", f"the bucket {name} is not empty")
        del state.buckets[name]
        state.limits.pop(("bucket", name), None)  # ASSUMPTION: a bucket's limits and quota go with it
        state.quotas.pop(("bucket", name), None)
        state.count(call.user.user_id, name, "other")
        return web.Response(status=204)
    if method == "GET" and "location" in q:
        state.count(call.user.user_id, name, "other")
        return _xml(_root("LocationConstraint"))
    if method == "GET" and "versions" in q:
        return _list_versions(state, call, bucket)
    if method == "GET" and q.get("list-type") == "2":
        return _list_v2(state, call, bucket)
    if method == "POST" and "delete" in q:
        return _delete_many(state, call, bucket)
    raise GatewayError(501, "NotImplemented", "the emulator does not implement this bucket operation")


def _grouped(bucket: Bucket, call: S3Call, marker: str) -> tuple[list[tuple[str, Obj | None]], bool]:
    """A page with `delimiter`: keys below it roll up into common prefixes (obj None), as S3 lists folders."""
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    max_keys = max(1, min(1000, int(call.query.get("max-keys") or 1000)))
    out: list[tuple[str, Obj | None]] = []
    for key in sorted(bucket.objects):
        if not key.startswith(prefix) or key <= marker or (marker.endswith(delimiter) and key.startswith(marker)):
            continue
        rest = key[len(prefix) :]
        if delimiter in rest:
            common = prefix + rest.split(delimiter, 1)[0] + delimiter
            if out and out[-1][0] == common:
                continue
            out.append((common, None))
        else:
            out.append((key, bucket.objects[key]))
        if len(out) > max_keys:
            break
    return out[:max_keys], len(out) > max_keys


def _list_v2(state: State, call: S3Call, bucket: Bucket) -> web.Response:
    token = call.query.get("continuation-token")
    marker = base64.urlsafe_b64decode(token).decode() if token else call.query.get("start-after", "")
    if call.query.get("delimiter"):
        return _list_v2_grouped(state, call, bucket, marker)
    items, truncated = _page(bucket, call, marker)
    state.count(call.user.user_id, bucket.name, "list")
    root = _root("ListBucketResult")
    _el(root, "Name", bucket.name)
    _el(root, "Prefix", call.query.get("prefix", ""))
    _el(root, "KeyCount", len(items))
    _el(root, "MaxKeys", call.query.get("max-keys") or 1000)
    _el(root, "IsTruncated", "true" if truncated else "false")
    if call.query.get("encoding-type") == "url":
        _el(root, "EncodingType", "url")
    if truncated:
        _el(root, "NextContinuationToken", base64.urlsafe_b64encode(items[-1][0].encode()).decode())
    for key, obj in items:
        _contents(root, key, obj, call)
    return _xml(root)


def _contents(root: ET.Element, key: str, obj: Obj, call: S3Call) -> None:
    entry = _el(root, "Contents")
    _el(entry, "Key", _encode_key(key, call))
    _el(entry, "LastModified", _iso(obj.modified))
    _el(entry, "ETag", f'"{obj.etag}"')
    _el(entry, "Size", len(obj.data))
    _el(entry, "StorageClass", "STANDARD")


def _list_v2_grouped(state: State, call: S3Call, bucket: Bucket, marker: str) -> web.Response:
    entries, truncated = _grouped(bucket, call, marker)
    state.count(call.user.user_id, bucket.name, "list")
    root = _root("ListBucketResult")
    _el(root, "Name", bucket.name)
    _el(root, "Prefix", call.query.get("prefix", ""))
    _el(root, "Delimiter", call.query.get("delimiter", ""))
    _el(root, "KeyCount", len(entries))
    _el(root, "MaxKeys", call.query.get("max-keys") or 1000)
    _el(root, "IsTruncated", "true" if truncated else "false")
    if truncated:
        _el(root, "NextContinuationToken", base64.urlsafe_b64encode(entries[-1][0].encode()).decode())
    for key, obj in entries:
        if obj is None:
            _el(_el(root, "CommonPrefixes"), "Prefix", _encode_key(key, call))
            continue
        _contents(root, key, obj, call)
    return _xml(root)


def _list_versions(state: State, call: S3Call, bucket: Bucket) -> web.Response:
    items, truncated = _page(bucket, call, call.query.get("key-marker", ""))
    state.count(call.user.user_id, bucket.name, "list")
    root = _root("ListVersionsResult")
    _el(root, "Name", bucket.name)
    _el(root, "Prefix", call.query.get("prefix", ""))
    _el(root, "MaxKeys", call.query.get("max-keys") or 1000)
    _el(root, "IsTruncated", "true" if truncated else "false")
    if call.query.get("encoding-type") == "url":
        _el(root, "EncodingType", "url")
    if truncated:
        _el(root, "NextKeyMarker", _encode_key(items[-1][0], call))
        _el(root, "NextVersionIdMarker", "null")
    for key, obj in items:
        entry = _el(root, "Version")
        _el(entry, "Key", _encode_key(key, call))
        _el(entry, "VersionId", "null")
        _el(entry, "IsLatest", "true")
        _el(entry, "LastModified", _iso(obj.modified))
        _el(entry, "ETag", f'"{obj.etag}"')
        _el(entry, "Size", len(obj.data))
        _el(entry, "StorageClass", "STANDARD")
    return _xml(root)


def _delete_many(state: State, call: S3Call, bucket: Bucket) -> web.Response:
    md5 = call.request.headers.get("Content-MD5")
    if md5 and md5 != base64.b64encode(hashlib.md5(call.body, usedforsecurity=False).digest()).decode():
        raise GatewayError(400, "BadDigest", "the Content-MD5 you specified did not match what we received")
    try:
        doc = ET.fromstring(call.body)  # noqa: S314 - the emulator parses its test client's small request bodies
    except ET.ParseError:
        raise GatewayError(400, "MalformedXML", "the XML you provided was not well-formed") from None
    ns = {"s3": S3_NS} if doc.tag.startswith("{") else {}
    prefix = "s3:" if ns else ""
    quiet = (doc.findtext(f"{prefix}Quiet", "false", ns) or "false").lower() == "true"
    root = _root("DeleteResult")
    for entry in doc.findall(f"{prefix}Object", ns):
        key = entry.findtext(f"{prefix}Key", "", ns) or ""
        state.delete_object(bucket, key)
        if not quiet:
            _el(_el(root, "Deleted"), "Key", key)
    state.count(call.user.user_id, bucket.name, "other")
    return _xml(root)


def s3_object(state: State, call: S3Call, name: str, key: str) -> web.Response:
    method = call.request.method
    bucket = _owned(state, call, name)
    if method == "PUT":
        if "x-amz-copy-source" in call.request.headers or "partNumber" in call.query or "uploadId" in call.query:
            raise GatewayError(501, "NotImplemented", "the emulator implements single-part uploads only")
        obj = state.put_object(bucket, key, call.body)
        state.count(call.user.user_id, name, "put", uploaded=len(call.body))
        return web.Response(headers={"ETag": f'"{obj.etag}"'})
    if method == "DELETE":
        state.delete_object(bucket, key)
        state.count(call.user.user_id, name, "other")
        return web.Response(status=204)
    if method in ("GET", "HEAD"):
        found = bucket.objects.get(key)
        if found is None:
            raise GatewayError(404, "NoSuchKey", f"the key {key} does not exist")
        headers = {
            "ETag": f'"{found.etag}"',
            "Last-Modified": datetime.fromtimestamp(found.modified, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        }
        if method == "HEAD":
            state.count(call.user.user_id, name, "other")
            return web.Response(headers={**headers, "Content-Length": str(len(found.data))})
        state.count(call.user.user_id, name, "get", downloaded=len(found.data))
        rate = state.download_rate(call.user, bucket)
        if rate:
            return web.Response(
                body=_throttled(found.data, rate),
                headers={**headers, "Content-Length": str(len(found.data))},
                content_type="application/octet-stream",
            )
        return web.Response(body=found.data, headers=headers, content_type="application/octet-stream")
    raise GatewayError(501, "NotImplemented", "the emulator does not implement this object operation")


async def _throttled(data: bytes, bytes_per_s: float) -> AsyncIterator[bytes]:
    """The body at most `bytes_per_s`, in 50 ms slices (the gateway's `bandwidth:out` limit on downloads)."""
    chunk = max(1, int(bytes_per_s / 20))
    started = time.monotonic()
    for sent in range(0, len(data), chunk):
        ahead = sent / bytes_per_s - (time.monotonic() - started)
        if ahead > 0:
            await asyncio.sleep(ahead)
        yield data[sent : sent + chunk]
    ahead = len(data) / bytes_per_s - (time.monotonic() - started)
    if ahead > 0:
        await asyncio.sleep(ahead)  # the last slice also takes its time


# -- the app -------------------------------------------------------------------------------------------------------


STATE: web.AppKey[State] = web.AppKey("ostor_state", State)


def state_of(request: web.Request) -> State:
    return request.app[STATE]


def _error(err: GatewayError, request: web.Request, *, admin: bool = False) -> web.Response:
    """S3's XML `<Error>` with the `X-Amz-Err-Message` header; the admin services answer as `Variant.error_body`
    says (the S3 data plane always in XML, as S3 clients parse it)."""
    request_id = secrets.token_hex(8).upper()
    headers = {"X-Amz-Err-Message": err.message.encode("ascii", "replace").decode(), "x-amz-request-id": request_id}
    body_kind = state_of(request).variant.error_body if admin else "xml"
    if request.method == "HEAD" or body_kind == "header":
        return web.Response(status=err.status, headers=headers)
    if body_kind == "json":
        body = {"Code": err.code, "Message": err.message, "Resource": request.path, "RequestId": request_id}
        return web.json_response(body, status=err.status, headers=headers)
    root = ET.Element("Error")
    _el(root, "Code", err.code)
    _el(root, "Message", err.message)
    _el(root, "Resource", request.path)
    _el(root, "RequestId", request_id)
    response = _xml(root, err.status)
    response.headers.update(headers)
    return response


async def handle(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await request.read()
    split = urlsplit(request.raw_path)
    first = split.query.split("&", 1)[0].split("=", 1)[0] if split.query else ""
    admin = split.path == "/" and first.startswith("ostor-")
    try:
        key = authenticate(state, request.method, f"http://{request.host}{request.raw_path}", request.headers, body)
        user = state.users[key.user_id]
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if admin:
            if not user.system or user.state != "enabled":
                raise GatewayError(403, "AccessDenied", "the admin services need a system user's keys")
            if first not in ADMIN:
                raise GatewayError(400, "InvalidArgument", f"unknown service {first}")
            state.admin_calls.append((request.method, first, query))
            return ADMIN[first](state, Call(request.method, first, query, user))
        if user.state != "enabled":
            raise GatewayError(state.variant.disabled_status, "AccessDenied", "the user is disabled")
        call = S3Call(request, query, body, user)
        path = unquote(split.path)
        if path == "/":
            if request.method != "GET":
                raise GatewayError(405, "MethodNotAllowed", "only GET is allowed on /")
            return s3_list_buckets(state, call)
        name, _, obj_key = path[1:].partition("/")
        if not obj_key:
            return s3_bucket(state, call, name)
        return s3_object(state, call, name, obj_key)
    except GatewayError as err:
        return _error(err, request, admin=admin)


def make_app(state: State) -> web.Application:
    app = web.Application(client_max_size=64 * 1024**2)
    app[STATE] = state
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class OstorEmulator:
    """The emulator on a loopback port, with one system user whose keys sign the admin requests."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        stats_period: int = 1800,
        page_size: int = 1000,
        system_email: str = "system@ostor-emulator.invalid",
        system_keys: tuple[str, str] | None = None,
        variant: Variant = GUIDE,
    ) -> None:
        self.state = State(clock=clock, stats_period=stats_period, page_size=page_size, variant=variant)
        system = self.state.create_user(system_email, system=True, keys=system_keys)
        self.access_key, self.secret_key = system.keys[0].access_key, system.keys[0].secret_key
        self.app = make_app(self.state)
        self._runner: web.AppRunner | None = None
        self.host, self.port = "127.0.0.1", 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> OstorEmulator:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host, self.port = str(self._runner.addresses[0][0]), int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OstorEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _serve(args: argparse.Namespace) -> None:
    keys = (args.access_key, args.secret_key) if args.access_key and args.secret_key else None
    variant = next(v for v in VARIANTS if v.name == args.variant)
    emulator = OstorEmulator(stats_period=args.stats_period, system_keys=keys, variant=variant)
    await emulator.start(args.host, args.port)
    print(
        json.dumps(
            {
                "emulator": "Virtuozzo ostor S3 gateway stand-in (not Virtuozzo software)",
                "url": emulator.url,
                "variant": variant.name,
                "access_key": emulator.access_key,
                "secret_key": emulator.secret_key,
            }
        ),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=args.stats_period)
            emulator.state.roll_usage()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in for a Virtuozzo ostor S3 gateway (admin API + minimal S3).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--stats-period", type=int, default=1800, help="seconds between statistics objects")
    parser.add_argument(
        "--variant", choices=[v.name for v in VARIANTS], default="guide", help="how it answers where gateways differ"
    )
    parser.add_argument("--access-key", help="the system user's access key (default: generated)")
    parser.add_argument("--secret-key", help="the system user's secret key (default: generated)")
    asyncio.run(_serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
