"""The payout use case against an in-memory store: write budget, scale, leases, time budget."""

import tracemalloc
from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest

from referrals.payout_event import PayoutRequest
from referrals.payout_run import (
    LEASE_MARGIN_SECONDS,
    RELEASE_SETTLE_SECONDS,
    Acquired,
    AlreadyCompleted,
    HeldElsewhere,
    Invocation,
    Lease,
    LedgerItem,
    PayoutIncomplete,
    PayoutLeaseHeld,
    Reward,
    run_payout,
)
from referrals.payout_summary import PayoutStatus, PayoutSummary
from referrals.payout_totals import ReferrerTotal

REQUEST = PayoutRequest(month="2026-11", cutoff_ms=1_796_097_600_000)
NOW = 1_796_097_700


class MemoryStore:
    """Serves payable rewards lazily, page by page, and records what the use case asks for."""

    def __init__(self, rewards: int = 0, referrers: int = 1, page_size: int = 10_000) -> None:
        self.rewards, self.referrers, self.page_size = rewards, referrers, page_size
        self.open_clawbacks: list[LedgerItem] = []
        self.settle_sizes: list[int] = []
        self.credited: list[ReferrerTotal] = []
        self.acquired: Acquired | AlreadyCompleted | HeldElsewhere = Acquired(REQUEST.cutoff_ms)
        self.leases: list[Lease] = []
        self.claim_sizes: list[int] = []
        self.credit_sizes: list[int] = []
        self.report = b""
        self.completed: PayoutSummary | None = None
        self.released: list[int] = []
        self.fail_on_claim: Exception | None = None
        self.fail_on_release: Exception | None = None

    def acquire_run(
        self, request: PayoutRequest, lease: Lease, ttl: int
    ) -> Acquired | AlreadyCompleted | HeldElsewhere:
        self.leases.append(lease)
        return self.acquired

    def release_run(self, payout_id: str, owner: str, expires_at: int) -> None:
        if self.fail_on_release:
            raise self.fail_on_release
        self.released.append(expires_at)

    def complete_run(self, summary: PayoutSummary, owner: str, now: int) -> None:
        self.completed = summary

    def mark_netted(self, payout_id: str, owner: str, now: int) -> None:
        self.netted = True

    def claimed_items(self, payout_id: str) -> Iterator[Reward | LedgerItem]:
        return iter(())

    def payable_pages(self, cutoff_ms: int) -> Iterator[list[Reward]]:
        for start in range(0, self.rewards, self.page_size):
            yield [self._reward(index) for index in range(start, min(start + self.page_size, self.rewards))]

    def pending_pages(self, cutoff_ms: int) -> Iterator[list[Reward]]:
        return iter(())  # no item from before the lifecycle

    def open_clawback_pages(self, cutoff_ms: int) -> Iterator[list[LedgerItem]]:
        yield list(self.open_clawbacks)

    def settle(self, items: Sequence[LedgerItem], payout_id: str, settled_at_ms: int) -> Sequence[LedgerItem]:
        self.settle_sizes.append(len(items))
        return items

    def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> Sequence[Reward]:
        if self.fail_on_claim:
            raise self.fail_on_claim
        self.claim_sizes.append(len(rewards))
        return rewards

    def credit_referrers(self, totals: Sequence[ReferrerTotal], payout_id: str, cutoff_ms: int) -> int:
        self.credit_sizes.append(len(totals))
        self.credited += totals
        return len(totals)

    def put_report(self, key: str, body: bytes) -> str:
        self.report = body
        return f"s3://reports/{key}"

    def _reward(self, index: int) -> Reward:
        amount = Decimal(10 + index % 4 * 5)
        return Reward(f"user-{index:06d}", 1_000 + index, f"referrer-{index % self.referrers:06d}", amount)


def invocation(request_id: str = "request-1", remaining: list[int] | None = None) -> Invocation:
    left = remaining if remaining is not None else [300_000]  # read in turn; the last one stays
    return Invocation(request_id, remaining_ms=lambda: left.pop(0) if len(left) > 1 else left[0], clock=lambda: NOW)


