"""Every method of the seed panel (and the few this product adds), its parameters, and who may call it (pure).

`validate(method, raw)` turns the raw parameters of either way in (form fields, query string, JSON) into typed
values, or raises `PanelError` naming the parameter and the problem. Unknown parameters are ignored (seed clients
send `action` and `token` along); known ones are checked strictly: hostile input gets a sentence, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from bridge.domain.panel.envelope import PanelError

Kind = Literal["str", "int", "date", "enum", "bool", "strlist", "key", "keylist"]
Audience = Literal["any", "admin", "client"]

MAX_KEY_BYTES = 1024  # S3's limit on an object name
MAX_DELETE = 1000  # S3's limit on one DeleteObjects request
MAX_KEYS = 100  # the seed's page size limit
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind = "str"
    required: bool = False
    max_len: int = 255
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    default: Any = None


@dataclass(frozen=True)
class Method:
    name: str
    params: tuple[Param, ...] = ()
    audience: Audience = "any"
    changes_state: bool = False  # needs the CSRF token in the client area
    summary: str = ""


_S3UID = Param("s3uid", required=True, max_len=64)
_S3UID_OPT = Param("s3uid", max_len=64)
_ID = Param("id", "int", lo=1, hi=2**31 - 1)
_BUCKET = Param("bucket_name", required=True, max_len=63)
_PLAN = Param("plan_id", "int", required=True, lo=1, hi=2**31 - 1)
_LOCATION = Param("location", max_len=64)

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("create_account", (_PLAN, _BUCKET, _LOCATION), "client", True,
               "order a new storage account on a plan, with its first bucket (WHMCS AddOrder)"),
        Method("create_order", (_PLAN, _BUCKET, _LOCATION), "client", True,
               "the same as create_account"),
        Method("create_bucket", (_ID, _S3UID, _BUCKET), "any", True, "a bucket in the account's namespace"),
        Method("delete_bucket", (_ID, _S3UID, _BUCKET), "any", True, "an empty bucket of the account"),
        Method("delete_account", (_ID, _S3UID, Param("reason", max_len=500)), "any", True,
               "admins: terminate now (WHMCS ModuleTerminate); clients: an immediate cancellation request"),
        Method("delete_payment_account", (_ID, _S3UID, Param("reason", max_len=500)), "any", True,
               "a cancellation request for the end of the billing period (WHMCS AddCancelRequest)"),
        Method("cancel_payment_account_deletion", (_ID, _S3UID), "any", True,
               "withdraw a pending cancellation request"),
        Method("get_buckets", (_ID, _S3UID_OPT), "any", False, "the buckets of one or all of the client's accounts"),
        Method("get_buckets_rmq", (_ID, _S3UID), "any", False,
               "buckets with usage, quota, metering, credentials and endpoint"),
        Method("get_files", (
            _ID, _S3UID, _BUCKET,
            Param("prefix", "key", max_len=MAX_KEY_BYTES, default=""),
            Param("continuation_token", max_len=4096),
            Param("max_keys", "int", lo=1, hi=MAX_KEYS, default=MAX_KEYS),
            Param("search", max_len=256, default=""),
            Param("search_mode", "enum", choices=("prefix", "contains"), default="prefix"),
        ), "any", False, "objects and folders of a bucket, a page at a time"),
        Method("delete_file", (
            _ID, _S3UID, _BUCKET, Param("filename", "keylist", required=True, max_len=MAX_KEY_BYTES, hi=MAX_DELETE),
        ), "any", True, "one object, or many (a list of names)"),
        Method("download_url", (_ID, _S3UID, _BUCKET, Param("filename", "key", required=True)), "any", False,
               "a presigned GET URL for one object"),
        Method("upload_form", (_ID, _S3UID, _BUCKET, Param("prefix", "key", max_len=MAX_KEY_BYTES, default=""),
                               Param("redirect", max_len=2048, default="")),
               "any", False, "a presigned POST form that uploads straight to the S3 endpoint"),
        Method("show_key", (_ID, _S3UID, Param("s3_key", "enum", required=True, choices=("access_key", "secret_key"))),
               "any", False, "the account's access key or secret key"),
        Method("list_keys", (_ID, _S3UID), "any", False, "the account's extra access keys"),
        Method("create_key", (
            _ID, _S3UID, Param("name", max_len=32, default=""), Param("expires", "date"),
            Param("read_only", "bool", default=False), Param("buckets", "strlist", max_len=63, hi=50, default=()),
        ), "any", True, "a new access key (the secret is shown once)"),
        Method("revoke_key", (_ID, _S3UID, Param("access_key", required=True, max_len=128)), "any", True,
               "revoke one access key"),
        Method("get_users", (
            _ID, Param("plan_id", "int", lo=1, hi=2**31 - 1), _S3UID_OPT, Param("email", max_len=255),
            Param("billing", max_len=16), Param("bucket_name", max_len=63), _LOCATION,
            Param("storage_type", max_len=16),
            Param("period_from", "date"), Param("period_to", "date"),
            Param("offset", "int", lo=0, hi=10_000_000, default=0), Param("limit", "int", lo=1, hi=1000, default=100),
            Param("order", "enum", choices=("total_traffic_period_gb", "total_storage_peak_gb", "id"), default="id"),
            Param("order_by", "enum", choices=("ASC", "DESC", "asc", "desc"), default="ASC"),
        ), "admin", False, "storage users with traffic, storage and service, filtered and sorted"),
        Method("history", (Param("id", "int", lo=1, hi=2**31 - 1), _S3UID_OPT,
                           Param("limit", "int", lo=1, hi=500, default=100)), "any", False,
               "the service's events: when, what, by whom"),
        Method("list_plans", (_ID,), "any", False, "admins: every plan; clients: active plans in their currency"),
        Method("list_tokens", (), "client", False, "the client's API tokens"),
        Method("create_token", (Param("name", max_len=64, default=""),), "client", True,
               "a new API token (shown once)"),
        Method("revoke_token", (Param("token_id", required=True, max_len=32),), "client", True, "revoke an API token"),
    )
}  # fmt: skip


def _text(p: Param, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PanelError(f"parameter '{p.name}' must be a string", {"parameter": p.name})
    text = str(value)
    _utf8(p.name, text)
    if p.kind == "key":
        return _object_name(p, text)
    text = text.strip()
    if _CONTROL.search(text):
        raise PanelError(f"parameter '{p.name}' holds control characters", {"parameter": p.name})
    if len(text) > p.max_len:
        raise PanelError(f"parameter '{p.name}' is longer than {p.max_len} characters", {"parameter": p.name})
    return text


def _object_name(p: Param, text: str) -> str:
    """Object names are kept byte for byte (no strip): S3 allows any UTF-8 up to 1,024 bytes."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise PanelError(
            f"parameter '{p.name}' is {size} bytes; an object name is at most {MAX_KEY_BYTES} bytes",
            {"parameter": p.name},
        )
    if "\x00" in text:
        raise PanelError(f"parameter '{p.name}' holds a NUL character", {"parameter": p.name})
    check_object_name(text, p.name)
    return text


