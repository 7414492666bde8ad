"""A service's bucket breakdown of one day as `mod_s3bridge_usage_daily.bucket_figures` holds it: compact JSON,
`{"bucket": [bytes, objects], ...}` in name order. One row per service and day instead of one per bucket: the
day's history write and its retention trim touch half the rows or fewer (migration 17)."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable

from bridge.domain.values import BucketUsage

COLUMN = "mod_s3bridge_usage_daily.bucket_figures"


_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder: json.dumps with arguments builds one per call


# The breakdown keeps a day's MAX_BUCKETS largest buckets. A row is written in one statement and read back in one
# packet, both bounded by max_allowed_packet (4 MiB on MySQL 5.7; a longer CONCAT is NULL): 10,000 names of 63
# characters, escaped, are about 1 MB. Past that, a customer with tens of thousands of buckets would make the day's
# history write fail for every service on the server. The row's used_bytes, objects and buckets count them all.
MAX_BUCKETS = 10_000


def encode(buckets: Iterable[BucketUsage]) -> str:
    """The day's buckets as the column's text (the day's first run encodes one per service: formatted here, the
    names quoted by the json module), at most MAX_BUCKETS of them: the largest. A name listed twice (never from S3,
    where names are unique per server) has its figures added, so nothing a listing reported is dropped."""
    figures: dict[str, tuple[int, int]] = {}
    for b in buckets:
        size, objects = figures.get(b.name, (0, 0))
        figures[b.name] = (size + int(b.size), objects + int(b.objects))
    kept = sorted(figures.items())
    if len(kept) > MAX_BUCKETS:  # the largest, ties in name order: the same text for the same buckets
        kept = sorted(heapq.nlargest(MAX_BUCKETS, kept, key=lambda item: item[1]))
    quote = _JSON.encode
    return "{" + ",".join([f"{quote(name)}:[{size},{objects}]" for name, (size, objects) in kept]) + "}"


def decode(text: str | None) -> dict[str, tuple[int, int]]:
    """The column's text as {bucket: (bytes, objects)}; NULL (a day written before migration 17 without buckets, or
    none at all) is no buckets. Text that is not this shape raises ValueError naming the column."""
    if text is None or text == "":
        return {}
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{COLUMN} is not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{COLUMN} is not a JSON object of buckets")
    out: dict[str, tuple[int, int]] = {}
    for name, figures in raw.items():
        if (
            not isinstance(figures, list)
            or len(figures) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in figures)
        ):
            raise ValueError(f"{COLUMN}: bucket {name!r} does not hold [bytes, objects] as two whole numbers")
        out[name] = (figures[0], figures[1])
    return out
