"""How a day's history row holds its bucket breakdown (pure): the JSON the usage run writes and the client area reads
back, and statements of history sized to stay under the server's packet limit."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import pytest

from bridge.domain.usage_rules import ServiceUsage
from bridge.domain.values import BucketUsage
from bridge.whmcs.batch import sized_chunks
from bridge.whmcs.bucket_figures import MAX_BUCKETS, decode, encode
from bridge.whmcs.usage_store import history_step


def test_a_breakdown_is_compact_json_in_name_order() -> None:
    text = encode([BucketUsage("u--b", 5, 2), BucketUsage("u--a", 7, 1)])
    assert text == '{"u--a":[7,1],"u--b":[5,2]}'


def test_what_is_written_reads_back_the_same() -> None:
    buckets = [BucketUsage(f"u--{i}", 10**12 + i, i) for i in range(50)]
    assert decode(encode(buckets)) == {b.name: (b.size, b.objects) for b in buckets}


def test_a_bucket_listed_twice_has_its_figures_added_not_dropped() -> None:
    assert decode(encode([BucketUsage("u--a", 5, 1), BucketUsage("u--a", 7, 2)])) == {"u--a": (12, 3)}


def test_no_buckets_and_null_read_as_none() -> None:
    assert encode([]) == "{}"
    assert decode("{}") == {}
    assert decode(None) == {}


def test_a_name_that_needs_quoting_survives() -> None:
    name = 'odd"name\\with\u00e9'
    assert decode(encode([BucketUsage(name, 1, 1)])) == {name: (1, 1)}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"a": [1]}', "bucket 'a'"),
        ('{"a": [1, -2]}', "bucket 'a'"),
        ('{"a": [true, 2]}', "bucket 'a'"),
        ('{"a": {"bytes": 1}}', "bucket 'a'"),
    ],
)
def test_bad_text_is_an_error_naming_the_column(text: str, names: str) -> None:
    with pytest.raises(ValueError, match=r"mod_s3bridge_usage_daily\.bucket_figures") as e:
        decode(text)
    assert names in str(e.value)


def test_history_statements_stay_under_the_size_given_and_keep_every_row_in_order() -> None:
    texts = [f"({i},'{'x' * (i % 7 * 10)}')" for i in range(1000)]
    runs = list(sized_chunks(texts, 2000))
    assert [t for run in runs for t in run] == texts
    assert len(runs) > 1
    assert all(len(",".join(run)) <= 2000 for run in runs)


def test_a_row_larger_than_the_size_goes_alone() -> None:
    assert list(sized_chunks(["a" * 10, "b" * 50, "c"], 20)) == [["a" * 10], ["b" * 50], ["c"]]
    assert list(sized_chunks([], 20)) == []


def test_a_breakdown_keeps_the_largest_buckets_up_to_the_cap() -> None:
    buckets = [BucketUsage(f"u--{i:05}", 1000 + i, 1) for i in range(MAX_BUCKETS + 5)]
    kept = decode(encode(reversed(buckets)))
    assert len(kept) == MAX_BUCKETS
    assert set(kept) == {b.name for b in buckets[5:]}  # the five smallest are the ones left out


class _Recorded:
    """A connection and cursor that keep the statements sent (escaping as pymysql does)."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def escape(self, text: str) -> str:
        import pymysql.converters

        return "'" + pymysql.converters.escape_string(text) + "'"

    def execute(self, sql: str, args: Any = None) -> None:
        self.sql.append(sql)


def test_a_customer_with_a_hundred_thousand_buckets_cannot_push_the_days_history_past_mysql_57s_packet() -> None:
    """One hostile customer must not make the day's history write fail for every service on the server: each
    statement stays under 4 MiB (MySQL 5.7's max_allowed_packet), whatever one service holds."""
    hoarder = ServiceUsage(1, "u", [BucketUsage(f"u--{i:06}{'x' * 53}", i, 1) for i in range(100_000)])
    others = [ServiceUsage(sid, f"o{sid}", [BucketUsage(f"o{sid}--data", 5, 1)]) for sid in range(2, 1000)]
    step = history_step([hoarder, *others], date(2026, 12, 3))
    assert step is not None
    recorded = _Recorded()
    step(cast(Any, recorded), recorded)  # a stand-in for pymysql: escape and execute only
    assert all(len(sql.encode()) < 4 * 1024 * 1024 for sql in recorded.sql)
    assert sum(sql.count("),(") + 1 for sql in recorded.sql) == 999  # every service has its row
