"""REWARD_TIERS as the synth checks it: the same rules the reward function applies at import.

The stack may not import Lambda code (lambdas/referrals/tiers.py and money.py), so this is a
second reading of the same rules, step for step; tests/unit/test_reward_tiers_agreement.py checks
over generated settings that both accept exactly the same texts, and that the bounds are equal.
"""

import json
from decimal import Context, Decimal, Inexact, InvalidOperation

# Mirrors referrals.money.MAX_AMOUNT: the most one reward can be, so that every sum stays exact.
MAX_AMOUNT = Decimal("1000000.00")
# Mirrors referrals.tiers.MAX_THRESHOLD_DIGITS: a referrer's count is a DynamoDB number (38 digits).
MAX_THRESHOLD_DIGITS = 38
_CENT = Decimal("0.01")
_TO_CENTS = Context(prec=38, traps=[InvalidOperation, Inexact])
EXAMPLE = '{"1": "10", "5": "12.50"}'


def reward_tier_errors(text: str) -> list[str]:
    """Why the reward function would refuse this REWARD_TIERS text at its cold start (none: [])."""
    if not text.strip():
        return []  # blank: the function uses its default tiers
    problem = _problem(text)
    if problem is None:
        return []
    return [
        f'REWARD_TIERS={text!r} must be a JSON object of whole-number thresholds (including "1") to amounts '
        f"of 0 to {MAX_AMOUNT} in whole cents, e.g. {EXAMPLE}: {problem}"
    ]


def _problem(text: str) -> str | None:
    try:
        # As the function reads it: exact decimals, no NaN/Infinity, objects as tuples of pairs so
        # that a key given twice is seen.
        entries = json.loads(text, parse_float=Decimal, parse_constant=_refuse, object_pairs_hook=tuple)
    except (ValueError, RecursionError) as error:
        return f"it is not valid JSON ({error})"
    if not isinstance(entries, tuple) or not entries:
        return "it is not a non-empty JSON object"
    thresholds: set[str] = set()
    for key, amount in entries:
        threshold = key.lstrip("0")  # "01" is threshold 1
        if not (key.isascii() and key.isdigit() and threshold) or len(threshold) > MAX_THRESHOLD_DIGITS:
            return f"threshold {key!r} is not a positive integer of at most {MAX_THRESHOLD_DIGITS} digits"
        if threshold in thresholds:
            return f"threshold {threshold} is given twice"
        thresholds.add(threshold)
        if not _is_amount(amount):
            return f"{amount!r} (threshold {key!r}) is not such an amount"
    return None if "1" in thresholds else 'there is no tier at threshold "1"'


def _refuse(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _is_amount(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return False  # floats are not exact; null, lists and objects are no amounts
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
        if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
            return False
        amount.quantize(_CENT, context=_TO_CENTS)  # Inexact: more than two decimal places
    except (ArithmeticError, ValueError):  # not a number (InvalidOperation), or not whole cents (Inexact)
        return False
    return True
