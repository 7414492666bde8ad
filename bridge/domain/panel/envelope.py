"""The seed panel's two envelopes (pure).

Success: `{"result": "OK", "action": <method>, ...fields}`. Failure: `{"code": -1, "message": <sentence>,
"details": {...}}` (details only when there are any). Every failure is a `PanelError`; its HTTP status is for the
bearer listener (the shim's client area shows the sentence).
"""

from __future__ import annotations

from typing import Any

from bridge.domain.secret import require_marked

FAILURE_CODE = -1
NOT_FOUND = "S3 account not found for this customer"


class PanelError(Exception):
    """A refused or failed panel call: one sentence, optional details, an HTTP status for the bearer listener."""

    status = 400

    def __init__(self, message: str, details: dict[str, Any] | None = None, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if status is not None:
            self.status = status


class Unauthorized(PanelError):
    status = 401


class Forbidden(PanelError):
    status = 403


class NotFound(PanelError):
    status = 404


class Conflict(PanelError):
    status = 409


class Upstream(PanelError):
    """The storage server or WHMCS failed; the sentence says which and what to check."""

    status = 502


def account_not_found() -> NotFound:
    """The seed's one sentence for an s3uid that is missing or belongs to someone else (no difference shown)."""
    return NotFound(NOT_FOUND)


def success(action: str, **fields: Any) -> dict[str, Any]:
    if "result" in fields or "action" in fields:
        raise ValueError("'result' and 'action' are the envelope's own keys")
    require_marked(fields, f"s3/{action}")
    return {"result": "OK", "action": action, **fields}


def failure(err: PanelError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": FAILURE_CODE, "message": err.message}
    if err.details:
        body["details"] = err.details
    return body
