"""The usage consumer on moto: exact books, exactly once, whatever SQS and crashes do."""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import AccountService
from onerouter.billing.books import Books
from onerouter.settings import Settings
from onerouter.store.accounts import AccountsRepository
from onerouter.store.dynamo import client
from onerouter.store.keys import KeysRepository
from onerouter.store.ledger import LedgerRepository
from onerouter.store.records import ActivityRow
from onerouter.store.usage import ActivityRepository, UsageRepository
from onerouter.usage.consumer import UsageConsumer
from onerouter.usage.events import UsageEvent
from tests.usage_events import failed_ids, sqs_event, sqs_record, usage_event


@dataclass
class Customer:
    account_id: str
    keys: list[tuple[str, str]]  # (key id, key hash)

    def event(self, key: int = 0, **changes: Any) -> UsageEvent:
        key_id, key_hash = self.keys[key]
        return usage_event(self.account_id, key_id, key_hash, **changes)


@pytest.fixture
def service(settings: Settings) -> AccountService:
    accounts = AccountsRepository(settings.tables.accounts)
    return AccountService(
        accounts,
        KeysRepository(settings.tables.keys),
        LedgerRepository(settings.tables.ledger, accounts),
    )


@pytest.fixture
def customer(service: AccountService) -> Callable[..., Customer]:
    def open_account(credits: str = "10.00", keys: int = 1) -> Customer:
        opened = service.open_account(Decimal(credits))
        found = [(opened.key_id, hash_secret(opened.key))]
        for _ in range(keys - 1):
            key, _secret = service.issue_key(opened.account_id)
            found.append((key.key_id, key.key_hash))
        return Customer(opened.account_id, found)

    return open_account


@pytest.fixture
def consumer(settings: Settings) -> UsageConsumer:
    return UsageConsumer.from_settings(settings)


@pytest.fixture
def books(settings: Settings) -> Books:
    accounts = AccountsRepository(settings.tables.accounts)
    return Books(
        accounts,
        LedgerRepository(settings.tables.ledger, accounts),
        UsageRepository(settings.tables.usage),
    )


def balance(service: AccountService, account_id: str) -> Decimal:
    account = service.accounts.get(account_id)
    assert account is not None
    return account.balance


def key_usage(service: AccountService, key_hash: str) -> Decimal:
    key = service.keys.get(key_hash)
    assert key is not None
    return key.usage


def ledger_usage(service: AccountService, account_id: str) -> list[Decimal]:
    return [e.amount for e in service.ledger.entries(account_id) if e.kind == "usage"]


def assert_balanced(books: Books, *account_ids: str) -> None:
    for account in books.check(account_ids):
        assert account.balances, account.describe()


class FailingClient:
    """The DynamoDB client, but a transaction that debits `account_id` fails with `error`
    (`times` times). Everything else goes through."""

    def __init__(self, account_id: str, error: BaseException, times: int = 1) -> None:
        self.real = client()
        self.account_id = account_id
        self.error = error
        self.times = times
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def transact_write_items(self, **request: Any) -> Any:
        self.calls += 1
        touched = {
            item["Update"]["Key"].get("account_id", {}).get("S")
            for item in request["TransactItems"]
            if "Update" in item
        }
        if self.account_id in touched and self.times:
            self.times -= 1
            raise self.error
        return self.real.transact_write_items(**request)


class Crash(BaseException):
    """What a Lambda timeout or an out-of-memory kill looks like from inside: not an Exception."""


