"""Exactly once: crashes at every AWS call, killed runs, concurrent runs, time running out, conflicts."""

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from referrals import contract as c
from referrals.aws_clients import client
from referrals.payout_run import (
    LEASE_MARGIN_SECONDS,
    RELEASE_SETTLE_SECONDS,
    Acquired,
    HeldElsewhere,
    Lease,
    PayoutIncomplete,
    PayoutLeaseHeld,
    PayoutLeaseLost,
    Reward,
    run_payout,
)
from referrals.payout_store import MAX_TRANSACTION_ATTEMPTS, PayoutResources, TransactionRetriesExhausted
from referrals.payout_summary import PayoutOutcome, PayoutStatus, PayoutSummary
from tests.lambdas.aws_calls import InjectedFault, recorded_calls
from tests.lambdas.test_payout_support import (
    CUTOFF_MS,
    NOVEMBER_MS,
    PAYOUT_ID,
    TIMEOUT_MS,
    Claims,
    FakeClock,
    FakeContext,
    RecordingStore,
    SeededReward,
    all_items,
    completed_messages,
    expected_totals,
    fast_transactions,
    fresh_resources,
    invocation,
    november_request,
    november_rewards,
    paid_totals,
    put_pending,
    referral_state,
    report_bytes,
    resources,
    run_record,
    seed,
)

pytestmark = pytest.mark.usefixtures(fast_transactions.__name__)

# 130 rewards in pages of 120 (2 pages) and claim chunks of up to 100 that run across the page
# boundary (100, then 30).
PENDING = november_rewards(130, referrers=13)
HISTORY = november_rewards(10, referrers=13, start_ms=NOVEMBER_MS - 40 * 86_400_000)
REFERRERS = sorted({reward.referrer_id for reward in PENDING})
PAGE_SIZE = 120
PAST_ANY_LEASE = TIMEOUT_MS // 1000 + LEASE_MARGIN_SECONDS + 1


class Killed(BaseException):
    """Like Lambda stopping the runtime at its timeout: no except or finally block gets to react."""


@dataclass(frozen=True)
class Observed:
    report: bytes
    referrals: dict
    profiles: dict
    summary: object
    messages: list[str]  # what the relay publishes from the run record's stream, from its start


def seed_november(names: PayoutResources) -> None:
    seed(names.referral_table, pending=PENDING, paid=HISTORY, profiles=REFERRERS)


def run(
    names: PayoutResources,
    clock: FakeClock,
    claimed: Claims,
    owner: str = "request-1",
    low_after_checks: int | None = None,
) -> PayoutOutcome:
    store = RecordingStore(names, claimed, page_size=PAGE_SIZE)
    context = FakeContext(owner, low_after_checks=low_after_checks)
    return run_payout(november_request(clock), invocation(clock, context), store)


def observe(aws, names: PayoutResources, outcome: PayoutOutcome) -> Observed:
    items = all_items(names.referral_table)
    return Observed(
        report=report_bytes(names.reports_bucket),
        referrals=referral_state(items),
        profiles=paid_totals(items),
        summary=outcome.summary,
        messages=completed_messages(aws, names.idempotency_table),
    )


def assert_paid_exactly_once(observed: Observed, claimed: Claims) -> None:
    assert sorted(claimed) == sorted(reward.key for reward in PENDING)  # every claim succeeded once
    for reward in PENDING:
        assert observed.referrals[reward.key] == {"status": "paid", "payout_id": PAYOUT_ID, "pending_key": False}
    for reward in HISTORY:
        assert observed.referrals[reward.key]["payout_id"] == "payout-2026-10"
    assert observed.profiles == {referrer: (total, [PAYOUT_ID]) for referrer, total in expected_totals(PENDING).items()}


def test_an_uninterrupted_run_pays_every_pending_reward_once(aws):
    names = resources(aws)
    seed_november(names)
    claimed = Claims()

    with recorded_calls() as log:
        outcome = run(names, FakeClock(), claimed)

    assert outcome.status is PayoutStatus.COMPLETED
    assert outcome.summary is not None
    assert (outcome.summary.rewards_paid, outcome.summary.total_referrers) == (130, 13)
    assert outcome.summary.total_amount == sum(expected_totals(PENDING).values())
    observed = observe(aws, names, outcome)
    assert_paid_exactly_once(observed, claimed)
    assert log.calls == [
        "dynamodb:UpdateItem",  # lease
        "dynamodb:Query",  # claims of earlier invocations: none
        "dynamodb:Query",  # pending page 1 (120)
        "dynamodb:TransactWriteItems",  # claim 100
        "dynamodb:Query",  # pending page 2 (10)
        "dynamodb:TransactWriteItems",  # claim 30: the rest of page 1 and page 2
        "dynamodb:TransactWriteItems",  # credit 13 referrer profiles
        "s3:PutObject",
        "dynamodb:UpdateItem",  # completed: the notification (the stream relay publishes it)
    ]


