"""The admin handler's edges: unknown rewards (404), unsigned calls (403), routes and methods, the
hold baked into payable_at, and an unexpected error (a logged 500). None of them writes."""

from datetime import UTC, datetime

import pytest

from referral_admin import handler as admin
from referrals import contract as c
from referrals.lifecycle_settings import DAY_MS, LifecycleSettings
from tests.lambdas.admin_api import act, admin_event, invoke, rewrite, seed
from tests.lambdas.aws_calls import acting_as, recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import all_items, referral_of, sign_up


def epoch_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@pytest.mark.parametrize("action", ["qualify", "approve", "reverse"])
def test_a_user_without_a_referral_is_a_404_after_one_read(aws: FakeAws, action: str) -> None:
    with acting_as("reward-calculator"):
        assert sign_up("alice")[0] == 201  # enrolled without a code: a profile, no referral
    before = all_items(aws)
    for user_id in ("alice", "nobody"):
        with recorded_calls() as log:
            status, body = act(user_id, action)
        assert (status, body) == (404, {"error": f"userId {user_id!r} has no referral"})
        assert log.calls == ["dynamodb:Query"]
    assert all_items(aws) == before


def test_an_unsigned_call_is_a_403_with_no_aws_call(aws: FakeAws) -> None:
    seed(aws, "waiting")
    before = all_items(aws)
    with recorded_calls() as log:
        status, body = invoke(admin_event("bob", "qualify", caller=None))
    assert (status, body) == (403, {"error": "the admin routes need a SigV4-signed (AWS_IAM) request"})
    assert log.calls == []
    assert all_items(aws) == before


def test_other_routes_and_methods(aws: FakeAws) -> None:
    event = admin_event("bob", "qualify") | {"resource": "/referrals/{userId}/delete"}
    assert invoke(event) == (404, {"error": "no such route"})
    assert invoke(admin_event("bob", "approve", method="GET")) == (405, {"error": "method not allowed; use POST"})


def test_an_unexpected_error_is_a_500_with_the_request_id(aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(aws, "waiting")
    monkeypatch.setenv("REFERRAL_TABLE_NAME", "no-such-table")
    assert act("bob", "qualify") == (500, {"error": "internal error", "requestId": "api-request-1"})


def test_qualify_starts_the_hold_now(aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "SETTINGS", LifecycleSettings(hold_days=3))
    seed(aws, "waiting")
    start = epoch_ms()
    status, body = act("bob", "qualify")
    end = epoch_ms()
    assert status == 200
    stored = referral_of(aws, "bob")
    assert start <= stored[c.QUALIFIED_AT] <= end
    assert stored[c.PAYABLE_AT] == stored[c.QUALIFIED_AT] + 3 * DAY_MS
    payable_at = datetime.fromtimestamp(int(stored[c.PAYABLE_AT]) / 1000, UTC)
    assert body["payableAt"] == payable_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert stored[c.PAYABLE_KEY] == c.PAYABLE_KEY_VALUE


@pytest.mark.parametrize(("qualified_days_ago", "held"), [(1, True), (10, False)])
def test_approve_keeps_the_hold_from_qualification_but_never_reaches_back_before_itself(
    aws: FakeAws, monkeypatch: pytest.MonkeyPatch, qualified_days_ago: int, held: bool
) -> None:
    monkeypatch.setattr(admin, "SETTINGS", LifecycleSettings(hold_days=3))
    item = seed(aws, "flagged_qualified")
    qualified_at = epoch_ms() - qualified_days_ago * DAY_MS
    rewrite(aws, "bob", int(item[c.REFERRAL_TIMESTAMP]), {c.QUALIFIED_AT: qualified_at})
    start = epoch_ms()
    assert act("bob", "approve")[0] == 200
    end = epoch_ms()
    payable_at = referral_of(aws, "bob")[c.PAYABLE_AT]
    if held:
        assert payable_at == qualified_at + 3 * DAY_MS
    else:
        assert start <= payable_at <= end
