"""Buying credit: the fee to the cent (half-up), the bounds, and the session's parameters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from onerouter.billing.purchase import (
    cents,
    check_amount,
    checkout_session_params,
    purchase_fee,
    quote,
    usd_from_cents,
)


@pytest.mark.parametrize(
    ("credits", "fee"),
    [
        ("5", "0.60"),
        ("20", "1.35"),
        ("10000", "500.35"),
        ("5.10", "0.61"),  # 25.5 cents of 5%: half-up
        ("5.30", "0.62"),  # 0.35 + 0.265 = 0.615 → 0.62
        ("5.01", "0.60"),  # 0.35 + 0.2505 = 0.6005 → 0.60
        ("9999.99", "500.35"),  # 0.35 + 499.9995 = 500.3495 → 500.35
    ],
)
def test_fee_is_35_cents_plus_5_percent_rounded_half_up(credits: str, fee: str) -> None:
    assert purchase_fee(Decimal(credits)) == Decimal(fee)
    priced = quote(Decimal(credits))
    assert priced.total == Decimal(credits) + Decimal(fee)


@pytest.mark.parametrize("amount", ["4.99", "10000.01", "0", "20.001", "5.005"])
def test_amounts_out_of_bounds_or_below_a_cent_are_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        check_amount(Decimal(amount))


def test_cents_are_exact() -> None:
    assert cents(Decimal("21.35")) == 2135
    assert cents(Decimal("10500.35")) == 1_050_035
    assert usd_from_cents(2135) == Decimal("21.35")
    with pytest.raises(ValueError):
        cents(Decimal("0.001"))


def test_session_params_sell_credit_and_fee_as_two_lines() -> None:
    params = checkout_session_params(
        "acct_1", quote(Decimal("20")), success_url="https://s", cancel_url="https://c"
    )
    amounts = [line["price_data"]["unit_amount"] for line in params["line_items"]]
    assert amounts == [2000, 135]
    assert params["metadata"] == {"account_id": "acct_1", "credits": "20"}
    assert params["payment_intent_data"]["metadata"] == params["metadata"]
    assert params["client_reference_id"] == "acct_1"
    assert params["payment_method_options"] == {"wechat_pay": {"client": "web"}}
