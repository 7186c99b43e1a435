"""REWARD_TIERS at the limits the handbook states (API, "Reward tiers"): a threshold of at most 38
digits (leading zeros do not count), and NaN / Infinity refused as not JSON."""

from decimal import Decimal

import pytest

from referrals.tiers import TierConfigError, parse_tiers


def test_a_threshold_of_38_digits_is_accepted() -> None:
    threshold = "9" * 38
    tiers = parse_tiers(f'{{"1": "10", "{threshold}": "20"}}')
    assert tiers.thresholds == (1, int(threshold))
    assert tiers.reward_for(int(threshold)) == Decimal("20.00")
    assert tiers.reward_for(int(threshold) - 1) == Decimal("10.00")


def test_a_threshold_of_39_digits_is_refused() -> None:
    with pytest.raises(TierConfigError, match="at most 38 digits"):
        parse_tiers(f'{{"1": "10", "1{"0" * 38}": "20"}}')


def test_leading_zeros_do_not_count_towards_the_38_digits() -> None:
    tiers = parse_tiers(f'{{"{"0" * 10}1": "10", "{"0" * 5}{"9" * 38}": "20"}}')
    assert tiers.thresholds == (1, int("9" * 38))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ['{{"1": {}}}', '{{"1": "10", "5": [{}]}}'])
def test_nan_and_infinity_are_refused_as_not_json(constant: str, where: str) -> None:
    with pytest.raises(TierConfigError, match=f"REWARD_TIERS is not valid JSON: {constant} is not a JSON number"):
        parse_tiers(where.format(constant))
