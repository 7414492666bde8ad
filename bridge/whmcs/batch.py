"""What the stores' batched statements are made of: steps (statements run inside one caller's transaction), chunks,
a derived table of rows to JOIN an UPDATE to, service ids as SQL text, and moments as our DATETIME columns hold them.
Shared by every store that writes many services at once (usage, services), so each owns only its tables' SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bridge.whmcs.db import Conn

CHUNK = 500
JOIN_CHUNK = 1000
T = TypeVar("T")

Step = Callable[[Conn, Any], None]  # statements on one connection and cursor, inside the caller's transaction


def db_time(when: datetime | None) -> datetime | None:
    """A moment as our own DATETIME columns hold it: naive UTC, whole seconds (so it compares equal once stored)."""
    if when is None:
        return None
    return (when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when).replace(microsecond=0)


def int_list(ids: Iterable[int]) -> str:
    """Service ids as SQL text: ints formatted here (nothing from a request reaches the SQL text). A list of ints
    costs pymysql a per-value escape and the statement count nothing, whatever its length."""
    return ",".join([str(int(i)) for i in ids])


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def sized_chunks(texts: Sequence[str], max_chars: int) -> Iterable[Sequence[str]]:
    """SQL value texts in runs of at most max_chars characters together (a text longer than that goes alone), so
    that a statement stays under the server's max_allowed_packet whatever each row holds."""
    start, size = 0, 0
    for i, text in enumerate(texts):
        if i > start and size + len(text) > max_chars:
            yield texts[start:i]
            start, size = i, 0
        size += len(text) + 1
    if start < len(texts):
        yield texts[start:]


def rows(columns: Sequence[str], n: int) -> str:
    """A derived table of n rows of placeholders, to JOIN an UPDATE to (plain SQL: MySQL 8 and MariaDB alike)."""
    first = "SELECT " + ", ".join(f"%s AS {c}" for c in columns)
    return "(" + first + (" UNION ALL SELECT " + ", ".join(["%s"] * len(columns))) * (n - 1) + ")"
