"""Races on a referrer's counter and the store's conditions on its signup queue, against moto.

What the conditions of referral_store.py promise: a referrer without a counter gets exactly one
referral number 1; a referrer gone by the time of the commit is a 404 with nothing written; the
queue item is written only next to a profile, its planned count is corrected only by the latest
ticket, its anchor only moves forward, its slot is re-tuned only from the slot a signup planned
with. Numbers are written out (4 ticket attempts, 5 ms jitter doubling, a 32 ms slot, arrival
times in ms * 1000 + slot), so a changed constant fails a test.
"""

import functools
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from referrals import aws_clients
from referrals import contract as c
from referrals.lifecycle_settings import LifecycleSettings
from referrals.referral_store import (
    PLANNED_COUNT,
    QUEUE_SUFFIX,
    REFEREE_EMAIL_KEY,
    REFERRER_COUNTER,
    DynamoReferralStore,
)
from referrals.signup import Referral, Signups
from referrals.signup_queue import Anchor, Earlier, Ticket
from referrals.signup_reward import signup_reward
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import recorded_calls, updates_always_in_flight
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import LambdaContext, all_items, item, referral_items, referral_of, sign_up, signup_event
from tests.lambdas.test_reward_concurrency import SteppedClock

NOW_MS = 1_796_000_000_000


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    """The signups' clock moves only when they pause (tests/lambdas/test_reward_concurrency.py)."""
    stepped = SteppedClock(now_ms=NOW_MS)
    monkeypatch.setattr(time, "sleep", stepped.sleep)
    monkeypatch.setattr(reward, "Signups", functools.partial(Signups, now=stepped.now))
    return stepped


@pytest.fixture
def store(aws: FakeAws) -> DynamoReferralStore:
    return DynamoReferralStore(aws.referral_table)


def put_profile(aws: FakeAws, user_id: str, **attributes: int) -> None:
    """A profile written by hand (or from before counters and queues): only these attributes."""
    table = boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table)
    table.put_item(Item={c.USER_ID: user_id, c.REFERRAL_TIMESTAMP: c.PROFILE_TIMESTAMP, **attributes})


def delete(aws: FakeAws, user_id: str) -> None:
    boto3.client("dynamodb", region_name=aws.region).delete_item(
        TableName=aws.referral_table, Key={c.USER_ID: {"S": user_id}, c.REFERRAL_TIMESTAMP: {"N": "0"}}
    )


def queue_of(aws: FakeAws, user_id: str) -> dict | None:
    return item(aws, f"{user_id}{QUEUE_SUFFIX}")


def once_before_the_commit(action: Any) -> None:
    """Run `action` once, just before the next signup transaction is sent."""
    dynamodb = aws_clients.client("dynamodb")

    def run_once(**_: Any) -> None:
        dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="race")
        action()

    dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", run_once, unique_id="race")


# Races on the counter -----------------------------------------------------------------------------


def test_two_first_referrals_of_a_referrer_without_a_counter_are_numbers_1_and_2(
    aws: FakeAws, clock: SteppedClock
) -> None:
    put_profile(aws, "legacy")  # no counter, no queue
    answers: dict[str, Any] = {}
    # The outer signup opens the queue with ticket 1, planned on no counter; while its commit is
    # on its way, another signup takes ticket 2 and commits first, as number 1.
    once_before_the_commit(lambda: answers.setdefault("inner", sign_up("inner", "legacy")))
    answers["outer"] = sign_up("outer", "legacy")

    assert answers["inner"] == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})
    # The outer commit expected no counter: refused now that there is one, it commits on it.
    assert answers["outer"] == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 2})
    assert (referral_of(aws, "inner")[c.REFERRAL_NUMBER], referral_of(aws, "outer")[c.REFERRAL_NUMBER]) == (1, 2)
    referrer = item(aws, "legacy")
    assert referrer is not None
    assert (referrer[c.REFERRAL_COUNT], referrer[c.TOTAL_REWARDS]) == (2, 20)
    queue = queue_of(aws, "legacy")
    assert queue is not None
    assert (queue[c.SIGNUP_TICKETS], queue[PLANNED_COUNT]) == (2, 2)