def test_a_batch_debits_each_account_exactly(
    consumer: UsageConsumer,
    customer: Callable[..., Customer],
    service: AccountService,
    books: Books,
    settings: Settings,
) -> None:
    alice, bob = customer("10.00", keys=2), customer("1")
    costs = ["0.000123", "0.0045", "1.2345678901", "0.00000001", "0"]
    events = [alice.event(i % 2, cost=c) for i, c in enumerate(costs)]
    events += [bob.event(cost="0.25"), bob.event(cost="0.5")]

    response = consumer.handle(sqs_event(*events))

    assert response == {"batchItemFailures": []}
    assert balance(service, alice.account_id) == Decimal("10.00") - sum(map(Decimal, costs))
    assert balance(service, alice.account_id) == Decimal("8.7608090999")
    assert balance(service, bob.account_id) == Decimal("0.25")
    alice_account = service.accounts.get(alice.account_id)
    assert alice_account is not None
    assert alice_account.total_usage == Decimal("1.2391909001")
    # Each key's own usage: keys 0 and 1 alternate.
    assert key_usage(service, alice.keys[0][1]) == Decimal("1.2346908901")
    assert key_usage(service, alice.keys[1][1]) == Decimal("0.00450001")
    # One ledger entry per account for the whole batch.
    assert ledger_usage(service, alice.account_id) == [Decimal("-1.2391909001")]
    assert ledger_usage(service, bob.account_id) == [Decimal("-0.75")]
    record = UsageRepository(settings.tables.usage).get(events[2].generation_id)
    assert record is not None
    assert record["cost"] == Decimal("1.2345678901")
    assert record["account_id"] == alice.account_id
    assert record["ledger_entry"].startswith("usage#gen-")
    assert "key_hash" not in record
    assert_balanced(books, alice.account_id, bob.account_id)


def test_a_duplicate_delivery_changes_nothing(
    consumer: UsageConsumer,
    customer: Callable[..., Customer],
    service: AccountService,
    books: Books,
) -> None:
    alice = customer()
    first, second = alice.event(cost="0.1"), alice.event(cost="0.02")

    # SQS delivers the same message twice in one batch (and the same body as another message).
    response = consumer.handle(
        sqs_event(sqs_record(first, "m1"), sqs_record(first, "m1"), sqs_record(first, "m2"), second)
    )
    assert failed_ids(response) == set()
    assert balance(service, alice.account_id) == Decimal("9.88")
    assert consumer.processor.outcome.duplicates == 2

    # ...and again in a later batch, with one new request beside it.
    third = alice.event(cost="0.003")
    response = consumer.handle(sqs_event(first, second, third, first))
    assert failed_ids(response) == set()
    assert balance(service, alice.account_id) == Decimal("9.877")
    assert key_usage(service, alice.keys[0][1]) == Decimal("0.123")
    assert sorted(ledger_usage(service, alice.account_id)) == [Decimal("-0.12"), Decimal("-0.003")]
    assert consumer.processor.outcome.written == 1

    # A batch of nothing but duplicates writes nothing at all.
    response = consumer.handle(sqs_event(first, second, third))
    assert failed_ids(response) == set()
    assert consumer.processor.outcome.transactions == 0
    assert balance(service, alice.account_id) == Decimal("9.877")
    assert_balanced(books, alice.account_id)


def test_a_malformed_message_fails_alone(
    consumer: UsageConsumer,
    customer: Callable[..., Customer],
    service: AccountService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice = customer()
    good = alice.event(cost="0.5")
    bad = sqs_record('{"version": 1, "generation_id": "x"}', "malformed-1")
    worse = sqs_record("not even json", "malformed-2")

    with caplog.at_level(logging.INFO, logger="onerouter"):
        response = consumer.handle(sqs_event(bad, good, worse))

    assert failed_ids(response) == {"malformed-1", "malformed-2"}
    assert balance(service, alice.account_id) == Decimal("9.5")
    logged = caplog.text
    assert "malformed-1" in logged and "malformed-2" in logged
    assert "not even json" not in logged
    assert "1 billed" in logged and "2 failed" in logged


def test_a_batch_of_only_malformed_messages_is_answered_not_raised(
    consumer: UsageConsumer,
) -> None:
    response = consumer.handle(sqs_event(sqs_record("{}", "a"), sqs_record("[]", "b")))
    assert failed_ids(response) == {"a", "b"}


def test_a_failed_write_fails_its_accounts_messages_only_and_redelivery_bills_once(
    settings: Settings,
    customer: Callable[..., Customer],
    service: AccountService,
    books: Books,
) -> None:
    alice, bob = customer(), customer()
    error = ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "try again"}}, "TransactWriteItems"
    )
    flaky = FailingClient(bob.account_id, error)
    consumer = UsageConsumer.from_settings(settings, dynamodb=flaky)
    alice_events = [alice.event(cost="0.01") for _ in range(3)]
    bob_records = [sqs_record(bob.event(cost="0.2")) for _ in range(2)]

    response = consumer.handle(
        sqs_event(alice_events[0], bob_records[0], *alice_events[1:], bob_records[1])
    )

    assert failed_ids(response) == {r["messageId"] for r in bob_records}
    assert balance(service, alice.account_id) == Decimal("9.97")
    assert balance(service, bob.account_id) == Decimal("10.00")
    assert UsageRepository(settings.tables.usage).get(_body_id(bob_records[0])) is None

    # SQS delivers the failed messages again; this time the write goes through.
    response = consumer.handle(sqs_event(*bob_records))
    assert failed_ids(response) == set()
    assert balance(service, bob.account_id) == Decimal("9.6")
    assert balance(service, alice.account_id) == Decimal("9.97")
    assert_balanced(books, alice.account_id, bob.account_id)


