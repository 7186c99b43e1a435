"""Optimistic concurrency on the referrer's counter: a forced race, and the retry bound."""

import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from referrals import aws_clients
from referrals import contract as c
from referrals.referral_store import PLANNED_COUNT, QUEUE_SUFFIX, TICKET_ATTEMPTS
from referrals.signup import MAX_ATTEMPTS, Signups
from referrals.signup_queue import SLOT_MS, TICKET_MS
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import recorded_calls, updates_always_in_flight
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


@dataclass
class SteppedClock:
    """The signup's clock in these tests: it moves only when the code pauses, so a plan does not
    depend on how fast moto answers."""

    now_ms: int = 1_796_000_000_000
    pauses: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms / 1000, UTC)

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now_ms += round(seconds * 1000)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    stepped = SteppedClock()
    monkeypatch.setattr(time, "sleep", stepped.sleep)
    monkeypatch.setattr(reward, "Signups", functools.partial(Signups, now=stepped.now))
    return stepped


@pytest.fixture
def pauses(clock: SteppedClock) -> list[float]:
    """Pauses are recorded instead of slept, on a clock that moves only with them."""
    return clock.pauses


def _queue(aws: FakeAws, referrer: str) -> dict:
    queue = item(aws, f"{referrer}{QUEUE_SUFFIX}")
    assert queue is not None
    return queue


def test_signup_committing_between_read_and_write_leaves_consecutive_counts(
    aws: FakeAws, relay: Relay, clock: SteppedClock
) -> None:
    sign_up("ref")
    for n in range(3):
        sign_up(f"early-{n}", "ref")
        clock.now_ms += 10_000  # each long done before the next
    clock.pauses.clear()
    dynamodb = aws_clients.client("dynamodb")
    answers: dict[str, Any] = {}

    def interloper_signs_up(**_: Any) -> None:
        # Once: right after the outer signup took its ticket (4, planned on count 3), another
        # signup takes ticket 5 and commits, while the outer one is still inside its call.
        dynamodb.meta.events.unregister("after-call.dynamodb.UpdateItem", unique_id="race")
        answers["interloper"] = sign_up("interloper", "ref")

    dynamodb.meta.events.register("after-call.dynamodb.UpdateItem", interloper_signs_up, unique_id="race")
    with recorded_calls() as log:
        answers["outer"] = sign_up("outer", "ref")

    assert answers["interloper"] == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 4})
    assert answers["outer"] == (200, {"message": "referral recorded", "rewardAmount": 15, "referralCount": 5})
    # The interloper plans on count 4, a slot after ticket 4's commit, which cannot come while it
    # runs inside the outer's call: refused with nothing committed since, it looks again a slot
    # later (ticket 4 may only be late), is refused again, and takes ticket 4's place on count 3.
    # The outer commit is then refused on the count the interloper took; the refusal carries the
    # fresh count, so its retry after a jittered backoff needs no re-read.
    assert log.calls == [
        "dynamodb:UpdateItem",
        *("dynamodb:UpdateItem", *["dynamodb:TransactWriteItems"] * 3),
        *["dynamodb:TransactWriteItems"] * 2,
    ]
    first_slot = (TICKET_MS + SLOT_MS) / 1000
    assert clock.pauses[:2] == [pytest.approx(first_slot), pytest.approx(SLOT_MS / 1000)]
    assert len(clock.pauses) == 3  # and the outer's backoff
    referrer = item(aws, "ref")
    assert referrer is not None
    assert (referrer[c.REFERRAL_COUNT], referrer[c.TOTAL_REWARDS]) == (5, 4 * 10 + 15)
    assert referral_of(aws, "interloper")[c.REFERRAL_NUMBER] == 4
    assert referral_of(aws, "outer")[c.REFERRAL_NUMBER] == 5
    assert [(b["userId"], b["referralCount"]) for b in relay.bodies()][-2:] == [("interloper", 4), ("outer", 5)]
    assert _queue(aws, "ref")[PLANNED_COUNT] == 5  # the queue's plan is the referrer's count


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
    # The ticket, every commit attempt, and the ticket given back (the queue plans without it).
    assert log.calls == ["dynamodb:UpdateItem"] + ["dynamodb:TransactWriteItems"] * MAX_ATTEMPTS + [
        "dynamodb:UpdateItem"
    ]
    assert len(pauses) == MAX_ATTEMPTS - 1
    after = {i[c.USER_ID]: i for i in all_items(aws)}
    assert set(after) == set(before) == {"ref", f"ref{QUEUE_SUFFIX}"}  # no profile, no referral item for bob
    assert after["ref"][c.REFERRAL_COUNT] == MAX_ATTEMPTS  # only the other writer's increments
    assert after["ref"][c.TOTAL_REWARDS] == 0
    queue = after[f"ref{QUEUE_SUFFIX}"]
    assert (queue[c.SIGNUP_TICKETS], queue[PLANNED_COUNT], c.SERVED_TICKET in after["ref"]) == (
        1,
        0,
        False,
    )  # its ticket only
    assert relay.messages() == []
    rejected = ("SignupsRejected", {"service": "reward-calculator", "reason": "contention"}, 1.0)
    assert rejected in emitted_metrics(capsys.readouterr().out)


def test_a_ticket_refused_while_a_commit_is_in_flight_is_taken_again(aws: FakeAws, pauses: list[float]) -> None:
    """DynamoDB refuses a write to an item that a transaction is committing; botocore does not
    retry that. No commit names the queue item, so a ticket should never meet it; if one does,
    the store takes the ticket again (moto never reports it, so it is injected here)."""
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
    assert (_queue(aws, "ref")[c.SIGNUP_TICKETS], referrer[c.SERVED_TICKET], referrer[c.REFERRAL_COUNT]) == (1, 1, 1)


def test_a_ticket_refused_on_every_attempt_answers_503_and_writes_nothing(
    aws: FakeAws, relay: Relay, pauses: list[float], capsys: pytest.CaptureFixture
) -> None:
    """A referrer's profile kept busy by other commits is contention (503, retry), not a 500."""
    sign_up("ref")
    before = all_items(aws)

    with recorded_calls() as log, updates_always_in_flight():
        response = reward.handler(signup_event({"userId": "bob", "referralCode": "ref"}), LambdaContext())

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
    assert _queue(aws, "ref")[c.SIGNUP_TICKETS] == 20
    assert _queue(aws, "ref")[PLANNED_COUNT] == len(rewarded)  # every 503 gave its ticket back
