"""API tokens: clients make and revoke their own in the client area (shown once, stored as a SHA-256 hash);
admins' tokens come from `s3bridge token create --admin`. A presented token is checked here for both listeners."""

from __future__ import annotations

from typing import Any

from bridge.domain.panel import tokens
from bridge.domain.panel.envelope import Forbidden, NotFound, Unauthorized
from bridge.functions.panel.context import Caller, PanelContext
from bridge.whmcs.panel_store import PanelStore


def _shim_only(ctx: PanelContext) -> int:
    if ctx.caller.via != "shim" or ctx.caller.client_id is None:
        raise Forbidden("API tokens are managed in the client area")
    return ctx.caller.client_id


async def list_tokens(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    rows = await ctx.store.tokens_of(_shim_only(ctx))
    return {"tokens": [
        {"token_id": r.token_id, "name": r.name, "created": r.created_at.isoformat(timespec="seconds"),
         "last_used": r.last_used_at.isoformat(timespec="seconds") if r.last_used_at else ""}
        for r in rows
    ]}  # fmt: skip


async def create_token(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    clientid = _shim_only(ctx)
    made = tokens.new_token("client")
    await ctx.store.add_token(made.token_id, "client", clientid, p["name"], made.secret_hash)
    return {"token_id": made.token_id, "token": made.plain, "note": "the token is shown once; store it now"}


async def revoke_token(ctx: PanelContext, p: dict[str, Any]) -> dict[str, Any]:
    if not await ctx.store.revoke_token(p["token_id"], _shim_only(ctx)):
        raise NotFound(f"no active token {p['token_id'][:32]} of yours")
    return {"message": f"token {p['token_id']} revoked"}


async def create_admin_token(store: PanelStore, name: str) -> str:
    made = tokens.new_token("admin")
    await store.add_token(made.token_id, "admin", None, name, made.secret_hash)
    return made.plain


async def caller_for_token(store: PanelStore, presented_text: str) -> Caller:
    """The caller a bearer token stands for; Unauthorized (always the same sentence) for anything else."""
    refused = Unauthorized("invalid or revoked token")
    presented = tokens.parse_token(presented_text)
    if presented is None:
        raise refused
    row = await store.token(presented.token_id)
    if (
        row is None
        or row.revoked_at is not None
        or row.kind != presented.kind
        or not tokens.matches(presented, row.secret_sha256)
    ):
        raise refused
    if row.kind == "client" and (row.clientid is None or await store.client_status(row.clientid) in (None, "Closed")):
        raise refused  # a closed (or deleted) client's tokens end with the account
    await store.touch_token(row.token_id)
    if row.kind == "admin":
        return Caller("admin", None, "token", f"admin token {row.token_id}")
    return Caller("client", row.clientid, "token", f"client {row.clientid} token {row.token_id}")
