"""Credit lots: every grant and purchase is a lot, dated, that expires one year later; usage and
expiry consume the oldest lot first (FIFO).

**What is left of each lot is derived, never decremented per request.** An account's lots,
ordered by (created_at, entry_id), lie end to end on its cumulative credit line: lot i covers
[start_i, start_i + amount_i), where amount_i is the lot's amount net of what refunds removed
from it and start_i is the sum of the amounts before it. Everything that consumes credit
consumes it from the front of that line, so one number says how much of the line is gone:

    consumed = total_usage + total_expired        (both counters on the account item)
    remaining_i = clamp(start_i + amount_i - consumed, 0, amount_i)

So the usage consumer needs no change for FIFO: its `ADD total_usage` moves the front of the
line, and a batch that spans two lots empties the first and takes the rest from the second,
by construction. And since balance = Σ amount_i - consumed, Σ remaining_i = max(balance, 0):
an overdrawn account (usage served before the balance was seen) has nothing left in any lot,
and its next lot first pays the debt.

Why each writer keeps this true:

- **Expiry** handles an account's lots in FIFO order and stops at the first one not due yet.
  `expires_at` is monotone in `created_at` (see `expiry_of`), so every lot before a due one is
  due too and was handled first (has nothing left). The due lot is then the first with
  anything left, and expiring its remaining x moves the front of the line exactly to its end:
  `ADD total_expired x` leaves every later lot untouched.
- **A refund** removes r <= remaining_i from lot i: amount_i drops by r, and so does start_j of
  every later lot j. Later lots were untouched (the front is inside lot i or before it), and
  the front is at most start_i + amount_i - r after the refund too, so they still are; earlier
  lots do not move. Only lot i shrinks, by r, and the balance with it.
- **Concurrency.** Expiry and refunds read the account and the lots, then write in one
  transaction conditioned on the account's total_usage and total_expired being what they read
  (and the lot's `refunded` and `expired_amount`): a usage batch, expiry or refund in between
  cancels it, and it reads again. The usage consumer writes unconditionally, as before.
- **Idempotency.** An expiry's ledger entry is `expiry#<lot id>` and a lot is marked
  (`expired_amount`) in the same transaction; a refund's is `refund#<lot id>#<removed_total>`
  and the lot's `refunded` is a cumulative total. A second run finds the work done.

A lot inserted with a `created_at` earlier than lots already consumed would shift what was
consumed from which lot; lots are written with the time they are written, so this does not
happen (except by hand). Usage billed after a lot's expiry time but before the daily job runs
consumes that lot first: expiry takes effect when the job runs.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from ..logs import log_failure
from ..store.accounts import AccountsRepository
from ..store.dynamo import cancellation_codes
from ..store.ledger import LedgerRepository, UnknownAccount
from ..store.records import Account, LedgerEntry, utcnow
from .money import usd_str

logger = logging.getLogger("onerouter.billing")

ZERO = Decimal(0)
# Optimistic writes cancelled by a concurrent change are read and tried again this often.
_ATTEMPTS = 10
_RETRY = {"ConditionalCheckFailed", "TransactionConflict"}


class UnknownLot(LookupError):
    pass


def expiry_of(created_at: str) -> str:
    """One year after `created_at`, at the same UTC time. A lot of Feb 29 expires at the start
    of Mar 1: never sooner than a year, and never after a lot bought later (Mar 1 at 00:30
    expires at Mar 1 00:30), which FIFO expiry relies on."""
    created = datetime.fromisoformat(created_at).astimezone(UTC)
    try:
        expires = created.replace(year=created.year + 1)
    except ValueError:  # Feb 29
        expires = datetime(created.year + 1, 3, 1, tzinfo=UTC)
    return timestamp(expires)


def timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as every stored timestamp: these sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Lot:
    entry: LedgerEntry
    start: Decimal  # where it begins on the account's credit line
    remaining: Decimal

    @property
    def entry_id(self) -> str:
        return self.entry.entry_id

    @property
    def amount(self) -> Decimal:
        """The lot's credit net of what refunds removed."""
        return self.entry.amount - (self.entry.refunded or ZERO)

    @property
    def expires_at(self) -> str:
        # Lots written before lots had an expiry: a year after they were written.
        return self.entry.expires_at or expiry_of(self.entry.created_at)

    @property
    def handled(self) -> bool:
        """The expiry job has expired what was left of it (possibly nothing)."""
        return self.entry.expired_amount is not None


def consumed(account: Account) -> Decimal:
    return account.total_usage + account.total_expired


def fifo(entries: Iterable[LedgerEntry], consumed: Decimal) -> list[Lot]:
    """The lots, oldest first, with what is left of each once `consumed` is taken from the
    front of the credit line."""
    lots = []
    start = ZERO
    for entry in sorted(entries, key=lambda e: (e.created_at, e.entry_id)):
        amount = entry.amount - (entry.refunded or ZERO)
        remaining = min(max(start + amount - consumed, ZERO), amount)
        lots.append(Lot(entry, start, remaining))
        start += amount
    return lots


def next_expiry(lots: Iterable[Lot]) -> tuple[str, Decimal] | None:
    """When credit next expires and how much: the earliest expiry among lots with something
    left (lots expiring at the same moment are summed)."""
    pending = [lot for lot in lots if lot.remaining > 0 and not lot.handled]
    if not pending:
        return None
    first = min(lot.expires_at for lot in pending)
    return first, sum((lot.remaining for lot in pending if lot.expires_at == first), ZERO)


