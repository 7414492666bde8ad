"""The fleet console (WHMCS addon s3bridge_fleet): the Servers, Accounts and Drift pages, for administrators only
(the shim sends `bridge_admin_id` from the admin area; WHMCS's addon access control decides which roles get there)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from bridge.backends.directory import ServerDirectory
from bridge.domain.params import Params, optional_int
from bridge.errors import BadParam, BridgeError
from bridge.functions.context import Outcome, Resources
from bridge.views.fleet_render import PAGES, FleetPage, Probe, render_fleet
from bridge.whmcs.fleet_store import FleetStore
from bridge.whmcs.heartbeats import Heartbeats

ADDON_LINK = "addonmodules.php?module=s3bridge_fleet"
PROBE_TIMEOUT_S = 3.0


class AdminOnly(BridgeError):
    status = 403
    code = "admin_only"


async def _probe(resources: Resources, serverid: int) -> Probe:
    """Reachable, version and round trip of a server whose credentials this daemon holds (from WHMCS's calls)."""
    directory = resources.backend_for
    params = directory.server(serverid) if isinstance(directory, ServerDirectory) else None
    if params is None:
        return Probe(known=False)
    started = time.perf_counter()
    try:
        report = await asyncio.wait_for(resources.backend_for(params).test_connection(), PROBE_TIMEOUT_S)
    except TimeoutError:
        return Probe(known=True, message=f"no answer within {PROBE_TIMEOUT_S:g} s")
    except BridgeError as e:
        return Probe(known=True, message=e.message)
    rtt = int((time.perf_counter() - started) * 1000)
    return Probe(known=True, ok=True, version=report.version or report.backend, rtt_ms=rtt)


async def fleet_page(resources: Resources, params: Params) -> Outcome:
    if not optional_int(params, "bridge_admin_id"):
        raise AdminOnly("the fleet console is for administrators only")
    page = str(params.get("bridge_page") or "servers")
    if page not in PAGES:
        raise BadParam("bridge_page", f"must be one of {', '.join(PAGES)}")
    search = str(params.get("bridge_search") or "").strip()[:100]
    language = str(params.get("bridge_language") or "english")
    store = FleetStore(resources.db)
    base = FleetPage(language=language, page=page, link=ADDON_LINK, now=resources.now(), search=search)
    if page == "servers":
        daemons = tuple(await Heartbeats(resources.db).all())
        servers = await store.servers()
        probes = await asyncio.gather(*(_probe(resources, s.serverid) for s in servers))
        view = replace(
            base,
            daemons=daemons,
            servers=tuple(servers),
            probes={s.serverid: p for s, p in zip(servers, probes, strict=True)},
            refused_hour=await store.refused_last_hour(),
        )
    elif page == "accounts":
        lists = {k: tuple(v) for k, v in (await store.lists()).items()}
        view = replace(base, lists=lists, found=tuple(await store.search(search)) if search else ())
    else:
        view = replace(base, drift=tuple(await store.drift()))
    return Outcome({"html": render_fleet(view)})
