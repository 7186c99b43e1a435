"""The stats' amounts by state (referrals/referrer_amounts.py, docs/lifecycle-design.md#stats), no AWS."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals import contract as c
from referrals.money import MAX_AMOUNT
from referrals.referrer_amounts import ReferrerAmounts, ReferrerItem, referrer_amounts

NOW = 1_796_000_000_000
ZERO = Decimal("0.00")


def reward(user: str, status: str, amount: str, payable_at: int | None = None) -> ReferrerItem:
    return ReferrerItem(user, status, Decimal(amount), payable_at)


def test_every_state_in_its_own_amount() -> None:
    items = [
        reward("w", c.STATUS_WAITING, "1"),
        reward("h", c.STATUS_PAYABLE, "2", payable_at=NOW + 1),  # in its hold: waiting
        reward("f", c.STATUS_FLAGGED, "4"),
        reward("p", c.STATUS_PAYABLE, "8", payable_at=NOW),  # its hold ends now: payable
        reward("l", c.STATUS_PENDING, "16"),  # legacy: payable, no hold
        reward("d", c.STATUS_PAID, "32"),
        reward("r", c.STATUS_REVERSED, "64"),
        reward("k#clawback", c.CLAWBACK_OPEN, "128"),
        reward("alice#carry", c.CLAWBACK_OPEN, "256"),
        reward("s#clawback", c.CLAWBACK_SETTLED, "512"),  # netted already
        reward("alice#carry", c.CLAWBACK_SETTLED, "1024"),
    ]
    amounts = referrer_amounts(items, NOW)
    assert amounts == ReferrerAmounts(
        waiting=Decimal("3.00"),
        flagged=Decimal("4.00"),
        payable=Decimal("24.00"),
        paid=Decimal("32.00"),
        reversed=Decimal("64.00"),
        open_clawbacks=Decimal("384.00"),
    )
    assert amounts.pending == Decimal("31.00")
    assert [str(value) for value in vars(amounts).values()] == ["3.00", "4.00", "24.00", "32.00", "64.00", "384.00"]


def test_a_held_reward_becomes_payable_when_its_hold_ends() -> None:
    held = [reward("h", c.STATUS_PAYABLE, "10", payable_at=NOW)]
    assert (referrer_amounts(held, NOW - 1).waiting, referrer_amounts(held, NOW - 1).payable) == (Decimal(10), ZERO)
    assert (referrer_amounts(held, NOW).waiting, referrer_amounts(held, NOW).payable) == (ZERO, Decimal(10))


def test_no_items_is_zero_everywhere_with_two_places() -> None:
    amounts = referrer_amounts([], NOW)
    assert amounts == ReferrerAmounts(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)
    assert str(amounts.pending) == "0.00"


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (reward("bob", "settled", "1"), "referral item of bob has unknown status 'settled'"),
        (ReferrerItem("bob", None, Decimal(1)), "unknown status None"),
        (reward("bob#clawback", c.STATUS_PAID, "1"), "ledger item bob#clawback has unknown status 'paid'"),
    ],
)
def test_an_item_in_no_known_state_is_refused(item: ReferrerItem, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        referrer_amounts([item], NOW)


def test_an_amount_that_is_not_whole_cents_is_refused_rather_than_rounded() -> None:
    with pytest.raises(ValueError, match="more than two decimal places"):
        referrer_amounts([reward("bob", c.STATUS_PAID, "0.005")], NOW)


CENTS = st.integers(min_value=0, max_value=int(MAX_AMOUNT * 100)).map(lambda n: Decimal(n).scaleb(-2))
REWARD_STATUSES = [c.STATUS_WAITING, c.STATUS_FLAGGED, c.STATUS_PAYABLE, c.STATUS_PENDING, c.STATUS_PAID, "reversed"]
REWARDS = st.builds(
    ReferrerItem,
    user_id=st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    status=st.sampled_from(REWARD_STATUSES),
    reward_amount=CENTS.map(lambda amount: amount.normalize()),  # as DynamoDB may hand it back
    payable_at=st.none() | st.integers(NOW - 10**9, NOW + 10**9),
)
LEDGER = st.builds(
    ReferrerItem,
    user_id=st.sampled_from(["bob#clawback", "carol#clawback", "alice#carry"]),
    status=st.sampled_from([c.CLAWBACK_OPEN, c.CLAWBACK_SETTLED]),
    reward_amount=CENTS,
)


@given(
    rewards=st.lists(REWARDS, max_size=40),
    ledger=st.lists(LEDGER, max_size=10),
    now=st.integers(NOW - 10**9, NOW + 10**9),
)
def test_the_amounts_partition_the_rewards_exactly(
    rewards: list[ReferrerItem], ledger: list[ReferrerItem], now: int
) -> None:
    amounts = referrer_amounts([*rewards, *ledger], now)
    earned = sum((item.reward_amount for item in rewards), Decimal(0))
    assert amounts.pending + amounts.paid + amounts.reversed == earned  # every reward in one state
    assert amounts.pending == amounts.waiting + amounts.flagged + amounts.payable
    open_owed = sum((item.reward_amount for item in ledger if item.status == c.CLAWBACK_OPEN), Decimal(0))
    assert amounts.open_clawbacks == open_owed
    assert all(value.as_tuple().exponent == -2 for value in (*vars(amounts).values(), amounts.pending))
    # The ledger moves only the open clawbacks: no clawback or carry counts as a reward.
    assert vars(referrer_amounts(rewards, now)) == vars(amounts) | {"open_clawbacks": Decimal("0.00")}


@given(rewards=st.lists(REWARDS, max_size=30), now=st.integers(NOW - 10**9, NOW), later=st.integers(0, 10**9))
def test_time_only_moves_held_rewards_from_waiting_to_payable(
    rewards: list[ReferrerItem], now: int, later: int
) -> None:
    before, after = referrer_amounts(rewards, now), referrer_amounts(rewards, now + later)
    moved = after.payable - before.payable
    assert moved >= 0
    assert before.waiting - after.waiting == moved
    assert (before.flagged, before.paid, before.reversed) == (after.flagged, after.paid, after.reversed)
