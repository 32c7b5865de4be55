"""Credit lots on moto: usage takes the oldest lot first, expiry takes what is left of lots a
year old (once, however often it runs, whatever runs beside it), refunds take what a lot has
left, and the books balance throughout."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import AccountService, NewAccount
from onerouter.billing.books import Books
from onerouter.billing.expiry import make_handler, scheduled_event
from onerouter.billing.lots import CreditLots, UnknownLot, expiry_of
from onerouter.cli import main
from onerouter.settings import Settings
from onerouter.store.accounts import AccountsRepository
from onerouter.store.dynamo import client
from onerouter.store.keys import KeysRepository
from onerouter.store.ledger import LedgerRepository
from onerouter.store.records import LedgerEntry
from onerouter.usage.consumer import UsageConsumer
from tests.fakes.gateway import ServerThread
from tests.usage_events import failed_ids, sqs_event, usage_event

D = Decimal


@pytest.fixture
def service(settings: Settings) -> AccountService:
    accounts = AccountsRepository(settings.tables.accounts)
    return AccountService(
        accounts,
        KeysRepository(settings.tables.keys),
        LedgerRepository(settings.tables.ledger, accounts),
    )


@pytest.fixture
def lots(service: AccountService) -> CreditLots:
    return CreditLots(service.accounts, service.ledger)


@pytest.fixture
def consumer(settings: Settings) -> UsageConsumer:
    return UsageConsumer.from_settings(settings)


@pytest.fixture
def books(service: AccountService) -> Books:
    return Books(service.accounts, service.ledger)


def grant_at(service: AccountService, account_id: str, name: str, amount: str, at: str) -> str:
    """A lot granted at `at` (backdated: as if written then)."""
    entry = LedgerEntry(account_id, f"grant#{name}", "grant", D(amount), at, None, expiry_of(at))
    assert service.ledger.credit(entry)
    return entry.entry_id


def spend(consumer: UsageConsumer, opened: NewAccount, *costs: str) -> None:
    key = (opened.key_id, hash_secret(opened.key))
    batch = sqs_event(*(usage_event(opened.account_id, *key, cost=c) for c in costs))
    assert failed_ids(consumer.handle(batch)) == set()


def remaining(lots: CreditLots, account_id: str) -> dict[str, Decimal]:
    return {lot.entry_id: lot.remaining for lot in lots.lots(account_id)}


def balanced(books: Books, *account_ids: str) -> None:
    for account in books.check(account_ids):
        assert account.balances, account.describe()


def money(service: AccountService, account_id: str) -> tuple[Decimal, Decimal, Decimal]:
    account = service.accounts.get(account_id)
    assert account is not None
    return account.balance, account.total_usage, account.total_expired


def test_new_lots_expire_a_year_after_they_are_granted(service: AccountService) -> None:
    opened = service.open_account(D(3))
    assert service.grant(opened.account_id, D(2), grant_id="later")
    entries = {e.entry_id: e for e in service.ledger.lots(opened.account_id)}
    assert set(entries) == {"grant#opening", "grant#later"}
    for entry in entries.values():
        assert entry.expires_at == expiry_of(entry.created_at)
        assert entry.expires_at[:4] == str(int(entry.created_at[:4]) + 1)


def test_usage_consumes_the_oldest_lot_first(
    service: AccountService, lots: CreditLots, consumer: UsageConsumer, books: Books
) -> None:
    opened = service.open_account(D(0))
    account_id = opened.account_id
    newer = grant_at(service, account_id, "newer", "3", "2024-06-01T00:00:00.000Z")
    older = grant_at(service, account_id, "older", "5", "2024-01-10T00:00:00.000Z")

    spend(consumer, opened, "1.5", "2")
    assert remaining(lots, account_id) == {older: D("1.5"), newer: D(3)}
    spend(consumer, opened, "2.5")  # takes the older lot's 1.5, then 1 of the newer one
    assert remaining(lots, account_id) == {older: D(0), newer: D(2)}

    # The older lot expires with nothing left; the newer one's 2 expire in their turn.
    summary = lots.expire("2025-01-10T23:59:59.999Z", [account_id])
    assert (summary.lots, summary.expired) == (1, D(0))
    assert money(service, account_id) == (D(2), D(6), D(0))
    summary = lots.expire("2025-06-01T00:00:00.000Z", [account_id])
    assert (summary.lots, summary.expired) == (1, D(2))
    assert money(service, account_id) == (D(0), D(6), D(2))
    balanced(books, account_id)


@pytest.fixture
def four_lots(service: AccountService, consumer: UsageConsumer) -> tuple[str, dict[str, str]]:
    """Lots of $4 (used up), $5 (partly used: $3 left), $1 and $2 granted the same day, and
    $10 half a year later; $6 of usage."""
    opened = service.open_account(D(0))
    account_id = opened.account_id
    names = {
        "used": grant_at(service, account_id, "used", "4", "2024-03-01T09:00:00.000Z"),
        "partly": grant_at(service, account_id, "partly", "5", "2024-03-05T08:00:00.000Z"),
        "same-day-1": grant_at(service, account_id, "same-day-1", "1", "2024-03-05T08:00:00.000Z"),
        "same-day-2": grant_at(service, account_id, "same-day-2", "2", "2024-03-05T17:30:00.000Z"),
        "later": grant_at(service, account_id, "later", "10", "2024-09-01T00:00:00.000Z"),
    }
    spend(consumer, opened, "4", "2")
    return account_id, names


def test_expiry_takes_what_is_left_of_each_due_lot_oldest_first(
    four_lots: tuple[str, dict[str, str]],
    service: AccountService,
    lots: CreditLots,
    books: Books,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account_id, names = four_lots
    assert money(service, account_id) == (D(16), D(6), D(0))

    summary = lots.expire("2025-03-05T23:59:59.999Z", [account_id])

    assert (summary.accounts, summary.lots, summary.expired) == (1, 4, D(6))
    assert money(service, account_id) == (D(10), D(6), D(6))
    expiries = {e.entry_id: e.amount for e in service.ledger.entries(account_id)}
    assert {k: v for k, v in expiries.items() if k.startswith("expiry#")} == {
        f"expiry#{names['partly']}": D(-3),
        f"expiry#{names['same-day-1']}": D(-1),
        f"expiry#{names['same-day-2']}": D(-2),
    }  # the used-up lot is marked handled, with no entry of nothing
    handled = {lot.entry_id: lot.entry.expired_amount for lot in lots.lots(account_id)}
    assert handled == {
        names["used"]: D(0),
        names["partly"]: D(3),
        names["same-day-1"]: D(1),
        names["same-day-2"]: D(2),
        names["later"]: None,
    }
    assert remaining(lots, account_id)[names["later"]] == D(10)
    balanced(books, account_id)
    assert main(["ledger", "check", "--account", account_id, "--all"]) == 0
    out = capsys.readouterr().out
    assert f"{account_id}: balance 10, ledger credits 22 - expired 6 - usage 6 = 10" in out


def test_expiring_twice_changes_nothing(
    four_lots: tuple[str, dict[str, str]], service: AccountService, lots: CreditLots
) -> None:
    account_id, _ = four_lots
    first = lots.expire("2025-03-06T00:00:00.000Z", [account_id])
    entries = list(service.ledger.entries(account_id))

    again = lots.expire("2025-03-06T00:00:00.000Z", [account_id])

    assert (first.lots, first.expired) == (4, D(6))
    assert (again.lots, again.expired, again.failed) == (0, D(0), [])
    assert list(service.ledger.entries(account_id)) == entries
    assert money(service, account_id) == (D(10), D(6), D(6))


def test_concurrent_runs_expire_once(
    four_lots: tuple[str, dict[str, str]], service: AccountService, books: Books
) -> None:
    account_id, _ = four_lots
    summaries = []

    def run() -> None:
        job = CreditLots(service.accounts, service.ledger)
        summaries.append(job.expire("2025-03-06T00:00:00.000Z", [account_id]))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(s.lots for s in summaries) == 4
    assert sum((s.expired for s in summaries), D(0)) == D(6)
    assert all(not s.failed for s in summaries)
    assert money(service, account_id) == (D(10), D(6), D(6))
    balanced(books, account_id)


class Interleaving:
    """The DynamoDB client, but `before` runs ahead of the first transaction: another writer
    getting in between the expiry job's read and its write."""

    def __init__(self, before: Callable[[], None]) -> None:
        self.real = client()
        self.before: Callable[[], None] | None = before
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def transact_write_items(self, **request: Any) -> Any:
        self.transactions += 1
        if self.before is not None:
            before, self.before = self.before, None
            before()
        return self.real.transact_write_items(**request)