@dataclass
class ExpirySummary:
    as_of: str
    accounts: int = 0  # accounts with lots due
    lots: int = 0  # lots handled now
    expired: Decimal = ZERO  # credit expired now
    failed: list[str] = field(default_factory=list)  # accounts to be tried again

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "accounts": self.accounts,
            "lots": self.lots,
            "expired": usd_str(self.expired),
            "failed": list(self.failed),
        }


class CreditLots:
    def __init__(self, accounts: AccountsRepository, ledger: LedgerRepository) -> None:
        self.accounts = accounts
        self.ledger = ledger

    def lots(self, account_id: str) -> list[Lot]:
        """The account's lots, oldest first, with what is left of each."""
        return self.read(account_id)[1]

    def lot_for_payment(self, account_id: str, payment_intent: str) -> str | None:
        """The entry id of the lot the account bought with `payment_intent`, if any."""
        entry = self.ledger.find_payment(account_id, payment_intent)
        return entry.entry_id if entry else None

    def refund(
        self, account_id: str, lot_entry_id: str, removed_total: Decimal, at: str
    ) -> Decimal:
        """Brings what refunds removed from the lot up to `removed_total` (cumulative, so a
        duplicate or late refund event changes nothing), never more than the lot has left.
        Answers what was removed now."""
        for attempt in range(_ATTEMPTS):
            account, lots = self.read(account_id)
            lot = next((lot for lot in lots if lot.entry_id == lot_entry_id), None)
            if lot is None:
                raise UnknownLot(f"{account_id} has no credit lot {lot_entry_id}")
            already = lot.entry.refunded or ZERO
            removed = min(removed_total - already, lot.remaining)
            if removed <= 0 or lot.handled:
                return ZERO
            entry = LedgerEntry(
                account_id=account_id,
                entry_id=f"refund#{lot_entry_id}#{usd_str(removed_total)}",
                kind="refund",
                amount=removed.copy_negate(),
                created_at=at,
                note=f"refunded from {lot_entry_id}",
            )
            items = [
                self.ledger.put_item(entry),
                self.accounts.take_item(account, removed, counter="total_credits"),
                self.ledger.refund_lot_item(lot.entry, already + removed),
            ]
            if self._transact(items, attempt):
                return removed
        raise RuntimeError(f"refund of {lot_entry_id} kept conflicting; try again")

    def expire(
        self, as_of: str | None = None, account_ids: Iterable[str] | None = None
    ) -> ExpirySummary:
        """Expires what is left of every lot whose `expires_at` is at or before `as_of` (an
        ISO-8601 UTC timestamp; default now), of the accounts given or of every account with
        such a lot. Safe to run twice, or beside itself and the usage consumer."""
        summary = ExpirySummary(as_of or utcnow())
        wanted = (
            sorted(set(account_ids))
            if account_ids is not None
            else self.ledger.accounts_with_lots_due(summary.as_of)
        )
        for account_id in wanted:
            try:
                lots, amount = self.expire_account(account_id, summary.as_of)
            except Exception as exc:
                log_failure(logger, f"credit expiry failed for account {account_id}", exc)
                summary.failed.append(account_id)
                continue
            summary.accounts += 1
            summary.lots += lots
            summary.expired += amount
        logger.info(
            "credit expiry as of %s: %d accounts, %d lots, %s expired, %d failed",
            summary.as_of,
            summary.accounts,
            summary.lots,
            usd_str(summary.expired),
            len(summary.failed),
        )
        return summary

    def expire_account(self, account_id: str, as_of: str) -> tuple[int, Decimal]:
        """Handles the account's due lots, oldest first, one transaction each. Answers (lots
        handled, credit expired)."""
        handled, expired = 0, ZERO
        conflicts = 0
        while True:
            account, lots = self.read(account_id)
            lot = next((lot for lot in lots if not lot.handled), None)
            if lot is None or lot.expires_at > as_of:
                return handled, expired
            now = utcnow()
            items = [self.ledger.expire_lot_item(lot.entry, lot.remaining, now)]
            if lot.remaining:
                entry = LedgerEntry(
                    account_id=account_id,
                    entry_id=f"expiry#{lot.entry_id}",
                    kind="expiry",
                    amount=lot.remaining.copy_negate(),
                    created_at=now,
                    note=f"expired of {lot.entry_id}",
                )
                items += [
                    self.ledger.put_item(entry),
                    self.accounts.take_item(account, lot.remaining, counter="total_expired"),
                ]
            if self._transact(items, conflicts):
                handled += 1
                expired += lot.remaining
                continue
            conflicts += 1
            if conflicts >= _ATTEMPTS:
                raise RuntimeError(f"expiry of {lot.entry_id} kept conflicting")

    def read(self, account_id: str) -> tuple[Account, list[Lot]]:
        """The account and its lots (oldest first, with what is left of each)."""
        account = self.accounts.get(account_id)
        if account is None:
            raise UnknownAccount(account_id)
        # The lots after the account: whatever consumed credit since only makes the
        # conditional write fail and read again.
        return account, fifo(self.ledger.lots(account_id), consumed(account))

    def _transact(self, items: list[dict[str, Any]], attempt: int) -> bool:
        """True if written; False if a concurrent change cancelled it (read again)."""
        try:
            self.ledger.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            if not set(cancellation_codes(exc)) & _RETRY:
                raise
            time.sleep(0.01 * 2 ** min(attempt, 5) * random.random())
            return False
        return True
