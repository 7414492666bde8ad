"""What the gateway's limits count, and the product's units converted to them (pure)."""

from __future__ import annotations

from typing import Literal

# (limit-type, limit-resource, RateLimits field): every limit the product sets on the gateway
LIMIT_FIELDS = (
    ("ops", "default", "ops_default"),
    ("ops", "get", "ops_get"),
    ("ops", "put", "ops_put"),
    ("ops", "list", "ops_list"),
    ("ops", "delete", "ops_delete"),
    ("bandwidth", "out", "bandwidth_out"),
)

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
