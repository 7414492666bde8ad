"""Access keys on MinIO: service accounts of the account's user (blocking admin calls; run in a worker thread).

minio-py 7.2.20's `add_service_account` cannot name another user as the parent when called as admin (minio-py issue
#1481): it sends no `targetUser`. This module sends the same encrypted admin request with `targetUser` set, through
minio-py's own signing and encryption, so the key belongs to the account's user: it inherits that user's policy
(standard or limited), stops working while the user is disabled (suspension), and goes with the user (termination).
A new password for the user leaves its service accounts alone.
"""

from __future__ import annotations

import json
from typing import Any

from minio import MinioAdmin
from minio.crypto import decrypt, encrypt
from minio.error import MinioAdminException
from minio.minioadmin import _COMMAND

from bridge.domain.panel.storage import AccessKey, KeySpec, NewAccessKey, key_policy

NEVER = "1970-01-01T00:00:00Z"  # MinIO's "no expiration"


def _expiry(text: str) -> str:
    return "" if not text or text.startswith("1970-01-01") else text


def add_key(admin: MinioAdmin, admin_secret: str, username: str, spec: KeySpec) -> NewAccessKey:
    data: dict[str, Any] = {"status": "enabled", "targetUser": username}
    if spec.name:
        data["name"] = spec.name
    if spec.expires is not None:
        data["expiration"] = spec.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    policy = key_policy(spec)
    if policy is not None:
        data["policy"] = policy
    response = admin._url_open(
        method="PUT",
        command=_COMMAND.SERVICE_ACCOUNT_ADD,
        body=encrypt(json.dumps(data).encode(), admin_secret),
        preload_content=False,
    )
    creds = json.loads(decrypt(response, admin_secret).decode())["credentials"]
    return NewAccessKey(str(creds["accessKey"]), str(creds["secretKey"]), _expiry(str(creds.get("expiration") or "")))


def list_keys(admin: MinioAdmin, username: str) -> list[AccessKey]:
    accounts = json.loads(admin.list_service_account(username)).get("accounts") or []
    return [
        AccessKey(
            access_key=str(a["accessKey"]),
            name=str(a.get("name") or ""),
            expires=_expiry(str(a.get("expiration") or "")),
            status=str(a.get("accountStatus") or "on"),
            restricted=not a.get("impliedPolicy", True),
        )
        for a in accounts
        if a.get("parentUser") == username
    ]


def key_parent(admin: MinioAdmin, access_key: str) -> str | None:
    """The user a service account belongs to, or None when there is no such service account."""
    try:
        info = json.loads(admin.get_service_account(access_key))
    except MinioAdminException as e:
        if e._code in ("404", "400"):
            return None
        raise
    return str(info.get("parentUser") or "") or None


def remove_key(admin: MinioAdmin, access_key: str) -> None:
    admin.delete_service_account(access_key)
