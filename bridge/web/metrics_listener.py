"""Prometheus scrapes `GET /metrics` on a listener of its own (`[fleet] metrics_listen`), never on the shim's: the
shim's channel stays signed-only, and this one answers only peers in `[fleet] metrics_allow` (403 for the rest)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bridge import metrics


def allowed(peer: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in networks if net.version == address.version)


def create_metrics_app(allow: Sequence[str]) -> web.Application:
    networks = [ipaddress.ip_network(n, strict=False) for n in allow]

    async def scrape(request: web.Request) -> web.Response:
        if not allowed(request.remote, networks):
            return web.Response(status=403, text="not allowed to scrape: add the address to [fleet] metrics_allow\n")
        return web.Response(body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app
