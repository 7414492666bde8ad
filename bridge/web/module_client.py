"""A signed module call from the command line to a running daemon (the shim's channel, docs/PROTOCOL.md), for the
commands that need what only the daemon holds (the storage servers' credentials, remembered from WHMCS's calls)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import aiohttp

from bridge.config import Listen
from bridge.errors import BridgeError
from bridge.web.signing import signed_call


class DaemonUnreachable(BridgeError):
    status = 503
    code = "daemon_unreachable"


async def call_daemon(listen: Listen, secret: str, function: str, params: dict[str, Any], *, wait_s: float) -> Any:
    """POST /v1/module/<function> signed with `secret`; the answer's `result`, or BridgeError with the daemon's
    own sentence."""
    call = signed_call(secret, function, params, timestamp=int(time.time()), nonce=secrets.token_hex(16))
    path = call.path
    if listen.unix_path:
        connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=listen.unix_path)
        url = f"http://localhost{path}"
    else:
        connector = aiohttp.TCPConnector()
        host = f"[{listen.host}]" if ":" in listen.host else listen.host
        url = f"http://{host}:{listen.port}{path}"
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=wait_s)) as session,
            session.post(url, data=call.body, headers=call.headers) as r,
        ):
            answer = await r.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, OSError) as e:
        why = str(e) or type(e).__name__
        raise DaemonUnreachable(f"s3bridge daemon unreachable at {listen.describe()}: {why}") from None
    except ValueError:
        raise DaemonUnreachable(f"s3bridge daemon at {listen.describe()} answered with something not JSON") from None
    if not isinstance(answer, dict) or not answer.get("ok"):
        err = answer.get("error") if isinstance(answer, dict) else None
        message = err.get("message") if isinstance(err, dict) else None
        code = err.get("code") if isinstance(err, dict) else None
        sentence = str(message or f"the daemon refused the call (HTTP {r.status})")
        raise BridgeError(sentence, code=str(code or "internal"))
    return answer.get("result")
