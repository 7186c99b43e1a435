"""JSON with exact decimal numbers: a Decimal is written as its own digits, never via float."""

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Like json.dumps with compact separators, but Decimal values keep their exact text."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        return number_text(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


def number_text(value: int | Decimal) -> str:
    """The one way a number is written, to JSON and to DynamoDB alike: plain notation, no exponent.

    1E+3 -> 1000, so every reader (JSON parsers, moto, a person) sees the same value; -0 -> 0.
    """
    if isinstance(value, Decimal) and value.is_zero():
        value = value.copy_abs()
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def loads(text: str | bytes) -> Any:
    """Parse strict JSON reading every non-integer number as Decimal (no float rounding).

    NaN, Infinity and -Infinity are refused (ValueError): Python reads them, JSON has no such numbers.
    """
    return json.loads(text, parse_float=Decimal, parse_constant=refuse_constant)


def refuse_constant(name: str) -> Any:
    """A json.loads parse_constant that refuses NaN, Infinity and -Infinity, which are not JSON."""
    raise ValueError(f"{name} is not a JSON number")
