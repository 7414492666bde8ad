"""The two ways into the panel, built once by the app factory: the shim's module function `Panel` (client area:
WHMCS's session says who, the shim checked WHMCS's CSRF token) and bearer tokens on the `[api]` listener."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from bridge.config import ApiConfig, Config, Listen
from bridge.domain.panel.envelope import PanelError, failure
from bridge.domain.params import Params, optional_int
from bridge.functions.context import FunctionSpec, Outcome, Resources
from bridge.functions.panel.account import withdraw_order
from bridge.functions.panel.context import (
    WITHDRAW_ORDER,
    ApiWhmcs,
    Caller,
    EffectsWhmcs,
    PanelContext,
    SecretCache,
    Whmcs,
)
from bridge.functions.panel.dispatch import dispatch
from bridge.functions.panel.events import actor_of
from bridge.functions.panel.pages import client_area_tabs, result_page
from bridge.functions.panel.tokens import caller_for_token
from bridge.whmcs.api_client import WhmcsApi

CSRF_CHECKED = "checked"  # what the shim sends as bridge_csrf once WHMCS's check_token() passed


class PanelRuntime:
    """Configuration and long-lived parts of the panel (the WHMCS API session, decrypted server passwords)."""

    def __init__(self, config: Config) -> None:
        self.settings = config.api or ApiConfig(listen=Listen())
        self.whmcs_api_config = config.whmcs_api
        self.cursor_secrets = config.daemon.secrets
        self.server_secrets = SecretCache()
        self._session: aiohttp.ClientSession | None = None

    def whmcs_api(self) -> ApiWhmcs:
        if self.whmcs_api_config is None:
            return ApiWhmcs(None)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return ApiWhmcs(WhmcsApi(self.whmcs_api_config, self._session))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def context(self, res: Resources, caller: Caller, whmcs: Whmcs) -> PanelContext:
        return PanelContext(
            res=res, store=res.stores.panel, caller=caller, whmcs=whmcs, settings=self.settings,
            cursor_secrets=self.cursor_secrets, server_secrets=self.server_secrets, clock=time.time,
        )  # fmt: skip

    async def from_shim(self, res: Resources, params: Params) -> Outcome:
        """Module function `Panel`: params are the shown service's $params plus bridge_panel_action,
        bridge_panel_args and bridge_csrf; the answer's result holds the seed envelope."""
        client = optional_int(params, "bridge_client_id")
        if not client:
            envelope = failure(PanelError("the panel needs a logged-in client", status=401))
            return Outcome({"envelope": envelope, "status": 401})
        caller = Caller("client", client, "shim", actor_of(params), params.get("bridge_csrf") == CSRF_CHECKED, params)
        action = str(params.get("bridge_panel_action") or "")
        raw = params.get("bridge_panel_args")
        args = dict(raw) if isinstance(raw, Mapping) else {}
        if action == WITHDRAW_ORDER:  # WHMCS refused the AddOrder effect of this client's order: its name goes
            message = await withdraw_order(self.context(res, caller, EffectsWhmcs()), str(args.get("order_ref") or ""),
                                           str(args.get("reason") or ""))  # fmt: skip
            return Outcome({"envelope": failure(PanelError(message, status=409)), "status": 409})
        rec = await res.records.get(caller.shim_serviceid or 0)
        if rec is not None and args.get("s3uid") == params.get("username"):
            args["s3uid"] = rec.username  # the shim names the account by WHMCS's username (ostor: the access key)
        outcome = await self.run_shim(res, caller, action, args)
        if params.get("bridge_render"):  # the client area's form posts: the page showing the outcome
            outcome.result["html"] = await result_page(res, params, action, outcome.result["envelope"])
        return outcome

    async def run_shim(self, res: Resources, caller: Caller, action: str, args: Mapping[str, Any]) -> Outcome:
        whmcs = EffectsWhmcs()
        try:
            envelope = await dispatch(self.context(res, caller, whmcs), action, args)
        except PanelError as e:
            return Outcome({"envelope": failure(e), "status": e.status})
        return Outcome({"envelope": envelope, "status": 200}, whmcs.effects)

    async def authenticate(self, res: Resources, token: str) -> Caller:
        """The caller a bearer token stands for; Unauthorized for anything else."""
        return await caller_for_token(res.stores.panel, token)

    async def from_caller(
        self, res: Resources, caller: Caller, action: str, args: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """A call on the `[api]` listener by an authenticated token's caller."""
        try:
            return 200, await dispatch(self.context(res, caller, self.whmcs_api()), action, args)
        except PanelError as e:
            return e.status, failure(e)

    def function_spec(self) -> FunctionSpec:
        return FunctionSpec("Panel", self.from_shim, required=("serviceid", "serverusername", "serverpassword"))

    def client_area_spec(self, overview: FunctionSpec) -> FunctionSpec:
        """ClientArea with the panel's tabs around the overview (which stays as it is)."""

        async def handler(res: Resources, params: Params) -> Outcome:
            return await client_area_tabs(self.context, res, params, await overview.handler(res, params))

        return FunctionSpec(overview.name, handler, required=overview.required)
