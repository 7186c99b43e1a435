"""Reward amounts are bounded (referrals.money.MAX_AMOUNT), so a payout's sums are always exact.

A stored reward above the bound (left by an older version, or written by hand) stops the payout
before anything is claimed; before the bound, the sums of such rewards outgrew Decimal's default
28 digits and the payout raised after its claims were committed, on every retry.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from referrals.money import MAX_AMOUNT
from tests.lambdas.test_payout_support import (
    FakeContext,
    SeededReward,
    all_items,
    completed_messages,
    fast_transactions,
    paid_totals,
    referral_state,
    report_bytes,
    run_record,
    seed,
)

pytestmark = pytest.mark.usefixtures(fast_transactions.__name__)

MONTH = "2025-06"
JUNE_MS = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp()) * 1000


@pytest.fixture
def handler(aws):
    from payout_processor.handler import handler

    return handler


def june_rewards(count: int, amount: Decimal, referrers: int = 2) -> list[SeededReward]:
    return [SeededReward(f"new-{n:04d}", JUNE_MS + n, f"ref-{n % referrers}", amount) for n in range(count)]


def test_rewards_at_the_bound_are_paid_with_exact_totals(aws, handler) -> None:
    rewards = june_rewards(250, MAX_AMOUNT)
    seed(aws.referral_table, payable=rewards, profiles=["ref-0", "ref-1"])

    result = handler({"payoutMonth": MONTH}, FakeContext())

    assert (result["status"], result["rewardsPaid"], result["totalAmount"]) == ("completed", 250, "250000000.00")
    assert report_bytes(aws.bucket, MONTH) == (
        b"Referrer ID,Total Amount,Referral Count,Payment Status,Gross Amount,Clawed Back,Carried Forward\r\n"
        b"ref-0,125000000.00,125,paid,125000000.00,0.00,0.00\r\nref-1,125000000.00,125,paid,125000000.00,0.00,0.00\r\n"
    )
    assert paid_totals(all_items(aws.referral_table)) == {
        "ref-0": (Decimal("125000000.00"), [f"payout-{MONTH}"]),
        "ref-1": (Decimal("125000000.00"), [f"payout-{MONTH}"]),
    }
    [message] = completed_messages(aws, aws.idempotency_table)
    assert '"totalAmount":250000000.00,' in message


@pytest.mark.filterwarnings("ignore:No application metrics")  # a payout that stops counts nothing
@pytest.mark.parametrize(
    "amount",
    [
        MAX_AMOUNT + Decimal("0.01"),
        Decimal("99999999999999999999999999.99"),  # ten of these need 29 digits
    ],
)
def test_a_reward_above_the_bound_stops_the_payout_before_any_claim(aws, handler, amount: Decimal) -> None:
    rewards = june_rewards(9, Decimal("10.00"))
    rewards += [SeededReward(f"big-{n}", JUNE_MS + 100 + n, "ref-0", amount) for n in range(10)]
    seed(aws.referral_table, pending=rewards, profiles=["ref-0", "ref-1"])

    with pytest.raises(ValueError, match=r"maximum of 1000000\.00"):
        handler({"payoutMonth": MONTH}, FakeContext())

    assert {state["status"] for state in referral_state(all_items(aws.referral_table)).values()} == {"pending"}
    assert paid_totals(all_items(aws.referral_table)) == {"ref-0": (Decimal(0), []), "ref-1": (Decimal(0), [])}
    record = run_record(aws.idempotency_table, f"payout-{MONTH}")
    assert record is not None and record["status"] == {"S": "in_progress"}  # released, for a retry
    assert completed_messages(aws, aws.idempotency_table) == []
