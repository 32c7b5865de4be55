"""Buying credit: what a purchase costs, and the Stripe Checkout Session that sells it.

Pure: no Stripe SDK and no I/O here, so the prices are unit-tested to the cent.

The buyer pays the credit plus a purchase fee of $0.35 + 5% of the credit, as a line item of
its own. 5% of a whole number of cents may end in half a cent; it is rounded half-up (to the
nearest cent, halves away from zero): $5.10 of credit costs 0.35 + 0.255 → $0.61 of fee.
Only the credit is ever credited: the fee is what Stripe and the payment methods cost us.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .money import usd_str

MIN_PURCHASE = Decimal(5)
MAX_PURCHASE = Decimal(10_000)
FEE_FIXED = Decimal("0.35")
FEE_RATE = Decimal("0.05")
CENT = Decimal("0.01")

# Cards settle at once; Alipay and WeChat Pay may complete later (async_payment_succeeded).
PAYMENT_METHODS = ("card", "alipay", "wechat_pay")


@dataclass(frozen=True)
class Quote:
    """What buying `credits` costs, in USD: the credit, the fee and their sum."""

    credits: Decimal
    fee: Decimal
    total: Decimal


def check_amount(amount: Decimal) -> None:
    """Raises ValueError unless `amount` is a whole number of cents within the bounds."""
    if amount != amount.quantize(CENT):
        raise ValueError("must be a whole number of cents")
    if not MIN_PURCHASE <= amount <= MAX_PURCHASE:
        raise ValueError(f"must be from {MIN_PURCHASE} to {MAX_PURCHASE} USD")


def purchase_fee(credits: Decimal) -> Decimal:
    return (FEE_FIXED + credits * FEE_RATE).quantize(CENT, rounding=ROUND_HALF_UP)


def quote(credits: Decimal) -> Quote:
    check_amount(credits)
    fee = purchase_fee(credits)
    return Quote(credits, fee, credits + fee)


def cents(amount: Decimal) -> int:
    """USD to Stripe's integer cents; only exact cents are accepted."""
    exact = amount * 100
    if exact != exact.to_integral_value():
        raise ValueError(f"{amount} USD is not a whole number of cents")
    return int(exact)


def usd_from_cents(value: int) -> Decimal:
    return Decimal(value) / 100


def purchase_metadata(account_id: str, credits: Decimal) -> dict[str, str]:
    """What the session and its payment intent carry: who buys, and how much credit."""
    return {"account_id": account_id, "credits": usd_str(credits)}


def checkout_session_params(
    account_id: str, priced: Quote, *, success_url: str, cancel_url: str
) -> dict[str, Any]:
    """The parameters of POST /v1/checkout/sessions for one purchase."""
    metadata = purchase_metadata(account_id, priced.credits)
    return {
        "mode": "payment",
        "client_reference_id": account_id,
        "line_items": [
            _line("OneRouter credits", f"{usd_str(priced.credits)} USD of credit", priced.credits),
            _line("Purchase fee", "$0.35 + 5% of the credit", priced.fee),
        ],
        "payment_method_types": list(PAYMENT_METHODS),
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "metadata": metadata,
        # The payment intent carries the same, so a refund (a charge event) can be traced.
        "payment_intent_data": {"metadata": dict(metadata)},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }


def _line(name: str, description: str, amount: Decimal) -> dict[str, Any]:
    return {
        "quantity": 1,
        "price_data": {
            "currency": "usd",
            "unit_amount": cents(amount),
            "product_data": {"name": name, "description": description},
        },
    }
