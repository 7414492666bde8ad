"""The panel API's pure parts: parameter validation, envelopes, bearer tokens, signed continuation tokens."""

from __future__ import annotations

from datetime import date

import pytest

from bridge.domain.panel import cursor, tokens
from bridge.domain.panel.envelope import NOT_FOUND, PanelError, account_not_found, failure, success
from bridge.domain.panel.methods import METHODS, validate

SEED_METHODS = {
    "cancel_payment_account_deletion", "create_account", "create_bucket", "create_order", "delete_account",
    "delete_bucket", "delete_file", "delete_payment_account", "get_buckets", "get_buckets_rmq", "get_files",
    "get_users", "history", "list_plans", "show_key",
}  # fmt: skip


def test_every_seed_method_is_declared() -> None:
    assert set(METHODS) >= SEED_METHODS


def test_success_envelope_is_the_seeds() -> None:
    assert success("get_users", s3_users=[]) == {"result": "OK", "action": "get_users", "s3_users": []}


def test_failure_envelope_is_the_seeds_with_details_only_when_present() -> None:
    assert failure(account_not_found()) == {"code": -1, "message": NOT_FOUND}
    err = PanelError("s3/show_key: customer not found", {"error": NOT_FOUND})
    assert failure(err) == {"code": -1, "message": "s3/show_key: customer not found", "details": {"error": NOT_FOUND}}


def test_missing_action_is_the_seeds_sentence() -> None:
    with pytest.raises(PanelError, match=r"^action required$"):
        validate("", {})


def test_unknown_action_is_named() -> None:
    with pytest.raises(PanelError, match="unknown action 'drop_tables'"):
        validate("drop_tables", {})


def test_required_parameter_is_named() -> None:
    with pytest.raises(PanelError, match="parameter 's3uid' is required"):
        validate("create_bucket", {"bucket_name": "x"})


def test_types_are_converted_and_defaults_filled() -> None:
    got = validate("get_users", {"plan_id": "7", "period_from": "2026-01-01", "order": "total_storage_peak_gb"})
    assert got["plan_id"] == 7
    assert got["period_from"] == date(2026, 1, 1)
    assert got["limit"] == 100
    assert got["offset"] == 0
    assert got["order_by"] == "ASC"


@pytest.mark.parametrize(
    ("method", "raw", "problem"),
    [
        ("get_files", {"s3uid": "a", "bucket_name": "b", "max_keys": "101"}, "'max_keys' must be 1-100"),
        ("get_files", {"s3uid": "a", "bucket_name": "b", "max_keys": "1e9"}, "'max_keys' must be a whole number"),
        ("get_users", {"period_from": "2026-13-01"}, "'period_from' must be a date"),
        ("get_users", {"order": "email; DROP TABLE"}, "'order' must be one of"),
        ("show_key", {"s3uid": "a", "s3_key": "password"}, "'s3_key' must be one of access_key, secret_key"),
        ("create_bucket", {"s3uid": "a\x00b", "bucket_name": "b"}, "'s3uid' holds control characters"),
        ("create_bucket", {"s3uid": ["a"], "bucket_name": "b"}, "'s3uid' must be a string"),
        ("create_bucket", {"s3uid": "a", "bucket_name": "b" * 64}, "'bucket_name' is longer than 63"),
        ("delete_file", {"s3uid": "a", "bucket_name": "b", "filename": "é" * 513}, "is 1026 bytes"),
        ("delete_file", {"s3uid": "a", "bucket_name": "b", "filename": ["x"] * 1001}, "at most 1000"),
        ("create_key", {"s3uid": "a", "read_only": "maybe"}, "'read_only' must be true or false"),
    ],
)
def test_hostile_parameters_get_a_sentence_naming_them(method: str, raw: dict[str, object], problem: str) -> None:
    with pytest.raises(PanelError, match=problem):
        validate(method, raw)


def test_object_names_are_kept_byte_for_byte() -> None:
    name = " <script>alert(1)</script>/..x/ü " + "x" * 900  # '..x' is a name; a '..' segment is refused (below)
    got = validate("delete_file", {"s3uid": "a", "bucket_name": "b", "filename": name})
    assert got["filename"] == (name,)
    with pytest.raises(PanelError, match=r"'filename' has a '\.' or '\.\.' path segment"):
        validate("delete_file", {"s3uid": "a", "bucket_name": "b", "filename": "a/../b"})
    assert validate("delete_file", {"s3uid": "a", "bucket_name": "b", "filename": "a" * 1024})["filename"][0]


def test_token_round_trip_and_only_the_hash_is_kept() -> None:
    made = tokens.new_token("client")
    assert made.plain.startswith("s3b_c_")
    assert made.secret_hash not in made.plain
    presented = tokens.parse_token(made.plain)
    assert presented is not None
    assert presented.token_id == made.token_id
    assert presented.kind == "client"
    assert tokens.matches(presented, made.secret_hash)


