"""The one notation every number is written in (DynamoDB and JSON), and strict JSON reading."""

from decimal import Decimal

import pytest

from referrals import exact_json


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("1000.00"), "1000.00"),
        (Decimal("1.5E-7"), "0.00000015"),
        (Decimal("-0.00"), "0.00"),
        (Decimal("-0"), "0"),
        (1700000000000, "1700000000000"),
    ],
)
def test_numbers_are_written_in_plain_notation(value: int | Decimal, text: str) -> None:
    assert exact_json.number_text(value) == text
    assert exact_json.dumps({"n": value}) == f'{{"n":{text}}}'


@pytest.mark.parametrize("text", ['{"n": NaN}', "[Infinity]", "-Infinity"])
def test_json_constants_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a JSON number"):
        exact_json.loads(text)
