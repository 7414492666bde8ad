"""Per-user policies from the product's raw policy templates (pure).

A template is the JSON policy the admin writes, with `<USER_ID>` where the username goes (as in the seed module).
Templates are checked before anything is created: every Allow statement may only reach the user's own buckets
(`arn:aws:s3:::<USER_ID>--*` and below), may not list every bucket on the server, and may not name an Object Lock
action. Every rendered policy ends with a statement denying Object Lock (`OBJECT_LOCK_DENY`), so a template whose
Allow is wide (`s3:*`, `s3:PutObject*`) still cannot make data that nobody, not even the storage server's root
user, can delete before a retention date the customer chose (a bucket created with Object Lock needs
`s3:PutBucketObjectLockConfiguration` on MinIO, so it is refused too).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from bridge.domain.naming import SEPARATOR

PolicyKind = Literal["standard", "limited"]
PLACEHOLDER = "<USER_ID>"
OWN = f"arn:aws:s3:::{PLACEHOLDER}{SEPARATOR}"

OBJECT_LOCK_ACTIONS = (
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
)
OBJECT_LOCK_DENY: dict[str, Any] = {
    "Sid": "S3BridgeNoObjectLock",
    "Effect": "Deny",
    "Action": list(OBJECT_LOCK_ACTIONS),
    "Resource": ["arn:aws:s3:::*"],
}

DEFAULT_STANDARD = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": [f"{OWN}*"]},
        ],
    },
    indent=2,
)

DEFAULT_LIMITED = json.dumps({
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads",
                "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectRetention",
                "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:DeleteObjectVersion",
                "s3:DeleteBucket",
            ],
            "Resource": [f"{OWN}*"],
        },
    ],
}, indent=2)  # fmt: skip


class PolicyError(ValueError):
    pass


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_template(template: str) -> dict[str, Any]:
    """Parse and check a template; raise PolicyError saying what is wrong and how to fix it."""
    try:
        doc = json.loads(template)
    except ValueError as e:
        raise PolicyError(f"is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Statement"), list) or not doc["Statement"]:
        raise PolicyError('must be a JSON object with a non-empty "Statement" list')
    for i, st in enumerate(doc["Statement"]):
        if not isinstance(st, dict):
            raise PolicyError(f"statement {i + 1} is not an object")
        if st.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f'statement {i + 1} needs "Effect": "Allow" or "Deny"')
        if st["Effect"] == "Deny":
            continue
        if "NotResource" in st or "NotAction" in st:
            raise PolicyError(f"statement {i + 1}: Allow with NotResource/NotAction could reach other customers")
        resources = _as_list(st.get("Resource"))
        if not resources or not all(isinstance(r, str) for r in resources):
            raise PolicyError(f'statement {i + 1} needs "Resource"')
        for r in resources:
            if not r.startswith(OWN):
                raise PolicyError(
                    f"statement {i + 1}: resource '{r}' could reach buckets of other customers; every Allow resource"
                    f" must start with '{OWN}' (the user's own buckets), e.g. '{OWN}*'"
                )
        actions = {str(a).lower() for a in _as_list(st.get("Action"))}
        if not actions:
            raise PolicyError(f'statement {i + 1} needs "Action"')
        if any(a.startswith("admin:") for a in actions):
            raise PolicyError(f"statement {i + 1}: admin actions act on the whole server; remove them")
        for action in OBJECT_LOCK_ACTIONS:
            if action.lower() in actions:
                raise PolicyError(
                    f"statement {i + 1}: allows {action} (Object Lock): objects under retention or legal hold cannot"
                    " be deleted by anyone, so Terminate could never remove the account; remove the action"
                )
    return doc


def render(template: str, username: str) -> dict[str, Any]:
    """The policy document for one user. The username is inserted as a JSON string value, never as JSON text."""
    doc = parse_template(template)

    def sub(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(PLACEHOLDER, username)
        if isinstance(value, list):
            return [sub(v) for v in value]
        if isinstance(value, dict):
            return {k: sub(v) for k, v in value.items()}
        return value

    rendered: dict[str, Any] = sub(doc)
    rendered["Statement"] = [*rendered["Statement"], OBJECT_LOCK_DENY]
    return rendered


def choose(used_bytes: int, limit_bytes: int) -> PolicyKind:
    """Limited when a limit is set and used space has reached it; unlimited products are never limited."""
    return "limited" if limit_bytes > 0 and used_bytes >= limit_bytes else "standard"