@pytest.mark.parametrize("counter", [True, False], ids=["counted", "no-counter"])
@pytest.mark.parametrize("queue_too", [False, True], ids=["profile-deleted", "profile-and-queue-deleted"])
def test_a_referrer_deleted_between_ticket_and_commit_is_404_and_nothing_is_written(
    aws: FakeAws, clock: SteppedClock, counter: bool, queue_too: bool
) -> None:
    if counter:
        sign_up("ref")  # a profile with its counter and its queue
    else:
        put_profile(aws, "ref")  # the signup opens its queue

    def referrer_deleted() -> None:
        delete(aws, "ref")
        if queue_too:
            delete(aws, f"ref{QUEUE_SUFFIX}")

    once_before_the_commit(referrer_deleted)
    assert sign_up("bob", "ref") == (404, {"error": "referralCode 'ref' does not exist"})
    # No referrer re-created by the commit, no profile, queue or referral for bob; the ticket was
    # given back to a queue still there, and no queue re-created by giving it back.
    remaining = {i[c.USER_ID]: i for i in all_items(aws)}
    if queue_too:
        assert remaining == {}
    else:
        assert set(remaining) == {f"ref{QUEUE_SUFFIX}"}
        assert (remaining[f"ref{QUEUE_SUFFIX}"][c.SIGNUP_TICKETS], remaining[f"ref{QUEUE_SUFFIX}"][PLANNED_COUNT]) == (
            1,
            0,
        )


def test_a_ticket_call_refused_in_flight_is_tried_4_times_with_jitter_doubling_from_10_ms(
    aws: FakeAws, clock: SteppedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up("ref")
    before = all_items(aws)
    bounds: list[tuple[float, float]] = []

    def upper_bound(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", upper_bound)

    with recorded_calls() as log, updates_always_in_flight():
        response = reward.handler(signup_event({"userId": "bob", "referralCode": "ref"}), LambdaContext())
    assert response["statusCode"] == 503
    assert log.calls == ["dynamodb:UpdateItem"] * 4
    assert bounds == [(0, 0.01), (0, 0.02), (0, 0.04)]
    assert clock.pauses == pytest.approx([0.01, 0.02, 0.04])
    assert all_items(aws) == before


def test_an_identical_retry_is_answered_from_the_profile_its_refused_commit_hands_back(aws: FakeAws) -> None:
    sign_up("ref")
    first = sign_up("bob", "ref")

    def in_flight(message: str) -> Exception:
        return ClientError({"Error": {"Code": "TransactionConflictException", "Message": message}}, "UpdateItem")

    # The commit is refused with bob's profile (no read of it), which points at his referral; the
    # ticket given back meets a commit in flight on the queue: scheduling state only, ignored.
    with recorded_calls(fail_at=4) as log:
        log.fault = in_flight
        assert sign_up("bob", "ref") == first
    assert log.calls == [
        "dynamodb:UpdateItem",
        "dynamodb:TransactWriteItems",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    ]
    assert len(referral_items(aws)) == 1


def test_a_commit_cancelled_by_a_transaction_in_flight_is_retried_an_eighth_of_a_slot_later(
    aws: FakeAws, clock: SteppedClock
) -> None:
    sign_up("ref")

    def in_flight(message: str) -> Exception:
        reasons = [{"Code": "None"}] * REFEREE_EMAIL_KEY  # the items before the key: bob has no e-mail
        reasons[REFERRER_COUNTER] = {"Code": "TransactionConflict", "Message": message}
        error = {"Error": {"Code": "TransactionCanceledException", "Message": message}, "CancellationReasons": reasons}
        return ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]

    with recorded_calls(fail_at=2) as log:
        log.fault = in_flight
        assert sign_up("bob", "ref") == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems", "dynamodb:TransactWriteItems"]
    assert clock.pauses == [pytest.approx(0.004)]  # 32 ms / 8, on the same count
    # The commit itself was quick: the slot grows only to a commit longer than it.
    assert queue_of(aws, "ref")["slot_ms"] == 32  # type: ignore[index]


def test_a_refusal_for_a_state_no_signup_creates_is_an_error_not_a_retry(aws: FakeAws, clock: SteppedClock) -> None:
    # A referral item of bob's at this very moment, without bob's profile: the commit is refused
    # on the referral item alone, which neither a retry nor another count can fix.
    sign_up("ref")
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).put_item(
        Item={c.USER_ID: "bob", c.REFERRAL_TIMESTAMP: NOW_MS, c.REFERRER_ID: "someone"}
    )
    with recorded_calls() as log:
        response = reward.handler(signup_event({"userId": "bob", "referralCode": "ref"}), LambdaContext())
    assert response["statusCode"] == 500
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems"]
    assert item(aws, "bob") is None


