"""Signing requests to an ostor gateway's admin services (pure): query encoding and botocore's signers.

SigV2 on the admin services signs the service as the sub-resource: `PUT\\n\\n\\n<date>\\n/?ostor-users`, as the
guide's `s3_curl` does (botocore alone would sign only `/`, since `ostor-*` is not an S3 sub-resource it knows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Literal
from urllib.parse import SplitResult, quote

from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICES = ("ostor-users", "ostor-accounts", "ostor-buckets", "ostor-quotas", "ostor-limits", "ostor-usage")
SignatureVersion = Literal["v2", "v4"]
Param = tuple[str, str | None]  # (name, value); None is a bare flag such as `genKey`

_UNRESERVED = "-_.~"  # RFC 3986: everything else in a query value is percent-encoded ('+', '&', '@', '=', ...)


@dataclass(frozen=True)
class Keys:
    """The key pair requests are signed with (a system user's for the admin services)."""

    access_key: str
    secret_key: str = field(repr=False)


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
