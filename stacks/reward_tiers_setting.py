"""REWARD_TIERS as the synth checks it: the same shape the reward function accepts at import.

The stack may not import Lambda code (lambdas/referrals/tiers.py), so this is a second reading of
the same rules; tests/unit/test_config.py checks that both agree.
"""

import json
from decimal import Decimal, InvalidOperation


def reward_tier_errors(text: str) -> list[str]:
    """The shape the reward function accepts (it re-checks at import); caught here at synth time.

    The stack may not import Lambda code, so tests/unit/test_config.py checks that this and the
    function's own parser agree on a set of examples.
    """
    problem = f'REWARD_TIERS={text!r} must be a JSON object of whole-number thresholds (including "1") to amounts'
    try:
        table = json.loads(text, parse_float=Decimal)
    except ValueError:
        return [problem + ", and it is not valid JSON"]
    if not isinstance(table, dict) or "1" not in table:
        return [problem]
    for threshold, amount in table.items():
        if not (threshold.isascii() and threshold.isdigit() and int(threshold) >= 1) or not _is_amount(amount):
            return [problem + f', e.g. {{"1": "10", "5": "12.50"}}; {threshold!r}: {amount!r} is not']
    return []


def _is_amount(value: object) -> bool:
    if isinstance(value, bool | float) or not isinstance(value, str | int | Decimal):
        return False
    try:
        amount = Decimal(str(value).strip())
        return amount.is_finite() and amount >= 0 and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # not a number, or too large to have cents
        return False
