"""ListAccounts for WHMCS's Server Sync Tool: one account listing and one bucket listing of the server, one query for
what WHMCS and the records know (the rows are built by `domain/server_sync.py`)."""

from __future__ import annotations

from bridge.backends.capabilities import AccountInventory
from bridge.domain.params import Params, ServerParams
from bridge.domain.server_sync import KnownService, sync_accounts
from bridge.errors import Unsupported
from bridge.functions.context import Outcome, Resources
from bridge.whmcs.drift_store import aware


async def list_accounts(resources: Resources, params: Params) -> Outcome:
    server = ServerParams.from_params(params)
    backend = resources.backend_for(server)
    if not isinstance(backend, AccountInventory):
        raise Unsupported(f"{backend.name} at {server.endpoint} cannot list its accounts")
    accounts = await backend.list_accounts()
    buckets = await backend.server_usage()
    known = {
        str(r["username"]): KnownService(
            username=str(r["username"]),
            whmcs_username=str(r["whmcs_username"] or r["access_key"] or r["username"]),
            email=str(r["email"]),
            domain=str(r["domain"]),
            created=aware(r["created_at"]),
        )
        for r in await resources.stores.drift.sync_rows(server.server_id or 0)
    }
    rows = sync_accounts(accounts, known, buckets, product=backend.name, primary_ip=server.host, now=resources.now())
    return Outcome({"accounts": rows})
