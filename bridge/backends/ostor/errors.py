"""Turn what an ostor gateway answers, and what aiohttp, minio-py and urllib3 raise, into BackendError sentences an
admin can act on (pure). The one error map of the ostor driver: its admin client (`admin_client`) and its data plane
(`driver`, minio-py with the account's keys) both use it, as `minio.errors` is the MinIO driver's.
"""

from __future__ import annotations

import json
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import urllib3.exceptions as u3
from minio.error import MinioException, S3Error, ServerError

from bridge.errors import BackendAuthError, BackendError, BackendForbidden, BackendTLSError, BackendUnreachable

_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurity", "AuthorizationHeaderMalformed"}
_FORBIDDEN_CODES = {"AccessDenied", "AllAccessDisabled"}
QUOTA_ACCOUNTING_HINT = (
    "storage quotas need quota accounting on the object storage volume: on a storage node run"
    " `ostor-ctl add-acc -V <volume id> -s <storage path>` (the volume id from `ostor-ctl get-config`),"
    " or set the product's storage quota settings to 0"
)


class OstorRefused(BackendError):
    """The gateway answered with an HTTP error status (kept, so a caller can tell a 400 from a 501)."""

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.gateway_status = status


class OstorNotFound(OstorRefused):
    """The gateway has no such user, account, bucket, key, quota or statistics object (HTTP 404)."""

    code = "not_found"


class OstorConflict(OstorRefused):
    """The gateway refused because of the current state (HTTP 409): a user still owning buckets, a third key..."""

    code = "conflict"


class OstorProtocolError(BackendError):
    """The answer was not what the guide documents (not JSON, or fields missing)."""

    code = "backend_protocol"


@dataclass(frozen=True)
class GatewayError:
    status: int
    code: str
    message: str


def _one_line(text: str, limit: int = 160) -> str:
    return " ".join(text.split())[:limit]


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
    """Code and message of a refusal: S3 XML `<Error>`, JSON, the `X-Amz-Err-Message` header, or plain text."""
    code = message = ""
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("<"):
        try:
            root = ET.fromstring(text)  # noqa: S314 - a short error body from the gateway; no entities resolved
            code, message = root.findtext("Code") or "", root.findtext("Message") or ""
        except ET.ParseError:
            message = ""
    elif text.startswith("{"):
        try:
            data = json.loads(text)
            if isinstance(data, dict):
                code = str(data.get("Code") or data.get("code") or "")
                message = str(data.get("Message") or data.get("message") or data.get("error") or "")
        except ValueError:
            pass
    header = next((v for k, v in headers.items() if k.lower() == "x-amz-err-message"), "")
    if not message:
        message = header or (text if not text.startswith("<") else "")
    return GatewayError(status, _one_line(code, 64), _one_line(message))


def map_gateway_error(err: GatewayError, endpoint: str, *, action: str, system_keys: bool = True) -> BackendError:
    """One sentence an admin can act on. `system_keys` says whose keys signed: the server record's or the account's."""
    where = f"Virtuozzo ostor gateway at {endpoint}"
    what = " ".join(p for p in (err.code, err.message) if p) or f"HTTP {err.status}"
    if err.code == "RequestTimeTooSkewed":
        return BackendError(
            f"{where} refused {action}: this host's clock differs from the gateway's by more than 15 minutes;"
            " synchronise both with NTP",
            code="clock_skew",
        )
    if err.code in _AUTH_CODES or err.status == 401:
        if not system_keys:
            return BackendAuthError(f"{where} rejected the account's own key pair for {action} ({what})")
        return BackendAuthError(
            f"{where} rejected the access key or secret key ({err.code or err.status}); check the server's Username"
            " (access key) and Password (secret key) in WHMCS: they must be a key pair of an ostor system user"
        )
    if err.code in _FORBIDDEN_CODES or err.status == 403:
        if not system_keys:
            return BackendForbidden(f"{where} refused {action} to the account's own key pair ({what})")
        return BackendForbidden(
            f"the credentials for {where} are valid but not allowed to perform {action} ({what}); the WHMCS server"
            " needs the keys of a system user (ostor-s3-admin create-user -S)"
        )
    if err.status == 404:
        return OstorNotFound(f"{where} found nothing for {action} ({what})", status=404)
    if err.status == 409:
        return OstorConflict(f"{where} refused {action}: {what}", status=409)
    if err.status >= 500:
        return OstorRefused(
            f"{where} failed {action} (HTTP {err.status} {what}); check the gateway's health and try again",
            status=err.status,
            code="backend_unavailable",
        )
    return OstorRefused(f"{where} refused {action}: HTTP {err.status} {what}", status=err.status)


