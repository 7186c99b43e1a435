"""The relay on the real stream of the reward lifecycle: one message per transition, none for the
clawback ledger's bookkeeping (docs/lifecycle-design.md#events).

The admin actions run through the admin handler (their calls recorded for the admin function),
the payout's claim through its store (recorded for the payout function), signups through the
reward handler; what the signup path does not write yet (a flagged signup), the payout's
settlement of a clawback, carries and e-mail keys are written with plain boto3 as their writers
store them. The relay reads moto's stream and runs as Lambda would (relay_api.py).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from referrals import aws_clients, exact_json
from referrals import contract as c
from tests.lambdas.admin_api import act, claim, rewrite, seed, table
from tests.lambdas.aws_calls import acting_as
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay, invoke, published
from tests.lambdas.reward_api import referral_of

SIGNED_UP_AT = 1_796_000_000_123


def seeded(aws: FakeAws, position: str, user_id: str = "bob") -> int:
    """The reward of `user_id` (referred by alice) in `position`; returns its referral timestamp."""
    with acting_as("reward-calculator"):
        return int(seed(aws, position, user_id)[c.REFERRAL_TIMESTAMP])


def admin(user_id: str, action: str, reason: str = "refunded order 4411") -> None:
    with acting_as("referral-admin"):
        status, body = act(user_id, action, reason)
    assert status == 200, body


def put_flagged_signup(aws: FakeAws, user_id: str = "bob", signals: frozenset[str] = frozenset()) -> None:
    """A referral item as the signup writes one flagged by a review signal."""
    table(aws).put_item(
        Item={
            c.USER_ID: user_id,
            c.REFERRAL_TIMESTAMP: SIGNED_UP_AT,
            c.REFERRER_ID: "alice",
            c.EMAIL: f"{user_id}@example.com",
            c.SIGNUP_DATE: "2026-11-30T10:00:00.123Z",
            c.REWARD_AMOUNT: Decimal("12.50"),
            c.REFERRAL_NUMBER: 1,
            c.STATUS: c.STATUS_FLAGGED,
            c.FLAGGED_KEY: c.FLAGGED_KEY_VALUE,
            c.REVIEW_SIGNALS: set(signals or {"email_of_referrer"}),
        }
    )


def test_each_admin_transition_is_one_message_with_the_designs_body(aws: FakeAws, relay: Relay) -> None:
    seeded(aws, "waiting", "bob")
    seeded(aws, "flagged", "carol")
    seeded(aws, "flagged", "dave")
    seeded(aws, "payable", "erin")
    relay.messages()  # the signups and the seeding

    admin("bob", "qualify")  # waiting -> payable
    admin("carol", "qualify")  # flagged -> flagged, qualified
    admin("carol", "approve")  # -> payable
    admin("dave", "approve")  # flagged, not qualified -> waiting
    admin("erin", "reverse", "refunded order 4411")  # payable -> reversed
    admin("bob", "qualify")  # a repeat writes nothing: no message

    assert [m.text for m in relay.messages()] == [
        '{"type":"reward.qualified","userId":"bob","referrerId":"alice","rewardAmount":10.00,"status":"payable",'
        '"eventId":"reward.qualified:bob"}',
        '{"type":"reward.qualified","userId":"carol","referrerId":"alice","rewardAmount":10.00,"status":"flagged",'
        '"eventId":"reward.qualified:carol"}',
        '{"type":"reward.approved","userId":"carol","referrerId":"alice","rewardAmount":10.00,"status":"payable",'
        '"eventId":"reward.approved:carol"}',
        '{"type":"reward.approved","userId":"dave","referrerId":"alice","rewardAmount":10.00,"status":"waiting",'
        '"eventId":"reward.approved:dave"}',
        '{"type":"reward.reversed","userId":"erin","referrerId":"alice","rewardAmount":10.00,'
        '"reason":"refunded order 4411","eventId":"reward.reversed:erin"}',
    ]
    assert all(response == {"batchItemFailures": []} for response in relay.responses)


def test_a_legacy_pending_reward_reversed_is_only_reward_reversed(aws: FakeAws, relay: Relay) -> None:
    seeded(aws, "legacy_pending")
    assert [m.body["status"] for m in relay.messages()] == ["payable"]  # referral.rewarded: legacy is payable
    admin("bob", "reverse", "fraud")
    assert referral_of(aws, "bob")[c.QUALIFIED_AT]  # the reversal set qualified_at in the same change
    assert [(m.event_type, m.body.get("reason")) for m in relay.messages()] == [("reward.reversed", "fraud")]


def test_a_paid_reward_clawed_back_is_one_message_from_its_clawback_item(aws: FakeAws, relay: Relay) -> None:
    seeded(aws, "paid")
    relay.messages()
    admin("bob", "reverse", "chargeback")

    [event] = relay.events()
    changes = sorted((r["eventName"], r["dynamodb"]["Keys"][c.USER_ID]["S"]) for r in event["Records"])
    assert changes == [("INSERT", "bob#clawback"), ("MODIFY", "bob")]  # the paid item marked, its clawback
    assert invoke(event) == {"batchItemFailures": []}  # the clawback's INSERT no longer fails the relay
    assert [m.text for m in published(aws)] == [
        '{"type":"reward.clawed_back","userId":"bob","referrerId":"alice","rewardAmount":10.00,'
        '"reason":"chargeback","eventId":"reward.clawed_back:bob"}'
    ]


def test_the_payouts_claim_settlements_carries_and_email_keys_publish_nothing(aws: FakeAws, relay: Relay) -> None:
    timestamp = seeded(aws, "legacy_pending")  # what the payout's claim takes today
    seeded(aws, "paid", "carol")
    admin("carol", "reverse", "chargeback")
    relay.messages()

    with acting_as("payout-processor"):
        assert claim(aws, "bob", timestamp)  # -> paid
    clawback = (f"carol{c.CLAWBACK_SUFFIX}", int(referral_of(aws, "carol")[c.REFERRAL_TIMESTAMP]))
    rewrite(aws, *clawback, {c.STATUS: c.CLAWBACK_SETTLED, c.PAYOUT_ID: "payout-2026-12"}, (c.OPEN_CLAWBACK_KEY,))
    carry = {c.USER_ID: f"alice{c.CARRY_SUFFIX}", c.REFERRAL_TIMESTAMP: 1_798_761_600_000}
    table(aws).put_item(
        Item=carry
        | {
            c.REFERRER_ID: "alice",
            c.REWARD_AMOUNT: Decimal("2.50"),
            c.STATUS: c.CLAWBACK_OPEN,
            c.OPEN_CLAWBACK_KEY: c.OPEN_CLAWBACK_KEY_VALUE,
            c.CLAWBACK_AT: carry[c.REFERRAL_TIMESTAMP],
        }
    )
    rewrite(aws, carry[c.USER_ID], carry[c.REFERRAL_TIMESTAMP], {c.STATUS: c.CLAWBACK_SETTLED}, (c.OPEN_CLAWBACK_KEY,))
    table(aws).delete_item(Key=carry)
    table(aws).put_item(Item={c.USER_ID: "9f86d081884c7d65#email", c.REFERRAL_TIMESTAMP: 0, "owner": "bob"})

    assert relay.messages() == []
    assert len(relay.responses) >= 1
    assert all(response == {"batchItemFailures": []} for response in relay.responses)


def test_a_flagged_signup_is_referral_rewarded_then_reward_flagged(aws: FakeAws, relay: Relay) -> None:
    put_flagged_signup(aws, signals=frozenset({"referral_burst", "email_of_other_user"}))
    messages = relay.messages()
    assert [(m.event_type, m.attribute_type) for m in messages] == [
        ("referral.rewarded", "String"),
        ("reward.flagged", "String"),
    ]
    assert [m.text for m in messages] == [
        '{"type":"referral.rewarded","userId":"bob","referrerId":"alice","rewardAmount":12.50,"referralCount":1,'
        '"status":"flagged","eventId":"referral.rewarded:bob"}',
        '{"type":"reward.flagged","userId":"bob","referrerId":"alice","rewardAmount":12.50,'
        '"signals":["email_of_other_user","referral_burst"],"eventId":"reward.flagged:bob"}',
    ]


@contextmanager
def sns_refuses_once(event_type: str) -> Iterator[list[str]]:
    """SNS answers 500 to the first publish of a message of this type; yields what it refused."""
    refused: list[str] = []

    def refuse(params: dict, **_: Any) -> None:
        if not refused and params["MessageAttributes"][c.EVENT_TYPE_ATTRIBUTE]["StringValue"] == event_type:
            refused.append(params["Message"])
            raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS is down"}}, "Publish")

    sns = aws_clients.client("sns")
    sns.meta.events.register("before-parameter-build.sns.Publish", refuse, unique_id="sns-refuses-once")
    try:
        yield refused
    finally:
        sns.meta.events.unregister("before-parameter-build.sns.Publish", unique_id="sns-refuses-once")


def test_a_flagged_signup_whose_second_publish_fails_is_retried_whole(aws: FakeAws, relay: Relay) -> None:
    put_flagged_signup(aws, "bob")
    seeded(aws, "payable", "carol")  # alice's enrolment and carol's signup come after bob's in the stream
    [event] = relay.events()
    [bob] = [r for r in event["Records"] if r["dynamodb"]["Keys"][c.USER_ID]["S"] == "bob"]

    with sns_refuses_once("reward.flagged") as refused:
        response = invoke(event)

    assert [exact_json.loads(text)["eventId"] for text in refused] == ["reward.flagged:bob"]
    assert response == {"batchItemFailures": [{"itemIdentifier": bob["dynamodb"]["SequenceNumber"]}]}
    first = [m.text for m in published(aws)]
    assert [exact_json.loads(text)["eventId"] for text in first] == ["referral.rewarded:bob", "referral.rewarded:carol"]

    # Lambda retries from the reported record: bob's whole record, then what followed it.
    sequence = int(bob["dynamodb"]["SequenceNumber"])
    retried = {"Records": [r for r in event["Records"] if int(r["dynamodb"]["SequenceNumber"]) >= sequence]}
    assert invoke(retried) == {"batchItemFailures": []}
    again = [m.text for m in published(aws)]
    assert [exact_json.loads(text)["eventId"] for text in again] == [
        "referral.rewarded:bob",
        "reward.flagged:bob",
        "referral.rewarded:carol",
    ]
    assert again[0] == first[0] and again[2] == first[1]  # the same bytes again: consumers drop them by eventId
