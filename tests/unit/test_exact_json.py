from decimal import Decimal

import pytest

from referrals import exact_json


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.50"), "12.50"),
        (Decimal("10"), "10"),
        (Decimal("1E+1"), "10"),
        (Decimal("0.1"), "0.1"),
        (Decimal("-0"), "0"),
        (Decimal("12345678901234567890.01"), "12345678901234567890.01"),
    ],
)
def test_decimals_keep_their_exact_digits(value: Decimal, text: str) -> None:
    assert exact_json.dumps(value) == text
    assert exact_json.loads(text) == value


def test_nested_structures_round_trip() -> None:
    value = {"a": [Decimal("0.30"), 1, "x", None, True], "b": {"c": Decimal("2.5")}}
    text = exact_json.dumps(value)
    assert text == '{"a":[0.30,1,"x",null,true],"b":{"c":2.5}}'
    assert exact_json.loads(text) == value


def test_non_finite_decimals_are_refused() -> None:
    with pytest.raises(ValueError, match="JSON number"):
        exact_json.dumps(Decimal("NaN"))
