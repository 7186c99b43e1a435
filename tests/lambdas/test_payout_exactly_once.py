"""Exactly once: crashes at every AWS call, killed runs, concurrent runs, time running out, conflicts.

November holds payable rewards and clawbacks to net: one netted in full, two of three reached
(the second in part, carried forward), an earlier payout's carry, one recorded at the cutoff
(the next payout's), and one of a referrer with nothing payable (left alone).
"""

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
    SeededClawback,
    SeededReward,
    all_items,
    clawback_item,
    completed_messages,
    expected_totals,
    fast_transactions,
    fresh_resources,
    invocation,
    ledger_state,
    november_request,
    november_rewards,
    paid_totals,
    payable_item,
    put_item,
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
DAY_MS = 86_400_000
OCTOBER_MS = NOVEMBER_MS - 31 * DAY_MS
ONLY_OWES = "referrer-only-owes"  # no reward this month: their clawback stays open, untouched


def owed(user_id: str, referrer_id: str, amount: str, clawback_at_ms: int) -> SeededClawback:
    return SeededClawback(user_id, OCTOBER_MS, referrer_id, Decimal(amount), clawback_at_ms)


CLAWBACKS = [
    owed("old-a#clawback", "referrer-000", "20.00", NOVEMBER_MS + 3 * DAY_MS),  # of 85.85: netted in full
    # 81.95 earned: 50.00 in full, 31.95 of 40.00 (8.05 carried), the newest not reached.
    owed("old-b#clawback", "referrer-001", "50.00", OCTOBER_MS + 5 * DAY_MS),
    owed("old-c#clawback", "referrer-001", "40.00", OCTOBER_MS + 20 * DAY_MS),
    owed("old-d#clawback", "referrer-001", "30.00", NOVEMBER_MS + 2 * DAY_MS),
    SeededClawback("referrer-002#carry", NOVEMBER_MS, "referrer-002", Decimal("15.00"), NOVEMBER_MS),  # October's
    owed("old-e#clawback", "referrer-003", "5.00", CUTOFF_MS),  # at the cutoff: the next payout's
    owed("old-f#clawback", ONLY_OWES, "9.99", NOVEMBER_MS + DAY_MS),
]
SETTLED = {("old-a#clawback", OCTOBER_MS), ("old-b#clawback", OCTOBER_MS), ("old-c#clawback", OCTOBER_MS)}
SETTLED.add(("referrer-002#carry", NOVEMBER_MS))
CARRY = ("referrer-001#carry", CUTOFF_MS)
# referrer -> (clawed back, carried forward); everyone else is paid their gross.
NETTED = {
    "referrer-000": (Decimal("20.00"), Decimal("0.00")),
    "referrer-001": (Decimal("81.95"), Decimal("8.05")),
    "referrer-002": (Decimal("15.00"), Decimal("0.00")),
}


class Killed(BaseException):
    """Like Lambda stopping the runtime at its timeout: no except or finally block gets to react."""


@dataclass(frozen=True)
class Observed:
    report: bytes
    referrals: dict
    profiles: dict
    summary: object
    messages: list[str]  # what the relay publishes from the run record's stream, from its start
    ledger: dict


def seed_november(names: PayoutResources) -> None:
    seed(
        names.referral_table,
        payable=PENDING,
        paid=HISTORY,
        profiles=[*REFERRERS, ONLY_OWES],
        clawbacks=CLAWBACKS,
    )


def paid_net(referrer_id: str) -> Decimal:
    return expected_totals(PENDING)[referrer_id] - NETTED.get(referrer_id, (Decimal(0), Decimal(0)))[0]


def run(
    names: PayoutResources,
    clock: FakeClock,
    claimed: Claims,
    owner: str = "request-1",
    *,
    low_after_checks: int | None = None,
    settled: Claims | None = None,
) -> PayoutOutcome:
    store = RecordingStore(names, claimed, page_size=PAGE_SIZE, settled=settled)
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
        ledger=ledger_state(items),
    )


