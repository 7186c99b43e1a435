"""Claiming rewards against DynamoDB (moto), at the edges the handbook states (Monthly payout, "What a
run does", step 4): the cutoff is exclusive, a reward that is no longer pending is never paid
again, and a chunk gets at most 8 attempts, backing off with full jitter under a ceiling that
doubles from 0.1 s to at most 2 s."""

from decimal import Decimal

import boto3
import pytest

from referrals import contract as c
from referrals import payout_store
from referrals.payout_run import run_payout
from referrals.payout_store import DynamoPayoutStore, TransactionRetriesExhausted
from referrals.payout_summary import PayoutStatus
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import REGION
from tests.lambdas.test_payout_exactly_once import cancel_transactions
from tests.lambdas.test_payout_support import (
    CUTOFF_MS,
    FakeClock,
    SeededReward,
    all_items,
    invocation,
    november_request,
    referral_state,
    resources,
    seed,
)

REFERRER = "referrer-000"


def reward(user_id: str, timestamp_ms: int, amount: str = "10.00") -> SeededReward:
    return SeededReward(user_id, timestamp_ms, REFERRER, Decimal(amount))


def pay(names, sleeps: list[float] | None = None):
    store = DynamoPayoutStore(names, sleep=(sleeps.append if sleeps is not None else lambda _: None))
    clock = FakeClock()
    return run_payout(november_request(clock), invocation(clock), store)


def test_a_reward_created_exactly_at_the_cutoff_belongs_to_the_next_payout(aws):
    names = resources(aws)
    before, at = reward("just-before", CUTOFF_MS - 1), reward("at-cutoff", CUTOFF_MS)
    seed(names.referral_table, pending=[before, at], profiles=[REFERRER])

    outcome = pay(names)

    assert outcome.summary is not None
    assert outcome.summary.rewards_paid == 1
    states = referral_state(all_items(names.referral_table))
    assert states[before.key] == {"status": "paid", "payout_id": "payout-2026-11", "pending_key": False}
    assert states[at.key] == {"status": "pending", "payout_id": None, "pending_key": True}


def test_a_reward_no_longer_pending_is_not_paid_even_if_it_still_carries_the_pending_key(aws):
    names = resources(aws)
    # Marked paid by hand (say by an operator) without removing it from the pending index.
    settled = reward("settled-by-hand", CUTOFF_MS - 10)
    seed(names.referral_table, pending=[settled], profiles=[REFERRER])
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=names.referral_table,
        Key={c.USER_ID: {"S": settled.user_id}, c.REFERRAL_TIMESTAMP: {"N": str(settled.timestamp_ms)}},
        UpdateExpression="SET #status = :paid",
        ExpressionAttributeNames={"#status": c.STATUS},
        ExpressionAttributeValues={":paid": {"S": c.STATUS_PAID}},
    )

    outcome = pay(names)

    assert outcome.summary is not None
    assert (outcome.summary.rewards_paid, outcome.summary.total_amount) == (0, Decimal("0.00"))
    assert referral_state(all_items(names.referral_table))[settled.key]["payout_id"] is None


def test_a_chunk_refused_7_times_succeeds_at_its_8th_attempt(aws):
    names = resources(aws)
    seed(names.referral_table, pending=[reward("a", CUTOFF_MS - 10)], profiles=[REFERRER])

    with recorded_calls() as log, cancel_transactions("TransactionConflict", times=7):
        outcome = pay(names)

    assert outcome.status is PayoutStatus.COMPLETED
    assert log.calls.count("dynamodb:TransactWriteItems") == 8 + 1  # the claim's 8 attempts, then the credit


def test_a_chunk_refused_8_times_fails_the_run_after_8_attempts(aws):
    names = resources(aws)
    seed(names.referral_table, pending=[reward("a", CUTOFF_MS - 10)], profiles=[REFERRER])

    with (
        recorded_calls() as log,
        cancel_transactions("ThrottlingError", times=8),
        pytest.raises(TransactionRetriesExhausted, match="after 8 attempts"),
    ):
        pay(names)

    assert log.calls.count("dynamodb:TransactWriteItems") == 8
    assert referral_state(all_items(names.referral_table))[("a", CUTOFF_MS - 10)]["status"] == "pending"


@pytest.mark.parametrize(
    ("jitter", "pauses"),
    [
        (lambda low, high: high, [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]),  # the ceiling: doubles, capped at 2 s
        (lambda low, high: low, [0.0] * 7),  # full jitter: from zero
    ],
)
def test_the_backoff_ceiling_doubles_from_a_tenth_of_a_second_to_at_most_2_seconds(
    aws, monkeypatch: pytest.MonkeyPatch, jitter, pauses: list[float]
):
    names = resources(aws)
    seed(names.referral_table, pending=[reward("a", CUTOFF_MS - 10)], profiles=[REFERRER])
    monkeypatch.setattr(payout_store.random, "uniform", jitter)
    sleeps: list[float] = []

    with cancel_transactions("TransactionConflict", times=7):
        assert pay(names, sleeps).status is PayoutStatus.COMPLETED

    assert sleeps == pytest.approx(pauses)