def test_a_crash_at_every_call_then_a_rerun_matches_an_uninterrupted_run(aws, monkeypatch):
    baseline_names = fresh_resources(aws, "baseline", monkeypatch)
    seed_november(baseline_names)
    baseline_claims = Claims()
    with recorded_calls() as log:
        baseline_outcome = run(baseline_names, FakeClock(), baseline_claims)
    baseline = observe(aws, baseline_names, baseline_outcome)
    calls = list(log.calls)
    assert_paid_exactly_once(baseline, baseline_claims)
    assert len(baseline.messages) == 1

    for k in range(1, len(calls) + 1):
        where = f"crash at call {k} ({calls[k - 1]})"
        names = fresh_resources(aws, f"crash-{k}", monkeypatch)
        seed_november(names)
        clock, claimed = FakeClock(), Claims()
        with recorded_calls(fail_at=k) as faulty, pytest.raises(InjectedFault):
            run(names, clock, claimed, owner="crashed")
        assert faulty.calls[k - 1] == calls[k - 1], f"{where}: the run took another path"

        clock.advance(PAST_ANY_LEASE)  # past the released lease's settle time, or a lease left behind
        outcome = run(names, clock, claimed, owner="rerun")

        assert outcome.status is PayoutStatus.COMPLETED, where
        observed = observe(aws, names, outcome)
        assert observed.report == baseline.report, where
        assert observed.summary == baseline.summary, where
        assert_paid_exactly_once(observed, claimed)
        # Exactly one message whatever the crash: the completion is the event, and it happens once.
        assert observed.messages == baseline.messages, where
        record = run_record(names.idempotency_table)
        assert record is not None
        assert record["status"] == {"S": "completed"}, where


def test_a_killed_run_keeps_its_lease_until_it_expires_then_is_taken_over(aws):
    names = resources(aws)
    seed_november(names)
    clock, claimed = FakeClock(), Claims()
    started = int(clock())

    with pytest.raises(Killed), kill_at_call("TransactWriteItems", 2):
        run(names, clock, claimed, owner="killed")
    record = run_record(names.idempotency_table)
    assert record is not None
    assert record["lease_owner"]["S"].startswith("killed/")
    assert int(record["lease_expires_at"]["N"]) == started + TIMEOUT_MS // 1000 + LEASE_MARGIN_SECONDS
    assert len(claimed) == 100
    paid_before = referral_state(all_items(names.referral_table))

    # Before the lease expires, another invocation stays out; Lambda's retry of the same
    # request fails so that a later retry can take over.
    clock.advance(60)
    assert run(names, clock, claimed, owner="other").status is PayoutStatus.IN_PROGRESS_ELSEWHERE
    with pytest.raises(PayoutLeaseHeld):
        run(names, clock, claimed, owner="killed")
    assert referral_state(all_items(names.referral_table)) == paid_before

    clock.advance(PAST_ANY_LEASE - 60)
    outcome = run(names, clock, claimed, owner="killed")

    assert outcome.status is PayoutStatus.COMPLETED
    assert_paid_exactly_once(observe(aws, names, outcome), claimed)
    record = run_record(names.idempotency_table)
    assert record is not None
    assert record["attempts"] == {"N": "2"}
    assert record["completed_by"]["S"].startswith("killed/")


def test_an_acquire_retried_after_its_answer_was_lost_keeps_the_lease(aws):
    names = resources(aws)
    store = RecordingStore(names, Claims())
    lease = Lease(owner="request-1/a1b2", now=1_000, expires_at=1_330)
    request = november_request(FakeClock())

    first = store.acquire_run(request, lease, ttl=9_999)
    retried = store.acquire_run(request, lease, ttl=9_999)  # what botocore resends on a timeout
    other = store.acquire_run(request, Lease(owner="request-2/c3d4", now=1_001, expires_at=1_331), ttl=9_999)

    assert first == retried == Acquired(cutoff_ms=CUTOFF_MS)
    assert other == HeldElsewhere(owner="request-1/a1b2", lease_expires_at=1_330)


def test_a_completion_resent_after_its_answer_was_lost_is_still_a_completion(aws):
    names = resources(aws)
    store = RecordingStore(names, Claims())
    lease = Lease(owner="request-1/a1b2", now=1_000, expires_at=1_330)
    request = november_request(FakeClock())
    store.acquire_run(request, lease, ttl=9_999)
    summary = PayoutSummary(request.payout_id, request.month, 0, Decimal("0.00"), 0, "s3://bucket/key")

    store.complete_run(summary, lease.owner, now=1_010)
    store.complete_run(summary, lease.owner, now=1_010)  # what botocore resends on a timeout
    with pytest.raises(PayoutLeaseLost):
        store.complete_run(summary, "request-2/c3d4", now=1_011)  # anyone else: the lease is not theirs
    # The resend changed a completed record into a completed record: no second message.
    assert len(completed_messages(aws, names.idempotency_table)) == 1


