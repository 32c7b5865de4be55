"""Dollar amounts: exact in, exact out, never a float, never an exponent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from onerouter.billing.money import parse_usd, usd_str


def test_decimal_strings_add_up_exactly() -> None:
    assert parse_usd("0.1") + parse_usd("0.2") == parse_usd("0.3")
    assert parse_usd("0.1") + parse_usd("0.2") == Decimal("0.3")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10.1, Decimal("10.1")),
        (0.1, Decimal("0.1")),
        (1e-7, Decimal("1e-7")),
        (10, Decimal(10)),
        (0, Decimal(0)),
        ("10.10", Decimal("10.10")),
        (" 5 ", Decimal(5)),
        ("1e2", Decimal(100)),
        (Decimal("2.50"), Decimal("2.50")),
    ],
)
def test_parses_exactly_what_was_written(value: Any, expected: Decimal) -> None:
    amount = parse_usd(value)

    assert type(amount) is Decimal
    assert amount == expected


def test_float_is_read_at_its_shortest_form_not_its_binary_value() -> None:
    assert parse_usd(10.1) != Decimal(10.1)  # noqa: RUF032 (the binary value, on purpose)
    assert str(parse_usd(10.1)) == "10.1"


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        "-0.01",
        -5,
        -0.5,
        "NaN",
        "sNaN",
        float("nan"),
        "Infinity",
        float("inf"),
        True,
        False,
        None,
        "",
        "abc",
        "1,000",
        "$5",
        [],
        {},
    ],
)
def test_refuses_what_is_not_a_non_negative_amount(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_usd(value)


def test_error_names_the_field() -> None:
    with pytest.raises(ValueError, match="credits"):
        parse_usd("lots", field="credits")
    with pytest.raises(ValueError, match="credits"):
        parse_usd("-3", field="credits")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("12.50"), "12.5"),
        (Decimal("0.000015"), "0.000015"),
        (Decimal("1.5E-5"), "0.000015"),
        (Decimal("1E-20"), "0.00000000000000000001"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1.20E+2"), "120"),
        (Decimal("100"), "100"),
        (Decimal("10.10"), "10.1"),
        (Decimal("0"), "0"),
        (Decimal("0.00"), "0"),
        (Decimal("0E-10"), "0"),
        (Decimal("-1.50"), "-1.5"),
    ],
)
def test_usd_str_writes_plain_decimals(amount: Decimal, text: str) -> None:
    written = usd_str(amount)

    assert written == text
    assert "e" not in written.lower()
    assert Decimal(written) == amount


def test_usd_str_round_trips_through_parse_usd() -> None:
    for text in ("0.3", "10", "0.000000125", "123456789.123456789"):
        assert usd_str(parse_usd(text)) == text


def test_negative_zero_is_written_as_zero() -> None:
    assert usd_str(parse_usd("-0")) == "0"
