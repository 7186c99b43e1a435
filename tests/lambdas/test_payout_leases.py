"""The run record's lease against DynamoDB (moto), with the times the handbook promises (Monthly
payout, "Lease and takeover" and "Why each reward is paid exactly once"): a lease lasts the
invocation's remaining time plus 30 s, a released one stays closed for 10 s, a lease is live up
to and including its expiry second, and only its holder can complete or release the run. The
numbers are written out here on purpose: a test that reused the constants would pass whatever
they were."""

from collections.abc import Sequence
from decimal import Decimal

import pytest

from referrals import contract as c
from referrals.payout_event import PayoutRequest
from referrals.payout_run import Acquired, HeldElsewhere, Lease, PayoutLeaseLost, Reward, run_payout
from referrals.payout_store import DynamoPayoutStore
from referrals.payout_summary import PayoutStatus, PayoutSummary
from tests.lambdas.test_payout_support import (
    PAYOUT_ID,
    FakeClock,
    FakeContext,
    all_items,
    invocation,
    november_request,
    november_rewards,
    resources,
    run_record,
    seed,
)

PENDING = november_rewards(3, referrers=2)
REFERRERS = sorted({reward.referrer_id for reward in PENDING})


class Killed(BaseException):
    """Lambda stopping the runtime at its timeout: no handler of the run gets to react."""


class StoreKilledAtClaim(DynamoPayoutStore):
    def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> list[Reward]:
        raise Killed("timed out while claiming")


class StoreFailingAtClaim(DynamoPayoutStore):
    def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> list[Reward]:
        raise RuntimeError("DynamoDB is unavailable")


