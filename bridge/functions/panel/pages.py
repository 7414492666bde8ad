"""The client area's tabs and the page after an action, filled through the same dispatcher as the API (so the
page shows exactly what the API would answer this client)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.domain.panel.envelope import Forbidden, PanelError
from bridge.domain.panel.storage import MAX_KEY_LIFETIME_DAYS
from bridge.domain.params import Params, optional_int
from bridge.domain.product_settings import InvalidSetting, parse_product
from bridge.functions.areas import _language as language_of
from bridge.functions.context import Outcome, Resources
from bridge.functions.panel.context import Caller, EffectsWhmcs, PanelContext
from bridge.functions.panel.dispatch import dispatch
from bridge.functions.panel.events import actor_of
from bridge.views.panel_render import TABS, PanelPage, render_result, render_tab

FILES_PER_PAGE = 50
ACTION_TABS = {
    "create_bucket": "buckets", "delete_bucket": "buckets", "delete_file": "files", "create_key": "keys",
    "revoke_key": "keys", "create_token": "keys", "revoke_token": "keys",
}  # fmt: skip


def _str(params: Params, key: str, limit: int = 1024) -> str:
    value = params.get(key)
    return value[:limit] if isinstance(value, str) else ""


def page_for(params: Params, tab: str, s3uid: str, language: str, *, suspended: bool = False,
             actions: bool = True, notice: str = "") -> PanelPage:  # fmt: skip
    sid = optional_int(params, "serviceid") or 0
    url = f"clientarea.php?action=productdetails&id={sid}"
    return PanelPage(
        language=language, serviceid=sid, tab=tab, page_url=url, post_url=url + "&modop=custom&a=Panel",
        csrf_token=_str(params, "bridge_csrf_token", 256), s3uid=s3uid, suspended=suspended, notice=notice,
        actions=actions and not suspended,
    )  # fmt: skip


def _unit(params: Params) -> str:
    try:
        return parse_product(params).unit
    except InvalidSetting:
        return "GB"


async def tab_data(ctx: PanelContext, tab: str, params: Params, s3uid: str) -> dict[str, Any]:
    async def _call(action: str, args: dict[str, Any]) -> dict[str, Any]:
        return await dispatch(ctx, action, {"s3uid": s3uid, **args})

    rmq = await _call("get_buckets_rmq", {})
    data: dict[str, Any] = {
        "buckets": rmq["message"], "prefix": rmq["prefix"], "max_buckets": rmq["max_buckets"], "unit": _unit(params),
    }  # fmt: skip
    if tab == "files":
        names = [b["name"] for b in rmq["message"]]
        bucket = _str(params, "bridge_bucket", 63)
        bucket = bucket if bucket in names else (names[0] if names else "")
        prefix, search = _str(params, "bridge_prefix"), _str(params, "bridge_search", 256)
        mode = "contains" if _str(params, "bridge_mode") == "contains" else "prefix"
        cursor = _str(params, "bridge_cursor", 4096)
        crumbs, acc = [], ""
        for part in [p for p in prefix.split("/") if p]:
            acc += part + "/"
            crumbs.append({"name": part, "prefix": acc})
        data.update(bucket=bucket, prefix=prefix, search=search, mode=mode, crumbs=crumbs, files=[], next="",
                    cursor_used=bool(cursor), search_note=0, upload=None,
                    hidden=[("action", "productdetails"), ("id", str(ctx.caller.shim_serviceid or "")),
                            ("s3tab", "files")])  # fmt: skip
        if bucket:
            args = {"bucket_name": bucket, "prefix": prefix, "search": search, "search_mode": mode,
                    "max_keys": FILES_PER_PAGE, "continuation_token": cursor}  # fmt: skip
            listing = await _call("get_files", args)
            data.update(files=listing["files"], next=listing["continuation_token"])
            search_info = listing.get("search") or {}
            if search_info and not search_info.get("complete", True):
                data["search_note"] = search_info.get("scanned", 0)
            if _str(params, "bridge_return_url", 2048) and rmq["state"] == "active":
                # the form sends the browser back to this page (storage.return_page); suspended, limited or no room
                # left: no form (the overview says why)
                with contextlib.suppress(Forbidden):
                    data["upload"] = await _call("upload_form", {"bucket_name": bucket, "prefix": prefix})
    elif tab == "keys":
        keys = await _call("list_keys", {})
        tokens = await dispatch(ctx, "list_tokens", {})
        today = datetime.now(UTC).date()
        data.update(access_keys=keys["keys"], tokens=tokens["tokens"], tomorrow=(today + timedelta(days=1)).isoformat(),
                    latest=(today + timedelta(days=MAX_KEY_LIFETIME_DAYS)).isoformat())  # fmt: skip
    elif tab == "usage":
        traffic, peak = await ctx.store.metering(
            ctx.caller.shim_serviceid or 0, datetime.now(UTC).date().replace(day=1)
        )
        data.update(usage_storage=rmq["usage_storage"], quota=rmq["quota"], traffic_bytes=traffic, peak_bytes=peak)
    return data


def caller_of(params: Params, *, csrf_ok: bool) -> Caller | None:
    client = optional_int(params, "bridge_client_id")
    if not client:
        return None
    return Caller("client", client, "shim", actor_of(params), csrf_ok, params)


async def client_area_tabs(ctx_for: Any, res: Resources, params: Params, overview: Outcome) -> Outcome:
    """The overview's HTML inside the tabs, or the requested tab instead of it."""
    tab = _str(params, "bridge_tab", 16)
    tab = tab if tab in TABS else "overview"
    caller = caller_of(params, csrf_ok=False)
    if caller is None:
        return overview
    rec = await res.records.get(caller.shim_serviceid or 0)
    s3uid = rec.username if rec is not None else ""
    suspended = rec is not None and rec.state == "suspended"
    language = await language_of(res, params)
    html = str(overview.result.get("html", "")) if isinstance(overview.result, dict) else ""
    ctx: PanelContext = ctx_for(res, caller, EffectsWhmcs())
    account = await ctx.store.account(caller.shim_serviceid or 0)
    actions = account is not None and account.status == "Active"  # WHMCS's status, not the daemon's record
    if tab == "overview":
        page = page_for(params, tab, s3uid, language, suspended=suspended, actions=actions)
        return Outcome({"html": render_tab(page, html)}, overview.effects)
    try:
        data = await tab_data(ctx, tab, params, s3uid)
        page = page_for(params, tab, s3uid, language, suspended=suspended, actions=actions)
    except PanelError as e:
        data = {}
        page = page_for(params, tab, s3uid, language, suspended=suspended, actions=actions, notice=e.message)
        tab = "overview"
    page = PanelPage(**{**page.__dict__, "data": data, "tab": tab})
    return Outcome({"html": render_tab(page, html if tab == "overview" else "")})


async def result_page(res: Resources, params: Params, action: str, envelope: dict[str, Any]) -> str:
    language = await language_of(res, params)
    page = page_for(params, ACTION_TABS.get(action, "overview"), str(params.get("username") or ""), language)
    return render_result(page, envelope, action)
