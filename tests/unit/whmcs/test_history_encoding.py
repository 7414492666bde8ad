"""How a day's history row holds its bucket breakdown (pure): the JSON the usage run writes and the client area reads
back, and statements of history sized to stay under the server's packet limit."""

from __future__ import annotations

import pytest

from bridge.domain.values import BucketUsage
from bridge.whmcs.batch import sized_chunks
from bridge.whmcs.bucket_figures import decode, encode


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
