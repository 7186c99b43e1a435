"""cents(): exactly two places without rounding, and only a zero loses its sign (docs: "Numbers are
written one way everywhere")."""

from decimal import Decimal

import pytest

from referrals.money import cents, two_places


@pytest.mark.parametrize(("amount", "text"), [("-1.5", "-1.50"), ("-0.01", "-0.01"), ("-1000000", "-1000000.00")])
def test_a_negative_amount_keeps_its_sign(amount: str, text: str) -> None:
    assert str(cents(Decimal(amount))) == text
    assert two_places(Decimal(amount)) == text


@pytest.mark.parametrize("zero", ["-0", "-0.000", "0E+3", "-0E-5"])
def test_a_zero_of_any_sign_or_exponent_is_written_0_00(zero: str) -> None:
    assert str(cents(Decimal(zero))) == "0.00"


def test_more_than_two_places_that_would_round_are_refused() -> None:
    with pytest.raises(ValueError, match="more than two decimal places"):
        cents(Decimal("-1.005"))
