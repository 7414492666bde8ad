"""The ostor gateway's JSON answers read into value types (pure): the guide's answers, and the ways a real
gateway's differ. Anything not as documented is an `OstorProtocolError` naming what was read."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from bridge.backends.ostor.errors import OstorProtocolError
from bridge.backends.ostor.units import LIMIT_FIELDS, BandwidthUnit, OpsUnit, from_gateway_bandwidth, from_gateway_ops
from bridge.domain.values import KeyPair, RateLimits, TrafficRecord


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


def bad_answer(what: str) -> OstorProtocolError:
    return OstorProtocolError(f"the ostor gateway answered {what} not as documented; is the URL the S3 gateway?")


def answer_dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise bad_answer(what)
    return data


def parse_keys(data: Any, what: str = "a key list") -> tuple[KeyPair, ...]:
    if data in (None, ""):
        return ()
    if not isinstance(data, list):
        raise bad_answer(what)
    out = []
    for item in data:
        d = answer_dict(item, what)
        if not d.get("AWSAccessKeyId"):
            raise bad_answer(what)
        out.append(KeyPair(str(d["AWSAccessKeyId"]), str(d.get("AWSSecretAccessKey") or "")))
    return tuple(out)


def parse_account(data: Any) -> OstorAccount:
    d = answer_dict(data, "an account")
    if not d.get("Name"):
        raise bad_answer("an account")
    return OstorAccount(str(d["Name"]), parse_keys(d.get("AWSAccessKeys"), "an account's keys"))


def parse_user(data: Any) -> OstorUser:
    d = answer_dict(data, "a user")
    if not d.get("UserEmail") or not d.get("UserId"):
        raise bad_answer("a user")
    accounts = d.get("Accounts") or []
    if not isinstance(accounts, list):
        raise bad_answer("a user's accounts")
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
        raise bad_answer("the user list")
    return tuple(parse_user(u) for u in data)


def parse_buckets(data: Any) -> tuple[OstorBucket, ...]:
    items = answer_dict(data, "the bucket list").get("Buckets")
    if items is None:
        return ()
    if not isinstance(items, list):
        raise bad_answer("the bucket list")
    out = []
    for item in items:
        d = answer_dict(item, "a bucket")
        size = d.get("size") or {}
        if not d.get("name") or not isinstance(size, dict):
            raise bad_answer("a bucket")
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


def parse_limits(data: Any, unit: BandwidthUnit = "gateway", ops_unit: OpsUnit = "gateway") -> RateLimits:
    d = answer_dict(data, "the limits")
    values: dict[str, Any] = {}
    try:
        for kind, resource, attr in LIMIT_FIELDS:
            raw = float(d.get(f"{kind}:{resource}", "0"))
            if not math.isfinite(raw) or raw < 0:
                raise ValueError(raw)
            values[attr] = from_gateway_bandwidth(raw, unit) if kind == "bandwidth" else from_gateway_ops(raw, ops_unit)
    except (TypeError, ValueError):
        raise bad_answer("the limits") from None
    return RateLimits(**values)


def parse_quota(data: Any) -> Quota | None:
    """None when no quota is set (size 0)."""
    d = answer_dict(data, "a quota")
    try:
        size = int(float(d.get("size") or 0))
    except (TypeError, ValueError):
        raise bad_answer("a quota") from None
    return Quota(size, str(d.get("type", "")), str(d.get("version", "1"))) if size > 0 else None


def parse_usage_listing(data: Any) -> UsageListing:
    d = answer_dict(data, "the statistics list")
    items = d.get("items") or []
    if not isinstance(items, list):
        raise bad_answer("the statistics list")
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
    d = answer_dict(data, "a statistics object")
    items = d.get("items") or []
    if not isinstance(items, list):
        raise bad_answer("a statistics object")
    out = []
    try:
        start, period = int(d.get("start_ts") or 0), int(d.get("period") or 0)
        for item in items:
            key = answer_dict(answer_dict(item, "a statistics item").get("key"), "a statistics key")
            counters = answer_dict(item.get("counters"), "statistics counters")
            ops = answer_dict(counters.get("ops") or {}, "ops")
            net = answer_dict(counters.get("net_io") or {}, "net_io")
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
        raise bad_answer("a statistics object") from None
    return tuple(out)
