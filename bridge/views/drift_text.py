"""`s3bridge reconcile`'s report as sentences for a terminal (the `--json` output is the daemon's answer as is)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_WHAT = {
    "state_mismatch": "is {actual} on storage, but WHMCS says it should be {expected}",
    "orphan_user": "is on storage ({actual}) but belongs to no live service",
    "missing_user": "should have an account on storage, but it is {actual}",
    "policy_mismatch": "has the {actual} policy attached; its usage calls for {expected}",
    "stray_bucket": "is a bucket in no account's namespace",
}
_REPAIR = {
    "enable": "safe repair: enable it (--fix safe)",
    "disable": "safe repair: disable it (--fix safe)",
    "apply_policy": "safe repair: attach the policy (--fix safe)",
    "delete_orphan": "to delete its data, type its name: --delete {subject} (after the grace period)",
    "none": "no automatic repair: {hint}",
}
_HINT = {
    "missing_user": "run Create from the service's page in WHMCS",
    "stray_bucket": "remove it, or adopt it from the service that should own it",
}


def describe(result: Mapping[str, Any]) -> str:
    """One line per finding, then a summary line."""
    lines = []
    for f in result.get("findings", []):
        who = f"service {f['serviceid']}, " if f.get("serviceid") else ""
        subject = f"'{f['subject']}' ({who}{f['kind'].replace('_', ' ')})"
        what = _WHAT.get(f["kind"], "{actual}").format(**f)
        if "outcome" in f:
            tail = f"{f['outcome']}: {f['detail']}"
        else:
            tail = _REPAIR[f["repair"]].format(hint=_HINT.get(f["kind"], "look at it"), **f)
        lines.append(f"- {subject} {what}; {tail}.")
    total = len(result.get("findings", []))
    repaired = sum(1 for f in result.get("findings", []) if f.get("outcome") == "repaired")
    for r in result.get("refused_deletes", []):
        lines.append(f"- {r}")
    head = (
        f"Server {result.get('serverid')} ({result.get('backend')}): {result.get('services')} service(s) in WHMCS,"
        f" {result.get('accounts')} account(s) and {result.get('buckets')} bucket(s) on storage, compared in"
        f" {result.get('seconds')} s."
    )
    if not total:
        return head + "\nWHMCS and the storage agree: no drift."
    summary = f"{total} finding(s), {repaired} repaired, {total - repaired} left."
    return "\n".join([head, *lines, summary])
