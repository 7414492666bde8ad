"""Who calls the panel, how WHMCS is reached on their behalf, and the account a call is about."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bridge import logs, redact
from bridge.config import ApiConfig
from bridge.domain import effects
from bridge.domain.panel.envelope import PanelError, account_not_found
from bridge.domain.params import Params
from bridge.functions.call import NoAccount, Target, account, target_of
from bridge.functions.context import Resources
from bridge.whmcs import audit
from bridge.whmcs.api_client import WhmcsApi
from bridge.whmcs.panel_store import Account, PanelStore
from bridge.whmcs.services import ServiceRecord

Role = Literal["client", "admin"]
Via = Literal["shim", "token"]


@dataclass(frozen=True)
class Caller:
    role: Role
    client_id: int | None  # the logged-in client (role client); None for admins
    via: Via
    actor: str  # who, for the history: "client 7", "admin 1", "token 0a1b2c3d4e5f"
    csrf_ok: bool = True  # the shim checked WHMCS's CSRF token (or: not a browser session)
    shim_params: Params | None = None  # the client area's WHMCS $params (the service it shows)

    @property
    def shim_serviceid(self) -> int | None:
        if self.shim_params is None:
            return None
        try:
            return int(self.shim_params.get("serviceid") or 0) or None
        except (TypeError, ValueError):
            return None


# WHMCS's AddOrder leaves the order Pending whatever the product's "setup on order" says (DESIGN): the account is
# created when the provider accepts the order (or the invoice is paid and auto-accept runs).
PENDING_ORDER = (
    "order placed; it waits under your services as Pending until the provider accepts it (for a paid plan,"
    " once its invoice is paid)"
)


# The shim's follow-up when WHMCS refused an order's AddOrder effect (module function Panel; not a panel method: the
# bearer way places orders itself and withdraws on the spot).
WITHDRAW_ORDER = "withdraw_order"


class Whmcs(Protocol):
    """What the panel asks of WHMCS itself."""

    async def decrypt(self, encrypted: str) -> str: ...

    async def add_order(self, clientid: int, pid: int, gateway: str, ref: int) -> dict[str, Any]:
        """Places the order; `ref` is the waiting row of its bucket name (mod_s3bridge_orders)."""
        ...

    async def add_cancel_request(self, serviceid: int, kind: str, reason: str) -> dict[str, Any]: ...

    async def terminate(self, serviceid: int) -> dict[str, Any]: ...


@dataclass
class EffectsWhmcs:
    """The shim's way: WHMCS work comes back as effects the shim applies with localAPI."""

    effects: list[dict[str, Any]] = field(default_factory=list)

    async def decrypt(self, encrypted: str) -> str:
        raise PanelError("this needs WHMCS's API, which the client area does not use", status=501)

    async def add_order(self, clientid: int, pid: int, gateway: str, ref: int) -> dict[str, Any]:
        effect = effects.localapi("AddOrder", clientid=clientid, pid=[pid], paymentmethod=gateway)
        # If WHMCS refuses the order, the shim asks for WITHDRAW_ORDER (Panel, with WHMCS's answer as `reason`) so
        # the bucket name does not wait for a service that will never come.
        effect["undo"] = {"panel_action": WITHDRAW_ORDER, "order_ref": str(ref)}
        self.effects.append(effect)
        return {"message": PENDING_ORDER}

    async def add_cancel_request(self, serviceid: int, kind: str, reason: str) -> dict[str, Any]:
        self.effects.append(effects.localapi("AddCancelRequest", serviceid=serviceid, type=kind, reason=reason))
        return {}

    async def terminate(self, serviceid: int) -> dict[str, Any]:
        self.effects.append(effects.localapi("ModuleTerminate", serviceid=serviceid))
        return {}


class ApiWhmcs:
    """The bearer-token way: WHMCS's api.php with the API credential of `[whmcs_api]`."""

    def __init__(self, api: WhmcsApi | None) -> None:
        self.api = api

    def _need(self) -> WhmcsApi:
        if self.api is None:
            raise PanelError(
                "this daemon has no [whmcs_api] section, so the API cannot act inside WHMCS; ask the provider",
                status=501,
            )
        return self.api

    async def decrypt(self, encrypted: str) -> str:
        plain = await self._need().decrypt(encrypted)
        redact.add_request_secrets([plain])
        return plain

    async def add_order(self, clientid: int, pid: int, gateway: str, ref: int) -> dict[str, Any]:
        r = await self._need().call("AddOrder", clientid=clientid, **{"pid[0]": pid}, paymentmethod=gateway)
        return {"order_id": r.get("orderid"), "invoice_id": r.get("invoiceid"), "service_ids": r.get("serviceids"),
                "status": "Pending", "message": PENDING_ORDER}  # fmt: skip

    async def add_cancel_request(self, serviceid: int, kind: str, reason: str) -> dict[str, Any]:
        await self._need().call("AddCancelRequest", serviceid=serviceid, type=kind, reason=reason)
        return {}

    async def terminate(self, serviceid: int) -> dict[str, Any]:
        await self._need().call("ModuleTerminate", serviceid=serviceid)
        return {}


