"""Exact money: Decimal end to end, never float."""

from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")


def parse_amount(value: object) -> Decimal:
    """A non-negative, finite amount from a Decimal, int or decimal string; floats are refused."""
    if isinstance(value, bool | float):
        raise ValueError(f"amount must be a decimal string or integer, not {type(value).__name__}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise ValueError(f"amount {value!r} is not a decimal number") from error
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"amount {value!r} must be a finite number >= 0")
    return amount


def two_places(amount: Decimal) -> str:
    """Render with exactly two decimal places; refuses amounts that would need rounding."""
    quantized = amount.quantize(CENT)
    if quantized != amount:
        raise ValueError(f"amount {amount} has more than two decimal places")
    return f"{quantized:.2f}"
