"""Exact money: Decimal end to end, never float, and no arithmetic that could round.

An amount is a Decimal with exactly two places (Decimal("1000.00")), so str() of it is plain
notation wherever it is written: DynamoDB, JSON, the CSV report.
"""

from collections.abc import Iterable
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Rounded

CENT = Decimal("0.01")
# The most one reward can be: REWARD_TIERS refuses more (stacks/reward_tiers_setting.py mirrors
# this at synth) and the payout refuses to pay more.
MAX_AMOUNT = Decimal("1000000.00")
DYNAMODB_DIGITS = 38  # significant digits a DynamoDB number holds

# Every sum of amounts runs in this context. An amount has at most 9 significant digits
# (1000000.00), so a sum of n rewards is at most n * 10**6 and fits 38 digits in cents while
# n < 10**30: more rewards than any table can hold (each is an item), so every per-referrer total
# and every payout total is exact. DynamoDB adds profile totals with the same 38 digits. Inexact
# and Rounded are trapped: were a sum ever to need more, it raises instead of rounding.
EXACT = Context(prec=DYNAMODB_DIGITS, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact, Rounded])
# Rounding to cents may drop trailing zeros (10.000 -> 10.00, which signals Rounded), never a value.
_TO_CENTS = Context(prec=DYNAMODB_DIGITS, traps=[InvalidOperation, Inexact])


def parse_amount(value: object) -> Decimal:
    """An amount from a Decimal, int or decimal string: finite, 0 to MAX_AMOUNT, whole cents.

    Returned with exactly two places (1e3 -> 1000.00). Floats are refused: they are not exact.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"amount must be a decimal string or integer, not {type(value).__name__}")
    try:
        amount = Decimal(value)  # a string may have whitespace around it: Decimal() ignores it
    except (InvalidOperation, ValueError) as error:
        raise ValueError(f"amount {value!r} is not a decimal number") from error
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"amount {value!r} must be a finite number >= 0")
    if amount > MAX_AMOUNT:
        raise ValueError(f"amount {value!r} is more than the maximum of {MAX_AMOUNT} per reward")
    return cents(amount)


def cents(amount: Decimal) -> Decimal:
    """The amount with exactly two places; ValueError if that would round it."""
    try:
        quantized = amount.quantize(CENT, context=_TO_CENTS)
    except Inexact as error:
        raise ValueError(f"amount {amount} has more than two decimal places") from error
    # -0.00 would be written as "-0.00"; it is the same amount as 0.00.
    return quantized.copy_abs() if quantized.is_zero() else quantized


def add(augend: Decimal, addend: Decimal) -> Decimal:
    """The exact sum; raises (decimal.Inexact/Rounded) rather than round."""
    return EXACT.add(augend, addend)


def subtract(minuend: Decimal, subtrahend: Decimal) -> Decimal:
    """The exact difference; raises (decimal.Inexact/Rounded) rather than round."""
    return EXACT.subtract(minuend, subtrahend)


def total(amounts: Iterable[Decimal]) -> Decimal:
    """The exact sum of the amounts; raises (decimal.Inexact/Rounded) rather than round."""
    result = Decimal(0)
    for amount in amounts:
        result = add(result, amount)
    return result


def two_places(amount: Decimal) -> str:
    """Render with exactly two decimal places; refuses amounts that would need rounding."""
    return format(cents(amount), "f")