def _body_id(record: dict[str, Any]) -> str:
    return UsageEvent.from_message(record["body"]).generation_id


def test_a_crash_mid_batch_then_redelivery_bills_each_request_once(
    settings: Settings,
    customer: Callable[..., Customer],
    service: AccountService,
    books: Books,
) -> None:
    accounts = [customer() for _ in range(4)]
    events = [a.event(cost=f"0.{i + 1}") for a in accounts for i in range(3)]
    batch = sqs_event(*events)
    # The third account's transaction "crashes" the consumer: the two before it are written.
    crashing = FailingClient(accounts[2].account_id, Crash())
    consumer = UsageConsumer.from_settings(settings, dynamodb=crashing)

    with pytest.raises(Crash):
        consumer.handle(batch)
    written = [balance(service, a.account_id) for a in accounts]
    assert written == [Decimal("9.4"), Decimal("9.4"), Decimal("10.00"), Decimal("10.00")]

    # Nothing was reported, so SQS delivers the whole batch again, to a healthy consumer.
    response = UsageConsumer.from_settings(settings).handle(batch)
    assert failed_ids(response) == set()
    for account in accounts:
        assert balance(service, account.account_id) == Decimal("9.4")
        assert ledger_usage(service, account.account_id) == [Decimal("-0.6")]
    assert_balanced(books, *(a.account_id for a in accounts))


def test_a_group_larger_than_a_transaction_is_split_and_stays_exact(
    settings: Settings,
    customer: Callable[..., Customer],
    service: AccountService,
    books: Books,
) -> None:
    alice = customer("100", keys=3)
    events = [alice.event(i % 3, cost="0.001", model=f"m{i % 2}") for i in range(40)]
    consumer = UsageConsumer.from_settings(settings, max_items=12)

    response = consumer.handle(sqs_event(*events[:25]))
    assert failed_ids(response) == set()
    # Overlapping redelivery: 15 of these were billed already, in other chunks.
    response = consumer.handle(sqs_event(*events[10:]))
    assert failed_ids(response) == set()
    assert consumer.processor.outcome.duplicates == 15

    assert balance(service, alice.account_id) == Decimal("99.960")
    assert sum(ledger_usage(service, alice.account_id)) == Decimal("-0.040")
    assert len(ledger_usage(service, alice.account_id)) > 2
    assert sum(key_usage(service, h) for _, h in alice.keys) == Decimal("0.040")
    assert_balanced(books, alice.account_id)


def test_an_unknown_account_fails_its_messages_and_writes_nothing(
    consumer: UsageConsumer,
    customer: Callable[..., Customer],
    service: AccountService,
    settings: Settings,
) -> None:
    alice = customer()
    ghost = usage_event("acct_no_such_" + secrets.token_hex(4), cost="1")
    ghost_record = sqs_record(ghost)

    response = consumer.handle(sqs_event(ghost_record, alice.event(cost="1")))

    assert failed_ids(response) == {ghost_record["messageId"]}
    assert balance(service, alice.account_id) == Decimal("9.00")
    assert service.accounts.get(ghost.account_id) is None
    assert UsageRepository(settings.tables.usage).get(ghost.generation_id) is None
    assert list(service.ledger.entries(ghost.account_id)) == []


