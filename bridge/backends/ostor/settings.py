"""How the bridge maps accounts onto one ostor gateway, read from the server's Access Hash lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.backends.ostor.signing import SignatureVersion
from bridge.backends.ostor.units import BandwidthUnit, OpsUnit, bandwidth_unit, ops_unit
from bridge.domain.naming import check_username
from bridge.domain.params import ServerParams
from bridge.errors import BadParam

DEFAULT_EMAIL_DOMAIN = "s3bridge.invalid"  # RFC 2606: can never be a real mailbox
_DOMAIN = re.compile(r"^(?=.{1,200}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


@dataclass(frozen=True)
class OstorSettings:
    """How the bridge maps accounts onto one ostor gateway."""

    email_domain: str = DEFAULT_EMAIL_DOMAIN
    signature: SignatureVersion = "v2"
    region: str = "us-east-1"  # the SigV4 region the gateway expects (data plane and, with v4, admin)
    bandwidth_unit: BandwidthUnit = "gateway"  # what `bandwidth:out` counts, if declared (see to_gateway_bandwidth)
    ops_unit: OpsUnit = "gateway"  # what an ops `limit-value` counts, if declared (see to_gateway_ops)

    def __post_init__(self) -> None:
        if not _DOMAIN.match(self.email_domain):
            raise ValueError(f"email domain '{self.email_domain}' is not a lowercase DNS name such as s3.example.net")

    @classmethod
    def from_server(cls, server: ServerParams) -> OstorSettings:
        """The server's `email_domain=`, `signature=`, `region=`, `bandwidth_unit=` and `ops_unit=` lines; a bad
        one is a BadParam naming the Access Hash field."""
        try:
            return cls(
                email_domain=server.option("email_domain", DEFAULT_EMAIL_DOMAIN),
                signature="v4" if server.option("signature") == "v4" else "v2",
                region=server.option("region", "us-east-1"),
                bandwidth_unit=bandwidth_unit(server.option("bandwidth_unit")),
                ops_unit=ops_unit(server.option("ops_unit")),
            )
        except ValueError as e:
            raise BadParam("serveraccesshash", str(e)) from None


def user_email(username: str, domain: str = DEFAULT_EMAIL_DOMAIN) -> str:
    """The ostor user of a service: keyed by the service's username, never by the client's email."""
    check_username(username)
    return f"{username}@{domain}"
