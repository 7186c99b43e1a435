"""What the payout returns in each case (docs: Monthly payout, "The returned summary"), from the
use case through the handler's response."""

from decimal import Decimal

from referrals.payout_run import AlreadyCompleted, HeldElsewhere, run_payout
from referrals.payout_summary import PayoutSummary, response
from tests.unit.test_payout_run import NOW, REQUEST, MemoryStore, invocation


def test_a_run_held_elsewhere_answers_with_the_payout_it_names_and_pays_nothing() -> None:
    payouts = MemoryStore(rewards=5)
    payouts.acquired = HeldElsewhere(owner="request-0/3f2a", lease_expires_at=NOW + 100)

    answer = response(run_payout(REQUEST, invocation("request-1"), payouts))

    assert answer == {
        "message": "Payout payout-2026-11 is in progress in another invocation; nothing was paid here",
        "payoutId": "payout-2026-11",
        "payoutMonth": "2026-11",
        "status": "in_progress_elsewhere",
    }
    assert (payouts.claim_sizes, payouts.released) == ([], [])


def test_a_completed_run_answers_with_its_stored_summary() -> None:
    stored = PayoutSummary("payout-2026-11", "2026-11", 2, Decimal("35.40"), 4, "s3://r/payouts/2026-11/x.csv")
    payouts = MemoryStore(rewards=5)
    payouts.acquired = AlreadyCompleted(stored)

    answer = response(run_payout(REQUEST, invocation(), payouts))

    assert answer == {
        "message": "Payout payout-2026-11 was already completed; returning its stored summary",
        "totalReferrers": 2,
        "totalAmount": "35.40",
        "reportLocation": "s3://r/payouts/2026-11/x.csv",
        "rewardsPaid": 4,
        "grossAmount": "35.40",
        "clawedBackAmount": "0.00",
        "carriedForwardAmount": "0.00",
        "clawbacksSettled": 0,
        "payoutId": "payout-2026-11",
        "payoutMonth": "2026-11",
        "status": "already_completed",
    }


def test_a_completed_payout_answers_with_what_it_paid_and_where_the_report_is() -> None:
    payouts = MemoryStore(rewards=8, referrers=3)

    answer = response(run_payout(REQUEST, invocation(), payouts))

    # Rewards 10, 15, 20, 25, 10, 15, 20, 25 (see MemoryStore) from 3 referrers.
    assert answer == {
        "message": "Payout payout-2026-11 completed",
        "totalReferrers": 3,
        "totalAmount": "140.00",
        "reportLocation": "s3://reports/payouts/2026-11/payout-report.csv",
        "rewardsPaid": 8,
        "grossAmount": "140.00",
        "clawedBackAmount": "0.00",
        "carriedForwardAmount": "0.00",
        "clawbacksSettled": 0,
        "payoutId": "payout-2026-11",
        "payoutMonth": "2026-11",
        "status": "completed",
    }
    assert payouts.completed is not None
    assert payouts.report.startswith(b"Referrer ID,Total Amount,Referral Count,Payment Status,")
