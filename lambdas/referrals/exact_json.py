"""JSON with exact decimal numbers: a Decimal is written as its own digits, never via float."""

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Like json.dumps with compact separators, but Decimal values keep their exact text."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        return _decimal_text(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


def _decimal_text(value: Decimal) -> str:
    # Plain notation (no exponent) so every JSON parser reads the same value: 1E+1 -> 10.
    text = format(value, "f")
    return "0" if text in ("-0", "+0") else text


def loads(text: str | bytes) -> Any:
    """Parse JSON reading every non-integer number as Decimal (no float rounding)."""
    return json.loads(text, parse_float=Decimal)