def test_usage_billed_between_read_and_write_is_not_expired(
    service: AccountService,
    consumer: UsageConsumer,
    settings: Settings,
    books: Books,
) -> None:
    opened = service.open_account(D(0))
    account_id = opened.account_id
    old = grant_at(service, account_id, "old", "5", "2024-04-01T00:00:00.000Z")
    grant_at(service, account_id, "new", "5", "2024-10-01T00:00:00.000Z")
    spend(consumer, opened, "1")
    # The job reads $4 left in the old lot; then $3 of usage is billed; then it writes.
    interleaving = Interleaving(lambda: spend(consumer, opened, "3"))
    accounts = AccountsRepository(settings.tables.accounts, interleaving)
    job = CreditLots(accounts, LedgerRepository(settings.tables.ledger, accounts, interleaving))

    summary = job.expire("2025-04-01T00:00:00.000Z", [account_id])

    assert interleaving.transactions == 2  # cancelled once, read again, written
    assert (summary.lots, summary.expired) == (1, D(1))
    assert money(service, account_id) == (D(5), D(4), D(1))
    assert remaining(job, account_id) == {old: D(0), "grant#new": D(5)}
    balanced(books, account_id)


def test_an_overdrawn_account_has_nothing_to_expire(
    service: AccountService, lots: CreditLots, consumer: UsageConsumer, books: Books
) -> None:
    opened = service.open_account(D(0))
    account_id = opened.account_id
    grant_at(service, account_id, "small", "1", "2024-05-01T00:00:00.000Z")
    spend(consumer, opened, "3")  # served before the balance was seen: $2 overdrawn

    summary = lots.expire("2025-05-02T00:00:00.000Z", [account_id])

    assert (summary.lots, summary.expired) == (1, D(0))
    assert money(service, account_id) == (D(-2), D(3), D(0))
    assert service.grant(account_id, D(5), grant_id="topup")
    assert remaining(lots, account_id)["grant#topup"] == D(3)  # the debt is paid first
    balanced(books, account_id)