def test_a_token_with_one_character_changed_does_not_match() -> None:
    made = tokens.new_token("admin")
    tampered = made.plain[:-1] + ("A" if made.plain[-1] != "A" else "B")
    presented = tokens.parse_token(tampered)
    assert presented is not None
    assert not tokens.matches(presented, made.secret_hash)


@pytest.mark.parametrize("text", ["", "s3b_x_0123456789ab_" + "a" * 43, "Bearer s3b", "s3b_c_0123_" + "a" * 43])
def test_malformed_tokens_are_refused(text: str) -> None:
    assert tokens.parse_token(text) is None


def test_bearer_header() -> None:
    assert tokens.bearer("Bearer abc") == "abc"
    assert tokens.bearer("Basic abc") is None
    assert tokens.bearer("Bearer ") is None


LISTING = cursor.Listing(7, "u-1--data", "photos/", "", "prefix")


def test_cursor_round_trip() -> None:
    tok = cursor.sign(LISTING, "next-key", secret="s" * 32, now=1000.0)
    assert cursor.open_token(tok, LISTING, secrets=["s" * 32], now=1000.0) == "next-key"


def test_cursor_verifies_under_an_older_secret_during_rotation() -> None:
    tok = cursor.sign(LISTING, "k", secret="old" * 10, now=0.0)
    assert cursor.open_token(tok, LISTING, secrets=["new" * 10, "old" * 10], now=1.0) == "k"


@pytest.mark.parametrize(
    "other",
    [
        cursor.Listing(8, "u-1--data", "photos/", "", "prefix"),  # another service
        cursor.Listing(7, "u-1--other", "photos/", "", "prefix"),  # another bucket
        cursor.Listing(7, "u-1--data", "", "", "prefix"),  # another folder
    ],
)
def test_cursor_of_another_listing_is_refused(other: cursor.Listing) -> None:
    tok = cursor.sign(LISTING, "k", secret="s" * 32, now=0.0)
    with pytest.raises(PanelError, match="not valid for this listing"):
        cursor.open_token(tok, other, secrets=["s" * 32], now=0.0)


def test_forged_and_expired_cursors_are_refused() -> None:
    tok = cursor.sign(LISTING, "k", secret="s" * 32, now=0.0)
    head, _payload, mac = tok.split(".")
    forged = cursor.sign(LISTING, "zzz", secret="attacker-secret-0000", now=0.0)
    for bad in (forged, f"{head}.{forged.split('.')[1]}.{mac}", "c1.!!.!!", "raw-minio-token", tok + "x"):
        with pytest.raises(PanelError, match="not valid"):
            cursor.open_token(bad, LISTING, secrets=["s" * 32], now=0.0)
    with pytest.raises(PanelError, match="expired"):
        cursor.open_token(tok, LISTING, secrets=["s" * 32], now=cursor.LIFETIME_S + 1.0)


def test_every_language_translates_every_panel_string_with_the_same_placeholders() -> None:
    import json
    import re

    from bridge.views.languages import LANGUAGES
    from bridge.views.panel_render import PANEL_LOCALES

    english = json.loads((PANEL_LOCALES / "english.json").read_text())
    for language in LANGUAGES:
        strings = json.loads((PANEL_LOCALES / f"{language}.json").read_text(encoding="utf-8"))
        assert set(strings) == set(english), language
        for key, text in strings.items():
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", english[key])), (language, key)


def test_panel_config_sections_are_checked_and_named() -> None:
    from bridge.config import ConfigError, parse_config

    base = {"daemon": {"secrets": ["s" * 32]}, "whmcs_db": {"host": "h", "user": "u", "password": "p", "database": "d"}}
    cfg = parse_config(
        {
            **base,
            "api": {"listen": "127.0.0.1:8751"},
            "whmcs_api": {"url": "https://w.example/includes/api.php", "identifier": "i", "secret": "x"},
        }
    )
    assert cfg.api is not None
    assert cfg.api.listen.port == 8751
    assert cfg.whmcs_api is not None
    assert "x" in cfg.secret_values()  # the API credential's secret is redacted from logs like the others
    with pytest.raises(ConfigError, match=r"\[whmcs_api\] url must be the http\(s\):// URL of WHMCS's"):
        parse_config({**base, "whmcs_api": {"url": "https://w.example/", "identifier": "i", "secret": "x"}})
    with pytest.raises(ConfigError, match=r"\[api\] listen is missing"):
        parse_config({**base, "api": {}})
    with pytest.raises(ConfigError, match=r"\[api\] presign_expiry must be at most 900, got 86400"):
        parse_config({**base, "api": {"listen": "127.0.0.1:8751", "presign_expiry": 86400}})
