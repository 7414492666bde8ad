"""A service's bucket breakdown of one day as `mod_s3bridge_usage_daily.bucket_figures` holds it: compact JSON,
`{"bucket": [bytes, objects], ...}` in name order. One row per service and day instead of one per bucket: the
day's history write and its retention trim touch half the rows or fewer (migration 17)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from bridge.domain.values import BucketUsage

COLUMN = "mod_s3bridge_usage_daily.bucket_figures"


_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder: json.dumps with arguments builds one per call


def encode(buckets: Iterable[BucketUsage]) -> str:
    """The day's buckets as the column's text (the day's first run encodes one per service: formatted here, the
    names quoted by the json module). A name listed twice (never from S3, where names are unique per server) has
    its figures added, so nothing a listing reported is dropped."""
    figures: dict[str, tuple[int, int]] = {}
    for b in buckets:
        size, objects = figures.get(b.name, (0, 0))
        figures[b.name] = (size + int(b.size), objects + int(b.objects))
    quote = _JSON.encode
    return (
        "{" + ",".join([f"{quote(name)}:[{size},{objects}]" for name, (size, objects) in sorted(figures.items())]) + "}"
    )


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
