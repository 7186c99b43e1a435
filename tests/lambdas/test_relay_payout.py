"""The relay on the real streams of a payout: one payout.completed per completed payout, nothing else.

The referrals are made by the reward handler, on a June 2025 clock so that the payout handler
(on the real clock) can pay a month that has ended.
"""

from datetime import UTC, datetime
from typing import Any

import pytest

from referrals import signup
from tests.lambdas.aws_calls import acting_as
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay, invoke, published
from tests.lambdas.reward_api import sign_up
from tests.lambdas.test_payout_support import FakeContext

MONTH = "2025-06"
SIGNED_UP_AT = datetime(2025, 6, 15, 9, 30, tzinfo=UTC)


class _June(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> "_June":
        return cls.fromtimestamp(SIGNED_UP_AT.timestamp(), tz)


@pytest.fixture
def payout(aws: FakeAws) -> Any:
    from payout_processor.handler import handler

    def run(request_id: str) -> dict:
        with acting_as("payout-processor"):
            return handler({"payoutMonth": MONTH}, FakeContext(aws_request_id=request_id))

    return run


@pytest.fixture
def june_referrals(aws: FakeAws, relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    """alice refers bob and carol, bob refers dave, in June 2025; their notifications are read off."""
    monkeypatch.setattr(signup, "datetime", _June)
    with acting_as("reward-calculator"):
        for user, code in [("alice", None), ("bob", "alice"), ("carol", "alice"), ("dave", "bob")]:
            assert sign_up(user, code)[0] in (200, 201)
    assert [body["userId"] for body in relay.bodies()] == ["bob", "carol", "dave"]


@pytest.mark.usefixtures("june_referrals")
def test_a_completed_payout_is_one_payout_completed_message_and_its_claims_are_none(
    aws: FakeAws, relay: Relay, payout: Any
) -> None:
    result = payout("request-1")
    assert (result["status"], result["rewardsPaid"], result["totalAmount"]) == ("completed", 3, "30.00")

    [event_of_referrals, event_of_runs] = relay.events()
    changed = [record["eventName"] for record in event_of_referrals["Records"]]
    assert changed == ["MODIFY"] * 5  # 3 claims, 2 referrer credits
    # The lease creates the run record; marking its clawbacks settled and the completion modify it
    # (only the completion is a message). (moto streams an UpdateItem that creates an item as two
    # INSERTs, the bare key first; DynamoDB streams one.)
    assert [record["eventName"] for record in event_of_runs["Records"]][-3:] == ["INSERT", "MODIFY", "MODIFY"]
    for event in (event_of_referrals, event_of_runs):
        relay.responses.append(invoke(event))

    [message] = published(aws)
    assert message.text == (
        '{"type":"payout.completed","payoutId":"payout-2025-06","payoutMonth":"2025-06","totalReferrers":2,'
        f'"totalAmount":30.00,"reportLocation":"s3://{aws.bucket}/payouts/2025-06/payout-report.csv",'
        '"grossAmount":30.00,"clawedBackAmount":0.00,"carriedForwardAmount":0.00,"clawbacksSettled":0,'
        '"eventId":"payout.completed:payout-2025-06"}'
    )
    assert (message.event_type, message.attribute_type) == ("payout.completed", "String")
    assert relay.responses[-2:] == [{"batchItemFailures": []}] * 2


@pytest.mark.usefixtures("june_referrals")
def test_running_a_completed_payout_again_publishes_nothing(aws: FakeAws, relay: Relay, payout: Any) -> None:
    payout("request-1")
    assert len(relay.messages()) == 1
    assert payout("request-2")["status"] == "already_completed"
    assert relay.events() == []  # a refused lease changes nothing, so the streams hold nothing new
    assert relay.messages() == []
