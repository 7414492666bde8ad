"""The opt-in run of the contract suite against a real ostor gateway (a provider's Virtuozzo cluster).

Chosen when the tests are collected, from the environment: with `S3BRIDGE_LIVE_OSTOR_URL`,
`S3BRIDGE_LIVE_OSTOR_ACCESS_KEY` and `S3BRIDGE_LIVE_OSTOR_SECRET_KEY` all set, every contract test that applies to
ostor is collected once more with the id `ostor-live`; without them no such test exists (nothing is skipped, so
nothing is counted as a pass). Optional: `..._SIGNATURE` (v2|v4), `..._REGION`, `..._EMAIL_DOMAIN` (the users'
email domain: use one kept for tests), `..._BANDWIDTH_UNIT` (kbit|kbyte) and `..._OPS_UNIT` (per_second|per_minute)
as the server's Access Hash would declare them (unset: numbers pass through unchanged), `..._QUOTA_ACCOUNTING`
(yes|no: was `ostor-ctl add-acc` run). Every account a test makes is deleted at its end; tests that need the gateway
to close a statistics period at once (only the emulator can) are not collected for it.

What only a real gateway settles is measured here: the timed download under a bandwidth limit
(`test_a_timed_download_under_a_bandwidth_limit_tells_the_gateways_unit`) prints which unit `bandwidth:out` counts,
and fails if it contradicts a declared `..._BANDWIDTH_UNIT`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bridge.backends.ostor.settings import OstorSettings
from bridge.backends.ostor.units import bandwidth_unit, ops_unit
from bridge.domain.params import ServerParams

PREFIX = "S3BRIDGE_LIVE_OSTOR_"


@dataclass(frozen=True)
class LiveOstor:
    url: str
    access_key: str
    secret_key: str = field(repr=False)
    signature: str = "v2"
    region: str = "us-east-1"
    email_domain: str = "s3bridge-contract.invalid"
    bandwidth_unit: str = ""  # as the Access Hash would declare it; "" = not declared (passed through)
    ops_unit: str = ""
    quota_accounting: bool = True

    @property
    def secure(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def endpoint(self) -> str:
        return self.server().endpoint

    def server(self) -> ServerParams:
        split = urlsplit(self.url)
        port = split.port or (443 if self.secure else 80)
        return ServerParams(
            host=split.hostname or "",
            port=port,
            secure=self.secure,
            access_key=self.access_key,
            secret_key=self.secret_key,
        )

    def settings(self) -> OstorSettings:
        return OstorSettings(
            email_domain=self.email_domain,
            signature="v4" if self.signature == "v4" else "v2",
            region=self.region,
            bandwidth_unit=bandwidth_unit(self.bandwidth_unit),
            ops_unit=ops_unit(self.ops_unit),
        )


def live_ostor(env: Mapping[str, str]) -> LiveOstor | None:
    """The live gateway the environment names, or None (then no live test is collected)."""
    url, key, secret = (env.get(PREFIX + n, "").strip() for n in ("URL", "ACCESS_KEY", "SECRET_KEY"))
    if not (url and key and secret):
        return None
    return LiveOstor(
        url=url,
        access_key=key,
        secret_key=secret,
        signature=env.get(PREFIX + "SIGNATURE", "v2"),
        region=env.get(PREFIX + "REGION", "us-east-1"),
        email_domain=env.get(PREFIX + "EMAIL_DOMAIN", "s3bridge-contract.invalid"),
        bandwidth_unit=env.get(PREFIX + "BANDWIDTH_UNIT", ""),
        ops_unit=env.get(PREFIX + "OPS_UNIT", ""),
        quota_accounting=env.get(PREFIX + "QUOTA_ACCOUNTING", "yes").lower() not in ("no", "0", "false"),
    )


LIVE_OSTOR = live_ostor(os.environ)
