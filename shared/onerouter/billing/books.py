"""Checking the books: for every account, credits - expired - Σ usage = balance.

The ledger holds every movement of money (grants and purchases positive; refunds, usage and
expiry negative), each written in the same transaction as the balance change it caused, so their sum
is the balance exactly, to the last decimal. Optionally the usage records are checked too:
Σ cost of an account's recorded requests = the usage its ledger entries billed.

Reads are consistent but not one snapshot: on a live system a request billed between reading
an account's entries and its balance would show as a difference, so a difference is read again
(entries, balance, entries) before it is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..store.accounts import AccountsRepository
from ..store.ledger import LedgerRepository
from ..store.records import LedgerEntry
from ..store.usage import UsageRepository
from .money import usd_str

ZERO = Decimal(0)
USAGE = "usage"
EXPIRY = "expiry"


@dataclass(frozen=True)
class AccountBooks:
    account_id: str
    balance: Decimal | None  # None: the ledger names an account that does not exist
    # Every entry but usage and expiry: grants and purchases, less refunds (negative credit).
    credits: Decimal = ZERO
    expired: Decimal = ZERO  # as a positive amount
    usage: Decimal = ZERO  # as a positive amount
    recorded_usage: Decimal | None = None  # Σ cost of the usage records, when checked

    @property
    def expected(self) -> Decimal:
        return self.credits - self.expired - self.usage

    @property
    def difference(self) -> Decimal:
        """balance - (credits - expired - usage): zero when the books balance."""
        return (self.balance or ZERO) - self.expected

    @property
    def records_difference(self) -> Decimal:
        """Σ recorded costs - usage billed: zero when every record was billed exactly once."""
        return ZERO if self.recorded_usage is None else self.recorded_usage - self.usage

    @property
    def balances(self) -> bool:
        return self.balance is not None and not self.difference and not self.records_difference

    def describe(self) -> str:
        books = (
            f"credits {usd_str(self.credits)} - expired {usd_str(self.expired)}"
            f" - usage {usd_str(self.usage)} = {usd_str(self.expected)}"
        )
        if self.balance is None:
            return f"{self.account_id}: no such account, yet its ledger says {books}"
        text = f"{self.account_id}: balance {usd_str(self.balance)}, ledger {books}"
        if self.difference:
            text += f"; difference {usd_str(self.difference)}"
        if self.records_difference:
            text += (
                f"; usage records total {usd_str(self.recorded_usage or ZERO)},"
                f" billed {usd_str(self.usage)}"
                f" (difference {usd_str(self.records_difference)})"
            )
        return text


def tally(account_id: str, balance: Decimal | None, entries: Iterable[LedgerEntry]) -> AccountBooks:
    credits = expired = usage = ZERO
    for entry in entries:
        if entry.kind == USAGE:
            usage -= entry.amount
        elif entry.kind == EXPIRY:
            expired -= entry.amount
        else:
            credits += entry.amount
    return AccountBooks(account_id, balance, credits, expired, usage)


class Books:
    def __init__(
        self,
        accounts: AccountsRepository,
        ledger: LedgerRepository,
        usage: UsageRepository | None = None,
    ) -> None:
        self.accounts = accounts
        self.ledger = ledger
        self.usage = usage

    def check(self, account_ids: Iterable[str] | None = None) -> list[AccountBooks]:
        """Every account's books (or those of `account_ids`), in account order."""
        wanted = sorted(set(account_ids)) if account_ids is not None else None
        if wanted is None:
            balances: dict[str, Decimal | None] = {
                a.account_id: a.balance for a in self.accounts.scan()
            }
            entries: dict[str, list[LedgerEntry]] = {}
            for entry in self.ledger.entries():
                entries.setdefault(entry.account_id, []).append(entry)
            for account_id in entries:
                balances.setdefault(account_id, None)
        else:
            balances = {}
            entries = {}
            for account_id in wanted:
                account = self.accounts.get(account_id)
                balances[account_id] = account.balance if account else None
                entries[account_id] = list(self.ledger.entries(account_id))
        recorded = self.usage.costs_by_account() if self.usage is not None else None
        books = []
        for account_id in sorted(balances):
            tallied = tally(account_id, balances[account_id], entries.get(account_id, []))
            if recorded is not None:
                tallied = _with_records(tallied, recorded.get(account_id, ZERO))
            if not tallied.balances:
                tallied = self._again(tallied)
            books.append(tallied)
        return books

    def _again(self, books: AccountBooks) -> AccountBooks:
        """One account's ledger and balance read again, until two reads of its entries agree
        around the read of its balance (a few tries): what is left is a real difference."""
        for _ in range(3):
            before = list(self.ledger.entries(books.account_id))
            account = self.accounts.get(books.account_id)
            after = list(self.ledger.entries(books.account_id))
            if before == after:
                again = tally(books.account_id, account.balance if account else None, after)
                if books.recorded_usage is None:
                    return again
                return _with_records(again, books.recorded_usage)
        return books


def _with_records(books: AccountBooks, recorded: Decimal) -> AccountBooks:
    return AccountBooks(
        books.account_id, books.balance, books.credits, books.expired, books.usage, recorded
    )
