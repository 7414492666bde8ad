"""The exception hierarchy: every error the daemon reports on the wire is one of these.

Each carries the HTTP status, a machine code and one sentence an admin can act on. Messages never hold secrets:
they are scrubbed again by `bridge.redact` before they leave the process, as a second line of defence.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of everything the daemon reports to the shim."""

    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(BridgeError):
    status = 400
    code = "bad_request"


class MissingParam(BadRequest):
    code = "missing_param"

    def __init__(self, field: str) -> None:
        super().__init__(f"missing required parameter '{field}'")
        self.field = field


class BadParam(BadRequest):
    code = "bad_param"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"parameter '{field}' {problem}")
        self.field = field


class AuthError(BridgeError):
    """The signed channel refused the request."""

    status = 401
    code = "bad_signature"


class UnknownFunction(BridgeError):
    status = 404
    code = "unknown_function"


class BackendError(BridgeError):
    """The storage backend failed; the message names the server and what to check."""

    status = 502
    code = "backend_error"


class BackendAuthError(BackendError):
    code = "backend_auth"


class Unsupported(BackendError):
    """The server's backend has no such feature (e.g. ostor has no per-user policies, MinIO no key pairs)."""

    status = 400
    code = "unsupported"


class BackendForbidden(BackendError):
    code = "backend_forbidden"


class BackendUnreachable(BackendError):
    code = "backend_unreachable"


class BackendTLSError(BackendError):
    code = "backend_tls"


class DatabaseError(BridgeError):
    status = 503
    code = "database_unavailable"


class Busy(BridgeError):
    """Try again later: the daemon is at its bounded queue, or another daemon holds the service. Sent as 503 with
    Retry-After; the shim waits and repeats calls that are safe to repeat."""

    status = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
