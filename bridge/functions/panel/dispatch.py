"""The one dispatcher behind both ways in: validate the parameters, check who may call what, run the handler,
and turn every outcome into the seed's envelopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bridge import redact
from bridge.domain.panel.envelope import Forbidden, PanelError, success
from bridge.domain.panel.methods import METHODS, validate
from bridge.errors import BridgeError
from bridge.functions.panel import account, storage, tokens
from bridge.functions.panel.context import PanelContext
from bridge.logs import get_logger

log = get_logger("s3bridge.panel")
Handler = Callable[[PanelContext, dict[str, Any]], Awaitable[dict[str, Any]]]

HANDLERS: dict[str, Handler] = {
    "create_account": account.create_order,
    "create_order": account.create_order,
    "create_bucket": storage.create_bucket,
    "delete_bucket": storage.delete_bucket,
    "delete_account": account.delete_account,
    "delete_payment_account": account.delete_payment_account,
    "cancel_payment_account_deletion": account.cancel_payment_account_deletion,
    "get_buckets": account.get_buckets,
    "get_buckets_rmq": account.get_buckets_rmq,
    "get_files": storage.get_files,
    "delete_file": storage.delete_file,
    "download_url": storage.download_url,
    "upload_form": storage.upload_form,
    "show_key": account.show_key,
    "list_keys": storage.list_keys,
    "create_key": storage.create_key,
    "revoke_key": storage.revoke_key,
    "get_users": account.get_users,
    "history": account.history,
    "list_plans": account.list_plans,
    "list_tokens": tokens.list_tokens,
    "create_token": tokens.create_token,
    "revoke_token": tokens.revoke_token,
}


async def dispatch(ctx: PanelContext, action: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The success envelope of `action`; raises PanelError (the failure envelope's content) otherwise, its
    sentence and details without secrets or internal addresses (storage servers, WHMCS's API): customers read
    them, on either way in; the daemon's log keeps the full sentence."""
    try:
        return await _dispatch(ctx, action, raw)
    except PanelError as e:
        shown = redact.public(e.message)
        if shown != e.message:
            log.info("panel_error_hidden", action=action, error=e.message)
        raise PanelError(shown, redact.public_value(e.details), status=e.status) from None


async def _dispatch(ctx: PanelContext, action: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    p = validate(action, raw)
    spec = METHODS[action]
    if spec.audience == "admin" and ctx.caller.role != "admin":
        raise Forbidden(f"s3/{action} is for administrators")
    if spec.audience == "client" and ctx.caller.role != "client":
        raise Forbidden(f"s3/{action} is for clients (it acts for the logged-in client)")
    if spec.changes_state and not ctx.caller.csrf_ok:
        raise Forbidden("this change needs the form's security token; reload the page and try again")
    try:
        fields = await HANDLERS[action](ctx, p)
    except PanelError:
        raise
    except BridgeError as e:  # storage or WHMCS failed: one sentence, the daemon's code in details
        log.info("panel_failed", action=action, code=e.code, error=e.message)
        raise PanelError(e.message, {"error": e.code}, status=e.status) from None
    log.info("panel_done", action=action, actor=ctx.caller.actor)
    return success(action, **fields)
