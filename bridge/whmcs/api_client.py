"""WHMCS's own HTTP API (`includes/api.php`), for what the bearer-token way into the panel must do inside WHMCS:
place an order, request a cancellation, terminate, decrypt a stored password. The shim's way never uses it (the
shim carries out effects with localAPI instead).

Authentication is an API credential (identifier + secret, made in WHMCS under Setup > Staff > Manage API
Credentials, with a role allowing exactly the actions below), optionally the API access key. WHMCS answers HTTP 200
with `{"result": "error", "message": ...}` for refused calls; both become `WhmcsApiError` with WHMCS's sentence.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bridge.config import WhmcsApiConfig
from bridge.errors import BridgeError


class WhmcsApiError(BridgeError):
    status = 502
    code = "whmcs_api"


# Every action the daemon calls: the API role of the credential must allow exactly these (README "The WHMCS API
# credential"); calling another is a programming error caught here, so the README's list stays the truth.
ACTIONS = ("AddOrder", "AddCancelRequest", "ModuleTerminate", "DecryptPassword")


def refusal_hint(message: str) -> str:
    """What an operator does about WHMCS's refusal (developers.whmcs.com "Access Control" and API roles)."""
    if message.startswith("Invalid IP"):
        return (
            "; allow the daemon's address under System Settings > General Settings > Security > API IP Access"
            " Restriction, or set [whmcs_api] accesskey to configuration.php's $api_access_key"
        )
    if message.startswith("Invalid Permissions"):
        return f"; the API role of [whmcs_api]'s credential must allow {', '.join(ACTIONS)}"
    if message.startswith("Authentication Failed"):
        return "; check [whmcs_api] identifier and secret (System Settings > Manage API Credentials)"
    return ""


class WhmcsApi:
    def __init__(self, cfg: WhmcsApiConfig, session: aiohttp.ClientSession) -> None:
        self.cfg = cfg
        self.session = session

    async def call(self, action: str, **fields: Any) -> dict[str, Any]:
        if action not in ACTIONS:
            raise ValueError(f"WHMCS API action {action!r} is not in api_client.ACTIONS (and the README's role)")
        form: dict[str, str] = {
            "action": action,
            "identifier": self.cfg.identifier,
            "secret": self.cfg.secret,
            "responsetype": "json",
        }
        if self.cfg.accesskey:
            form["accesskey"] = self.cfg.accesskey
        for k, v in fields.items():
            if v is not None:
                form[k] = str(v)
        where = f"WHMCS API at {self.cfg.url}"
        try:
            async with self.session.post(
                self.cfg.url, data=form, timeout=aiohttp.ClientTimeout(total=self.cfg.timeout)
            ) as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise WhmcsApiError(f"{where} is unreachable ({action}): {type(e).__name__} {e}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise WhmcsApiError(f"{where} answered {action} with HTTP {r.status} and no JSON") from None
        if not isinstance(data, dict) or data.get("result") != "success":
            message = str(data.get("message") if isinstance(data, dict) else "") or f"HTTP {r.status}"
            raise WhmcsApiError(f"{where} refused {action}: {message}{refusal_hint(message)}")
        return data

    async def decrypt(self, encrypted: str) -> str:
        if not encrypted:
            return ""
        return str((await self.call("DecryptPassword", password2=encrypted)).get("password") or "")
