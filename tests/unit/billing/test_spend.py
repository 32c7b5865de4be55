"""The in-memory credit check: holds for requests in flight, recent costs until booked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from onerouter.accounts.auth import Principal
from onerouter.billing.spend import Spending
from onerouter.errors import InsufficientCredits, PermissionDenied
from onerouter.store.records import Account, ApiKey


def principal(balance: str = "1", limit: str | None = None, usage: str = "0") -> Principal:
    key = ApiKey(
        key_hash="h",
        key_id="key_1",
        account_id="acct_1",
        label="k",
        hint="sk-or1-…abcd",
        created_at="2026-01-01T00:00:00.000Z",
        limit=Decimal(limit) if limit is not None else None,
        usage=Decimal(usage),
    )
    account = Account("acct_1", Decimal(balance), Decimal(balance), "2026-01-01T00:00:00.000Z")
    return Principal(key, account)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_holds_add_up_until_the_balance_is_spoken_for() -> None:
    spending = Spending()
    who = principal("1")
    holds = [spending.hold(who, Decimal("0.3")) for _ in range(3)]
    with pytest.raises(InsufficientCredits) as caught:
        spending.hold(who, Decimal("0.2"))
    assert "$0.1 available" in str(caught.value)
    spending.settle(holds[0], None)  # served by nobody: costs nothing
    spending.hold(who, Decimal("0.2"))


def test_a_settled_cost_counts_until_the_books_have_it() -> None:
    clock = Clock()
    spending = Spending(settle_window=60, clock=clock)
    who = principal("1")
    hold = spending.hold(who, Decimal("0.9"))
    spending.settle(hold, Decimal("0.25"))
    spending.settle(hold, Decimal("0.25"))  # twice is once
    assert spending.committed("acct_1") == Decimal("0.25")
    with pytest.raises(InsufficientCredits):
        spending.hold(who, Decimal("0.8"))
    clock.now = 61
    assert spending.committed("acct_1") == 0
    spending.hold(who, Decimal("0.8"))


def test_the_keys_limit_counts_its_own_holds() -> None:
    spending = Spending()
    capped = principal("100", limit="1", usage="0.5")
    spending.hold(capped, Decimal("0.4"))
    with pytest.raises(PermissionDenied) as caught:
        spending.hold(capped, Decimal("0.2"))
    assert caught.value.code == "key_limit_exceeded"
