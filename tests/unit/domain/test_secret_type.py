"""Secrets by type (bridge/domain/secret.py): every secret an answer carries is found for masking, wherever it sits;
an answer field that always holds a secret refuses a plain string (a branch that forgot fails here, not in a log)."""

from __future__ import annotations

import json

import pytest

from bridge.domain import effects
from bridge.domain.panel.envelope import success
from bridge.domain.panel.tokens import new_token
from bridge.domain.passwords import PasswordRule
from bridge.domain.secret import Secret, UnmarkedSecret, secrets_in
from bridge.domain.values import KeyPair


def test_secrets_are_found_at_any_depth_and_serialize_as_text() -> None:
    answer = {"envelope": {"keys": [{"secret_key": Secret("deep-secret-1")}], "note": "plain text"},
              "pair": (Secret("tuple-secret-22"),)}  # fmt: skip
    assert secrets_in(answer, [effects.store_credentials(1, "u", Secret("effect-secret-333"))]) == [
        "effect-secret-333", "tuple-secret-22", "deep-secret-1",
    ]  # fmt: skip
    assert json.loads(json.dumps(answer))["envelope"]["keys"][0]["secret_key"] == "deep-secret-1"
    assert "deep-secret" not in repr(answer)


def test_secrets_are_marked_where_they_are_born() -> None:
    assert isinstance(PasswordRule.parse("").generate(), Secret)
    assert isinstance(new_token("client").plain, Secret)
    assert isinstance(KeyPair("AKIA", "plain-secret-key").secret_key, Secret)


@pytest.mark.parametrize("field", ["secret_key", "token", "password"])
def test_an_answer_field_that_holds_a_secret_refuses_a_plain_string(field: str) -> None:
    with pytest.raises(UnmarkedSecret, match=f"field '{field}' carries a secret that is not marked"):
        success("create_key", **{field: "forgot-to-mark"})
    assert success("create_key", **{field: Secret("marked-secret")})[field] == "marked-secret"
    assert success("get_files", continuation_token="not-a-secret")["continuation_token"] == "not-a-secret"


def test_an_effect_carrying_a_password_refuses_a_plain_string() -> None:
    with pytest.raises(UnmarkedSecret):
        effects.localapi("UpdateClientProduct", serviceid=1, servicepassword="forgot-to-mark")