class SecretCache:
    """Decrypted server passwords for a few minutes, keyed by their encrypted form (a changed password misses)."""

    def __init__(self, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._data: dict[str, tuple[float, str]] = {}

    def get(self, encrypted: str) -> str | None:
        hit = self._data.get(encrypted)
        return hit[1] if hit and hit[0] > self.clock() else None

    def put(self, encrypted: str, plain: str) -> None:
        self._data[encrypted] = (self.clock() + self.ttl_s, plain)


@dataclass
class PanelContext:
    res: Resources
    store: PanelStore
    caller: Caller
    whmcs: Whmcs
    settings: ApiConfig
    cursor_secrets: tuple[str, ...]
    server_secrets: SecretCache
    clock: Callable[[], float] = time.time

    async def event(self, serviceid: int, event: str, detail: str = "") -> None:
        await self.store.add_event(serviceid, event, detail, self.caller.actor)


@dataclass(frozen=True)
class PanelAccount:
    """The account a panel call is about, with the WHMCS $params and the prepared backend call of its service."""

    account: Account
    record: ServiceRecord
    params: Params
    call: Target

    @property
    def username(self) -> str:
        return self.account.username


async def _refuse(ctx: PanelContext, what: str) -> PanelError:
    rid = logs.request_id()
    await audit.record(
        ctx.res.db, request_id=rid, action="panel", outcome="refused", detail=f"{ctx.caller.actor} {what}"
    )
    return account_not_found()


async def params_of(ctx: PanelContext, serviceid: int) -> Params:
    """The service's $params: the client area's own when it shows this service, else built from the database with
    the server password decrypted by WHMCS's API (never by us)."""
    shim = ctx.caller.shim_params
    if shim is not None and ctx.caller.shim_serviceid == serviceid:
        return shim
    if ctx.caller.via == "shim":
        raise PanelError("the client area acts on the service it shows; open that service's page", status=400)
    params = await ctx.store.service_params(serviceid)
    if params is None:
        raise account_not_found()
    encrypted = str(params.pop("serverpassword_encrypted", ""))
    plain = ctx.server_secrets.get(encrypted)
    if plain is None:
        plain = await ctx.whmcs.decrypt(encrypted)
        ctx.server_secrets.put(encrypted, plain)
    redact.add_request_secrets([plain])
    params["serverpassword"] = plain
    return params


async def _owned(ctx: PanelContext, p: dict[str, Any]) -> tuple[Account, ServiceRecord]:
    """The caller's account named `s3uid` (admins: anyone's, or client `id`'s). Any other gets the seed's one
    sentence, the same whether the account is missing or someone else's, and an audit line."""
    s3uid = str(p.get("s3uid") or "")
    clientid = ctx.caller.client_id if ctx.caller.role == "client" else p.get("id")
    accounts = await ctx.store.accounts_named(s3uid, clientid)
    shim_sid = ctx.caller.shim_serviceid
    if ctx.caller.via == "shim" and shim_sid is not None:
        accounts = [a for a in accounts if a.serviceid == shim_sid]
    if not accounts:
        raise await _refuse(ctx, f"asked for s3uid {s3uid[:64]!r}")
    if len(accounts) > 1:
        raise PanelError(f"several accounts are named {s3uid!r} (on different servers); pass the client id as id")
    found = accounts[0]
    record = await ctx.res.records.get(found.serviceid)
    if record is None or not record.exists or record.state in ("creating", "retained"):
        raise account_not_found()
    return found, record


async def target(ctx: PanelContext, p: dict[str, Any]) -> PanelAccount:
    """The account a reading call is about (see `_owned`), with its service's $params; nothing is locked."""
    found, record = await _owned(ctx, p)
    params = await params_of(ctx, found.serviceid)
    return PanelAccount(found, record, params, target_of(ctx.res, params))


@contextlib.asynccontextmanager
async def changing(ctx: PanelContext, p: dict[str, Any]) -> AsyncIterator[PanelAccount]:
    """The account a call changes (buckets, keys), through the one account path (`functions/call.py`): the body
    runs under the service's lock, with the record read again under it (a TerminateAccount that held the lock
    leaves no account: the seed's one sentence) and a pending key rotation settled."""
    found, _ = await _owned(ctx, p)
    params = await params_of(ctx, found.serviceid)
    call = target_of(ctx.res, params)
    try:
        async with account(ctx.res, call, params) as record:
            yield PanelAccount(found, record, params, call)
    except NoAccount:
        raise account_not_found() from None