def test_the_scheduled_handler_finds_due_lots_through_the_index(
    service: AccountService, lots: CreditLots, settings: Settings, books: Books
) -> None:
    opened = service.open_account(D(1))  # a lot of today: not due
    account_id = opened.account_id
    old = grant_at(service, account_id, "old", "2.5", "2023-07-07T07:07:07.007Z")
    assert account_id in service.ledger.accounts_with_lots_due("2024-07-07T07:07:07.007Z")
    assert account_id not in service.ledger.accounts_with_lots_due("2024-07-07T07:07:07.006Z")

    result = make_handler(settings)(scheduled_event("2024-07-08T00:15:00Z"), None)

    assert result["as_of"] == "2024-07-08T00:15:00.000Z"
    assert result["failed"] == []
    assert money(service, account_id) == (D(1), D(0), D("2.5"))
    assert [lot.entry_id for lot in lots.lots(account_id) if lot.handled] == [old]
    # Handled lots leave the index; today's lot is there until it is due.
    assert account_id not in service.ledger.accounts_with_lots_due("2024-07-08T00:15:00.000Z")
    assert account_id in service.ledger.accounts_with_lots_due("9999-12-31T00:00:00.000Z")
    balanced(books, account_id)


def test_expire_credits_command(
    service: AccountService, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = service.open_account(D(0))
    grant_at(service, opened.account_id, "old", "0.75", "2023-08-08T12:00:00.000Z")
    args = ["expire-credits", "--as-of", "2024-08-08", "--account", opened.account_id]

    assert main([*args, "--prefix", "onerouter-test"]) == 0
    assert "expired 0.75 of 1 lots in 1 accounts (as of 2024-08-08T23:59:59.999Z)" in (
        capsys.readouterr().out
    )
    assert main(args) == 0
    assert "expired 0 of 0 lots in 1 accounts" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["expire-credits", "--as-of", "yesterday"])


