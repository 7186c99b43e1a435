"""Reward tiers: the n-th successful referral of a referrer earns the amount of the highest
threshold <= n. Configured with env REWARD_TIERS, a JSON object of threshold -> amount."""

import bisect
import json
from dataclasses import dataclass
from decimal import Decimal

from referrals.money import parse_amount, two_places

ENV_VAR = "REWARD_TIERS"
DEFAULT_TIERS = {1: Decimal(10), 5: Decimal(15), 10: Decimal(20), 25: Decimal(25)}


class TierConfigError(ValueError):
    """REWARD_TIERS is unusable; the message names the variable and what is wrong."""


@dataclass(frozen=True)
class Tiers:
    thresholds: tuple[int, ...]  # ascending, starting at 1
    amounts: tuple[Decimal, ...]

    def reward_for(self, referral_number: int) -> Decimal:
        if referral_number < 1:
            raise ValueError(f"referral number must be >= 1, not {referral_number}")
        return self.amounts[bisect.bisect_right(self.thresholds, referral_number) - 1]


def tiers_from(table: dict[int, Decimal]) -> Tiers:
    ordered = sorted(table.items())
    return Tiers(tuple(t for t, _ in ordered), tuple(a for _, a in ordered))


def parse_tiers(text: str | None) -> Tiers:
    """Tiers from the REWARD_TIERS text; None or blank means the default table."""
    if text is None or not text.strip():
        return tiers_from(DEFAULT_TIERS)
    try:
        # Numbers are read as Decimal, so 12.50 written as a JSON number is exact too.
        raw = json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise TierConfigError(f"{ENV_VAR} is not valid JSON: {error}") from error
    if not isinstance(raw, dict) or not raw:
        raise TierConfigError(f'{ENV_VAR} must be a non-empty JSON object such as {{"1": "10", "5": "15"}}')
    table: dict[int, Decimal] = {}
    for key, value in raw.items():
        threshold = _threshold(key)
        if threshold in table:
            raise TierConfigError(f"{ENV_VAR} lists threshold {threshold} twice")
        table[threshold] = _amount(key, value)
    # Without a tier at 1 the first referrals would earn nothing by accident; a deliberate
    # "nothing yet" is written as an explicit "1": "0".
    if 1 not in table:
        raise TierConfigError(f'{ENV_VAR} must have a tier at threshold "1" so every referral has an amount')
    return tiers_from(table)


def _threshold(key: str) -> int:
    if not (key.isascii() and key.isdigit()) or int(key) < 1:
        raise TierConfigError(f'{ENV_VAR} threshold {key!r} must be a positive integer such as "5"')
    return int(key)


def _amount(key: str, value: object) -> Decimal:
    try:
        amount = parse_amount(value)
        two_places(amount)
    except (ValueError, ArithmeticError) as error:  # ArithmeticError: too many digits to quantize
        raise TierConfigError(
            f"{ENV_VAR} amount for threshold {key!r} must be a non-negative decimal with at most "
            f'2 decimal places, such as "12.50": {error}'
        ) from error
    return amount
