"""Panel methods about the account and its billing: buckets with usage and credentials, keys shown, history,
plans with WHMCS prices, orders and cancellations through WHMCS, and the admins' list of users."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bridge import redact
from bridge.domain import naming
from bridge.domain.panel.envelope import Conflict, Forbidden, NotFound, PanelError
from bridge.domain.product_settings import InvalidSetting, parse_product
from bridge.domain.secret import Secret
from bridge.errors import BridgeError
from bridge.functions.areas import _endpoint as endpoint_of
from bridge.functions.panel.context import PanelAccount, PanelContext, target

GIB = 1024**3
_CYCLES = ("monthly", "quarterly", "semiannually", "annually", "biennially", "triennially")


def _gb(n: int) -> float:
    return round(n / GIB, 3)


def _month_start(today: date) -> date:
    return today.replace(day=1)


async def _bucket_list(ctx: PanelContext, t: PanelAccount) -> tuple[list[dict[str, Any]], int]:
    latest = await ctx.res.stores.areas.latest(t.account.serviceid)
    listed = await t.call.backend.list_buckets(t.username)
    out = []
    for name, created in sorted(listed):
        size, objects = latest.buckets.get(name, (0, 0))
        out.append({"name": name, "usage": size, "objects": objects, "created": created})
    return out, latest.used_bytes


async def _secret(ctx: PanelContext, t: PanelAccount) -> Secret:
    """The account's secret key: the service password WHMCS holds (decrypted by WHMCS)."""
    shim = ctx.caller.shim_params
    if shim is not None and ctx.caller.shim_serviceid == t.account.serviceid:
        secret = str(shim.get("password") or "")
    else:
        params = await ctx.store.service_params(t.account.serviceid)
        secret = await ctx.whmcs.decrypt(str((params or {}).get("password_encrypted") or ""))
    redact.add_request_secrets([secret])
    return Secret(secret)


def _access_key(t: PanelAccount) -> str:
    return t.record.access_key or t.username