def connection_reason(exc: BaseException) -> str:
    os_error = getattr(exc, "os_error", None)
    text = str(os_error or exc)
    lowered = text.lower()
    if isinstance(os_error or exc, ConnectionRefusedError) or "connection refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "name resolution" in lowered or "nodename nor servname" in lowered:
        return "the host name does not resolve"
    if "no route to host" in lowered:
        return "no route to host"
    if "timed out" in lowered or isinstance(exc, TimeoutError):
        return "the connection timed out"
    return _one_line(text.split(": ", 1)[-1]) or type(exc).__name__


def tls_error(exc: BaseException, endpoint: str) -> BackendTLSError:
    detail = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in detail or isinstance(exc, aiohttp.ClientConnectorCertificateError):
        why = "the server certificate is not trusted (self-signed, expired or wrong host name)"
    elif "WRONG_VERSION_NUMBER" in detail or "wrong version number" in detail:
        why = "the server does not speak TLS on that port"
    else:
        why = _one_line(detail.split(": ", 1)[-1])
    return BackendTLSError(
        f"TLS handshake with Virtuozzo ostor gateway at {endpoint} failed: {why};"
        " check the server's Secure checkbox, its port and its certificate"
    )


def map_transport_error(exc: BaseException, endpoint: str, *, action: str) -> BackendError:
    where = f"Virtuozzo ostor gateway at {endpoint}"
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError | ssl.SSLError):
        return tls_error(exc, endpoint)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return BackendUnreachable(f"{where} is unreachable: {connection_reason(exc)}")
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return BackendUnreachable(f"{where} accepted the connection but did not answer {action} in time")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return BackendUnreachable(f"{where} is unreachable during {action}: {connection_reason(exc)}")
    return BackendError(f"{where}: unexpected {type(exc).__name__} during {action}")


class QuotaAccountingOff(BackendError):
    """The gateway refused `?ostor-quotas` as a whole: quota accounting (`ostor-ctl add-acc`) is not enabled."""

    code = "quota_accounting_off"


def quota_refusal(exc: BackendError, endpoint: str) -> BackendError:
    """A refusal of `?ostor-quotas` that is not about the keys, the network or a missing target means the cluster
    has no quota accounting (the guide: "Before setting quotas ... run `ostor-ctl add-acc`"); the guide does not say
    which status a gateway answers then, so every such refusal (4xx other than 401/403/404, or 501) gets the sentence.
    """
    if isinstance(exc, OstorRefused) and exc.gateway_status in (400, 405, 409, 412, 422, 501):
        return QuotaAccountingOff(
            f"Virtuozzo ostor gateway at {endpoint} refused a storage quota ({exc.message}); {QUOTA_ACCOUNTING_HINT}"
        )
    return exc


def map_data_error(exc: BaseException, endpoint: str, *, action: str) -> BackendError:
    """What minio-py and urllib3 raise on the data plane (S3 with the account's or the system user's keys)."""
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, S3Error):
        status = exc.response.status if exc.response is not None else 0
        err = GatewayError(status, exc.code or "", exc.message or "")
        return map_gateway_error(err, endpoint, action=action, system_keys=False)
    if isinstance(exc, ServerError):
        return map_gateway_error(GatewayError(exc.status_code, "", ""), endpoint, action=action, system_keys=False)
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        return map_data_error(exc.reason, endpoint, action=action)
    if isinstance(exc, u3.SSLError | ssl.SSLError):
        return tls_error(exc, endpoint)
    if isinstance(exc, u3.ReadTimeoutError):
        return BackendUnreachable(f"Virtuozzo ostor gateway at {endpoint} did not answer {action} in time")
    if isinstance(exc, u3.HTTPError | OSError):
        return BackendUnreachable(f"Virtuozzo ostor gateway at {endpoint} is unreachable: {connection_reason(exc)}")
    if isinstance(exc, MinioException):
        return BackendError(f"Virtuozzo ostor gateway at {endpoint} answered {action} with an unreadable response")
    return BackendError(f"Virtuozzo ostor gateway at {endpoint}: unexpected {type(exc).__name__} during {action}")
