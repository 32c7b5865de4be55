"""Dollar amounts: parsed exactly, written without exponent or float rounding."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def parse_usd(value: Any, *, field: str = "amount") -> Decimal:
    """A non-negative USD amount from a JSON string or number, exactly as written."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field} must be a decimal number of US dollars")
    # A float is taken at its shortest repr, which is what the client wrote in its JSON.
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{field} must be a decimal number of US dollars") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{field} must be a non-negative number of US dollars")
    return abs(amount)  # "-0" is zero


def usd_str(amount: Decimal) -> str:
    """'12.5', '0.000015', never '1.5E-5'."""
    text = format(abs(amount) if amount.is_zero() else amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
