"""Typed views of the WHMCS `$params` the shim forwards (pure: no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import BadParam, MissingParam

Params = Mapping[str, Any]

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")


def require_str(params: Params, key: str) -> str:
    value = params.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MissingParam(key)
    if not isinstance(value, str | int):
        raise BadParam(key, f"must be a string, got {type(value).__name__}")
    return str(value).strip()


def optional_int(params: Params, key: str, default: int | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise BadParam(key, "must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadParam(key, f"must be a whole number, got {str(value)[:40]!r}") from None


def flag(value: Any) -> bool:
    """WHMCS passes checkboxes as 'on', '1', 1, true or ''."""
    if isinstance(value, str):
        return value.strip().lower() in {"on", "1", "yes", "true"}
    return bool(value)


@dataclass(frozen=True)
class ServerParams:
    """The WHMCS server record, decrypted by WHMCS and sent with each call."""

    host: str
    port: int
    secure: bool
    access_key: str
    secret_key: str
    access_hash: str = ""
    server_id: int | None = None
    options: tuple[tuple[str, str], ...] = ()  # key=value lines of the Access Hash field (see `parse_options`)

    def option(self, key: str, default: str = "") -> str:
        return dict(self.options).get(key, default)

    @property
    def backend(self) -> str:
        return self.option("backend", "minio")

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def secrets(self) -> list[str]:
        return [self.secret_key, self.access_hash]

    @classmethod
    def from_params(cls, params: Params) -> ServerParams:
        raw_host = str(params.get("serverhostname") or params.get("serverip") or "").strip()
        if not raw_host:
            raise MissingParam("serverhostname")
        secure = flag(params.get("serversecure"))
        port = optional_int(params, "serverport")
        # Admins often type a URL into the hostname field: accept it, and let its scheme and port win.
        m = re.match(r"^(https?)://", raw_host, re.I)
        if m:
            secure = m.group(1).lower() == "https"
            raw_host = raw_host[m.end() :]
        raw_host = raw_host.rstrip("/")
        if "/" in raw_host:
            raise BadParam("serverhostname", "must be a host name, optionally with :port, not a URL with a path")
        hm = re.match(r"^(\[[0-9A-Fa-f:.]+\]|[^:]+):(\d+)$", raw_host)
        if hm:
            raw_host, port = hm.group(1), int(hm.group(2))
        host = raw_host.strip("[]")
        if not _HOST.match(host):
            raise BadParam("serverhostname", "is not a valid host name or IP address")
        if port is None or port == 0:
            port = 443 if secure else 9000
        if not 0 < port < 65536:
            raise BadParam("serverport", f"must be 1-65535, got {port}")
        access_hash = str(params.get("serveraccesshash") or "")
        return cls(
            host=host,
            port=port,
            secure=secure,
            access_key=require_str(params, "serverusername"),
            secret_key=require_str(params, "serverpassword"),
            access_hash=access_hash,
            server_id=optional_int(params, "serverid"),
            options=parse_options(access_hash),
        )


SERVER_OPTIONS = {"backend": ("minio", "ostor"), "email_domain": (), "signature": ("v2", "v4"), "region": ()}


def parse_options(text: str) -> tuple[tuple[str, str], ...]:
    """The server record's Access Hash field holds `key=value` lines (blank lines and `#` comments allowed):
    `backend=minio|ostor`, and for ostor `email_domain=`, `signature=v2|v4`, `region=`. Empty means MinIO."""
    out: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or key not in SERVER_OPTIONS:
            raise BadParam(
                "serveraccesshash", f"line {number}: expected one of {', '.join(SERVER_OPTIONS)} as key=value"
            )
        allowed = SERVER_OPTIONS[key]
        if allowed and value not in allowed:
            raise BadParam("serveraccesshash", f"line {number}: {key} must be one of {', '.join(allowed)}")
        out.append((key, value))
    return tuple(out)
