"""Object versions that S3 Object Lock keeps from deletion (pure): what Terminate could not remove, and the sentence
that says so.

Customers cannot lock objects (every policy denies the Object Lock actions, `policies.OBJECT_LOCK_DENY`), but data
locked before that rule, or by the storage server's own administrators, can still be there. An administrator may
lift a legal hold and bypass GOVERNANCE retention; COMPLIANCE retention binds everyone, the root user included, until
its date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RetainedVersion:
    bucket: str
    key: str
    version_id: str
    until: datetime  # COMPLIANCE retention: nobody may delete the version before this


def retained_sentence(versions: Sequence[RetainedVersion], where: str, username: str) -> str:
    """One sentence for the admin: how many versions, in which buckets, locked until when, and what to do."""
    buckets = sorted({v.bucket for v in versions})
    last = max(v.until for v in versions)
    shown = ", ".join(f"'{b}'" for b in buckets[:5]) + (f" and {len(buckets) - 5} more" if len(buckets) > 5 else "")
    return (
        f"{len(versions)} object version(s) in bucket(s) {shown} are under COMPLIANCE retention (S3 Object Lock) until"
        f" {last:%Y-%m-%d %H:%M} UTC at the latest: nobody can delete them before then, not even {where}'s root user."
        f" Everything else of the account was deleted and user '{username}' is disabled; run Terminate again after"
        " that date"
    )
