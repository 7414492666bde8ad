"""Client for the admin services of a Virtuozzo Hybrid Infrastructure S3 gateway (ostor).

The gateway serves `/?ostor-users`, `?ostor-accounts`, `?ostor-buckets`, `?ostor-quotas`, `?ostor-limits` and
`?ostor-usage`, signed with a system user's keys by AWS Signature V2 (the guide's samples) or V4, answering JSON.
The first part of this module is pure (query encoding, signing through botocore's signers, parsing answers and
errors); `OstorAdminClient` at the end does the HTTP with aiohttp.

SigV2 on the admin services signs the service as the sub-resource: `PUT\\n\\n\\n<date>\\n/?ostor-users`, as the
guide's `s3_curl` does (botocore alone would sign only `/`, since `ostor-*` is not an S3 sub-resource it knows).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import SplitResult, quote, urlsplit

import aiohttp
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from yarl import URL

from bridge import metrics
from bridge.backends.ostor_errors import (
    OstorNotFound,
    OstorProtocolError,
    map_gateway_error,
    map_transport_error,
    parse_error,
    quota_refusal,
)
from bridge.domain.values import KeyPair, RateLimits, TrafficRecord
from bridge.errors import BackendError

SERVICES = ("ostor-users", "ostor-accounts", "ostor-buckets", "ostor-quotas", "ostor-limits", "ostor-usage")
SignatureVersion = Literal["v2", "v4"]
Param = tuple[str, str | None]  # (name, value); None is a bare flag such as `genKey`
Target = tuple[str, str]  # what a limit or quota applies to: ("emailAddress", e) | ("bucket", b) | ("default", kind)

_UNRESERVED = "-_.~"  # RFC 3986: everything else in a query value is percent-encoded ('+', '&', '@', '=', ...)
_LIMIT_FIELDS = (
    ("ops", "default", "ops_default"),
    ("ops", "get", "ops_get"),
    ("ops", "put", "ops_put"),
    ("ops", "list", "ops_list"),
    ("ops", "delete", "ops_delete"),
    ("bandwidth", "out", "bandwidth_out"),
)


@dataclass(frozen=True)
class Keys:
    """The key pair requests are signed with (a system user's for the admin services)."""

    access_key: str
    secret_key: str = field(repr=False)


def for_user(email: str) -> Target:
    return ("emailAddress", email)


def for_bucket(bucket: str) -> Target:
    return ("bucket", bucket)


def for_default(kind: Literal["user", "bucket"]) -> Target:
    """Default quotas (`ostor-quotas&default=user|bucket`); limits have no defaults."""
    return ("default", kind)


# -- request building (pure) ------------------------------------------------------------------------------------


def encode_query(service: str, params: Sequence[Param] = ()) -> str:
    """`ostor-users&emailAddress=a%2Bb%26c%40x.com&genKey`: the service first, then every name and value encoded."""
    if service not in SERVICES:
        raise ValueError(f"unknown ostor admin service {service!r}")
    parts = [service]
    for name, value in params:
        key = quote(name, safe=_UNRESERVED)
        parts.append(key if value is None else f"{key}={quote(value, safe=_UNRESERVED)}")
    return "&".join(parts)


def admin_url(base_url: str, service: str, params: Sequence[Param] = ()) -> str:
    return f"{base_url.rstrip('/')}/?{encode_query(service, params)}"


def admin_service(split: SplitResult) -> str | None:
    """The ostor service a URL addresses (its first query name on the root path), else None."""
    if split.path not in ("", "/") or not split.query:
        return None
    first = split.query.split("&", 1)[0].split("=", 1)[0]
    return first if first in SERVICES else None


def http_date(now: datetime) -> str:
    """RFC 7231 date for the Date header SigV2 signs."""
    return formatdate(now.timestamp(), usegmt=True)


def amz_date(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class _OstorHmacV1Auth(HmacV1Auth):
    """botocore's SigV2 signer with the Date passed in, signing `/?ostor-<service>` for the admin services."""

    def __init__(self, keys: Keys, date: str) -> None:
        super().__init__(Credentials(keys.access_key, keys.secret_key))
        self._date = date

    def _get_date(self) -> str:
        return self._date

    def canonical_resource(self, split: SplitResult, auth_path: str | None = None) -> str:
        service = admin_service(split)
        if service is not None:
            return f"/?{service}"
        return super().canonical_resource(split, auth_path=auth_path)


def sign_v2(method: str, url: str, headers: Mapping[str, str], keys: Keys, *, date: str) -> dict[str, str]:
    """The request's headers plus `Date` and `Authorization: AWS <key>:<signature>` (AWS Signature V2)."""
    request = AWSRequest(method=method, url=url, headers=dict(headers))
    _OstorHmacV1Auth(keys, date).add_auth(request)
    return dict(request.headers.items())


def sign_v4(
    method: str,
    url: str,
    headers: Mapping[str, str],
    keys: Keys,
    *,
    now: datetime,
    region: str,
    body: bytes = b"",
) -> dict[str, str]:
    """The request's headers plus `X-Amz-Date`, `X-Amz-Content-SHA256` and a SigV4 `Authorization` (service s3).

    Every header passed in is signed (plus Host from the URL when absent); the payload is always hashed."""
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    signer = S3SigV4Auth(Credentials(keys.access_key, keys.secret_key), "s3", region)
    timestamp = amz_date(now)
    request.context["timestamp"] = timestamp
    request.headers["X-Amz-Date"] = timestamp
    request.headers["X-Amz-Content-SHA256"] = signer.payload(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, SignedHeaders={signed}, Signature={signature}"
    )
    return dict(request.headers.items())


# -- answers (pure) --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OstorAccount:
    name: str
    keys: tuple[KeyPair, ...] = ()


@dataclass(frozen=True)
class OstorUser:
    email: str
    user_id: str
    state: str | None = None  # None: the answer had no `State` (the guide's create and genKey answers have none)
    owner_id: str = ""
    flags: tuple[str, ...] = ()
    keys: tuple[KeyPair, ...] = ()
    accounts: tuple[OstorAccount, ...] = ()

    @property
    def enabled(self) -> bool | None:
        """True for "enabled", False for any other state, None when the gateway did not say."""
        return None if self.state is None else self.state == "enabled"


@dataclass(frozen=True)
class OstorBucket:
    name: str
    owner_id: str
    size: int  # bytes now (`size.current`)
    created: str = ""
    epoch: int = 0
    hmax: int = 0
    h_integral: int = 0
    last_ts: int = 0


@dataclass(frozen=True)
class Quota:
    size_gb: int
    type: str  # "0" user, "1" bucket
    version: str = "1"


@dataclass(frozen=True)
class UsageListing:
    items: tuple[str, ...]
    truncated: bool


def _bad(what: str) -> OstorProtocolError:
    return OstorProtocolError(f"the ostor gateway answered {what} not as documented; is the URL the S3 gateway?")


def _dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _bad(what)
    return data


def parse_keys(data: Any, what: str = "a key list") -> tuple[KeyPair, ...]:
    if data in (None, ""):
        return ()
    if not isinstance(data, list):
        raise _bad(what)
    out = []
    for item in data:
        d = _dict(item, what)
        if not d.get("AWSAccessKeyId"):
            raise _bad(what)
        out.append(KeyPair(str(d["AWSAccessKeyId"]), str(d.get("AWSSecretAccessKey") or "")))
    return tuple(out)


def parse_account(data: Any) -> OstorAccount:
    d = _dict(data, "an account")
    if not d.get("Name"):
        raise _bad("an account")
    return OstorAccount(str(d["Name"]), parse_keys(d.get("AWSAccessKeys"), "an account's keys"))


def parse_user(data: Any) -> OstorUser:
    d = _dict(data, "a user")
    if not d.get("UserEmail") or not d.get("UserId"):
        raise _bad("a user")
    accounts = d.get("Accounts") or []
    if not isinstance(accounts, list):
        raise _bad("a user's accounts")
    flags = d.get("Flags") or []
    return OstorUser(
        email=str(d["UserEmail"]),
        user_id=str(d["UserId"]),
        state=str(d["State"]) if d.get("State") else None,
        owner_id=str(d.get("OwnerId") or ""),
        flags=tuple(str(f) for f in flags) if isinstance(flags, list) else (str(flags),),
        keys=parse_keys(d.get("AWSAccessKeys"), "a user's keys"),
        accounts=tuple(parse_account(a) for a in accounts),
    )


def parse_users(data: Any) -> tuple[OstorUser, ...]:
    """The guide shows a JSON array; some gateway versions wrap it as {"Users": [...]}: both are accepted."""
    if isinstance(data, dict):
        data = data.get("Users", data.get("users"))
    if not isinstance(data, list):
        raise _bad("the user list")
    return tuple(parse_user(u) for u in data)


def parse_buckets(data: Any) -> tuple[OstorBucket, ...]:
    items = _dict(data, "the bucket list").get("Buckets")
    if items is None:
        return ()
    if not isinstance(items, list):
        raise _bad("the bucket list")
    out = []
    for item in items:
        d = _dict(item, "a bucket")
        size = d.get("size") or {}
        if not d.get("name") or not isinstance(size, dict):
            raise _bad("a bucket")
        out.append(
            OstorBucket(
                name=str(d["name"]),
                owner_id=str(d.get("owner_id") or ""),
                size=int(size.get("current") or 0),
                created=str(d.get("creation_date") or ""),
                epoch=int(d.get("epoch") or 0),
                hmax=int(size.get("hmax") or 0),
                h_integral=int(size.get("h_integral") or 0),
                last_ts=int(size.get("last_ts") or 0),
            )
        )
    return tuple(out)


BandwidthUnit = Literal["gateway", "kbit", "kbyte"]
OpsUnit = Literal["gateway", "per_second", "per_minute"]
BITS_PER_BYTE = 8
SECONDS_PER_MINUTE = 60


def bandwidth_unit(text: str) -> BandwidthUnit:
    """The Access Hash's `bandwidth_unit=` line: kbit or kbyte; absent (or `gateway`) = numbers passed through."""
    if text in ("", "gateway"):
        return "gateway"
    if text in ("kbit", "kbyte"):
        return "kbit" if text == "kbit" else "kbyte"
    raise ValueError(f"bandwidth_unit must be kbit or kbyte (or absent: passed through), got '{text[:20]}'")


def ops_unit(text: str) -> OpsUnit:
    """The Access Hash's `ops_unit=` line: per_second or per_minute; absent (or `gateway`) = passed through."""
    if text in ("", "gateway"):
        return "gateway"
    if text in ("per_second", "per_minute"):
        return "per_second" if text == "per_second" else "per_minute"
    raise ValueError(f"ops_unit must be per_second or per_minute (or absent: passed through), got '{text[:20]}'")


def to_gateway_bandwidth(value: int, unit: BandwidthUnit = "gateway") -> int:
    """The product's bandwidth as the gateway's `bandwidth:out` value.

    Nobody has confirmed what the gateway counts: every Virtuozzo text writes "kbs/s" (the guide's CLI output) or
    "kb/s" (the API reference, the admin guide) and none says bits or bytes; the guide's own WHMCS sample passes the
    admin's number through. So by default ("gateway") the product's number is the gateway's own and sent unchanged.
    A server whose Access Hash declares `bandwidth_unit=kbit` or `kbyte` sells kilobytes per second, converted (x 8
    for kilobits). The live contract run's timed download measures which one a gateway applies."""
    return value * BITS_PER_BYTE if unit == "kbit" else value


def from_gateway_bandwidth(value: float, unit: BandwidthUnit = "gateway") -> int:
    """The gateway's `bandwidth:out` (possibly fractional: the API reference shows "3.33") in the product's unit."""
    return round(value / BITS_PER_BYTE) if unit == "kbit" else round(value)


def to_gateway_ops(value: float, unit: OpsUnit = "gateway") -> float:
    """The product's operations rate as the gateway's `limit-value`: unchanged by default; with `ops_unit=per_minute`
    declared (the API reference: PUT values are per minute, `default=60` is 1 op/s), ops/s x 60; `per_second` (the
    guide: 3600 in, "3600.00" ops/s out) x 1."""
    return value * SECONDS_PER_MINUTE if unit == "per_minute" else value


def from_gateway_ops(value: float, unit: OpsUnit = "gateway") -> float:
    """A read-back operations rate in the product's unit (the gateway is taken to report what it takes)."""
    return round(value / SECONDS_PER_MINUTE, 2) if unit == "per_minute" else value


def parse_limits(data: Any, unit: BandwidthUnit = "gateway", ops_unit: OpsUnit = "gateway") -> RateLimits:
    d = _dict(data, "the limits")
    values: dict[str, Any] = {}
    try:
        for kind, resource, attr in _LIMIT_FIELDS:
            raw = float(d.get(f"{kind}:{resource}", "0"))
            if not math.isfinite(raw) or raw < 0:
                raise ValueError(raw)
            values[attr] = from_gateway_bandwidth(raw, unit) if kind == "bandwidth" else from_gateway_ops(raw, ops_unit)
    except (TypeError, ValueError):
        raise _bad("the limits") from None
    return RateLimits(**values)


def parse_quota(data: Any) -> Quota | None:
    """None when no quota is set (size 0)."""
    d = _dict(data, "a quota")
    try:
        size = int(float(d.get("size") or 0))
    except (TypeError, ValueError):
        raise _bad("a quota") from None
    return Quota(size, str(d.get("type", "")), str(d.get("version", "1"))) if size > 0 else None


def parse_usage_listing(data: Any) -> UsageListing:
    d = _dict(data, "the statistics list")
    items = d.get("items") or []
    if not isinstance(items, list):
        raise _bad("the statistics list")
    return UsageListing(tuple(str(i) for i in items), bool(d.get("truncated", False)))


_BARE_HEX = re.compile(r"(?<=[:\[,])(\s*)([0-9]*[a-fA-F][0-9a-fA-F]*)(?=\s*[,}\]])")


def loads_lenient(body: bytes) -> Any:
    """JSON, read again with bare hexadecimal numbers quoted if it is not valid as sent.

    The guide names statistics objects by hexadecimal service ids (`s3-usage-800000000000006a-...`) but prints
    `service_id` as a bare number (`8000000000000065`): a gateway that prints a hex id bare (`800000000000006a`)
    makes the whole object invalid JSON. Quoting such tokens reads it without guessing any value."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(_BARE_HEX.sub(lambda m: f'{m.group(1)}"{m.group(2)}"', text))


def parse_usage_object(name: str, data: Any) -> tuple[TrafficRecord, ...]:
    d = _dict(data, "a statistics object")
    items = d.get("items") or []
    if not isinstance(items, list):
        raise _bad("a statistics object")
    out = []
    try:
        start, period = int(d.get("start_ts") or 0), int(d.get("period") or 0)
        for item in items:
            key = _dict(_dict(item, "a statistics item").get("key"), "a statistics key")
            counters = _dict(item.get("counters"), "statistics counters")
            ops, net = _dict(counters.get("ops") or {}, "ops"), _dict(counters.get("net_io") or {}, "net_io")
            out.append(
                TrafficRecord(
                    source=name,
                    period_start=start,
                    period_s=period,
                    owner_id=str(key.get("user_id") or ""),
                    bucket=str(key.get("bucket") or ""),
                    ops_put=int(ops.get("put") or 0),
                    ops_get=int(ops.get("get") or 0),
                    ops_list=int(ops.get("list") or 0),
                    ops_other=int(ops.get("other") or 0),
                    bytes_in=int(net.get("uploaded") or 0),
                    bytes_out=int(net.get("downloaded") or 0),
                )
            )
    except (TypeError, ValueError):
        raise _bad("a statistics object") from None
    return tuple(out)


def limit_params(
    target: Target, limits: RateLimits, unit: BandwidthUnit = "gateway", ops_unit: OpsUnit = "gateway"
) -> list[list[Param]]:
    """One `ostor-limits` PUT per limit (the API sets one limit-type/limit-resource pair per request).

    Values are sent as whole numbers: every example in the guide is one (`limit-value=3600`, `=100`) and the API
    reference types them "integer"; a gateway that parses integers would refuse "3600.00". An operations rate that
    is fractional in the gateway's unit cannot be expressed, so it is refused with a sentence rather than rounded
    silently (0.5 ops/s is 30 when the server declares `ops_unit=per_minute`)."""
    out: list[list[Param]] = []
    for kind, resource, attr in _LIMIT_FIELDS:
        value = getattr(limits, attr)
        gateway = to_gateway_ops(float(value), ops_unit) if kind == "ops" else 0.0
        if kind == "bandwidth":
            number = to_gateway_bandwidth(int(value), unit)
        elif gateway.is_integer():
            number = int(gateway)
        else:
            raise BackendError(
                f"the ostor gateway takes whole numbers; the {resource} rate {value:g} is {gateway:g} in its unit"
                " (change the product's Rate limits setting)",
                code="invalid_limit",
            )
        out.append([target, ("limit-type", kind), ("limit-resource", resource), ("limit-value", str(number))])
    return out


# -- HTTP ------------------------------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str]


class OstorAdminClient:
    """The ostor admin services of one gateway, signed with one system user's keys; one method per operation."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        keys: Keys,
        *,
        signature: SignatureVersion = "v2",
        region: str = "us-east-1",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.signature = signature
        self.region = region
        self.clock = clock
        self.endpoint = urlsplit(self.base_url).netloc

    def prepare(self, method: str, service: str, params: Sequence[Param] = ()) -> PreparedRequest:
        url = admin_url(self.base_url, service, params)
        headers = {"Host": self.endpoint, "Accept": "*/*"}
        now = self.clock()
        if self.signature == "v4":
            signed = sign_v4(method, url, headers, self.keys, now=now, region=self.region)
        else:
            signed = sign_v2(method, url, headers, self.keys, date=http_date(now))
        return PreparedRequest(method, url, signed)

    async def call(self, method: str, service: str, params: Sequence[Param] = (), *, action: str) -> Any:
        """The JSON answer ({} for an empty one); raises a BackendError subclass on any failure."""
        body = await self.call_raw(method, service, params, action=action)
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except ValueError:
            raise OstorProtocolError(
                f"Virtuozzo ostor gateway at {self.endpoint} answered {action} with something that is not JSON;"
                " check that the server's host name and port are the S3 gateway's"
            ) from None

    async def delete(self, service: str, params: Sequence[Param], *, action: str) -> bool:
        """DELETE that treats "not found" as done (a retried terminate): False when there was nothing to delete."""
        try:
            await self.call("DELETE", service, params, action=action)
        except OstorNotFound:
            return False
        return True

    async def call_raw(self, method: str, service: str, params: Sequence[Param] = (), *, action: str) -> bytes:
        """The answer's body as sent; raises a BackendError subclass on a transport failure or an error status."""
        req = self.prepare(method, service, params)
        try:
            async with self.session.request(
                req.method,
                URL(req.url, encoded=True),
                headers=req.headers,
                skip_auto_headers=("Content-Type",),
                allow_redirects=False,
            ) as resp:
                status, headers, body = resp.status, dict(resp.headers), await resp.read()
        except Exception as e:  # every transport failure becomes a BackendError sentence
            mapped = map_transport_error(e, self.endpoint, action=action)
            metrics.storage_call("ostor", mapped.code)
            raise mapped from e
        if status >= 300:
            refused = map_gateway_error(parse_error(status, headers, body), self.endpoint, action=action)
            metrics.storage_call("ostor", refused.code)
            raise refused
        metrics.storage_call("ostor", "ok")
        return body

    # -- ostor-users ---------------------------------------------------------------------------------------------

    async def create_user(self, email: str) -> OstorUser:
        data = await self.call("PUT", "ostor-users", [("emailAddress", email)], action=f"create user {email}")
        return parse_user(data)

    async def list_users(self) -> tuple[OstorUser, ...]:
        return parse_users(await self.call("GET", "ostor-users", action="list users"))

    async def get_user(self, email: str) -> OstorUser | None:
        try:
            data = await self.call("GET", "ostor-users", [("emailAddress", email)], action=f"query user {email}")
        except OstorNotFound:
            return None
        return parse_user(data)

    async def set_user_enabled(self, email: str, enabled: bool) -> None:
        flag = "enable" if enabled else "disable"
        await self.call("POST", "ostor-users", [("emailAddress", email), (flag, None)], action=f"{flag} user {email}")

    async def delete_user(self, email: str) -> bool:
        """False when there was no such user."""
        return await self.delete("ostor-users", [("emailAddress", email)], action=f"delete user {email}")

    async def generate_key(self, email: str, account: str | None = None) -> tuple[KeyPair, ...]:
        """Every pair the answer lists: the guide shows only the new one, public clients expect all of the user's
        pairs (Luzilla/acronis-s3-usage RotateKey filters the answer); the caller tells the new one apart."""
        params: list[Param] = [("emailAddress", email)]
        if account is not None:
            params.append(("accountName", account))
        params.append(("genKey", None))
        data = await self.call("POST", "ostor-users", params, action=f"generate a key pair for {email}")
        keys = parse_keys(_dict(data, "a new key pair").get("AWSAccessKeys"), "a new key pair")
        if not keys:
            raise _bad("a new key pair")
        return keys

    async def revoke_key(self, email: str, access_key: str, account: str | None = None) -> bool:
        """False when the gateway did not know the key (already revoked)."""
        params: list[Param] = [("emailAddress", email)]
        if account is not None:
            params.append(("accountName", account))
        params.append(("revokeKey", access_key))
        try:
            await self.call("POST", "ostor-users", params, action=f"revoke key {access_key} of {email}")
        except OstorNotFound:
            return False
        return True

    # -- ostor-accounts ------------------------------------------------------------------------------------------

    async def create_account(self, email: str, name: str) -> OstorAccount:
        params: list[Param] = [("emailAddress", email), ("accountName", name)]
        return parse_account(await self.call("PUT", "ostor-accounts", params, action=f"create account {name}"))

    async def delete_account(self, email: str, name: str) -> bool:
        params: list[Param] = [("emailAddress", email), ("accountName", name)]
        return await self.delete("ostor-accounts", params, action=f"delete account {name} of {email}")

    # -- ostor-buckets -------------------------------------------------------------------------------------------

    async def list_buckets(self, email: str | None = None) -> tuple[OstorBucket, ...]:
        params: list[Param] = [("emailAddress", email)] if email is not None else []
        what = f"list the buckets of {email}" if email else "list buckets"
        return parse_buckets(await self.call("GET", "ostor-buckets", params, action=what))

    # -- ostor-limits --------------------------------------------------------------------------------------------

    async def set_limits(
        self, target: Target, limits: RateLimits, unit: BandwidthUnit = "gateway", ops_unit: OpsUnit = "gateway"
    ) -> None:
        for params in limit_params(target, limits, unit, ops_unit):
            await self.call("PUT", "ostor-limits", params, action=f"set limits of {target[1]}")

    async def get_limits(
        self, target: Target, unit: BandwidthUnit = "gateway", ops_unit: OpsUnit = "gateway"
    ) -> RateLimits:
        """Unlimited when the gateway has none: the API reference says a query of limits never set is an error."""
        try:
            data = await self.call("GET", "ostor-limits", [target], action=f"query limits of {target[1]}")
        except OstorNotFound:
            return RateLimits()
        return parse_limits(data, unit, ops_unit)

    async def delete_limits(self, target: Target) -> bool:
        return await self.delete("ostor-limits", [target], action=f"delete limits of {target[1]}")

    # -- ostor-quotas --------------------------------------------------------------------------------------------
    # Quotas need quota accounting (`ostor-ctl add-acc`); a refusal for that reason becomes one sentence saying so.

    async def set_quota(self, target: Target, size_gb: int) -> None:
        params: list[Param] = [target, ("quota-size", str(size_gb))]
        try:
            await self.call("PUT", "ostor-quotas", params, action=f"set the quota of {target[1]}")
        except BackendError as e:
            refusal = quota_refusal(e, self.endpoint)
            if refusal is e:
                raise
            raise refusal from e

    async def get_quota(self, target: Target) -> Quota | None:
        """None when there is none (404). A refusal is never read as "none": without quota accounting it is the
        QuotaAccountingOff sentence, anything else the gateway's own error (a 400 may be a real mistake)."""
        try:
            data = await self.call("GET", "ostor-quotas", [target], action=f"query the quota of {target[1]}")
        except OstorNotFound:
            return None
        except BackendError as e:
            refusal = quota_refusal(e, self.endpoint)
            if refusal is e:
                raise
            raise refusal from e
        return parse_quota(data)

    async def delete_quota(self, target: Target) -> bool:
        """False when there was none to delete (404). Send it only for a quota a read has shown."""
        try:
            return await self.delete("ostor-quotas", [target], action=f"delete the quota of {target[1]}")
        except BackendError as e:
            raise quota_refusal(e, self.endpoint) from e

    # -- ostor-usage ---------------------------------------------------------------------------------------------

    async def list_usage(self, after: str | None = None) -> UsageListing:
        """Statistics objects not yet deleted. `after` (the last name seen) pages on when an answer is truncated: not
        in the guide, but what public clients send (Luzilla/acronis-s3-usage `List(ctx, after)`)."""
        params: list[Param] = [("after", after)] if after else []
        return parse_usage_listing(await self.call("GET", "ostor-usage", params, action="list statistics objects"))

    async def get_usage(self, obj: str) -> tuple[TrafficRecord, ...] | None:
        """None when the object is gone; OstorProtocolError when it cannot be read (even leniently)."""
        try:
            body = await self.call_raw("GET", "ostor-usage", [("obj", obj)], action=f"read statistics object {obj}")
        except OstorNotFound:
            return None
        try:
            data = loads_lenient(body)
        except ValueError:
            raise _bad(f"statistics object {obj}") from None
        return parse_usage_object(obj, data)

    async def delete_usage(self, obj: str) -> bool:
        return await self.delete("ostor-usage", [("obj", obj)], action=f"delete statistics object {obj}")