def test_a_thousand_rewards_take_ten_claim_writes() -> None:
    store = MemoryStore(rewards=1_000, referrers=250)
    outcome = run_payout(REQUEST, invocation(), store)

    assert outcome.status is PayoutStatus.COMPLETED
    assert store.claim_sizes == [100] * 10
    assert store.credit_sizes == [100, 100, 50]


def test_a_hundred_thousand_rewards_are_paid_holding_only_per_referrer_totals() -> None:
    store = MemoryStore(rewards=100_000, referrers=20_000)
    tracemalloc.start()
    try:
        outcome = run_payout(REQUEST, invocation(), store)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert outcome.summary is not None
    assert (outcome.summary.rewards_paid, outcome.summary.total_referrers) == (100_000, 20_000)
    assert outcome.summary.total_amount == Decimal(100_000 // 4 * (10 + 15 + 20 + 25))
    assert len(store.claim_sizes) == 1_000
    # One page of rewards plus 20,000 aggregates and the report: tens of MB, far below 1,024 MB.
    assert peak < 64 * 1024 * 1024


def test_the_lease_covers_the_invocation_and_a_margin() -> None:
    store = MemoryStore()
    run_payout(REQUEST, invocation(remaining=[299_001]), store)
    [lease] = store.leases
    assert (lease.now, lease.expires_at) == (NOW, NOW + 300 + LEASE_MARGIN_SECONDS)
    # Unique per invocation: Lambda retries an event with the same request id.
    assert lease.owner.startswith("request-1/")
    run_payout(REQUEST, invocation(), store)
    assert store.leases[1].owner != lease.owner


def test_low_time_stops_before_the_next_claim_and_releases_the_lease() -> None:
    store = MemoryStore(rewards=350, page_size=1_000)
    # Lease, then chunks 1-3 with time to spare, then under the 30 s margin.
    with pytest.raises(PayoutIncomplete, match="resumes the same payout"):
        run_payout(REQUEST, invocation(remaining=[300_000, 90_000, 60_000, 31_000, 29_999]), store)
    assert store.claim_sizes == [100, 100, 100]
    assert store.released == [NOW + RELEASE_SETTLE_SECONDS]
    assert (store.report, store.completed) == (b"", None)


def test_an_error_releases_the_lease_and_is_raised() -> None:
    store = MemoryStore(rewards=5)
    store.fail_on_claim = RuntimeError("dynamodb is down")
    with pytest.raises(RuntimeError, match="dynamodb is down"):
        run_payout(REQUEST, invocation(), store)
    assert store.released == [NOW + RELEASE_SETTLE_SECONDS]


def test_a_failing_release_does_not_hide_the_error() -> None:
    store = MemoryStore(rewards=5)
    store.fail_on_claim = RuntimeError("first failure")
    store.fail_on_release = ConnectionError("release failed too")
    with pytest.raises(RuntimeError, match="first failure"):
        run_payout(REQUEST, invocation(), store)


def test_a_lease_held_by_another_invocation_is_left_alone() -> None:
    store = MemoryStore(rewards=5)
    store.acquired = HeldElsewhere(owner="request-0/3f2a", lease_expires_at=NOW + 100)
    outcome = run_payout(REQUEST, invocation("request-1"), store)
    assert outcome.status is PayoutStatus.IN_PROGRESS_ELSEWHERE
    assert outcome.summary is None
    assert store.claim_sizes == []


def test_a_lease_held_by_an_earlier_attempt_of_the_same_request_fails_for_a_later_retry() -> None:
    store = MemoryStore(rewards=5)
    store.acquired = HeldElsewhere(owner="request-1/3f2a", lease_expires_at=NOW + 100)
    with pytest.raises(PayoutLeaseHeld):
        run_payout(REQUEST, invocation("request-1"), store)
    assert (store.claim_sizes, store.released) == ([], [])


def test_a_completed_run_returns_its_summary_and_does_nothing_else() -> None:
    summary = PayoutSummary("payout-2026-11", "2026-11", 1, Decimal("10.00"), 1, "s3://r/k")
    store = MemoryStore(rewards=5)
    store.acquired = AlreadyCompleted(summary)
    outcome = run_payout(REQUEST, invocation(), store)
    assert (outcome.status, outcome.summary) == (PayoutStatus.ALREADY_COMPLETED, summary)
    assert (store.claim_sizes, store.completed) == ([], None)
