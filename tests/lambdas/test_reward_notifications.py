"""The reward function sends nothing: the referral its transaction commits is the notification.

The stream relay publishes it (tests/lambdas/test_relay_*.py), so neither SNS nor a crash after
the commit can lose it, and there is no failed-notification mark or re-send path any more.
"""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from referrals import aws_clients
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay
from tests.lambdas.reward_api import emitted_metrics, invoke, referral_of, sign_up, stats_event

RECORDED = (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})


def test_no_path_of_the_reward_function_calls_sns(aws: FakeAws) -> None:
    with recorded_calls() as log:
        sign_up("alice")
        sign_up("alice")  # identical enrolment retry
        sign_up("bob", "alice")
        sign_up("bob", "alice")  # identical signup retry
        sign_up("bob", "carol")  # unknown code
        sign_up("alice", "bob")  # already signed up
        invoke(stats_event("alice"))
    assert log.calls
    assert [call for call in log.calls if not call.startswith("dynamodb:")] == []


def test_the_reward_function_needs_no_topic(aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SNS_TOPIC_ARN")
    sign_up("alice")
    assert sign_up("bob", "alice") == RECORDED


def test_an_sns_outage_leaves_signups_untouched_and_the_relay_delivers_later(
    aws: FakeAws, relay: Relay, capsys: pytest.CaptureFixture
) -> None:
    def outage(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS is down"}}, "Publish")

    sns = aws_clients.client("sns")
    sns.meta.events.register("before-call.sns", outage, unique_id="sns-outage")
    try:
        sign_up("alice")
        assert sign_up("bob", "alice") == RECORDED
        assert sign_up("bob", "alice") == RECORDED  # an identical retry: nothing to re-send
    finally:
        sns.meta.events.unregister("before-call.sns", unique_id="sns-outage")

    assert "notification_failed" not in referral_of(aws, "bob")  # the mark of the old design is gone
    assert "NotificationFailures" not in {name for name, _, _ in emitted_metrics(capsys.readouterr().out)}
    assert [body["userId"] for body in relay.bodies()] == ["bob"]
