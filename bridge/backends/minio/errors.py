"""MinIO's error family: what minio-py and urllib3 raise, as BackendError sentences an admin can act on, and the
admin error codes that mean "already gone" (pure, apart from `unless_gone` running the call it is given)."""

from __future__ import annotations

import json
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Callable

import urllib3.exceptions as u3
from minio.error import MinioAdminException, S3Error

from bridge.errors import (
    BackendAuthError,
    BackendError,
    BackendForbidden,
    BackendTLSError,
    BackendUnreachable,
)

_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "XMinioInvalidAccessKey", "InvalidToken"}
_FORBIDDEN_CODES = {"AccessDenied", "XMinioAdminNotAllowed"}


def _admin_code(body: str) -> tuple[str, str]:
    """MinIO admin errors are JSON ({"Code": ..., "Message": ...}); some proxies answer XML or HTML."""
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            return str(data.get("Code", "")), str(data.get("Message", ""))
    except ValueError:
        pass
    try:
        root = ET.fromstring(body)  # noqa: S314 - parsing a server's short error body, no entities resolved
        return (root.findtext("Code") or "", root.findtext("Message") or "")
    except ET.ParseError:
        return "", body.strip()[:120]


def admin_error_code(exc: BaseException) -> str:
    """The MinIO error code of a failed admin call ("" for anything else)."""
    return _admin_code(exc._body)[0] if isinstance(exc, MinioAdminException) else ""


def unless_gone(fn: Callable[[], object], *missing: str) -> bool:
    """Run an admin call that removes something; False when MinIO answers that it is already gone (a retry)."""
    try:
        fn()
    except MinioAdminException as e:
        if admin_error_code(e) in missing:
            return False
        raise
    return True


def _connection_reason(reason: BaseException | None) -> str:
    text = str(reason or "")
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "name resolution" in lowered:
        return "the host name does not resolve"
    if "timed out" in lowered:
        return "the connection timed out"
    if "no route to host" in lowered:
        return "no route to host"
    return text.split(": ", 1)[-1][:160] or type(reason).__name__


def map_minio_error(exc: BaseException, endpoint: str, *, action: str = "admin request") -> BackendError:
    where = f"MinIO at {endpoint}"
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, MinioAdminException | S3Error):
        if isinstance(exc, S3Error):
            code, message, status = exc.code or "", exc.message or "", str(exc.response.status if exc.response else "")
        else:
            code, message = _admin_code(exc._body)
            status = exc._code
        if code in _AUTH_CODES:
            return BackendAuthError(
                f"{where} rejected the access key or secret key ({code}); check the server's Username"
                " (access key) and Password (secret key) in WHMCS"
            )
        if code in _FORBIDDEN_CODES or status == "403":
            return BackendForbidden(
                f"the credentials for {where} are valid but not allowed to perform {action} ({code or status});"
                " use the root user or a user with the consoleAdmin policy"
            )
        return BackendError(f"{where} refused {action}: HTTP {status} {code} {message}".rstrip())
    if isinstance(exc, u3.MaxRetryError):
        return map_minio_error(exc.reason or exc, endpoint, action=action)
    if isinstance(exc, u3.SSLError | ssl.SSLError):
        detail = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in detail:
            why = "the server certificate is not trusted (self-signed, expired or wrong host name)"
        elif "WRONG_VERSION_NUMBER" in detail or "wrong version number" in detail:
            why = "the server does not speak TLS on that port"
        else:
            why = detail.split(": ", 1)[-1][:160]
        return BackendTLSError(
            f"TLS handshake with {where} failed: {why};"
            " check the server's Secure checkbox, its port and its certificate"
        )
    if isinstance(exc, u3.ReadTimeoutError):
        return BackendUnreachable(f"{where} accepted the connection but did not answer in time")
    if isinstance(exc, u3.NewConnectionError | u3.ConnectTimeoutError | ConnectionError | u3.ProtocolError):
        return BackendUnreachable(f"{where} is unreachable: {_connection_reason(exc)}")
    if isinstance(exc, u3.HTTPError | OSError):
        return BackendUnreachable(f"{where} is unreachable: {_connection_reason(exc)}")
    return BackendError(f"{where}: unexpected {type(exc).__name__} during {action}")
