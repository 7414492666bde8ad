"""Access keys on MinIO: service accounts of the account's user (blocking admin calls; run in a worker thread).

minio-py 7.2.20's `add_service_account` cannot name another user as the parent when called as admin (minio-py issue
#1481): it sends no `targetUser`. This module sends the same encrypted admin request with `targetUser` set, through
minio-py's own signing and encryption, so the key belongs to the account's user: it inherits that user's policy
(standard or limited), stops working while the user is disabled (suspension), and goes with the user (termination).
A new password for the user leaves its service accounts alone.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
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
        if a.get("parentUser") == username and not is_presign_key(str(a["accessKey"]))
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


# -- the daemon's presigning key of an account ---------------------------------------------------------------------

PRESIGN_PREFIX = "s3bp"  # access keys of the daemon's presigning keys (never listed to the customer)
PRESIGN_NAME = "s3bridge-presign"


def presign_credentials(admin_secret: str, username: str) -> tuple[str, str]:
    """The access and secret key of the service account that signs `username`'s upload forms and download links.
    Derived (HMAC) from the server's admin secret, so every daemon signs with the same key and none stores one; a new
    admin secret gives a new key (`ensure_presign_key` sets it)."""
    mac = functools.partial(hmac.new, admin_secret.encode(), digestmod=hashlib.sha256)
    access = PRESIGN_PREFIX + mac(f"s3bridge-presign-access:{username}".encode()).hexdigest()[:16]
    secret = base64.urlsafe_b64encode(mac(f"s3bridge-presign-secret:{username}".encode()).digest()).decode()[:40]
    return access, secret


def ensure_presign_key(admin: MinioAdmin, admin_secret: str, username: str) -> tuple[str, str]:
    """Make sure the account's presigning key exists with the derived secret; returns (access key, secret key).
    A service account of the account's user without a policy of its own: MinIO applies the user's current policy
    (standard or limited) and refuses it while the user is disabled, at the moment a form or link is used."""
    access, secret = presign_credentials(admin_secret, username)
    parent = key_parent(admin, access)
    if parent is None:
        data = {"status": "enabled", "targetUser": username, "accessKey": access, "secretKey": secret,
                "name": PRESIGN_NAME, "description": "signs the panel's upload forms and download links"}  # fmt: skip
        admin._url_open(
            method="PUT",
            command=_COMMAND.SERVICE_ACCOUNT_ADD,
            body=encrypt(json.dumps(data).encode(), admin_secret),
            preload_content=False,
        )
    elif parent != username:
        raise ValueError(f"service account {access} belongs to '{parent}', not to '{username}'")
    else:
        admin.update_service_account(access_key=access, secret_key=secret)  # the admin secret may have changed
    return access, secret


def is_presign_key(access_key: str) -> bool:
    """MinIO makes access keys of upper-case letters and digits: a lower-case prefix is never a customer's key."""
    return access_key.startswith(PRESIGN_PREFIX)
