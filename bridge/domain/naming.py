"""Usernames and bucket names (pure).

Tenant isolation by construction: a service owns exactly the buckets named `<username>--<anything>`. Usernames are
lowercase letters, digits and single hyphens, and never start or end with a hyphen, so no username contains `--`
and `<a>--` can never be a prefix of `<b>--...` for two different usernames (`7-55--x` is not `7-551--x`, and
`7-5--` is not a prefix of `7-55--x`). Policies grant `arn:aws:s3:::<username>--*` and nothing wider.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from datetime import datetime

SEPARATOR = "--"
USERNAME_MIN, USERNAME_MAX = 3, 40  # <= 40 leaves room for "--" and a 21-character bucket suffix within 63
BUCKET_MAX = 63

_USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
_SUFFIX = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$|^[a-z0-9]$")
_MACRO = re.compile(r"\{([a-z_]+?)(?:_(\d+))?\}")
_FIXED_MACROS = {"client_id", "service_id", "unixtime", "date", "time"}
_SIZED_MACROS = {"random_digit", "random_letter"}


class NamingError(ValueError):
    """The problem, in words, without the setting's name (the caller adds it)."""


def check_username(name: str) -> None:
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise NamingError(
            f"yields '{name}', which is {len(name)} characters; a username needs {USERNAME_MIN}-{USERNAME_MAX}"
        )
    if not _USERNAME.match(name):
        raise NamingError(
            f"yields '{name}'; a username may hold only lowercase letters, digits and single "
            "hyphens, and must start and end with a letter or digit"
        )


def validate_rule(rule: str) -> None:
    """Refuse unknown macros and sizes out of range before anything is created."""
    if not rule.strip():
        raise NamingError("is empty")
    for m in _MACRO.finditer(rule):
        name, size = m.group(1), m.group(2)
        if name in _SIZED_MACROS:
            if size is None or not 1 <= int(size) <= 20:
                raise NamingError(f"uses {m.group(0)}; write {{{name}_N}} with N from 1 to 20")
        elif name not in _FIXED_MACROS or size is not None:
            raise NamingError(
                f"uses the unknown macro {m.group(0)}; known: {{client_id}}, {{service_id}}, "
                "{unixtime}, {date}, {time}, {random_digit_N}, {random_letter_N}"
            )
    leftover = _MACRO.sub("", rule)
    if "{" in leftover or "}" in leftover:
        raise NamingError("has an unbalanced or malformed macro")


def has_random_part(rule: str) -> bool:
    return any(m.group(1) in _SIZED_MACROS for m in _MACRO.finditer(rule))


def expand_rule(
    rule: str, *, client_id: int, service_id: int, now: datetime, choice: Callable[[str], str] = secrets.choice
) -> str:
    """The username a rule yields (lowercased), checked; raises NamingError naming the problem."""
    validate_rule(rule)

    def one(m: re.Match[str]) -> str:
        name, size = m.group(1), m.group(2)
        if name == "client_id":
            return str(client_id)
        if name == "service_id":
            return str(service_id)
        if name == "unixtime":
            return str(int(now.timestamp()))
        if name == "date":
            return now.strftime("%Y-%m-%d")
        if name == "time":
            return now.strftime("%H-%M-%S")
        alphabet = string.digits if name == "random_digit" else string.ascii_lowercase
        return "".join(choice(alphabet) for _ in range(int(size)))

    name = _MACRO.sub(one, rule).lower()
    check_username(name)
    return name


def bucket_prefix(username: str) -> str:
    return username + SEPARATOR


def owns_bucket(username: str, bucket: str) -> bool:
    return bucket.startswith(bucket_prefix(username))


def check_bucket_suffix(suffix: str, username_len: int = USERNAME_MAX) -> None:
    if not _SUFFIX.match(suffix):
        raise NamingError(
            f"'{suffix}' may hold only lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit"
        )
    if username_len + len(SEPARATOR) + len(suffix) > BUCKET_MAX:
        raise NamingError(
            f"'{suffix}' is too long: with a {username_len}-character username the bucket name "
            f"would exceed {BUCKET_MAX} characters"
        )


def default_bucket(username: str, suffix: str) -> str:
    check_bucket_suffix(suffix, len(username))
    return bucket_prefix(username) + suffix