def test_a_run_killed_right_after_completing_is_notified_once(aws):
    """The old design published before completing, so a crash between the two sent it twice."""
    names = resources(aws)
    seed_november(names)
    clock, claimed = FakeClock(), Claims()
    dynamodb = client("dynamodb")
    completions: list[dict] = []

    def note_the_completion(params: dict, **_: object) -> None:
        if params["UpdateExpression"].startswith("SET #status = :completed"):
            completions.append(params)

    def killed_once_completed(**_: object) -> None:
        if completions:
            raise Killed("killed as the completion returned")

    events = [
        ("before-parameter-build.dynamodb.UpdateItem", note_the_completion),
        ("after-call.dynamodb.UpdateItem", killed_once_completed),
    ]
    for event, hook in events:
        dynamodb.meta.events.register(event, hook, unique_id=f"kill-after-{event}")
    try:
        with pytest.raises(Killed):
            run(names, clock, claimed, owner="killed")
    finally:
        for event, _ in events:
            dynamodb.meta.events.unregister(event, unique_id=f"kill-after-{event}")
    assert len(completions) == 1

    clock.advance(PAST_ANY_LEASE)
    assert run(names, clock, claimed, owner="retry").status is PayoutStatus.ALREADY_COMPLETED
    [message] = completed_messages(aws, names.idempotency_table)
    assert '"eventId":"payout.completed:payout-2026-11"' in message


def test_concurrent_invocations_of_a_month_pay_once(aws):
    names = resources(aws)
    seed_november(names)
    clock, claimed, second_claims = FakeClock(), Claims(), Claims()
    seconds: list[PayoutOutcome] = []
    second_calls: list[str] = []

    class SecondStartsMidway(RecordingStore):
        def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> list[Reward]:
            if not seconds:  # the first invocation holds the lease and is about to claim
                with recorded_calls() as log:
                    seconds.append(run(names, clock, second_claims, owner="second"))
                second_calls.extend(log.calls)
            return super().claim(rewards, payout_id, paid_at_ms)

    store = SecondStartsMidway(names, claimed, page_size=PAGE_SIZE)
    first = run_payout(november_request(clock), invocation(clock, FakeContext("first")), store)

    assert [outcome.status for outcome in seconds] == [PayoutStatus.IN_PROGRESS_ELSEWHERE]
    assert second_calls == ["dynamodb:UpdateItem"]  # the refused lease; nothing read or paid
    assert second_claims == []
    assert first.status is PayoutStatus.COMPLETED
    observed = observe(aws, names, first)
    assert_paid_exactly_once(observed, claimed)
    assert len(observed.messages) == 1


def test_running_out_of_time_stops_cleanly_and_the_retry_resumes(aws):
    names = resources(aws)
    seed_november(names)
    clock, claimed = FakeClock(), Claims()

    # Enough time for the lease and one claim chunk; then less than the safety margin is left.
    with pytest.raises(PayoutIncomplete, match="resumes the same payout"):
        run(names, clock, claimed, owner="slow", low_after_checks=2)
    assert len(claimed) == 100
    record = run_record(names.idempotency_table)
    assert record is not None
    assert record["lease_owner"]["S"].startswith("slow/")
    assert int(record["lease_expires_at"]["N"]) == int(clock()) + RELEASE_SETTLE_SECONDS  # released
    assert completed_messages(aws, names.idempotency_table) == []

    clock.advance(60)  # Lambda's first asynchronous retry, about a minute later
    outcome = run(names, clock, claimed, owner="slow")

    assert outcome.status is PayoutStatus.COMPLETED
    observed = observe(aws, names, outcome)
    assert_paid_exactly_once(observed, claimed)
    assert outcome.summary is not None
    assert outcome.summary.rewards_paid == 130


def test_a_reward_created_during_the_run_after_the_cutoff_stays_pending(aws):
    names = resources(aws)
    seed_november(names)
    clock, claimed = FakeClock(), Claims()
    late = SeededReward("signed-up-during-payout", int(clock() * 1000), "referrer-000", Decimal("9.99"))
    assert late.timestamp_ms >= CUTOFF_MS

    class SignupDuringRun(RecordingStore):
        def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> list[Reward]:
            put_pending(names.referral_table, late)
            return super().claim(rewards, payout_id, paid_at_ms)

    store = SignupDuringRun(names, claimed, page_size=PAGE_SIZE)
    outcome = run_payout(november_request(clock), invocation(clock), store)

    assert outcome.status is PayoutStatus.COMPLETED
    assert referral_state(all_items(names.referral_table))[late.key] == {
        "status": "pending",
        "payout_id": None,
        "pending_key": True,
    }
    assert_paid_exactly_once(observe(aws, names, outcome), claimed)


