"""Resuming when time runs low (docs: Monthly payout): before each claim chunk, each profile-credit
chunk and the report the run needs 30 s left; with less it releases its lease (closed for 10 s)
and raises PayoutIncomplete. Exactly 30 s is enough."""

import pytest

from referrals.payout_run import PayoutIncomplete, run_payout
from referrals.payout_summary import PayoutStatus
from tests.unit.test_payout_run import NOW, REQUEST, MemoryStore, invocation

# The checks a run of 150 rewards from 150 referrers makes, in order, after the one that sizes the
# lease: claim chunks of 100 and 50, credit chunks of 100 and 50, the report.
LEASE, CLAIM_1, CLAIM_2, CREDIT_1, CREDIT_2, REPORT = range(6)


def remaining_times(low_at: int, low: int = 29_999) -> list[int]:
    times = [300_000] * 6
    times[low_at] = low
    return times[: low_at + 1]  # the last one stays: every later check reads it too


def store() -> MemoryStore:
    return MemoryStore(rewards=150, referrers=150)


@pytest.mark.parametrize("step", [CLAIM_1, CLAIM_2, CREDIT_1, CREDIT_2, REPORT])
def test_exactly_30_seconds_left_is_enough_for_each_step(step: int) -> None:
    payouts = store()
    outcome = run_payout(REQUEST, invocation(remaining=[*remaining_times(step, low=30_000), 300_000]), payouts)
    assert outcome.status is PayoutStatus.COMPLETED
    assert payouts.completed is not None
    assert payouts.released == []


def test_under_30_seconds_before_crediting_stops_after_the_claims() -> None:
    payouts = store()
    with pytest.raises(PayoutIncomplete, match="29999 ms left before crediting referrer profiles"):
        run_payout(REQUEST, invocation(remaining=remaining_times(CREDIT_1)), payouts)
    assert (payouts.claim_sizes, payouts.credit_sizes) == ([100, 50], [])
    assert (payouts.report, payouts.completed) == (b"", None)
    assert payouts.released == [NOW + 10]


def test_under_30_seconds_between_credit_chunks_stops_before_the_next() -> None:
    payouts = store()
    with pytest.raises(PayoutIncomplete, match="before crediting referrer profiles"):
        run_payout(REQUEST, invocation(remaining=remaining_times(CREDIT_2)), payouts)
    assert payouts.credit_sizes == [100]
    assert payouts.released == [NOW + 10]


def test_under_30_seconds_before_the_report_writes_no_report_and_completes_nothing() -> None:
    payouts = store()
    with pytest.raises(PayoutIncomplete, match="before writing the report"):
        run_payout(REQUEST, invocation(remaining=remaining_times(REPORT)), payouts)
    assert payouts.credit_sizes == [100, 50]
    assert (payouts.report, payouts.completed) == (b"", None)
    assert payouts.released == [NOW + 10]


def test_under_30_seconds_before_the_first_claim_claims_nothing() -> None:
    payouts = store()
    with pytest.raises(PayoutIncomplete, match="before claiming rewards"):
        run_payout(REQUEST, invocation(remaining=remaining_times(CLAIM_1)), payouts)
    assert payouts.claim_sizes == []
    assert payouts.released == [NOW + 10]


@pytest.mark.parametrize(("remaining_ms", "lease_seconds"), [(300_000, 330), (299_001, 330), (1_000, 31), (1, 31)])
def test_the_lease_is_the_remaining_time_rounded_up_plus_30_seconds(remaining_ms: int, lease_seconds: int) -> None:
    payouts = MemoryStore()
    run_payout(REQUEST, invocation(remaining=[remaining_ms, 300_000]), payouts)
    [lease] = payouts.leases
    assert (lease.now, lease.expires_at) == (NOW, NOW + lease_seconds)
