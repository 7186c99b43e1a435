"""Reward tiers: the n-th successful referral of a referrer earns the amount of the highest
threshold <= n. Configured with env REWARD_TIERS, a JSON object of threshold -> amount.

stacks/reward_tiers_setting.py checks the same rules at synth; tests/unit/test_reward_tiers_agreement.py
proves that both accept the same settings.
"""

import bisect
import json
from dataclasses import dataclass
from decimal import Decimal

from referrals.exact_json import refuse_constant
from referrals.money import MAX_AMOUNT, parse_amount

ENV_VAR = "REWARD_TIERS"
DEFAULT_TIERS = {1: Decimal("10.00"), 5: Decimal("15.00"), 10: Decimal("20.00"), 25: Decimal("25.00")}
# A threshold is compared with a referrer's count, a DynamoDB number: it cannot have more digits.
MAX_THRESHOLD_DIGITS = 38


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
    table: dict[int, Decimal] = {}
    for key, value in _entries(text):
        threshold = _threshold(key)
        if threshold in table:
            raise TierConfigError(f"{ENV_VAR} lists threshold {threshold} twice")
        table[threshold] = _amount(key, value)
    # Without a tier at 1 the first referrals would earn nothing by accident; a deliberate
    # "nothing yet" is written as an explicit "1": "0".
    if 1 not in table:
        raise TierConfigError(f'{ENV_VAR} must have a tier at threshold "1" so every referral has an amount')
    return tiers_from(table)


def _entries(text: str) -> tuple[tuple[str, object], ...]:
    """The object's (key, value) pairs in order, duplicates kept so that they can be refused."""
    try:
        # Numbers are read as Decimal, so 12.50 written as a JSON number is exact too. Objects
        # become tuples of pairs (arrays stay lists), so a key given twice is not silently dropped.
        raw = json.loads(text, parse_float=Decimal, parse_constant=refuse_constant, object_pairs_hook=tuple)
    # RecursionError: nesting deeper than the parser's recursion limit.
    except (ValueError, RecursionError) as error:
        raise TierConfigError(f"{ENV_VAR} is not valid JSON: {error}") from error
    if not isinstance(raw, tuple) or not raw:
        raise TierConfigError(f'{ENV_VAR} must be a non-empty JSON object such as {{"1": "10", "5": "15"}}')
    return raw


def _threshold(key: str) -> int:
    # Leading zeros are dropped before int(): "0...01" may be longer than int() reads.
    digits = key.lstrip("0")
    if not (key.isascii() and key.isdigit() and digits) or len(digits) > MAX_THRESHOLD_DIGITS:
        raise TierConfigError(
            f'{ENV_VAR} threshold {key!r} must be a positive integer such as "5" '
            f"(at most {MAX_THRESHOLD_DIGITS} digits, a count DynamoDB can hold)"
        )
    return int(digits)


def _amount(key: str, value: object) -> Decimal:
    try:
        return parse_amount(value)
    except ValueError as error:
        raise TierConfigError(
            f"{ENV_VAR} amount for threshold {key!r} must be a non-negative decimal with at most "
            f'2 decimal places and at most {MAX_AMOUNT}, such as "12.50": {error}'
        ) from error
