"""The FIFO derivation of what is left of each credit lot, and lots' expiry dates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from onerouter.billing.lots import expiry_of, fifo, next_expiry
from onerouter.store.records import LedgerEntry


def lot(entry_id: str, amount: str, created_at: str, refunded: str | None = None) -> LedgerEntry:
    return LedgerEntry(
        "acct",
        entry_id,
        "grant",
        Decimal(amount),
        created_at,
        expires_at=expiry_of(created_at),
        refunded=None if refunded is None else Decimal(refunded),
    )


LOTS = [
    lot("grant#b", "5", "2025-03-01T00:00:00.000Z"),
    lot("grant#a", "10", "2025-01-01T00:00:00.000Z"),
    lot("grant#c", "2", "2025-03-01T00:00:00.000Z"),  # same moment as b: entry id decides
]


def remaining(consumed: str, lots: list[LedgerEntry] = LOTS) -> list[tuple[str, Decimal]]:
    return [(x.entry_id, x.remaining) for x in fifo(lots, Decimal(consumed))]


def test_nothing_consumed_leaves_every_lot_whole_oldest_first() -> None:
    assert remaining("0") == [
        ("grant#a", Decimal(10)),
        ("grant#b", Decimal(5)),
        ("grant#c", Decimal(2)),
    ]


def test_consumption_empties_the_oldest_lot_first() -> None:
    assert remaining("3.5") == [
        ("grant#a", Decimal("6.5")),
        ("grant#b", Decimal(5)),
        ("grant#c", Decimal(2)),
    ]
    assert remaining("12") == [
        ("grant#a", Decimal(0)),
        ("grant#b", Decimal(3)),
        ("grant#c", Decimal(2)),
    ]
    assert remaining("15") == [
        ("grant#a", Decimal(0)),
        ("grant#b", Decimal(0)),
        ("grant#c", Decimal(2)),
    ]


def test_an_overdrawn_account_has_nothing_left_in_any_lot() -> None:
    assert [r for _, r in remaining("20")] == [0, 0, 0]


@pytest.mark.parametrize("consumed", ["0", "1", "9.99", "10", "14", "17", "30"])
def test_what_is_left_adds_up_to_the_balance_when_positive(consumed: str) -> None:
    left = sum((r for _, r in remaining(consumed)), Decimal(0))
    assert left == max(Decimal(17) - Decimal(consumed), Decimal(0))


def test_a_refund_of_what_is_left_changes_no_other_lot() -> None:
    consumed = "12"  # a is used up, b has 3 left, c is whole
    before = dict(remaining(consumed))
    refunded = [
        lot("grant#a", "10", "2025-01-01T00:00:00.000Z"),
        lot("grant#b", "5", "2025-03-01T00:00:00.000Z", refunded="3"),
        lot("grant#c", "2", "2025-03-01T00:00:00.000Z"),
    ]
    after = dict(remaining(consumed, refunded))
    assert after == {**before, "grant#b": Decimal(0)}


def test_expiring_the_first_lot_moves_consumption_to_its_end() -> None:
    # a has 6.5 left at 3.5 consumed; expiring it adds 6.5 to what is consumed.
    assert remaining("10") == [
        ("grant#a", Decimal(0)),
        ("grant#b", Decimal(5)),
        ("grant#c", Decimal(2)),
    ]


def test_next_expiry_is_the_earliest_lot_with_something_left() -> None:
    assert next_expiry(fifo(LOTS, Decimal("3"))) == ("2026-01-01T00:00:00.000Z", Decimal(7))
    # a used up: b and c expire at the same moment, and are summed.
    assert next_expiry(fifo(LOTS, Decimal("11"))) == ("2026-03-01T00:00:00.000Z", Decimal(6))
    assert next_expiry(fifo(LOTS, Decimal("17"))) is None


@pytest.mark.parametrize(
    ("created", "expires"),
    [
        ("2026-11-25T08:13:00.123Z", "2027-11-25T08:13:00.123Z"),
        ("2025-12-31T23:59:59.999Z", "2026-12-31T23:59:59.999Z"),
        ("2024-02-28T12:00:00.000Z", "2025-02-28T12:00:00.000Z"),
        ("2024-02-29T12:00:00.000Z", "2025-03-01T00:00:00.000Z"),
        ("2024-03-01T00:30:00.000Z", "2025-03-01T00:30:00.000Z"),
        ("2026-06-01T10:00:00+02:00", "2027-06-01T08:00:00.000Z"),
    ],
)
def test_a_lot_expires_a_year_later_at_the_same_utc_time(created: str, expires: str) -> None:
    assert expiry_of(created) == expires


def test_expiry_keeps_the_order_lots_were_bought_in() -> None:
    moments = [
        "2024-02-28T23:00:00.000Z",
        "2024-02-29T00:00:00.000Z",
        "2024-02-29T23:59:59.999Z",
        "2024-03-01T00:00:00.000Z",
        "2024-03-01T00:00:00.001Z",
    ]
    expiries = [expiry_of(m) for m in moments]
    assert expiries == sorted(expiries)


def test_lots_written_before_expiry_existed_expire_a_year_after_they_were_written() -> None:
    old = LedgerEntry("acct", "grant#old", "grant", Decimal(1), "2025-05-05T05:05:05.005Z")
    (only,) = fifo([old], Decimal(0))
    assert only.expires_at == "2026-05-05T05:05:05.005Z"