def commit_outside(store: DynamoReferralStore, user_id: str, count: int, ticket: int, sent_ms: int) -> None:
    """The commit of a signup holding `ticket` (its ticket was taken with store.take_ticket)."""
    reward = signup_reward(LifecycleSettings(), sent_ms)
    referral = Referral(user_id, "ref", sent_ms, None, "2026-12-01T00:00:00.000Z", Decimal(10), count + 1, reward)
    assert store.commit_referral(referral, expected_count=count, ticket=ticket, sent_at_ms=sent_ms).value == "committed"


def test_a_refused_signup_replans_from_the_latest_commit_the_refusal_hands_back(
    aws: FakeAws, clock: SteppedClock, store: DynamoReferralStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up("ref")
    store.take_ticket("ref", NOW_MS)  # tickets 1 and 2, taken just now by two other signups
    store.take_ticket("ref", NOW_MS)
    # Carol's ticket 3 plans a 32 ms slot after each: 69 ms from now. Ticket 1 commits late (sent
    # at +50): her refused commit says so, ticket 2 then ends two slots later (+114) and she goes
    # then. Ticket 2 commits while she waits.
    while_waiting: list[Callable[[], None]] = [
        lambda: commit_outside(store, "one", 0, 1, NOW_MS + 50),
        lambda: commit_outside(store, "two", 1, 2, NOW_MS + 100),
    ]

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        while_waiting.pop(0)()

    monkeypatch.setattr(time, "sleep", sleep)
    assert sign_up("carol", "ref") == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 3})
    assert clock.pauses == [pytest.approx(0.069), pytest.approx(0.045)]


def test_a_count_moved_outside_the_queue_is_corrected_by_the_next_signup(aws: FakeAws, clock: SteppedClock) -> None:
    # A profile whose count was set by hand (no commit served it) next to an empty queue.
    sign_up("ref")
    boto3.client("dynamodb", region_name=aws.region).update_item(
        TableName=aws.referral_table,
        Key={c.USER_ID: {"S": "ref"}, c.REFERRAL_TIMESTAMP: {"N": "0"}},
        UpdateExpression="SET referral_count = :three",
        ExpressionAttributeValues={":three": {"N": "3"}},
    )
    assert sign_up("bob", "ref") == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 4})
    queue = queue_of(aws, "ref")
    assert queue is not None
    assert queue[PLANNED_COUNT] == 4  # the next signup plans on the right count at once


# The queue item's conditions ----------------------------------------------------------------------


def test_a_ticket_records_its_arrival_and_slot_as_one_number_in_ms_times_1000(
    aws: FakeAws, store: DynamoReferralStore
) -> None:
    sign_up("ref")
    assert store.take_ticket("ref", NOW_MS) == Ticket(1, 0, 32, (Earlier(0),) * 24)
    queue = queue_of(aws, "ref")
    assert queue is not None
    assert queue["ticket_arrival_1"] == NOW_MS * 1000 + 32  # read by every version of the function
    second = store.take_ticket("ref", NOW_MS + 7)
    assert isinstance(second, Ticket)
    assert (second.number, second.planned_count, second.earlier[:2]) == (2, 1, (Earlier(NOW_MS, 32), Earlier(0)))


def test_a_profile_without_a_queue_opens_it_on_its_count_after_its_latest_served_ticket(
    aws: FakeAws, store: DynamoReferralStore
) -> None:
    put_profile(aws, "old", referral_count=4, total_rewards=40, served_ticket=4)
    assert store.take_ticket("old", NOW_MS) == Ticket(5, 4)
    queue = queue_of(aws, "old")
    assert queue is not None
    assert (queue[c.SIGNUP_TICKETS], queue[PLANNED_COUNT], queue["ticket_arrival_1"]) == (5, 5, NOW_MS * 1000 + 32)
    put_profile(aws, "bare")
    assert store.take_ticket("bare", NOW_MS) == Ticket(1, None)


