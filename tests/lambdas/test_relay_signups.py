"""The relay on the real stream of what the reward function writes: one message per referral, none else.

Each test runs the reward handler (its calls recorded for the reward function), reads the referral
table's stream from moto and hands it to the relay's handler as Lambda would (relay_api.py).
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from referrals import aws_clients
from referrals import contract as c
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import acting_as
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay, invoke, published
from tests.lambdas.reward_api import one_request_at_a_time, referral_items, sign_up

REWARD_FUNCTION = "reward-calculator"


def reward_function_signs_up(*signups: tuple[str, str | None]) -> list[tuple[int, Any]]:
    with acting_as(REWARD_FUNCTION):
        return [sign_up(user, code) for user, code in signups]


def test_each_referral_is_one_referral_rewarded_message_with_the_exact_body(
    aws: FakeAws, relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reward, "TIERS", reward.parse_tiers('{"1": "12.50", "2": "7.05"}'))
    answers = reward_function_signs_up(
        ("alice", None), ("bob", "alice"), ("carol", "alice"), ("dave", "bob"), ("erin", None)
    )
    assert [status for status, _ in answers] == [201, 200, 200, 200, 201]

    messages = relay.messages()

    assert [m.text for m in messages] == [
        '{"type":"referral.rewarded","userId":"bob","referrerId":"alice","rewardAmount":12.50,"referralCount":1,'
        '"status":"payable","eventId":"referral.rewarded:bob"}',
        '{"type":"referral.rewarded","userId":"carol","referrerId":"alice","rewardAmount":7.05,"referralCount":2,'
        '"status":"payable","eventId":"referral.rewarded:carol"}',
        '{"type":"referral.rewarded","userId":"dave","referrerId":"bob","rewardAmount":12.50,"referralCount":1,'
        '"status":"payable","eventId":"referral.rewarded:dave"}',
    ]
    assert {(m.event_type, m.attribute_type) for m in messages} == {("referral.rewarded", "String")}
    assert relay.responses == [{"batchItemFailures": []}]


def test_enrolments_tickets_retries_and_refusals_publish_nothing(aws: FakeAws, relay: Relay) -> None:
    reward_function_signs_up(("alice", None), ("carol", None), ("bob", "alice"))
    assert len(relay.messages()) == 1

    answers = reward_function_signs_up(
        ("alice", None),  # identical enrolment retry: a refused put
        ("bob", "alice"),  # identical signup retry: a ticket, the stored referral, the ticket given back
        ("bob", "carol"),  # 409: a ticket on carol's queue, given back
        ("frank", "nobody"),  # 404: nothing written
        ("gina", None),  # an enrolment: a profile
    )
    assert [status for status, _ in answers] == [201, 200, 409, 404, 201]

    [event] = relay.events()
    changes = [(record["eventName"], record["dynamodb"]["Keys"][c.USER_ID]["S"]) for record in event["Records"]]
    # Each referral attempt takes a ticket on the referrer's queue item and gives it back (a retry,
    # a 409); an enrolment writes a profile and its queue. None of these is an event.
    assert changes == [
        ("MODIFY", "alice#signup-queue"),
        ("MODIFY", "alice#signup-queue"),
        ("MODIFY", "carol#signup-queue"),
        ("MODIFY", "carol#signup-queue"),
        ("INSERT", "gina"),
        ("INSERT", "gina#signup-queue"),
    ]
    assert invoke(event) == {"batchItemFailures": []}
    assert published(aws) == []


def test_simultaneous_signups_for_one_referrer_each_publish_once(
    aws: FakeAws, relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_request_at_a_time(monkeypatch)
    reward_function_signs_up(("ref", None))
    with acting_as(REWARD_FUNCTION), ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda n: sign_up(f"user-{n}", "ref"), range(20)))
    rewarded = {f"user-{n}": body for n, (status, body) in enumerate(answers) if status == 200}
    assert len(rewarded) >= 15  # some may give up under contention (503); they wrote no referral

    bodies = relay.bodies()

    assert sorted(b["userId"] for b in bodies) == sorted(rewarded)
    assert len({b["eventId"] for b in bodies}) == len(bodies)
    assert sorted(b["referralCount"] for b in bodies) == list(range(1, len(rewarded) + 1))
    for body in bodies:
        answer = rewarded[body["userId"]]
        assert (body["referralCount"], body["rewardAmount"]) == (answer["referralCount"], answer["rewardAmount"])
    assert len(referral_items(aws)) == len(bodies)


class Killed(BaseException):
    """Like Lambda stopping the runtime: no except or finally block of the handler reacts."""


def test_a_reward_function_that_dies_right_after_its_commit_is_still_notified(aws: FakeAws, relay: Relay) -> None:
    reward_function_signs_up(("alice", None))
    dynamodb = aws_clients.client("dynamodb")

    def die(**_: Any) -> None:
        raise Killed("the function stopped as the commit returned")

    dynamodb.meta.events.register("after-call.dynamodb.TransactWriteItems", die, unique_id="die-after-commit")
    try:
        with pytest.raises(Killed):
            reward_function_signs_up(("bob", "alice"))
    finally:
        dynamodb.meta.events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="die-after-commit")
    [referral] = referral_items(aws)
    assert referral[c.USER_ID] == "bob"  # committed, and the client never got an answer

    assert relay.bodies() == [
        {
            "type": "referral.rewarded",
            "userId": "bob",
            "referrerId": "alice",
            "rewardAmount": 10,
            "referralCount": 1,
            "status": "payable",
            "eventId": "referral.rewarded:bob",
        }
    ]
    # The client's retry gets the recorded answer and sends nothing more.
    assert reward_function_signs_up(("bob", "alice")) == [
        (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})
    ]
    assert relay.messages() == []
