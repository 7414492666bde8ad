"""TestConnection: can the daemon reach the storage server named by the WHMCS server record, as admin?"""

from __future__ import annotations

from bridge.functions.context import Outcome, Services
from bridge.params import Params, ServerParams


async def test_connection(services: Services, params: Params) -> Outcome:
    server = ServerParams.from_params(params)
    report = await services.backend_for(server).test_connection()
    return Outcome(
        {
            "success": True,
            "backend": report.backend,
            "endpoint": report.endpoint,
            "version": report.version,
            "details": report.details,
        }
    )
