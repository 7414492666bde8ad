"""Effects: what the shim must do inside WHMCS after a call (docs/PROTOCOL.md), built here, applied there."""

from __future__ import annotations

from typing import Any

from bridge.domain.secret import Secret, require_marked


def localapi(command: str, **params: Any) -> dict[str, Any]:
    require_marked(params, f"effect {command}")
    return {"type": "localapi", "command": command, "params": params}


def store_credentials(serviceid: int, username: str, password: Secret | None = None) -> dict[str, Any]:
    """UpdateClientProduct: the service's username and (when it changed) password, as WHMCS shows them."""
    params: dict[str, Any] = {"serviceid": serviceid, "serviceusername": username}
    if password is not None:
        params["servicepassword"] = password
    return localapi("UpdateClientProduct", **params)
