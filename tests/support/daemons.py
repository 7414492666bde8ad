"""Several real daemons on one database, called over the signed channel (rig/signed_http.py), for the tests of
shared state, overload and faults."""

from __future__ import annotations

from typing import Any

from rig.services import free_port
from rig.signed_http import Answer, send, signed_request
from tests.conftest import Daemon, start_daemon

__all__ = ["Answer", "call", "send", "signed_request", "start_daemons"]


def call(daemon: Daemon, function: str, params: dict[str, Any], timeout: float = 120) -> Answer:
    return send(signed_request(daemon.url, daemon.secret, function, params), timeout)


def start_daemons(config: dict[str, Any], n: int, **daemon_overrides: Any) -> list[Daemon]:
    """n daemons on the same database and secret, each on its own port."""
    return [
        start_daemon(
            {**config, "daemon": {**config["daemon"], "listen": f"127.0.0.1:{free_port()}", **daemon_overrides}}
        )
        for _ in range(n)
    ]