def assert_paid_exactly_once(observed: Observed, claimed: Claims, settled: Claims | None = None) -> None:
    assert sorted(claimed) == sorted(reward.key for reward in PENDING)  # every claim succeeded once
    for reward in PENDING:
        assert observed.referrals[reward.key] == {"status": "paid", "payout_id": PAYOUT_ID, "pending_key": False}
    for reward in HISTORY:
        assert observed.referrals[reward.key]["payout_id"] == "payout-2026-10"
    if settled is not None:
        assert sorted(settled) == sorted(SETTLED)  # every settlement succeeded once
    assert_netted_once(observed)


def assert_netted_once(observed: Observed) -> None:
    """Profiles credited once with what was paid net; the reached clawbacks settled, one carry."""
    assert observed.profiles == {referrer: (paid_net(referrer), [PAYOUT_ID]) for referrer in REFERRERS} | {
        ONLY_OWES: (Decimal(0), [])
    }
    for clawback in CLAWBACKS:
        state = observed.ledger[clawback.key]
        if clawback.key in SETTLED:
            assert state == {"status": "settled", "amount": clawback.amount, "payout_id": PAYOUT_ID, "open_key": False}
        else:
            assert state == {"status": "open", "amount": clawback.amount, "payout_id": None, "open_key": True}
    assert observed.ledger[CARRY] == {"status": "open", "amount": Decimal("8.05"), "payout_id": None, "open_key": True}
    assert len(observed.ledger) == len(CLAWBACKS) + 1  # one carry, no other


def test_an_uninterrupted_run_pays_every_payable_reward_once_net_of_clawbacks(aws):
    names = resources(aws)
    seed_november(names)
    claimed, settled = Claims(), Claims()

    with recorded_calls() as log:
        outcome = run(names, FakeClock(), claimed, settled=settled)

    assert outcome.status is PayoutStatus.COMPLETED
    summary = outcome.summary
    assert summary is not None
    assert (summary.rewards_paid, summary.total_referrers, summary.clawbacks_settled) == (130, 13, 4)
    gross = sum(expected_totals(PENDING).values())
    assert summary.gross_amount == gross
    assert (summary.clawed_back_amount, summary.carried_forward_amount) == (Decimal("116.95"), Decimal("8.05"))
    assert summary.total_amount == gross - Decimal("116.95")
    observed = observe(aws, names, outcome)
    assert_paid_exactly_once(observed, claimed, settled)
    assert log.calls == [
        "dynamodb:UpdateItem",  # lease
        "dynamodb:Query",  # claims of earlier invocations: none
        "dynamodb:Query",  # payable page 1 (120)
        "dynamodb:TransactWriteItems",  # claim 100
        "dynamodb:Query",  # payable page 2 (10)
        "dynamodb:Query",  # the legacy pending index: nothing
        "dynamodb:TransactWriteItems",  # claim 30: the rest of page 1 and page 2
        "dynamodb:Query",  # open clawbacks before the cutoff (6)
        "dynamodb:TransactWriteItems",  # settle the 4 reached
        "dynamodb:UpdateItem",  # the run record: clawbacks settled, so a rerun settles no more
        "dynamodb:TransactWriteItems",  # credit 13 referrer profiles and write 1 carry
        "s3:PutObject",
        "dynamodb:UpdateItem",  # completed: the notification (the stream relay publishes it)
    ]
    rows = observed.report.decode().splitlines()
    assert rows[0] == "Referrer ID,Total Amount,Referral Count,Payment Status,Gross Amount,Clawed Back,Carried Forward"
    assert rows[1:4] == [
        "referrer-000,65.85,10,paid,85.85,20.00,0.00",
        "referrer-001,0.00,10,netted,81.95,81.95,8.05",
        "referrer-002,63.05,10,paid,78.05,15.00,0.00",
    ]
    assert rows[4] == "referrer-003,81.15,10,paid,81.15,0.00,0.00"
    assert ONLY_OWES not in observed.report.decode()


