"""The fleet console (WHMCS addon s3bridge_fleet): the Servers, Accounts and Drift pages, for administrators only
(the shim sends `bridge_admin_id` from the admin area; WHMCS's addon access control decides which roles get there)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from bridge.backends.directory import ServerDirectory
from bridge.domain import drift
from bridge.domain.params import Params, optional_int
from bridge.errors import BadParam, BridgeError
from bridge.functions.context import Outcome, Resources
from bridge.functions.ownership import AdminOnly
from bridge.functions.reconcile import reconcile_server
from bridge.views.fleet_render import PAGES, FleetPage, Probe, render_fleet

ADDON_LINK = "addonmodules.php?module=s3bridge_fleet"
PROBE_TIMEOUT_S = 3.0


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


async def _repair(resources: Resources, raw: object) -> str:
    """One Drift row's repair from the console (the shim checked WHMCS's admin token): the same engine as
    `s3bridge reconcile`, limited to that row; an orphan's data only with its name typed and after the grace."""
    if not raw:
        return ""
    if not isinstance(raw, dict):
        raise BadParam("bridge_repair", "must be an object with serverid, kind and subject")
    serverid = optional_int(raw, "serverid") or 0
    kind, subject = str(raw.get("kind") or ""), str(raw.get("subject") or "")
    confirm = str(raw.get("confirm") or "").strip()
    if kind not in drift.KINDS or not subject:
        raise BadParam("bridge_repair", "names no finding (kind and subject)")
    directory = resources.backend_for
    server = directory.server(serverid) if isinstance(directory, ServerDirectory) else None
    if server is None:
        return (f"server {serverid} has not called this daemon since it started, so it cannot be repaired from here"
                " yet; WHMCS's cron calls every server every 5 minutes")  # fmt: skip
    report = await reconcile_server(
        resources,
        server,
        fix="safe",
        delete=[subject] if kind == "orphan_user" and confirm == subject else (),  # the typed name must match
        only=frozenset({(kind, subject)}),
    )
    if kind == "orphan_user" and confirm and confirm != subject:
        return f"'{confirm}' is not the account's name '{subject}': nothing was deleted"
    done = next((r for r in report.repairs if r.finding.key == (kind, subject)), None)
    if done is None:
        still = any(f.key == (kind, subject) for f in report.findings)
        if not still:
            return f"'{subject}': no {kind.replace('_', ' ')} any more; nothing to repair"
        if kind == "orphan_user":
            return f"type the account's name '{subject}' to confirm deleting its data; nothing was deleted"
        return f"'{subject}' ({kind.replace('_', ' ')}) has no automatic repair"
    return f"'{subject}' ({kind.replace('_', ' ')}): {done.outcome}: {done.detail}"


async def fleet_page(resources: Resources, params: Params) -> Outcome:
    if not optional_int(params, "bridge_admin_id"):
        raise AdminOnly("the fleet console is for administrators only")
    page = str(params.get("bridge_page") or "servers")
    if page not in PAGES:
        raise BadParam("bridge_page", f"must be one of {', '.join(PAGES)}")
    search = str(params.get("bridge_search") or "").strip()[:100]
    language = str(params.get("bridge_language") or "english")
    store = resources.stores.fleet
    csrf = str(params.get("bridge_csrf_token") or "")[:256]
    base = FleetPage(language=language, page=page, link=ADDON_LINK, now=resources.now(), search=search)
    if page == "servers":
        daemons = tuple(await resources.stores.heartbeats.all())
        servers = await store.servers()
        probes = await asyncio.gather(*(_probe(resources, s.serverid) for s in servers))
        counts = await store.daemon_counts(resources.now())
        view = replace(
            base,
            daemons=daemons,
            servers=tuple(servers),
            probes={s.serverid: p for s, p in zip(servers, probes, strict=True)},
            refused_hour=await store.refused_last_hour(),
            counts=counts,
            overloaded_hour=sum(c.overloaded for c in counts.values()),
        )
    elif page == "accounts":
        lists = {k: tuple(v) for k, v in (await store.lists(resources.now().date())).items()}
        view = replace(base, lists=lists, found=tuple(await store.search(search)) if search else ())
    else:
        notice = await _repair(resources, params.get("bridge_repair"))
        view = replace(base, drift=tuple(await store.drift()), notice=notice, csrf_token=csrf)
    return Outcome({"html": render_fleet(view)})
