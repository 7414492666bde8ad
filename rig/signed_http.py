"""The signed module call the shim makes (HMAC over method, path, timestamp, nonce and body), without PHP: for the
benchmarks and the tests that drive daemons directly. `send` sends a prepared request, so it can also replay one."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from bridge.web.signing import signed_call


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def password(self) -> str | None:
        """The password the answer tells WHMCS to store (UpdateClientProduct effect), if any."""
        for e in self.body.get("effects", []):
            if e.get("command") == "UpdateClientProduct" and "servicepassword" in e.get("params", {}):
                return str(e["params"]["servicepassword"])
        return None


def signed_request(url: str, secret: str, function: str, params: dict[str, Any]) -> urllib.request.Request:
    call = signed_call(secret, function, params, timestamp=int(time.time()), nonce=secrets.token_hex(16))
    return urllib.request.Request(url + call.path, data=call.body, method="POST", headers=call.headers)


def send(request: urllib.request.Request, timeout: float = 120) -> Answer:
    """Send (or send again: a replay) a prepared request."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return Answer(r.status, json.loads(r.read()), dict(r.headers))
    except urllib.error.HTTPError as e:
        return Answer(e.code, json.loads(e.read()), dict(e.headers))