def test_purchases_are_lots_found_by_their_payment(
    service: AccountService, lots: CreditLots
) -> None:
    account_id = service.open_account(D(0)).account_id
    assert service.purchase(account_id, D(20), "cs_test_1", "pi_test_1")
    assert not service.purchase(account_id, D(20), "cs_test_1", "pi_test_1")

    assert lots.lot_for_payment(account_id, "pi_test_1") == "purchase#cs_test_1"
    assert lots.lot_for_payment(account_id, "pi_other") is None
    (lot,) = lots.lots(account_id)
    assert (lot.entry.kind, lot.entry.payment_intent, lot.remaining) == (
        "purchase",
        "pi_test_1",
        D(20),
    )
    assert money(service, account_id) == (D(20), D(0), D(0))


def test_refunds_are_cumulative_and_capped_by_what_is_left(
    service: AccountService, lots: CreditLots, consumer: UsageConsumer, books: Books
) -> None:
    opened = service.open_account(D(0))
    account_id = opened.account_id
    assert service.purchase(account_id, D(10), "cs_refund", "pi_refund")
    assert service.grant(account_id, D(5), grant_id="after")
    lot_id = "purchase#cs_refund"
    at = "2026-11-25T10:00:00.000Z"

    assert lots.refund(account_id, lot_id, D(2), at) == D(2)
    assert lots.refund(account_id, lot_id, D(2), at) == D(0)  # the same event again
    assert lots.refund(account_id, lot_id, D(1), at) == D(0)  # an older event, late
    spend(consumer, opened, "5")  # the lot has 8 - 5 = 3 left
    assert lots.refund(account_id, lot_id, D(10), at) == D(3)  # all that is left
    assert lots.refund(account_id, lot_id, D(10), at) == D(0)

    assert remaining(lots, account_id) == {lot_id: D(0), "grant#after": D(5)}
    account = service.accounts.get(account_id)
    assert account is not None
    assert (account.balance, account.total_credits, account.total_usage) == (D(5), D(10), D(5))
    refunds = sorted(
        (e.entry_id, e.amount) for e in service.ledger.entries(account_id) if e.kind == "refund"
    )
    assert refunds == [(f"refund#{lot_id}#10", D(-3)), (f"refund#{lot_id}#2", D(-2))]
    balanced(books, account_id)
    with pytest.raises(UnknownLot):
        lots.refund(account_id, "purchase#nope", D(1), at)


def test_credits_show_what_expired_and_what_expires_next(
    gateway: ServerThread, service: AccountService, lots: CreditLots
) -> None:
    opened: NewAccount = gateway.app.state.accounts.open_account(D(0))
    account_id = opened.account_id
    grant_at(service, account_id, "old", "1.25", "2023-09-09T09:00:00.000Z")
    grant_at(service, account_id, "next", "4", "2024-02-29T12:00:00.000Z")
    lots.expire("2024-09-09T09:00:00.000Z", [account_id])

    response = httpx.get(
        f"{gateway.url}/api/v1/credits",
        headers={"authorization": f"Bearer {opened.key}"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.json()["data"] == {
        "balance": "4",
        "total_credits": "5.25",
        "total_usage": "0",
        "total_expired": "1.25",
        "next_expiry": {"date": "2025-03-01T00:00:00.000Z", "amount": "4"},
    }
    lots.expire("2025-03-01T00:00:00.000Z", [account_id])
    response = httpx.get(
        f"{gateway.url}/api/v1/credits",
        headers={"authorization": f"Bearer {opened.key}"},
        timeout=10,
    )
    assert response.json()["data"]["next_expiry"] is None
    assert response.json()["data"]["total_expired"] == "5.25"
