"""PHP's serialize() for the plain values WHMCS's SendEmail `customvars` takes (pure).

WHMCS expects `customvars` as base64(serialize(array)); the daemon builds it so the shim stays a pass-through.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


def serialize(value: Any) -> str:
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, str):
        return f's:{len(value.encode("utf-8"))}:"{value}";'
    if isinstance(value, Mapping):
        items = "".join(serialize(k) + serialize(v) for k, v in value.items())
        return f"a:{len(value)}:{{{items}}}"
    if isinstance(value, list | tuple):
        return serialize(dict(enumerate(value)))
    raise TypeError(f"cannot serialize {type(value).__name__} for PHP")


def customvars(values: Mapping[str, Any]) -> str:
    return base64.b64encode(serialize(dict(values)).encode("utf-8")).decode("ascii")