class SlowReportStore(DynamoPayoutStore):
    """Writing the report takes 7 s of the (fake) clock."""

    def __init__(self, *args: object, clock: FakeClock, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._clock = clock

    def put_report(self, key: str, body: bytes) -> str:
        self._clock.advance(7)
        return super().put_report(key, body)


def store(aws) -> DynamoPayoutStore:
    return DynamoPayoutStore(resources(aws))


def lease(owner: str, now: int, expires_at: int) -> Lease:
    return Lease(owner=f"{owner}/0a1b", now=now, expires_at=expires_at)


def request() -> PayoutRequest:
    return november_request(FakeClock())


def summary() -> PayoutSummary:
    return PayoutSummary(PAYOUT_ID, "2026-11", 0, Decimal("0.00"), 0, "s3://bucket/key")


def test_a_lease_is_live_through_its_expiry_second_and_taken_over_the_second_after(aws):
    payouts = store(aws)
    assert payouts.acquire_run(request(), lease("first", 1_000, 1_330), ttl=9_999) == Acquired(
        cutoff_ms=request().cutoff_ms
    )

    at_expiry = payouts.acquire_run(request(), lease("second", 1_330, 1_660), ttl=9_999)
    after_expiry = payouts.acquire_run(request(), lease("second", 1_331, 1_661), ttl=9_999)

    assert at_expiry == HeldElsewhere(owner="first/0a1b", lease_expires_at=1_330)
    assert after_expiry == Acquired(cutoff_ms=request().cutoff_ms)
    record = run_record(resources(aws).idempotency_table)
    assert record is not None
    assert (record["lease_owner"]["S"], record["lease_expires_at"]["N"]) == ("second/0a1b", "1661")


def test_completing_a_run_whose_lease_was_taken_over_fails_and_writes_nothing(aws):
    payouts = store(aws)
    payouts.acquire_run(request(), lease("first", 1_000, 1_330), ttl=9_999)
    payouts.acquire_run(request(), lease("second", 1_331, 1_661), ttl=9_999)
    before = run_record(resources(aws).idempotency_table)

    with pytest.raises(PayoutLeaseLost, match="no longer held by first/0a1b"):
        payouts.complete_run(summary(), "first/0a1b", now=1_400)

    after = run_record(resources(aws).idempotency_table)
    assert after == before
    assert after is not None
    assert after[c.STATUS] == {"S": c.RUN_IN_PROGRESS}
    assert c.RUN_SUMMARY not in after


def test_releasing_a_lease_that_was_taken_over_leaves_the_new_holders_lease(aws):
    payouts = store(aws)
    payouts.acquire_run(request(), lease("first", 1_000, 1_330), ttl=9_999)
    payouts.acquire_run(request(), lease("second", 1_331, 1_661), ttl=9_999)

    payouts.release_run(PAYOUT_ID, "first/0a1b", expires_at=1_410)

    record = run_record(resources(aws).idempotency_table)
    assert record is not None
    assert (record["lease_owner"]["S"], record["lease_expires_at"]["N"]) == ("second/0a1b", "1661")


def test_releasing_its_own_lease_sets_when_it_reopens(aws):
    payouts = store(aws)
    payouts.acquire_run(request(), lease("first", 1_000, 1_330), ttl=9_999)

    payouts.release_run(PAYOUT_ID, "first/0a1b", expires_at=1_010)

    assert payouts.acquire_run(request(), lease("second", 1_010, 1_340), ttl=9_999) == HeldElsewhere(
        owner="first/0a1b", lease_expires_at=1_010
    )
    assert payouts.acquire_run(request(), lease("second", 1_011, 1_341), ttl=9_999) == Acquired(
        cutoff_ms=request().cutoff_ms
    )


def test_a_killed_runs_lease_lasts_its_remaining_time_plus_30_seconds(aws):
    names = resources(aws)
    seed(names.referral_table, pending=PENDING, profiles=REFERRERS)
    clock = FakeClock()
    started = int(clock())
    # 299.001 s left: the lease rounds up to 300 s, then adds the 30 s margin.
    killed = invocation(clock, FakeContext("killed", remaining_ms=299_001))
    with pytest.raises(Killed):
        run_payout(november_request(clock), killed, StoreKilledAtClaim(names))

    clock.advance(330)
    assert int(clock()) == started + 330
    other = run_payout(november_request(clock), invocation(clock, FakeContext("other")), DynamoPayoutStore(names))
    assert other.status is PayoutStatus.IN_PROGRESS_ELSEWHERE

    clock.advance(1)
    retry = run_payout(november_request(clock), invocation(clock, FakeContext("retry")), DynamoPayoutStore(names))
    assert retry.status is PayoutStatus.COMPLETED
    assert retry.summary is not None
    assert retry.summary.rewards_paid == 3


def test_a_failed_runs_released_lease_stays_closed_for_10_seconds(aws):
    names = resources(aws)
    seed(names.referral_table, pending=PENDING, profiles=REFERRERS)
    clock = FakeClock()
    failed_at = int(clock())
    with pytest.raises(RuntimeError, match="unavailable"):
        run_payout(november_request(clock), invocation(clock, FakeContext("failed")), StoreFailingAtClaim(names))
    record = run_record(names.idempotency_table)
    assert record is not None
    assert int(record["lease_expires_at"]["N"]) == failed_at + 10

    clock.advance(10)
    other = run_payout(november_request(clock), invocation(clock, FakeContext("other")), DynamoPayoutStore(names))
    assert other.status is PayoutStatus.IN_PROGRESS_ELSEWHERE

    clock.advance(1)
    retry = run_payout(november_request(clock), invocation(clock, FakeContext("retry")), DynamoPayoutStore(names))
    assert retry.status is PayoutStatus.COMPLETED


def test_claimed_rewards_and_the_run_record_carry_the_times_they_were_written(aws):
    names = resources(aws)
    seed(names.referral_table, pending=PENDING, profiles=REFERRERS)
    clock = FakeClock()
    clock.advance(0.25)  # a claim's paid_at keeps the milliseconds
    started = int(clock())
    claimed_at_ms = int(clock() * 1000)
    assert claimed_at_ms % 1000 == 250

    outcome = run_payout(
        november_request(clock), invocation(clock, FakeContext("request-1")), SlowReportStore(names, clock=clock)
    )

    assert outcome.status is PayoutStatus.COMPLETED
    rewards = [item for item in all_items(names.referral_table) if c.PAYOUT_ID in item]
    assert len(rewards) == 3
    assert {item["paid_at"]["N"] for item in rewards} == {str(claimed_at_ms)}
    record = run_record(names.idempotency_table)
    assert record is not None
    assert record["started_at"] == {"N": str(started)}
    assert record["completed_at"] == {"N": str(started + 7)}  # after the 7 s report
    assert record["updated_at"] == {"N": str(started + 7)}
    assert record["completed_by"]["S"].startswith("request-1/")
    assert "lease_owner" not in record and "lease_expires_at" not in record
    # Kept for two years after the first start.
    assert 2 * 365 * 86_400 <= int(record["ttl"]["N"]) - started <= 2 * 366 * 86_400


def test_a_takeover_records_when_and_how_often_the_run_was_started(aws):
    payouts = store(aws)
    payouts.acquire_run(request(), lease("first", 1_000, 1_330), ttl=64_000_000)
    payouts.acquire_run(request(), lease("second", 1_331, 1_661), ttl=64_000_331)

    record = run_record(resources(aws).idempotency_table)
    assert record is not None
    assert (record["started_at"], record["updated_at"]) == ({"N": "1000"}, {"N": "1331"})
    assert (record["attempts"], record["ttl"]) == ({"N": "2"}, {"N": "64000000"})
    assert record["payout_month"] == {"S": "2026-11"}
    assert record["cutoff_ms"] == {"N": str(request().cutoff_ms)}
