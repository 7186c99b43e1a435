"""Money arithmetic is exact or raises: amounts are bounded where they are configured, and every
sum runs at DynamoDB's 38 digits with rounding trapped, so no payout can round (or raise halfway)."""

from decimal import Decimal, Inexact, Rounded, getcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.money import EXACT, MAX_AMOUNT, add, cents, parse_amount, subtract, total, two_places
from referrals.payout_totals import PayoutTotals, payable_amount

# 28 digits: what Decimal's default context keeps, so a sum this long used to be rounded.
DEFAULT_DIGITS = getcontext().prec


def digits(amount: Decimal) -> int:
    return len(amount.as_tuple().digits)


def test_the_bound_is_a_million_per_reward_and_is_itself_an_amount() -> None:
    assert Decimal("1000000.00") == MAX_AMOUNT
    assert parse_amount("1000000.00") == MAX_AMOUNT
    assert payable_amount(Decimal("1E+6")) == MAX_AMOUNT


@pytest.mark.parametrize("value", ["1000000.01", "1e7", 10**30, Decimal("99999999999999999999999999.99")])
def test_amounts_above_the_bound_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"maximum of 1000000\.00"):
        parse_amount(value)


def test_rewards_at_the_bound_add_up_exactly() -> None:
    totals = PayoutTotals()
    for index in range(30_000):
        totals.add(f"referrer-{index % 3}", MAX_AMOUNT)
    assert [row.amount for row in totals.rows()] == [Decimal("10000000000.00")] * 3
    assert totals.total_amount == Decimal("30000000000.00")


def test_sums_longer_than_the_default_28_digits_are_exact() -> None:
    # Far above the bound on purpose: the arithmetic itself must not round at 28 digits.
    big = Decimal("99999999999999999999999999.99")  # 28 digits
    totals = PayoutTotals()
    for _ in range(1_000):
        totals.add("whale", big)
    expected = Decimal("99999999999999999999999999990.00")
    assert digits(expected) > DEFAULT_DIGITS
    assert totals.total_amount == expected
    assert two_places(totals.total_amount) == "99999999999999999999999999990.00"
    assert totals.rows()[0].amount == expected


def test_a_sum_that_would_need_more_than_38_digits_raises_instead_of_rounding() -> None:
    with pytest.raises((Inexact, Rounded)):
        add(Decimal("9" * 37 + ".99"), Decimal("0.01"))  # 39 digits
    with pytest.raises((Inexact, Rounded)):
        subtract(Decimal("1" + "0" * 36 + ".00"), Decimal("0.001"))  # 40 digits
    with pytest.raises((Inexact, Rounded)):
        total([Decimal("1E+40"), Decimal("0.01")])


def test_differences_are_exact_and_keep_the_cents() -> None:
    assert str(subtract(Decimal("10.00"), Decimal("2.50"))) == "7.50"
    assert str(subtract(Decimal("9" * 35 + ".99"), Decimal("0.01"))) == "9" * 35 + ".98"  # 37 digits


def test_the_bound_keeps_sums_of_any_possible_number_of_rewards_within_38_digits() -> None:
    # The claim in referrals/money.py: fewer than 10**30 rewards at the bound fit in 38 digits.
    largest_sum = EXACT.multiply(MAX_AMOUNT, 10**30 - 1)
    assert digits(largest_sum) == 38
    assert str(largest_sum) == "9" * 30 + "000000.00"
    assert str(add(largest_sum, Decimal("0.01"))) == "9" * 30 + "000000.01"  # the default context rounds this
    with pytest.raises((Inexact, Rounded)):
        add(largest_sum, MAX_AMOUNT)  # the 10**30th reward would need 39 digits


@pytest.mark.parametrize(
    ("value", "plain"),
    [("1e3", "1000.00"), ("1E+3", "1000.00"), (7, "7.00"), ("12.5", "12.50"), ("-0", "0.00"), ("12.500", "12.50")],
)
def test_parsed_amounts_have_exactly_two_places_in_plain_notation(value: object, plain: str) -> None:
    assert str(parse_amount(value)) == plain


cent_amounts = st.integers(min_value=0, max_value=100_000_000).map(lambda n: Decimal(n).scaleb(-2))


@given(st.lists(cent_amounts, max_size=200))
def test_a_total_of_bounded_amounts_is_their_exact_sum_in_cents(amounts: list[Decimal]) -> None:
    exact_cents = sum(int(amount * 100) for amount in amounts)
    assert cents(total(amounts)) == Decimal(exact_cents).scaleb(-2)