def test_two_signups_opening_the_same_queue_take_consecutive_tickets(aws: FakeAws, store: DynamoReferralStore) -> None:
    put_profile(aws, "old", referral_count=4, served_ticket=4)
    dynamodb = aws_clients.client("dynamodb")
    inner: list[Ticket | object] = []

    def another_signup_opens_it(**_: Any) -> None:
        dynamodb.meta.events.unregister("before-call.dynamodb.PutItem", unique_id="open")
        inner.append(store.take_ticket("old", NOW_MS))

    dynamodb.meta.events.register("before-call.dynamodb.PutItem", another_signup_opens_it, unique_id="open")
    outer = store.take_ticket("old", NOW_MS + 1)
    assert inner == [Ticket(5, 4)]
    assert isinstance(outer, Ticket)
    assert (outer.number, outer.planned_count, outer.earlier[0]) == (6, 5, Earlier(NOW_MS, 32))
    queue = queue_of(aws, "old")
    assert queue is not None
    assert (queue[c.SIGNUP_TICKETS], queue[PLANNED_COUNT]) == (6, 6)


def test_the_planned_count_is_corrected_only_by_the_latest_ticket(aws: FakeAws, store: DynamoReferralStore) -> None:
    sign_up("ref")
    store.take_ticket("ref", NOW_MS)
    store.take_ticket("ref", NOW_MS)
    store.correct_queue("ref", ticket=1, planned_count=7)  # ticket 2 planned on the old count
    assert queue_of(aws, "ref")[PLANNED_COUNT] == 2  # type: ignore[index]
    store.correct_queue("ref", ticket=2, planned_count=1)
    assert queue_of(aws, "ref")[PLANNED_COUNT] == 1  # type: ignore[index]


def test_the_anchor_only_moves_forward_and_its_ticket_may_record_where_it_really_was(
    aws: FakeAws, store: DynamoReferralStore
) -> None:
    sign_up("ref")

    def anchor() -> tuple[int, int]:
        queue = queue_of(aws, "ref")
        assert queue is not None
        return queue["anchor_ticket"], queue["anchor_start"]

    store.record_anchor("ref", Anchor(8, NOW_MS))
    assert anchor() == (8, NOW_MS)
    store.record_anchor("ref", Anchor(8, NOW_MS + 20))  # the same ticket, committed late
    assert anchor() == (8, NOW_MS + 20)
    store.record_anchor("ref", Anchor(7, NOW_MS + 40))  # an earlier ticket, written late: refused
    assert anchor() == (8, NOW_MS + 20)
    store.record_anchor("ref", Anchor(16, NOW_MS + 60))
    assert anchor() == (16, NOW_MS + 60)
    ticket = store.take_ticket("ref", NOW_MS)  # the next ticket plans from it
    assert isinstance(ticket, Ticket)
    assert ticket.anchor == Anchor(16, NOW_MS + 60)


def test_the_slot_is_retuned_only_from_the_slot_the_signup_planned_with(
    aws: FakeAws, store: DynamoReferralStore
) -> None:
    sign_up("ref")
    store.take_ticket("ref", NOW_MS)
    store.retune_slot("ref", 32, 40)
    queue = queue_of(aws, "ref")
    assert queue is not None
    assert (queue["slot_ms"], queue["slot_retuned_at"]) == (40, 1)  # from the tickets taken after ticket 1
    store.retune_slot("ref", 32, 50)  # another signup re-tuned it first
    assert queue_of(aws, "ref")["slot_ms"] == 40  # type: ignore[index]
    assert store.take_ticket("ref", NOW_MS) == Ticket(
        2, 1, 40, (Earlier(NOW_MS, 32),) + (Earlier(0),) * 23, retuned_at=1
    )
    third = store.take_ticket("ref", NOW_MS + 9)  # ticket 2 was taken with the new slot
    assert isinstance(third, Ticket)
    assert third.earlier[:2] == (Earlier(NOW_MS, 40), Earlier(NOW_MS, 32))


def test_without_a_queue_the_queue_writes_write_nothing(aws: FakeAws, store: DynamoReferralStore) -> None:
    put_profile(aws, "old", referral_count=3)
    before = all_items(aws)
    store.give_back_ticket("old")
    store.correct_queue("old", ticket=0, planned_count=3)
    store.record_anchor("old", Anchor(8, NOW_MS))
    store.retune_slot("old", 32, 40)
    assert all_items(aws) == before