def test_a_deleted_key_still_bills_its_account(
    consumer: UsageConsumer,
    customer: Callable[..., Customer],
    service: AccountService,
    settings: Settings,
    books: Books,
) -> None:
    alice = customer(keys=2)
    boto3.client("dynamodb").delete_item(
        TableName=settings.tables.keys, Key={"key_hash": {"S": alice.keys[1][1]}}
    )

    response = consumer.handle(sqs_event(alice.event(0, cost="0.5"), alice.event(1, cost="2")))

    assert failed_ids(response) == set()
    assert balance(service, alice.account_id) == Decimal("7.50")
    assert key_usage(service, alice.keys[0][1]) == Decimal("0.5")
    assert service.keys.get(alice.keys[1][1]) is None  # no stub item made for it
    assert_balanced(books, alice.account_id)


def test_activity_adds_up_per_day_model_provider_and_key(
    consumer: UsageConsumer,
    customer: Callable[..., Customer],
    settings: Settings,
) -> None:
    alice = customer("100", keys=2)
    events = [
        alice.event(
            i % 2,
            cost=f"0.00{i}",
            day=day,
            model=model,
            provider=provider,
            prompt_tokens=10 + i,
            completion_tokens=i,
            cached_tokens=i % 3,
            reasoning_tokens=i % 2,
        )
        for i, (day, model, provider) in enumerate(
            [
                ("2026-11-19", "test/chat", "primary"),
                ("2026-11-19", "test/chat", "primary"),
                ("2026-11-19", "test/chat", "backup"),
                ("2026-11-20", "test/chat", "primary"),
                ("2026-11-20", "test/solo", "primary"),
                ("2026-11-20", "test/solo", "primary"),
                ("2026-11-20", "test/solo", "primary"),
                ("2026-11-21", "a#b", "c"),
            ]
        )
    ]
    # Two batches: the rows add up across batches too.
    assert failed_ids(consumer.handle(sqs_event(*events[:5]))) == set()
    assert failed_ids(consumer.handle(sqs_event(*events[5:]))) == set()

    expected: dict[tuple[str, ...], ActivityRow] = {}
    for e in events:
        labels = (e.day, e.model, e.provider, e.key_id)
        row = expected.get(labels) or ActivityRow(alice.account_id, *labels)
        expected[labels] = dataclasses.replace(
            row,
            requests=row.requests + 1,
            prompt_tokens=row.prompt_tokens + e.prompt_tokens,
            completion_tokens=row.completion_tokens + e.completion_tokens,
            cached_tokens=row.cached_tokens + e.cached_tokens,
            reasoning_tokens=row.reasoning_tokens + e.reasoning_tokens,
            cost=row.cost + e.cost,
        )
    activity = ActivityRepository(settings.tables.activity)
    rows = activity.rows(alice.account_id)
    assert sorted(rows, key=_labels) == sorted(expected.values(), key=_labels)
    assert sum(r.cost for r in rows) == sum(e.cost for e in events)
    # A day range is a key range.
    assert {r.day for r in activity.rows(alice.account_id, "2026-11-20", "2026-11-20")} == {
        "2026-11-20"
    }


def _labels(row: ActivityRow) -> tuple[str, ...]:
    return (row.day, row.model, row.provider, row.key_id)


def test_costs_below_a_millionth_add_up_exactly(
    consumer: UsageConsumer,
    customer: Callable[..., Customer],
    service: AccountService,
    books: Books,
) -> None:
    """A fraction of a cent per million tokens: sums that print as 1E-7 stay exact and
    addable (moto stores sums as text: see dev/aws.py)."""
    alice = customer("0")
    for costs in (["0.0000001"], ["0.0000001", "0.00000005"], ["0.00000025"]):
        batch = sqs_event(*(alice.event(cost=c) for c in costs))
        assert failed_ids(consumer.handle(batch)) == set()
    assert balance(service, alice.account_id) == Decimal("-0.0000005")
    assert key_usage(service, alice.keys[0][1]) == Decimal("0.0000005")
    assert_balanced(books, alice.account_id)