def test_a_crash_at_every_call_then_a_rerun_matches_an_uninterrupted_run(aws, monkeypatch):
    baseline_names = fresh_resources(aws, "baseline", monkeypatch)
    seed_november(baseline_names)
    baseline_claims, baseline_settled = Claims(), Claims()
    with recorded_calls() as log:
        baseline_outcome = run(baseline_names, FakeClock(), baseline_claims, settled=baseline_settled)
    baseline = observe(aws, baseline_names, baseline_outcome)
    calls = list(log.calls)
    assert_paid_exactly_once(baseline, baseline_claims, baseline_settled)
    assert len(baseline.messages) == 1
    assert "dynamodb:TransactWriteItems" in calls[calls.index("s3:PutObject") - 2 :]  # settling, then crediting

    for k in range(1, len(calls) + 1):
        where = f"crash at call {k} ({calls[k - 1]})"
        names = fresh_resources(aws, f"crash-{k}", monkeypatch)
        seed_november(names)
        clock, claimed, settled = FakeClock(), Claims(), Claims()
        with recorded_calls(fail_at=k) as faulty, pytest.raises(InjectedFault):
            run(names, clock, claimed, owner="crashed", settled=settled)
        assert faulty.calls[k - 1] == calls[k - 1], f"{where}: the run took another path"

        clock.advance(PAST_ANY_LEASE)  # past the released lease's settle time, or a lease left behind
        outcome = run(names, clock, claimed, owner="rerun", settled=settled)

        assert outcome.status is PayoutStatus.COMPLETED, where
        observed = observe(aws, names, outcome)
        assert observed.report == baseline.report, where
        assert observed.summary == baseline.summary, where
        assert observed.ledger == baseline.ledger, where
        assert_paid_exactly_once(observed, claimed, settled)
        # Exactly one message whatever the crash: the completion is the event, and it happens once.
        assert observed.messages == baseline.messages, where
        record = run_record(names.idempotency_table)
        assert record is not None
        assert record["status"] == {"S": "completed"}, where


# 110 clawbacks of one referrer (11.00 of their 85.85): settled in two chunks, 100 and 10.
MANY_CLAWBACKS = [owed(f"many-{n:03d}#clawback", "referrer-000", "0.10", OCTOBER_MS + n * 60_000) for n in range(110)]


def test_a_crash_at_every_call_with_settlements_in_two_chunks_then_a_rerun_matches(aws, monkeypatch):
    """The crash test again, where the clawbacks to settle take two transactions: a crash between
    them, or in either, leaves a rerun to settle the rest once and to net the same amounts."""

    def seeded(suffix: str) -> PayoutResources:
        names = fresh_resources(aws, suffix, monkeypatch)
        seed(names.referral_table, payable=PENDING, paid=HISTORY, profiles=REFERRERS, clawbacks=MANY_CLAWBACKS)
        return names

    baseline_names = seeded("many-baseline")
    baseline_claimed, baseline_settled = Claims(), Claims()
    with recorded_calls() as log:
        baseline_outcome = run(baseline_names, FakeClock(), baseline_claimed, settled=baseline_settled)
    baseline = observe(aws, baseline_names, baseline_outcome)
    calls = list(log.calls)
    every_clawback = sorted(clawback.key for clawback in MANY_CLAWBACKS)
    assert sorted(baseline_settled) == every_clawback
    assert baseline_outcome.summary is not None
    assert (baseline_outcome.summary.clawbacks_settled, baseline_outcome.summary.clawed_back_amount) == (
        110,
        Decimal("11.00"),
    )
    # Claims 100 + 30, settlements 100 + 10, one credit transaction for the 13 referrers.
    assert calls.count("dynamodb:TransactWriteItems") == 5

    for k in range(1, len(calls) + 1):
        where = f"crash at call {k} ({calls[k - 1]})"
        names = seeded(f"many-crash-{k}")
        clock, claimed, settled = FakeClock(), Claims(), Claims()
        with recorded_calls(fail_at=k) as faulty, pytest.raises(InjectedFault):
            run(names, clock, claimed, owner="crashed", settled=settled)
        assert faulty.calls[k - 1] == calls[k - 1], f"{where}: the run took another path"

        clock.advance(PAST_ANY_LEASE)
        outcome = run(names, clock, claimed, owner="rerun", settled=settled)

        assert outcome.status is PayoutStatus.COMPLETED, where
        observed = observe(aws, names, outcome)
        assert (observed.report, observed.summary, observed.ledger) == (
            baseline.report,
            baseline.summary,
            baseline.ledger,
        ), where
        assert observed.profiles == baseline.profiles, where
        assert sorted(claimed) == sorted(reward.key for reward in PENDING), where
        assert sorted(settled) == every_clawback, where  # each settled once, by one of the two runs
        assert observed.messages == baseline.messages, where


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


