"""The reward lifecycle across functions, end to end on moto: a signup's reward waits for its
qualifying event, the host application's `POST /referrals/{id}/qualify` (the admin function) makes
it payable after the hold, and a flagged signup leaves the review queue once approved.

Not a recorded prefix (tests/lambdas/conftest.py): the calls here are two functions', each
recorded by its own test files.
"""

import importlib
import time
from collections.abc import Iterator

import pytest

from referral_admin import handler as admin
from referrals import contract as c
from referrals.lifecycle_settings import DAY_MS, LifecycleSettings
from reward_calculator import handler as reward
from tests.lambdas.admin_api import act, queue_event
from tests.lambdas.admin_api import invoke as invoke_admin
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import referral_of, sign_up

HOLD_DAYS = 7


@pytest.fixture
def qualified_by_event(aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The reward function qualifies nothing at signup; both functions hold rewards for HOLD_DAYS."""
    monkeypatch.setenv("REWARD_QUALIFICATION", "event")
    monkeypatch.setenv("REWARD_HOLD_DAYS", str(HOLD_DAYS))
    importlib.reload(reward)
    monkeypatch.setattr(admin, "SETTINGS", LifecycleSettings(hold_days=HOLD_DAYS))
    yield
    monkeypatch.delenv("REWARD_QUALIFICATION")
    monkeypatch.delenv("REWARD_HOLD_DAYS")
    importlib.reload(reward)


def epoch_ms() -> int:
    return int(time.time() * 1000)


def test_a_waiting_reward_becomes_payable_after_the_hold_once_qualified(aws: FakeAws, qualified_by_event) -> None:
    sign_up("alice")
    assert sign_up("bob", "alice", "bob@example.com")[0] == 200
    assert referral_of(aws, "bob")[c.STATUS] == c.STATUS_WAITING

    start = epoch_ms()
    status, body = act("bob", "qualify")
    end = epoch_ms()
    assert status == 200
    assert (body["status"], body["qualified"], body["rewardAmount"]) == ("payable", True, 10)
    stored = referral_of(aws, "bob")
    assert start <= stored[c.QUALIFIED_AT] <= end
    assert stored[c.PAYABLE_AT] == stored[c.QUALIFIED_AT] + HOLD_DAYS * DAY_MS  # from the qualify, not the signup
    assert stored[c.PAYABLE_KEY] == c.PAYABLE_KEY_VALUE
    assert act("bob", "qualify") == (200, body)  # a retried qualify: already so


def test_a_flagged_waiting_reward_needs_both_approval_and_qualification(aws: FakeAws, qualified_by_event) -> None:
    sign_up("alice", email="alice@example.com")
    assert sign_up("bob", "alice", "Alice+second@example.com")[0] == 200
    [queued] = invoke_admin(queue_event({"status": ["flagged"]}))[1]["items"]
    assert (queued["userId"], queued["signals"], queued["qualified"]) == ("bob", ["email_of_referrer"], False)

    assert act("bob", "approve")[1]["status"] == "waiting"  # cleared, still waiting for its event
    assert invoke_admin(queue_event({"status": ["flagged"]}))[1]["items"] == []
    assert act("bob", "qualify")[1]["status"] == "payable"
    stored = referral_of(aws, "bob")
    assert stored[c.PAYABLE_AT] == stored[c.QUALIFIED_AT] + HOLD_DAYS * DAY_MS
    assert c.FLAGGED_KEY not in stored


def test_a_flagged_reward_qualified_at_signup_is_payable_when_approved(aws: FakeAws) -> None:
    sign_up("alice", email="alice@example.com")
    sign_up("bob", "alice", "ALICE@example.com")
    stored = referral_of(aws, "bob")
    assert (stored[c.STATUS], stored[c.QUALIFIED_AT]) == (c.STATUS_FLAGGED, stored[c.REFERRAL_TIMESTAMP])
    assert act("bob", "qualify")[1]["status"] == "flagged"  # qualified already: already so
    status, body = act("bob", "approve")
    assert (status, body["status"]) == (200, "payable")
    assert referral_of(aws, "bob")[c.PAYABLE_KEY] == c.PAYABLE_KEY_VALUE
