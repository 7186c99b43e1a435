"""Optimistic concurrency on the referrer's counter: a forced race, and the retry bound."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from referrals import aws_clients
from referrals import contract as c
from referrals.referral_store import TICKET_ATTEMPTS
from referrals.signup import MAX_ATTEMPTS
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay
from tests.lambdas.reward_api import (
    LambdaContext,
    all_items,
    emitted_metrics,
    item,
    one_request_at_a_time,
    referral_items,
    referral_of,
    sign_up,
    signup_event,
)


def _bump_referrer(aws: FakeAws, referrer: str) -> None:
    """Another writer moves the referrer's counter (a client of its own, outside the handler's hooks)."""
    boto3.client("dynamodb", region_name=aws.region).update_item(
        TableName=aws.referral_table,
        Key={c.USER_ID: {"S": referrer}, c.REFERRAL_TIMESTAMP: {"N": "0"}},
        UpdateExpression="SET referral_count = referral_count + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff pauses are recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def test_signup_committing_between_read_and_write_leaves_consecutive_counts(
    aws: FakeAws, relay: Relay, pauses: list[float]
) -> None:
    sign_up("ref")
    for n in range(3):
        sign_up(f"early-{n}", "ref")
    dynamodb = aws_clients.client("dynamodb")
    answers: dict[str, Any] = {}

    def interloper_signs_up(**_: Any) -> None:
        # Once: right after the outer signup read count 3 (with its ticket), another signup
        # commits count 4.
        dynamodb.meta.events.unregister("after-call.dynamodb.UpdateItem", unique_id="race")
        answers["interloper"] = sign_up("interloper", "ref")

    dynamodb.meta.events.register("after-call.dynamodb.UpdateItem", interloper_signs_up, unique_id="race")
    with recorded_calls() as log:
        answers["outer"] = sign_up("outer", "ref")

    assert answers["interloper"] == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 4})
    assert answers["outer"] == (200, {"message": "referral recorded", "rewardAmount": 15, "referralCount": 5})
    # The outer signup reads and takes ticket 4. The interloper takes ticket 5, waits a slot for
    # the outer's commit, which cannot come while it runs inside the outer's call, so its first
    # commit is refused with nothing changed: it takes the outer's turn on the count it read.
    # The outer commit is then refused on the stale count, and its retry uses the count carried
    # by the refusal: no re-read.
    assert log.calls == [
        "dynamodb:UpdateItem",
        *("dynamodb:UpdateItem", "dynamodb:TransactWriteItems", "dynamodb:TransactWriteItems"),
        "dynamodb:TransactWriteItems",
        "dynamodb:TransactWriteItems",
    ]
    assert len(pauses) == 2  # the interloper's slot, the outer's backoff
    referrer = item(aws, "ref")
    assert referrer is not None
    assert (referrer[c.REFERRAL_COUNT], referrer[c.TOTAL_REWARDS]) == (5, 4 * 10 + 15)
    assert referral_of(aws, "interloper")[c.REFERRAL_NUMBER] == 4
    assert referral_of(aws, "outer")[c.REFERRAL_NUMBER] == 5
    assert [(b["userId"], b["referralCount"]) for b in relay.bodies()][-2:] == [("interloper", 4), ("outer", 5)]


def test_retry_bound_answers_503_and_writes_nothing(
    aws: FakeAws, relay: Relay, pauses: list[float], capsys: pytest.CaptureFixture
) -> None:
    sign_up("ref")
    dynamodb = aws_clients.client("dynamodb")

    def someone_else_commits_first(**_: Any) -> None:
        _bump_referrer(aws, "ref")

    dynamodb.meta.events.register(
        "before-call.dynamodb.TransactWriteItems", someone_else_commits_first, unique_id="always-first"
    )
    try:
        before = {i[c.USER_ID]: i for i in all_items(aws)}
        with recorded_calls() as log:
            response = reward.handler(signup_event({"userId": "bob", "referralCode": "ref"}), LambdaContext())
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="always-first")

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert json.loads(response["body"]) == {
        "error": "too many simultaneous signups for this referralCode; retry shortly"
    }
    assert log.calls == ["dynamodb:UpdateItem"] + ["dynamodb:TransactWriteItems"] * MAX_ATTEMPTS
    assert len(pauses) == MAX_ATTEMPTS - 1
    after = {i[c.USER_ID]: i for i in all_items(aws)}
    assert set(after) == set(before) == {"ref"}  # no profile, no referral item for bob
    assert after["ref"][c.REFERRAL_COUNT] == MAX_ATTEMPTS  # only the other writer's increments
    assert after["ref"][c.TOTAL_REWARDS] == 0
    assert (after["ref"][c.SIGNUP_TICKETS], c.SERVED_TICKET in after["ref"]) == (1, False)  # its ticket only
    assert relay.messages() == []
    rejected = ("SignupsRejected", {"service": "reward-calculator", "reason": "contention"}, 1.0)
    assert rejected in emitted_metrics(capsys.readouterr().out)


def test_a_ticket_refused_while_a_commit_is_in_flight_is_taken_again(aws: FakeAws, pauses: list[float]) -> None:
    """DynamoDB refuses a write to an item that a transaction is committing; botocore does not
    retry that, the store does (moto never reports it, so it is injected here)."""
    sign_up("ref")

    def in_flight(message: str) -> Exception:
        return ClientError({"Error": {"Code": "TransactionConflictException", "Message": message}}, "UpdateItem")

    with recorded_calls(fail_at=1) as log:
        log.fault = in_flight
        assert sign_up("bob", "ref") == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:UpdateItem", "dynamodb:TransactWriteItems"]
    assert len(pauses) == 1
    referrer = item(aws, "ref")
    assert referrer is not None
    assert (referrer[c.SIGNUP_TICKETS], referrer[c.SERVED_TICKET], referrer[c.REFERRAL_COUNT]) == (1, 1, 1)


def test_a_ticket_refused_on_every_attempt_answers_503_and_writes_nothing(
    aws: FakeAws, relay: Relay, pauses: list[float], capsys: pytest.CaptureFixture
) -> None:
    """A referrer's profile kept busy by other commits is contention (503, retry), not a 500."""
    sign_up("ref")
    before = all_items(aws)

    def always_in_flight(model: Any, **_: Any) -> None:
        if model.name == "UpdateItem":
            raise ClientError({"Error": {"Code": "TransactionConflictException", "Message": "in flight"}}, "UpdateItem")

    dynamodb = aws_clients.client("dynamodb")
    # Registered after the call log's hook on the same event, so every refused call is logged.
    with recorded_calls() as log:
        dynamodb.meta.events.register("before-call", always_in_flight, unique_id="busy")
        try:
            response = reward.handler(signup_event({"userId": "bob", "referralCode": "ref"}), LambdaContext())
        finally:
            dynamodb.meta.events.unregister("before-call", unique_id="busy")

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert log.calls == ["dynamodb:UpdateItem"] * TICKET_ATTEMPTS
    assert len(pauses) == TICKET_ATTEMPTS - 1
    assert all_items(aws) == before
    assert relay.messages() == []
    rejected = ("SignupsRejected", {"service": "reward-calculator", "reason": "contention"}, 1.0)
    assert rejected in emitted_metrics(capsys.readouterr().out)


def test_simultaneous_signups_keep_the_counter_exact(
    aws: FakeAws, relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_request_at_a_time(monkeypatch)
    sign_up("ref")
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda n: sign_up(f"user-{n}", "ref"), range(20)))

    # Under contention some may give up (503) but none may be lost or counted twice.
    assert {status for status, _ in answers} <= {200, 503}
    rewarded = sorted(body["referralCount"] for status, body in answers if status == 200)
    assert rewarded == list(range(1, len(rewarded) + 1))
    numbers = sorted(i[c.REFERRAL_NUMBER] for i in referral_items(aws))
    assert numbers == rewarded
    referrer = item(aws, "ref")
    assert referrer is not None
    assert referrer[c.REFERRAL_COUNT] == len(rewarded)
    assert referrer[c.TOTAL_REWARDS] == sum(reward.TIERS.reward_for(n) for n in rewarded)
    assert sorted(body["referralCount"] for body in relay.bodies()) == rewarded
    assert referrer[c.SIGNUP_TICKETS] == 20
