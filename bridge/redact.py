"""Keep secrets out of logs and error messages.

Two nets: values (every secret the process knows of: config secrets, the DB password, and per request the server
password, access hash and generated passwords) are replaced wherever they occur in a string; keys whose name says
"secret" are replaced whatever their value. Values are what matters: a secret quoted inside an exception message
has no telling key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words; no real secret is that short

_SECRET_KEY = re.compile(r"pass(word)?|secret|token|accesshash|signature|authorization|credential", re.I)

_static: set[str] = set()
_request: ContextVar[frozenset[str]] = ContextVar("s3bridge_request_secrets", default=frozenset())


def register_static(values: Iterable[str]) -> None:
    """Secrets known for the life of the process (config file)."""
    _static.update(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def add_request_secrets(values: Iterable[str]) -> None:
    """Secrets of the current call (task-local: concurrent calls do not see each other's)."""
    new = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
    if new:
        _request.set(_request.get() | new)


def request_secrets() -> list[str]:
    """This call's secrets (server password, access hash, generated passwords and keys), for the answer's `secrets`
    list: the shim masks exactly these in WHMCS's module log."""
    return sorted(_request.get(), key=len, reverse=True)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def scrub(text: str) -> str:
    """Replace every known secret value in `text`, longest first (a secret may contain another)."""
    secrets = _static | _request.get()
    for value in sorted(secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


ADDRESS_HIDDEN = "[internal address]"
# URLs, and host:port / IP addresses (a host name needs a dot, so "10:30" is not one): what a customer must not see.
_ADDRESS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>()]+"
    r"|\[[0-9a-f:.]+\](?::\d{1,5})?"
    r"|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"
    r"|\b(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*:\d{1,5}\b"
    r"|\blocalhost:\d{1,5}\b"
    r"|\bunix:/\S+",
    re.I,
)


def public(text: str) -> str:
    """`scrub`, and every internal address (URL, host:port, IP, socket path) replaced: for texts a customer sees."""
    return _ADDRESS.sub(ADDRESS_HIDDEN, scrub(text))


def public_value(value: Any) -> Any:
    if isinstance(value, str):
        return public(value)
    if isinstance(value, Mapping):
        return {k: public_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [public_value(v) for v in value]
    return value


def scrub_value(value: Any, key: str = "") -> Any:
    if key and is_secret_key(key) and value not in (None, "", 0, False):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    if isinstance(value, BaseException):
        return scrub(repr(value))
    return value


def structlog_processor(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: runs last before rendering, so nothing a processor added escapes it."""
    return {k: scrub_value(v, k) for k, v in event_dict.items()}
