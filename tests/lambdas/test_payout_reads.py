"""The payout reads only what it pays, page by page, however much paid history the table holds."""

from decimal import Decimal

import pytest

from referrals import contract as c
from referrals.payout_run import run_payout
from referrals.payout_store import DynamoPayoutStore
from referrals.payout_summary import PayoutStatus
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.test_payout_support import (
    NOVEMBER_MS,
    PAYOUT_ID,
    FakeClock,
    SeededClawback,
    all_items,
    expected_totals,
    fast_transactions,
    invocation,
    november_request,
    november_rewards,
    paid_totals,
    referral_state,
    report_bytes,
    resources,
    seed,
    tallied_queries,
)

pytestmark = pytest.mark.usefixtures(fast_transactions.__name__)

DAY_MS = 86_400_000


def test_items_read_per_payable_reward_stay_at_one_with_ten_times_the_paid_history(aws):
    pending = november_rewards(100, referrers=10)
    # Ten months of paid rewards, 1,000 in all, from the same referrers.
    history = november_rewards(1_000, referrers=10, start_ms=NOVEMBER_MS - 300 * DAY_MS)
    names = resources(aws)
    seed(names.referral_table, paid=history, profiles=sorted(expected_totals(pending)), payable=pending)
    clock = FakeClock()

    with tallied_queries() as reads:
        outcome = run_payout(november_request(clock), invocation(clock), DynamoPayoutStore(names))

    assert outcome.status is PayoutStatus.COMPLETED
    assert outcome.summary is not None
    assert outcome.summary.rewards_paid == 100
    # 0 from the payout index, 100 payable rewards, 0 from the legacy index and the open clawbacks.
    assert [call["scanned"] for call in reads.calls] == [0, 100, 0, 0]
    assert reads.scanned / len(pending) <= 1.05
    assert all(call["scanned"] == call["count"] for call in reads.calls)  # no filter discarded reads


def test_pays_across_many_pages_of_payable_rewards(aws):
    pending = november_rewards(95, referrers=7)
    names = resources(aws)
    seed(names.referral_table, profiles=sorted(expected_totals(pending)), payable=pending)
    clock = FakeClock()

    with recorded_calls() as log, tallied_queries() as reads:
        store = DynamoPayoutStore(names, page_size=10)
        outcome = run_payout(november_request(clock), invocation(clock), store)

    assert outcome.status is PayoutStatus.COMPLETED
    # The payout index, 10 pages of payable rewards, the legacy index, the open clawbacks.
    assert log.calls.count("dynamodb:Query") == 1 + 10 + 1 + 1
    assert [call["count"] for call in reads.calls] == [0, *[10] * 9, 5, 0, 0]
    # Claims run across pages: all 95 in one transaction, then one credit.
    assert log.calls.count("dynamodb:TransactWriteItems") == 1 + 1
    items = all_items(names.referral_table)
    assert {key: state["payout_id"] for key, state in referral_state(items).items()} == {
        reward.key: PAYOUT_ID for reward in pending
    }
    assert paid_totals(items) == {
        referrer: (total, [PAYOUT_ID]) for referrer, total in expected_totals(pending).items()
    }
    assert report_bytes(names.reports_bucket).count(b"\r\n") == 1 + 7


def test_items_read_per_paid_reward_stay_under_the_goal_with_two_percent_clawed_back(aws):
    pending = november_rewards(200, referrers=20)
    referrers = sorted(expected_totals(pending))
    # 4 clawbacks (2 % of the month's rewards), of referrers paid this month.
    clawbacks = [
        SeededClawback(
            f"old-{n}{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 30 * DAY_MS, referrers[n], Decimal("1.00"), NOVEMBER_MS
        )
        for n in range(4)
    ]
    names = resources(aws)
    seed(names.referral_table, profiles=referrers, payable=pending, clawbacks=clawbacks)
    clock = FakeClock()

    with tallied_queries() as reads, recorded_calls() as log:
        outcome = run_payout(november_request(clock), invocation(clock), DynamoPayoutStore(names))

    assert outcome.summary is not None
    assert (outcome.summary.rewards_paid, outcome.summary.clawbacks_settled) == (200, 4)
    assert [call["scanned"] for call in reads.calls] == [0, 200, 0, 4]
    assert reads.scanned / len(pending) <= 1.05
    assert log.calls.count("dynamodb:TransactWriteItems") == 2 + 1 + 1  # claims, one settlement, credits
