"""The payout pays only payable rewards (docs/lifecycle-design.md, "Payout: only payable rewards"):
payable ones whose payable_at is before the cutoff, and items from before the lifecycle. Held,
waiting, flagged and reversed rewards are neither paid nor read, and the hold is crossed by the
first payout whose cutoff is later than payable_at."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from referrals import contract as c
from referrals.lifecycle_settings import parse_lifecycle_settings
from referrals.payout_event import PayoutRequest
from referrals.payout_run import run_payout
from referrals.payout_store import DynamoPayoutStore
from referrals.payout_summary import PayoutStatus
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.test_payout_support import (
    CUTOFF_MS,
    NOVEMBER_MS,
    PAYOUT_ID,
    FakeClock,
    SeededReward,
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
DECEMBER_CUTOFF_MS = int(datetime(2027, 1, 1, 2, tzinfo=UTC).timestamp()) * 1000
PAYABLE = november_rewards(60, referrers=6)
LEGACY = november_rewards(40, referrers=6, start_ms=NOVEMBER_MS + 100_000)  # before the lifecycle: pending
REFERRERS = sorted(expected_totals(PAYABLE))


def others(prefix: str, count: int, **changes: int) -> list[SeededReward]:
    """Rewards of the same referrers, in November, under their own user ids."""
    return [
        SeededReward(
            f"{prefix}-{n}", NOVEMBER_MS + 500_000 + n, REFERRERS[n % len(REFERRERS)], Decimal("7.77"), **changes
        )
        for n in range(count)
    ]


# In its hold at the cutoff: payable from the cutoff on, or later.
HELD = [
    *others("held-at-cutoff", 3, payable_at_ms=CUTOFF_MS),
    *others("held-longer", 3, payable_at_ms=CUTOFF_MS + DAY_MS),
]
WAITING, FLAGGED, REVERSED = others("waiting", 5), others("flagged", 5), others("reversed", 5)


def pay(names, request: PayoutRequest | None = None, clock: FakeClock | None = None):
    clock = clock or FakeClock()
    return run_payout(request or november_request(clock), invocation(clock), DynamoPayoutStore(names, page_size=25))


def test_only_payable_and_legacy_pending_rewards_are_paid_and_nothing_else_is_read(aws):
    names = resources(aws)
    unpaid = [(c.STATUS_WAITING, r) for r in WAITING] + [(c.STATUS_FLAGGED, r) for r in FLAGGED]
    unpaid += [(c.STATUS_REVERSED, r) for r in REVERSED]
    seed(names.referral_table, pending=LEGACY, profiles=REFERRERS, payable=[*PAYABLE, *HELD], unpaid=unpaid)

    with tallied_queries() as reads, recorded_calls() as log:
        outcome = pay(names)

    assert outcome.status is PayoutStatus.COMPLETED
    assert outcome.summary is not None
    assert outcome.summary.rewards_paid == len(PAYABLE) + len(LEGACY)
    # Every item read is paid: the held, waiting, flagged and reversed ones are in no index it reads.
    assert reads.scanned == len(PAYABLE) + len(LEGACY)
    assert all(call["scanned"] == call["count"] for call in reads.calls)
    # Claim chunks run across the two indexes: 100 rewards, one transaction.
    assert log.calls.count("dynamodb:TransactWriteItems") == 1 + 1  # the claim, the credits
    states = referral_state(all_items(names.referral_table))
    for reward in [*PAYABLE, *LEGACY]:
        assert states[reward.key] == {"status": "paid", "payout_id": PAYOUT_ID, "pending_key": False}
    for reward in HELD:
        assert states[reward.key] == {"status": "payable", "payout_id": None, "pending_key": True}
    for status, reward in unpaid:
        assert states[reward.key] == {"status": status, "payout_id": None, "pending_key": False}
    expected = expected_totals([*PAYABLE, *LEGACY])
    assert paid_totals(all_items(names.referral_table)) == {r: (expected[r], [PAYOUT_ID]) for r in REFERRERS}


@pytest.mark.parametrize("hold_days", [0, 7, 30])
def test_the_hold_ends_with_the_first_payout_whose_cutoff_is_later_than_payable_at(aws, hold_days: int):
    settings = parse_lifecycle_settings({"REWARD_HOLD_DAYS": str(hold_days)})
    hold_ms = hold_days * DAY_MS
    # Qualified at signup, each payable_at as the signup writes it: the hold from qualification.
    last_in = SeededReward("last-in", CUTOFF_MS - hold_ms - 1, "ref", Decimal("10.00"))
    first_out = SeededReward("first-out", CUTOFF_MS - hold_ms, "ref", Decimal("20.00"))
    rewards = [
        SeededReward(
            r.user_id, r.timestamp_ms, r.referrer_id, r.amount, settings.payable_at(r.timestamp_ms, r.timestamp_ms)
        )
        for r in (last_in, first_out)
    ]
    assert [r.payable_at_ms for r in rewards] == [CUTOFF_MS - 1, CUTOFF_MS]
    names = resources(aws)
    seed(names.referral_table, profiles=["ref"], payable=rewards)

    november = pay(names)
    after_november = referral_state(all_items(names.referral_table))
    december = pay(names, PayoutRequest("2026-12", DECEMBER_CUTOFF_MS), FakeClock(datetime(2027, 1, 1, 2, tzinfo=UTC)))

    assert november.summary is not None and december.summary is not None
    assert (november.summary.total_amount, december.summary.total_amount) == (Decimal("10.00"), Decimal("20.00"))
    assert after_november[last_in.key]["payout_id"] == PAYOUT_ID
    assert after_november[first_out.key] == {"status": "payable", "payout_id": None, "pending_key": True}
    assert referral_state(all_items(names.referral_table))[first_out.key]["payout_id"] == "payout-2026-12"
    assert paid_totals(all_items(names.referral_table))["ref"] == (
        Decimal("30.00"),
        ["payout-2026-11", "payout-2026-12"],
    )


def test_a_legacy_pending_reward_and_a_payable_one_share_a_report_row(aws):
    names = resources(aws)
    legacy = SeededReward("old-signup", NOVEMBER_MS + 1, "ref", Decimal("1.10"))
    payable = SeededReward("new-signup", NOVEMBER_MS + 2, "ref", Decimal("2.20"))
    seed(names.referral_table, pending=[legacy], profiles=["ref"], payable=[payable])

    outcome = pay(names)

    assert outcome.summary is not None
    assert (outcome.summary.rewards_paid, outcome.summary.total_amount) == (2, Decimal("3.30"))
    assert report_bytes(names.reports_bucket).endswith(b"\r\nref,3.30,2,paid,3.30,0.00,0.00\r\n")
