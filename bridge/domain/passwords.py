"""Password rules (`length:charset`) and a cryptographically secure generator (pure but for the CSPRNG)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bridge.domain.secret import Secret

# MinIO secret keys are 8 to 40 characters.
MIN_LENGTH, MAX_LENGTH = 8, 40
MIN_DISTINCT = 10
DEFAULT_RULE = "24:abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class PasswordRuleError(ValueError):
    pass


@dataclass(frozen=True)
class PasswordRule:
    length: int
    charset: str

    @classmethod
    def parse(cls, rule: str) -> PasswordRule:
        text = rule.strip() or DEFAULT_RULE
        length_s, sep, charset = text.partition(":")
        if not sep or not length_s.strip().isdigit():
            raise PasswordRuleError("must be 'length:charset', for example '24:abcdefghjkmnpqrstuvwxyz23456789'")
        length = int(length_s)
        if not MIN_LENGTH <= length <= MAX_LENGTH:
            raise PasswordRuleError(
                f"length {length} is out of range; MinIO secret keys need {MIN_LENGTH}-{MAX_LENGTH}"
            )
        distinct = "".join(sorted(set(charset)))
        if len(distinct) < MIN_DISTINCT:
            raise PasswordRuleError(f"charset has {len(distinct)} distinct characters; at least {MIN_DISTINCT} needed")
        if any(not (c.isascii() and c.isprintable()) or c.isspace() for c in distinct):
            raise PasswordRuleError("charset may hold only printable ASCII characters without spaces")
        return cls(length, distinct)

    def generate(self) -> Secret:
        return Secret("".join(secrets.choice(self.charset) for _ in range(self.length)))


def check_password(password: str) -> None:
    """A password set by an admin or client (ChangePassword) must still be a valid MinIO secret key."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise PasswordRuleError(f"must be {MIN_LENGTH}-{MAX_LENGTH} characters for MinIO, got {len(password)}")
