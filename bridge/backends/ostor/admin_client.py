"""Client for the admin services of a Virtuozzo Hybrid Infrastructure S3 gateway (ostor).

The gateway serves `/?ostor-users`, `?ostor-accounts`, `?ostor-buckets`, `?ostor-quotas`, `?ostor-limits` and
`?ostor-usage`, signed with a system user's keys by AWS Signature V2 (the guide's samples) or V4, answering JSON.
The pure parts are the modules beside this one (query encoding and signing through botocore's signers in `signing`,
parsing answers in `answers`, units in `units`, errors in `errors`); `OstorAdminClient` does the HTTP with aiohttp.

SigV2 on the admin services signs the service as the sub-resource: `PUT\\n\\n\\n<date>\\n/?ostor-users`, as the
guide's `s3_curl` does (botocore alone would sign only `/`, since `ostor-*` is not an S3 sub-resource it knows).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from bridge import metrics
from bridge.backends.ostor.answers import (
    OstorAccount,
    OstorBucket,
    OstorUser,
    Quota,
    UsageListing,
    answer_dict,
    bad_answer,
    loads_lenient,
    parse_account,
    parse_buckets,
    parse_keys,
    parse_limits,
    parse_quota,
    parse_usage_listing,
    parse_usage_object,
    parse_user,
    parse_users,
)
from bridge.backends.ostor.errors import (
    OstorNotFound,
    OstorProtocolError,
    map_gateway_error,
    map_transport_error,
    parse_error,
    quota_refusal,
)
from bridge.backends.ostor.signing import Keys, Param, SignatureVersion, admin_url, http_date, sign_v2, sign_v4
from bridge.backends.ostor.units import LIMIT_FIELDS, BandwidthUnit, OpsUnit, to_gateway_bandwidth, to_gateway_ops
from bridge.domain.values import KeyPair, RateLimits, TrafficRecord
from bridge.errors import BackendError

Target = tuple[str, str]  # what a limit or quota applies to: ("emailAddress", e) | ("bucket", b) | ("default", kind)


def for_user(email: str) -> Target:
    return ("emailAddress", email)


def for_bucket(bucket: str) -> Target:
    return ("bucket", bucket)


def for_default(kind: Literal["user", "bucket"]) -> Target:
    """Default quotas (`ostor-quotas&default=user|bucket`); limits have no defaults."""
    return ("default", kind)


def limit_params(
    target: Target, limits: RateLimits, unit: BandwidthUnit = "gateway", ops_unit: OpsUnit = "gateway"
) -> list[list[Param]]:
    """One `ostor-limits` PUT per limit (the API sets one limit-type/limit-resource pair per request).

    Values are sent as whole numbers: every example in the guide is one (`limit-value=3600`, `=100`) and the API
    reference types them "integer"; a gateway that parses integers would refuse "3600.00". An operations rate that
    is fractional in the gateway's unit cannot be expressed, so it is refused with a sentence rather than rounded
    silently (0.5 ops/s is 30 when the server declares `ops_unit=per_minute`)."""
    out: list[list[Param]] = []
    for kind, resource, attr in LIMIT_FIELDS:
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
        keys = parse_keys(answer_dict(data, "a new key pair").get("AWSAccessKeys"), "a new key pair")
        if not keys:
            raise bad_answer("a new key pair")
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
            refusal = quota_refusal(e, self.endpoint)
            if refusal is e:
                raise
            raise refusal from e

    # -- ostor-usage ---------------------------------------------------------------------------------------------

    async def list_usage(self, after: str | None = None) -> UsageListing:
        """Statistics objects not yet deleted. `after` (the last name seen) pages on when an answer is truncated: not
        in the guide, but documented in the API reference (VHI 6.3 edition, GET service ostor-usage: `after`,
        `limit`) and sent by public clients (Luzilla/acronis-s3-usage `List(ctx, after)`)."""
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
            raise bad_answer(f"statistics object {obj}") from None
        return parse_usage_object(obj, data)

    async def delete_usage(self, obj: str) -> bool:
        return await self.delete("ostor-usage", [("obj", obj)], action=f"delete statistics object {obj}")
