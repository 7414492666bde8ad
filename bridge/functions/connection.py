"""TestConnection: can the daemon reach the storage server named by the WHMCS server record, as admin?"""

from __future__ import annotations

from bridge.domain.params import Params, ServerParams
from bridge.functions.context import Outcome, Resources


async def test_connection(resources: Resources, params: Params) -> Outcome:
    server = ServerParams.from_params(params)
    report = await resources.backend_for(server).test_connection()
    return Outcome(
        {
            "success": True,
            "backend": report.backend,
            "endpoint": report.endpoint,
            "version": report.version,
            "details": report.details,
        }
    )
