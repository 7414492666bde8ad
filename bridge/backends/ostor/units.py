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

BandwidthUnit = Literal["kbit", "kbyte"]
BITS_PER_BYTE = 8


def to_gateway_bandwidth(kilobytes_per_s: int, unit: BandwidthUnit = "kbit") -> int:
    """The product's KB/s (kilobytes) as the gateway's `bandwidth:out` value.

    Every Virtuozzo text writes the unit in lower case: "kbs/s" (the guide's CLI output), "kb/s" (the Object Storage
    Orchestration API reference, `vinfra ... --limit-type bandwidth ... in kb/s`); none spells it out. Lower-case b
    is the bit (IEC 80000-13, IEEE 1541), so the gateway is read as kilobits per second by default: 100 KB/s is sent
    as 800. Were the gateway to mean kilobytes, the customer would get 8 times the bandwidth sold, never less; a
    provider who has measured their cluster sets `bandwidth_unit=kbyte` in the server's Access Hash."""
    return kilobytes_per_s * BITS_PER_BYTE if unit == "kbit" else kilobytes_per_s


def from_gateway_bandwidth(value: float, unit: BandwidthUnit = "kbit") -> int:
    """The gateway's `bandwidth:out` (possibly fractional: the API reference shows "3.33") as whole KB/s."""
    return round(value / BITS_PER_BYTE) if unit == "kbit" else round(value)