def _utf8(name: str, text: str) -> None:
    """JSON may carry lone surrogates (\\ud800): text no database, storage server or log can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PanelError(f"parameter '{name}' is not valid UTF-8 (it holds a lone surrogate)",
                         {"parameter": name}) from None  # fmt: skip


def check_object_name(key: str, what: str) -> str:
    """Refuse object names (and folders) with '.' or '..' path segments: MinIO cannot store them, and a URL path
    holding them could be normalized by a proxy into another bucket's path. Checked before anything is asked."""
    if any(seg in (".", "..") for seg in key.split("/")):
        raise PanelError(f"parameter '{what}' has a '.' or '..' path segment, which object names here cannot have",
                         {"parameter": what})  # fmt: skip
    return key


def _one(p: Param, value: Any) -> Any:
    if p.kind in ("str", "key"):
        return _text(p, value)
    if p.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise PanelError(f"parameter '{p.name}' must be a whole number", {"parameter": p.name})
        text = str(value).strip()
        if not re.fullmatch(r"-?\d{1,12}", text):
            raise PanelError(f"parameter '{p.name}' must be a whole number, got {text[:20]!r}", {"parameter": p.name})
        n = int(text)
        if (p.lo is not None and n < p.lo) or (p.hi is not None and n > p.hi):
            raise PanelError(f"parameter '{p.name}' must be {p.lo}-{p.hi}, got {n}", {"parameter": p.name})
        return n
    if p.kind == "date":
        text = _text(p, value)
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise PanelError(f"parameter '{p.name}' must be a date as Y-m-d, got {text[:20]!r}",
                             {"parameter": p.name}) from None  # fmt: skip
    if p.kind == "enum":
        text = _text(p, value)
        if text not in p.choices:
            raise PanelError(
                f"parameter '{p.name}' must be one of {', '.join(p.choices)}, got {text[:40]!r}", {"parameter": p.name}
            )
        return text
    if p.kind == "bool":
        if isinstance(value, bool):
            return value
        text = _text(p, value).lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        raise PanelError(f"parameter '{p.name}' must be true or false", {"parameter": p.name})
    # lists: a JSON list, a comma-separated string (strlist only) or one value
    items: list[Any]
    if isinstance(value, list | tuple):
        items = list(value)
    elif p.kind == "strlist" and isinstance(value, str):
        items = [v for v in value.split(",") if v.strip()]
    else:
        items = [value]
    limit = p.hi or 100
    if len(items) > limit:
        raise PanelError(f"parameter '{p.name}' lists {len(items)} values; at most {limit}", {"parameter": p.name})
    one = Param(p.name, "key" if p.kind == "keylist" else "str", max_len=p.max_len)
    out = tuple(_text(one, v) for v in items)
    if p.required and not out:
        raise PanelError(f"parameter '{p.name}' is required", {"parameter": p.name})
    return out


def validate(method: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed parameters of `method`, each checked; PanelError names the first problem."""
    spec = METHODS.get(method)
    if spec is None:
        if not method:
            raise PanelError("action required")
        raise PanelError(f"unknown action '{method[:64]}'", {"actions": sorted(METHODS)}, status=404)
    out: dict[str, Any] = {}
    for p in spec.params:
        value = raw.get(p.name)
        missing = value is None or (isinstance(value, str) and value.strip() == "" and p.kind != "key") or value == []
        if p.kind == "key" and value == "":
            missing = True
        if missing:
            if p.required:
                raise PanelError(f"parameter '{p.name}' is required", {"parameter": p.name})
            out[p.name] = p.default
            continue
        out[p.name] = _one(p, value)
    return out