async def get_buckets_rmq(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    t = await target(ctx, p)
    buckets, used = await _bucket_list(ctx, t)
    traffic, peak = await ctx.store.metering(t.account.serviceid, _month_start(datetime.now(UTC).date()))
    out: dict[str, Any] = {
        "message": buckets,
        "usage_storage": used,
        "quota": t.call.product.disk_limit_bytes,
        "metering": {"total_traffic_gb": _gb(traffic), "total_storage_gb": _gb(used), "peak_storage_gb": _gb(peak)},
        "access_key": _access_key(t),
        "endpoint": endpoint_of(t.call),
        "prefix": naming.bucket_prefix(t.username),
        "max_buckets": t.call.product.max_buckets,
        "state": t.record.state,
    }
    if t.call.product.password_display != "hidden":  # noqa: S105 - a display mode
        out["secret_key"] = await _secret(ctx, t)
    return out


async def get_buckets(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("s3uid"):
        t = await target(ctx, p)
        buckets, _ = await _bucket_list(ctx, t)
        return {"message": buckets, "s3uid": t.username}
    clientid = ctx.caller.client_id if ctx.caller.role == "client" else p.get("id")
    if clientid is None:
        raise PanelError("Load bucket error: pass s3uid, or id (the client) as an admin")
    if not await ctx.store.client_exists(clientid):
        raise NotFound("Load bucket error: customer not found")
    accounts = await ctx.store.client_accounts(clientid)
    if ctx.caller.via == "shim":
        accounts = [a for a in accounts if a.serviceid == ctx.caller.shim_serviceid]
    out = []
    for a in accounts:
        t = await target(ctx, {"s3uid": a.username, "id": clientid})
        buckets, _ = await _bucket_list(ctx, t)
        out.append({"s3uid": a.username, "service_id": a.serviceid, "buckets": buckets})
    return {"message": out}


async def show_key(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    try:
        t = await target(ctx, p)
    except NotFound as e:
        raise PanelError("s3/show_key: customer not found", {"error": e.message}, status=404) from None
    if p["s3_key"] == "access_key":
        return {"s3_key": "access_key", "access_key": _access_key(t)}
    if t.call.product.password_display == "hidden":  # noqa: S105 - a display mode
        raise Forbidden("the provider does not show the secret key in the panel")
    return {"s3_key": "secret_key", "secret_key": await _secret(ctx, t)}


async def history(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    if (p.get("id") is not None and ctx.caller.role == "client") or (p.get("id") is not None and not p.get("s3uid")):
        account = await ctx.store.account(int(p["id"]))
        allowed = account is not None and (ctx.caller.role == "admin" or account.clientid == ctx.caller.client_id)
        if ctx.caller.via == "shim" and account is not None and account.serviceid != ctx.caller.shim_serviceid:
            allowed = False
        if account is None or not allowed:
            raise NotFound("S3 plan not found")
        serviceid = account.serviceid
    elif p.get("s3uid"):
        serviceid = (await target(ctx, p)).account.serviceid
    else:
        raise PanelError("parameter 'id' is required", {"parameter": "id"})
    rows = await ctx.store.events(serviceid, p["limit"])
    return {
        "id": serviceid,
        "history": [
            {
                "date": r["at"].isoformat(timespec="seconds"),
                "event": r["event"],
                "detail": r["detail"],
                "by": r["actor"],
            }
            for r in rows
        ],
    }


def _money(v: Any) -> float:
    return float(Decimal(str(v)).quantize(Decimal("0.01")))


def _plan_json(plan: dict[str, Any], currency: str | None) -> dict[str, Any]:
    """A plan in the seed's shape. WHMCS marks a cycle not offered with -1; the monthly price is `price`."""
    prices = {r["code"]: r for r in plan["prices"]}
    default = next((c["code"] for c in plan["currencies"] if int(c["is_default"]) == 1), "")

    def monthly(code: str) -> float | None:
        row = prices.get(code)
        if row is None or Decimal(str(row["monthly"])) < 0:
            return None
        return _money(row["monthly"])

    codes = [c["code"] for c in plan["currencies"]]
    price: Any = {c: monthly(c) for c in codes if monthly(c) is not None}
    if currency is not None:
        price = monthly(currency)
    rates = {c["code"]: Decimal(str(c["rate"])) for c in plan["currencies"]}

    def overage(per_mb: Any) -> dict[str, float]:
        base = Decimal(str(per_mb or 0)) * 1024  # WHMCS prices overage per MB; the panel shows per GB
        shown = [currency] if currency else codes
        return {c.lower(): float((base * rates.get(c, Decimal(1))).quantize(Decimal("0.0001"))) for c in shown}

    cycles = {}
    if currency is not None and currency in prices:
        cycles = {c: _money(prices[currency][c]) for c in _CYCLES if Decimal(str(prices[currency][c])) >= 0}
    out = {
        "id": int(plan["id"]),
        "name": plan["name"],
        "active": int(not int(plan["hidden"]) and not int(plan["retired"])),
        "storage_type": plan["backend"] or "minio",
        "location": plan["location"],
        "price": {"base_price": monthly(default), "price": price},
        "traffic_overage_price": overage(plan["overagesbwprice"]),
        "storage_overage_price": overage(plan["overagesdiskprice"]),
        "orderable": bool(_order_gateway(plan)),
    }
    if currency is not None:
        out["currency"] = currency
        out["cycles"] = cycles
    return out


def _order_gateway(plan: dict[str, Any]) -> str:
    try:
        return parse_product({"configoption1": plan["backend"], "configoption22": plan["max_buckets"],
                              "configoption23": plan.get("gateway", "")}).panel_order_gateway  # fmt: skip
    except InvalidSetting:
        return ""


async def list_plans(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    admin = ctx.caller.role == "admin"
    plans = await ctx.store.plans(p.get("id") if admin else None, only_active=not admin)
    if admin and p.get("id") is not None and not plans:
        raise NotFound("S3 plan not found")
    currency = None if admin else await ctx.store.client_currency(int(ctx.caller.client_id or 0))
    if currency:  # WHMCS sells a product only in the currencies it has a price in
        plans = [pl for pl in plans if _priced_in(pl, currency)]
    return {"plans": [_plan_json(pl, currency) for pl in plans]}


def _priced_in(plan: dict[str, Any], currency: str) -> bool:
    """Free, or some billing cycle has a price in `currency` (WHMCS marks a cycle not offered with -1). A plan with
    no price rows at all (never saved with pricing) is left to WHMCS's own order checks, as before."""
    if plan.get("paytype") == "free" or not plan["prices"]:
        return True
    row = next((r for r in plan["prices"] if r["code"] == currency), None)
    return row is not None and any(Decimal(str(row[c])) >= 0 for c in _CYCLES)


async def create_order(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    clientid = int(ctx.caller.client_id or 0)
    plans = await ctx.store.plans(p["plan_id"], only_active=True)
    if not plans:
        raise NotFound("S3 plan not found")
    plan = plans[0]
    gateway = _order_gateway(plan)
    if not gateway:
        raise Forbidden(f"plan {plan['id']} cannot be ordered from the panel; order it in the client area's store")
    currency = await ctx.store.client_currency(clientid)
    if currency and not _priced_in(plan, currency):
        raise PanelError(f"plan {plan['id']} has no price in {currency}, the currency you pay in",
                         {"parameter": "plan_id"})  # fmt: skip
    if p.get("location") and p["location"] != plan["location"]:
        raise PanelError(f"plan {plan['id']} is offered in '{plan['location']}', not '{p['location']}'",
                         {"parameter": "location"})  # fmt: skip
    suffix = p["bucket_name"]
    try:
        naming.check_bucket_suffix(suffix)
    except naming.NamingError as e:
        raise PanelError(
            f"S3 account was being created, however a bucket creation error occurred - Invalid bucket name: {e}",
            {"parameter": "bucket_name"},
        ) from None
    client_gateway = await ctx.store.client_gateway(clientid)
    # The name waits in the module's table, not in the order's `domain` (which WHMCS shows as a website): the
    # service's CreateAccount takes it when WHMCS accepts the order.
    orders = ctx.res.stores.orders
    ref = await orders.record(clientid, int(plan["id"]), suffix)
    try:
        placed = await ctx.whmcs.add_order(clientid, int(plan["id"]), client_gateway or gateway, ref)
    except (PanelError, BridgeError) as e:  # WHMCS refused or was not reached: nothing waits for this order
        await orders.withdraw(ref, clientid)
        details = e.details if isinstance(e, PanelError) else {"error": e.code}
        raise PanelError(order_not_placed(suffix, e.message), details, status=e.status) from None
    service_ids = str(placed.get("service_ids") or "")
    if service_ids.isdigit():  # WHMCS's API named the service: the name is its, whatever else the client orders
        await orders.bind(ref, int(service_ids))
    return {"plan_id": int(plan["id"]), "bucket_name": suffix, **placed}


def order_not_placed(suffix: str | None, reason: str) -> str:
    """What the client reads when WHMCS did not place an order (`reason`: WHMCS's or the daemon's sentence)."""
    kept = f" and the bucket name '{suffix}' was not kept" if suffix else ""
    return f"Your order was not placed, so nothing was ordered{kept}: {reason.strip()[:300]}"


async def withdraw_order(ctx: PanelContext, ref: str, reason: str) -> str:
    """The shim's follow-up when WHMCS refused the AddOrder effect: the waiting row `ref` of the logged-in client
    goes; the sentence for the client."""
    clientid = int(ctx.caller.client_id or 0)
    suffix = await ctx.res.stores.orders.withdraw(int(ref), clientid) if ref.isdigit() and clientid else None
    return order_not_placed(suffix, reason or "WHMCS did not say why")


async def _cancellable(ctx: PanelContext, p: dict[str, Any]) -> PanelAccount:
    t = await target(ctx, p)
    if t.account.status not in ("Active", "Suspended"):
        raise Conflict(f"service {t.account.serviceid} is {t.account.status}; only active services can be cancelled")
    return t


# Ends the reason of every cancellation request the panel files: the panel withdraws only requests that carry it, never
# one the provider filed in WHMCS (whose reason a customer cannot write).
FILED_FROM_PANEL = "(filed from the S3 panel)"


def _panel_reason(reason: str) -> str:
    return f"{reason} {FILED_FROM_PANEL}".strip()


async def delete_payment_account(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    t = await _cancellable(ctx, p)
    if await ctx.store.cancel_requests(t.account.serviceid):
        raise Conflict("a cancellation request is already pending for this account")
    reason = _panel_reason(p.get("reason") or "")
    await ctx.whmcs.add_cancel_request(t.account.serviceid, "End of Billing Period", reason)
    await ctx.event(t.account.serviceid, "cancellation requested", "end of billing period")
    return {"message": "cancellation requested for the end of the billing period", "service_id": t.account.serviceid}


async def cancel_payment_account_deletion(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    t = await target(ctx, p)
    if not await ctx.store.cancel_requests(t.account.serviceid):
        raise NotFound("no cancellation request is pending for this account")
    undone = await ctx.store.cancellation_side_effects()
    if undone:  # deleting the request would leave the account without its invoices or its subscription
        raise Conflict(
            "this cancellation cannot be withdrawn here: when it was filed, WHMCS's settings ("
            + ", ".join(undone)
            + ") cancelled the service's unpaid invoices or its gateway subscription, which a withdrawal does not"
            " restore; please contact support to keep the service"
        )
    by = f"client {ctx.caller.client_id}" if ctx.caller.role == "client" else "admin (s3bridge panel)"
    if not await ctx.store.withdraw_cancel_requests(t.account.serviceid, FILED_FROM_PANEL, by=by):
        raise Forbidden(
            "the pending cancellation request was not filed from the panel, so it cannot be withdrawn here;"
            " contact the provider"
        )
    await ctx.event(t.account.serviceid, "cancellation withdrawn")
    return {"message": "cancellation request withdrawn", "service_id": t.account.serviceid}


async def delete_account(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    t = await _cancellable(ctx, p)
    reason = p.get("reason") or "Deleted from the S3 panel"
    if ctx.caller.role == "admin":
        await ctx.event(t.account.serviceid, "termination requested", reason)
        await ctx.whmcs.terminate(t.account.serviceid)
        return {"message": f"account {t.username} terminated", "service_id": t.account.serviceid}
    if await ctx.store.cancel_requests(t.account.serviceid):
        raise Conflict("a cancellation request is already pending for this account")
    await ctx.whmcs.add_cancel_request(t.account.serviceid, "Immediate", _panel_reason(p.get("reason") or ""))
    await ctx.event(t.account.serviceid, "deletion requested", "immediate cancellation")
    return {
        "message": "immediate cancellation requested; the account is deleted when WHMCS processes it",
        "service_id": t.account.serviceid,
    }


async def get_users(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    start = p.get("period_from") or _month_start(today)
    end = p.get("period_to") or today
    if end < start:
        raise PanelError("period_to is before period_from", {"parameter": "period_to"})
    if p.get("id") is not None and not await ctx.store.client_exists(p["id"]):
        raise NotFound("customer not found")
    total, rows = await ctx.store.users(p, (start, end))
    users = []
    for r in rows:
        users.append({
            "id": int(r["userid"]), "s3uid": r["username"], "email": r["email"], "region": r["location"],
            "billing": r["currency"], "currency": r["currency"], "plan_id": int(r["packageid"]), "plan": r["plan"],
            "storage_type": r["storage_type"] or r["backend"],
            "traffic": _gb(int(r["traffic"])), "total_traffic_period_gb": _gb(int(r["traffic"])),
            "storage_usage": int(r["used_bytes"]), "total_storage_peak_gb": _gb(int(r["peak"])),
            "price": {"base_price": _money(r["amount"]), "price": _money(r["amount"])},
            "service": {
                "id": int(r["serviceid"]), "entity_id": int(r["userid"]), "service_ident": r["username"],
                "period": str(r["billingcycle"]).lower(), "period_start": str(r["regdate"]),
                "period_end": str(r["nextduedate"] or ""), "next_commit_date": str(r["nextduedate"] or ""),
                "status": str(r["domainstatus"]).lower(),
            },
        })  # fmt: skip
    return {"s3_users": users, "total": total, "period_from": start.isoformat(), "period_to": end.isoformat()}
