"""The audit trail: one structured log line always, and a row in mod_s3bridge_audit when the database answers."""

from __future__ import annotations

from typing import Any

from bridge import redact
from bridge.errors import BridgeError
from bridge.logs import get_logger
from bridge.whmcs.db import Conn, Database

log = get_logger("s3bridge.audit")


async def record(
    db: Database | None,
    *,
    request_id: str,
    action: str,
    outcome: str,
    detail: str,
    serviceid: int | None = None,
    **extra: Any,
) -> None:
    detail = redact.scrub(detail)
    log.info(
        "audit", request_id=request_id, action=action, outcome=outcome, detail=detail, serviceid=serviceid, **extra
    )
    if db is None:
        return

    def insert(conn: Conn) -> None:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO mod_s3bridge_audit (request_id, action, serviceid, outcome, detail)"
                " VALUES (%s, %s, %s, %s, %s)",
                (request_id, action[:64], serviceid, outcome[:32], detail),
            )

    try:
        await db.run(insert)
    except BridgeError as e:  # the audit row is best effort; the log line above is the record of last resort
        log.warning("audit_row_not_written", request_id=request_id, error=e.message)
