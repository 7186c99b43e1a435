from decimal import Decimal

import pytest

from referrals.tiers import DEFAULT_TIERS, TierConfigError, parse_tiers, tiers_from


@pytest.mark.parametrize(
    ("referral_number", "amount"),
    [(1, "10"), (4, "10"), (5, "15"), (9, "15"), (10, "20"), (24, "20"), (25, "25"), (26, "25"), (1000, "25")],
)
def test_default_tiers_at_their_boundaries(referral_number: int, amount: str) -> None:
    assert parse_tiers(None).reward_for(referral_number) == Decimal(amount)


def test_blank_setting_means_the_default() -> None:
    assert parse_tiers("  ") == tiers_from(DEFAULT_TIERS)


def test_custom_tiers_keep_exact_decimals() -> None:
    tiers = parse_tiers('{"1": "12.50", "3": 20, "10": 30.25}')
    amounts = [tiers.reward_for(n) for n in (1, 2, 3, 9, 10)]
    assert amounts == [Decimal("12.50"), Decimal("12.50"), Decimal(20), Decimal(20), Decimal("30.25")]
    assert str(tiers.reward_for(1)) == "12.50"


def test_zero_is_an_allowed_amount() -> None:
    assert parse_tiers('{"1": "0", "3": "5"}').reward_for(2) == 0


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("{", "not valid JSON"),
        ("[]", "non-empty JSON object"),
        ("{}", "non-empty JSON object"),
        ('{"5": "15"}', 'tier at threshold "1"'),
        ('{"0": "1", "1": "10"}', "threshold '0' must be a positive integer"),
        ('{"1": "10", "-3": "1"}', "threshold '-3'"),
        ('{"1": "10", "2.5": "1"}', "threshold '2.5'"),
        ('{"1": "10", " 2": "1"}', "threshold ' 2'"),
        ('{"1": "10", "01": "1"}', "threshold 1 twice"),
        ('{"1": "-1"}', "amount for threshold '1'"),
        ('{"1": "1.005"}', "at most 2 decimal places"),
        ('{"1": "ten"}', "amount for threshold '1'"),
        ('{"1": true}', "amount for threshold '1'"),
        ('{"1": null}', "amount for threshold '1'"),
        ('{"1": "NaN"}', "amount for threshold '1'"),
        ('{"1": "Infinity"}', "amount for threshold '1'"),
        ('{"1": "1e40"}', "amount for threshold '1'"),
    ],
)
def test_invalid_settings_name_the_variable(setting: str, problem: str) -> None:
    with pytest.raises(TierConfigError, match="REWARD_TIERS") as raised:
        parse_tiers(setting)
    assert problem in str(raised.value)


def test_referral_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        parse_tiers(None).reward_for(0)
