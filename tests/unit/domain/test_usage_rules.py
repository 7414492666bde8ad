"""The limit decision (bridge.domain.usage_rules.decide) and whether applying it changes anything (`acts_on`): the
usage cycle applies only the decisions that act, so a service whose figure did not move costs no work."""

from __future__ import annotations

import itertools

import pytest

from bridge.domain.policies import PolicyKind
from bridge.domain.usage_rules import LimitState, decide

LIMIT = 1000
WARN = 80  # percent: the warning line is 800 bytes


@pytest.mark.parametrize(
    ("current", "used", "acts", "why"),
    [
        (LimitState("standard", False, False), 100, False, "under the warning line, nothing remembered"),
        (LimitState("standard", False, False), 800, True, "crossing the warning line: a warning, remembered"),
        (LimitState("standard", True, False), 900, False, "still over the line, already warned"),
        (LimitState("standard", True, False), 100, True, "back under the line: the flag is cleared"),
        (LimitState("standard", True, False), 1000, True, "reaching the limit: limited policy and an email"),
        (LimitState("limited", True, True), 5000, False, "still over the limit, already limited"),
        (LimitState("limited", True, True), 10, True, "back under: the standard policy again"),
    ],
)
def test_a_decision_acts_only_where_the_policy_flags_or_an_email_change(
    current: LimitState, used: int, acts: bool, why: str
) -> None:
    assert decide(current, used, LIMIT, WARN).acts_on(current) is acts, why


def test_once_a_decision_is_applied_deciding_again_on_the_same_figure_changes_nothing() -> None:
    kinds: tuple[PolicyKind, ...] = ("standard", "limited")
    states = [LimitState(k, w, o) for k, w, o in itertools.product(kinds, (False, True), (False, True))]
    for current, used, limit in itertools.product(states, (0, 799, 800, 999, 1000, 10**15), (0, LIMIT)):
        applied = decide(current, used, limit, WARN).state
        again = decide(applied, used, limit, WARN)
        assert not again.acts_on(applied), (current, used, limit, again)


def test_an_unlimited_product_never_acts_on_an_account_that_was_never_limited() -> None:
    fresh = LimitState("standard", False, False)
    assert not decide(fresh, 10**18, 0, WARN).acts_on(fresh)
