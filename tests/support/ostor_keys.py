"""Key pairs the ostor tests share: published examples, never real credentials."""

from __future__ import annotations

from bridge.backends.ostor.signing import Keys

AWS_KEYS = Keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")  # AWS documentation's example
GUIDE_KEYS = Keys("a14040e0b2ef8b28FZZ8", "dbwTnQTW602aAAdq8DQVFzB6yrTCFTNiGB8C8RFA")  # the guide's system user
