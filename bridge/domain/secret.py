"""Secrets by type (pure): every value an answer hands out that is a secret (a password, a secret key, an API
token) is a `Secret`, made where the secret is born (the password rule, the pending store, key pairs, new tokens,
what WHMCS decrypts). The web layer lists every `Secret` of an answer in its `secrets` (`secrets_in`), and the shim
masks exactly those in WHMCS's module log: no branch has to remember to list what it hands out.

A `Secret` is a `str` (it serializes as one and compares equal to its text); its repr hides the value. Building a
new string from it (f-strings, `+`, `str()`) gives a plain `str`: mark the result again if it is still secret.
Answer fields named in `SECRET_FIELDS` must hold a `Secret` (`require_marked`): a branch that forgot fails loudly
in the tests instead of leaking in a module log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Answer and effect fields that carry a secret whenever they are set (exact names: `continuation_token` is not one).
SECRET_FIELDS = frozenset({"secret_key", "token", "password", "servicepassword"})


class Secret(str):
    """A secret handed out in an answer; listed for masking wherever it appears."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('[REDACTED]')"


class UnmarkedSecret(TypeError):
    """An answer field that always holds a secret got a plain string (a programming error, never input)."""


def secrets_in(*values: Any) -> list[str]:
    """The text of every `Secret` anywhere in `values` (dicts, lists, tuples at any depth), longest first."""
    found: set[str] = set()
    stack: list[Any] = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, Secret):
            found.add(str.__str__(v))
        elif isinstance(v, Mapping):
            stack.extend(v.values())
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend(v)
    return sorted(found, key=len, reverse=True)


def require_marked(fields: Mapping[str, Any], where: str) -> None:
    """Raise `UnmarkedSecret` when a field named in SECRET_FIELDS holds a non-empty plain string."""
    for key, value in fields.items():
        if key in SECRET_FIELDS and isinstance(value, str) and value and not isinstance(value, Secret):
            raise UnmarkedSecret(f"{where}: field '{key}' carries a secret that is not marked as a Secret")