def test_transaction_conflicts_are_retried_with_backoff(aws):
    names = resources(aws)
    seed_november(names)
    sleeps: list[float] = []
    store = RecordingStore(names, claimed := Claims(), page_size=PAGE_SIZE)
    store._sleep = sleeps.append

    with recorded_calls() as log, cancel_transactions("TransactionConflict", times=2):
        outcome = run_payout(november_request(FakeClock()), invocation(FakeClock()), store)

    assert outcome.status is PayoutStatus.COMPLETED
    assert len(sleeps) == 2
    assert all(0 <= pause <= 2.0 for pause in sleeps)
    assert log.calls.count("dynamodb:TransactWriteItems") == 3 + 2  # 2 claims + 1 credit, 2 retried
    assert_paid_exactly_once(observe(aws, names, outcome), claimed)


def test_conflicts_that_outlast_the_retries_fail_the_run_and_release_the_lease(aws):
    names = resources(aws)
    seed_november(names)
    clock = FakeClock()
    store = RecordingStore(names, Claims(), page_size=PAGE_SIZE)

    with (
        cancel_transactions("ThrottlingError", times=MAX_TRANSACTION_ATTEMPTS),
        pytest.raises(TransactionRetriesExhausted),
    ):
        run_payout(november_request(clock), invocation(clock), store)

    record = run_record(names.idempotency_table)
    assert record is not None
    assert int(record["lease_expires_at"]["N"]) == int(clock()) + RELEASE_SETTLE_SECONDS
    assert all(
        state["status"] == "pending"
        for state in referral_state(all_items(names.referral_table)).values()
        if state["payout_id"] != "payout-2026-10"
    )


def test_a_missing_referrer_profile_is_not_created(aws):
    names = resources(aws)
    seed(names.referral_table, pending=PENDING, profiles=REFERRERS[1:])
    claimed = Claims()

    outcome = run(names, FakeClock(), claimed)

    assert outcome.status is PayoutStatus.COMPLETED
    profiles = paid_totals(all_items(names.referral_table))
    assert REFERRERS[0] not in profiles
    assert profiles[REFERRERS[1]] == (expected_totals(PENDING)[REFERRERS[1]], [PAYOUT_ID])


def test_a_record_left_failed_by_the_old_implementation_does_not_block_the_payout(aws):
    names = resources(aws)
    seed_november(names)
    client("dynamodb").put_item(
        TableName=names.idempotency_table,
        Item={c.IDEMPOTENCY_KEY: {"S": PAYOUT_ID}, c.STATUS: {"S": "failed"}, "error": {"S": "boom"}},
    )

    outcome = run(names, FakeClock(), claimed := Claims())

    assert outcome.status is PayoutStatus.COMPLETED
    assert_paid_exactly_once(observe(aws, names, outcome), claimed)


@contextmanager
def kill_at_call(operation: str, nth: int) -> Iterator[None]:
    """Kills the run at the nth call of `operation`, as a timeout would: no handler runs."""
    seen: list[str] = []

    def before_call(model: Any, **_: object) -> None:
        if model.name == operation:
            seen.append(operation)
            if len(seen) == nth:
                raise Killed(f"killed at {operation} #{nth}")

    with _before_call(before_call):
        yield


@contextmanager
def cancel_transactions(code: str, times: int) -> Iterator[None]:
    """The next `times` TransactWriteItems calls are cancelled, their first operation with `code`."""
    left = [times]

    def before_call(model: Any, params: dict, **_: object) -> None:
        if model.name != "TransactWriteItems" or not left[0]:
            return
        left[0] -= 1
        operations = len(json.loads(params["body"])["TransactItems"])
        reasons = [{"Code": code}] + [{"Code": "None"}] * (operations - 1)
        raise ClientError(
            {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}, "CancellationReasons": reasons},
            "TransactWriteItems",
        )

    with _before_call(before_call):
        yield


@contextmanager
def _before_call(hook: Callable[..., None]) -> Iterator[None]:
    dynamodb = client("dynamodb")
    # Same event name as recorded_calls, registered after it: the call is logged, then fails.
    dynamodb.meta.events.register("before-call", hook, unique_id="payout-test-fault")
    try:
        yield
    finally:
        dynamodb.meta.events.unregister("before-call", unique_id="payout-test-fault")