def test_a_reward_payable_and_a_clawback_recorded_during_the_run_wait_for_the_next_payout(aws):
    names = resources(aws)
    seed_november(names)
    clock, claimed = FakeClock(), Claims()
    now_ms = int(clock() * 1000)
    # A signup (or an approval) during the run is payable from now; a reversal records its clawback now.
    late = SeededReward("signed-up-during-payout", now_ms, "referrer-000", Decimal("9.99"))
    reversal = SeededClawback("reversed-during-payout#clawback", OCTOBER_MS, "referrer-004", Decimal("3.00"), now_ms)
    assert now_ms >= CUTOFF_MS

    class ChangesDuringRun(RecordingStore):
        def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> list[Reward]:
            put_item(names.referral_table, payable_item(late))
            put_item(names.referral_table, clawback_item(reversal))
            return super().claim(rewards, payout_id, paid_at_ms)

    store = ChangesDuringRun(names, claimed, page_size=PAGE_SIZE)
    outcome = run_payout(november_request(clock), invocation(clock), store)

    assert outcome.status is PayoutStatus.COMPLETED
    items = all_items(names.referral_table)
    assert referral_state(items)[late.key] == {"status": "payable", "payout_id": None, "pending_key": True}
    assert ledger_state(items)[reversal.key]["status"] == "open"
    assert paid_totals(items)["referrer-004"] == (expected_totals(PENDING)["referrer-004"], [PAYOUT_ID])
    assert (outcome.summary is not None) and outcome.summary.clawbacks_settled == 4


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
    assert log.calls.count("dynamodb:TransactWriteItems") == 4 + 2  # 2 claims, 1 settle, 1 credit; 2 retried
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
        state["status"] == "payable"
        for state in referral_state(all_items(names.referral_table)).values()
        if state["payout_id"] != "payout-2026-10"
    )


def test_a_missing_referrer_profile_is_not_created_and_their_carry_is_still_recorded(aws):
    names = resources(aws)
    # Items from before the lifecycle (the legacy index), and a clawback of more than referrer 0 earned.
    owes = owed("old-x#clawback", REFERRERS[0], "100.00", OCTOBER_MS)
    seed(names.referral_table, pending=PENDING, profiles=REFERRERS[1:], clawbacks=[owes])
    claimed = Claims()

    outcome = run(names, FakeClock(), claimed)

    assert outcome.status is PayoutStatus.COMPLETED
    items = all_items(names.referral_table)
    profiles = paid_totals(items)
    assert REFERRERS[0] not in profiles
    assert profiles[REFERRERS[1]] == (expected_totals(PENDING)[REFERRERS[1]], [PAYOUT_ID])
    carried = Decimal("100.00") - expected_totals(PENDING)[REFERRERS[0]]
    assert ledger_state(items)[(f"{REFERRERS[0]}#carry", CUTOFF_MS)]["amount"] == carried


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
