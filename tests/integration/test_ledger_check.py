"""`onerouter ledger check`: the books balance after billing, and a tampered balance shows."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import AccountService
from onerouter.cli import main
from onerouter.settings import Settings
from onerouter.store.accounts import AccountsRepository
from onerouter.store.keys import KeysRepository
from onerouter.store.ledger import LedgerRepository
from onerouter.usage.consumer import UsageConsumer
from tests.usage_events import failed_ids, sqs_event, usage_event


@pytest.fixture
def service(settings: Settings) -> AccountService:
    accounts = AccountsRepository(settings.tables.accounts)
    return AccountService(
        accounts,
        KeysRepository(settings.tables.keys),
        LedgerRepository(settings.tables.ledger, accounts),
    )


@pytest.fixture
def billed(service: AccountService, settings: Settings) -> str:
    """An account with a grant and two batches of usage billed, one delivered twice."""
    opened = service.open_account(Decimal("5"))
    service.grant(opened.account_id, Decimal("2.5"), grant_id="topup")
    key = (opened.key_id, hash_secret(opened.key))
    consumer = UsageConsumer.from_settings(settings)
    batch = sqs_event(*(usage_event(opened.account_id, *key, cost="0.0301") for _ in range(7)))
    assert failed_ids(consumer.handle(batch)) == set()
    assert failed_ids(consumer.handle(batch)) == set()
    later = sqs_event(usage_event(opened.account_id, *key, cost="1.1"))
    assert failed_ids(consumer.handle(later)) == set()
    return opened.account_id


@pytest.fixture
def tamper(settings: Settings) -> Iterator[list[tuple[str, Decimal]]]:
    """Add to balances behind the ledger's back; undone after the test."""
    dynamodb = boto3.client("dynamodb")
    done: list[tuple[str, Decimal]] = []

    def add(account_id: str, amount: Decimal) -> None:
        dynamodb.update_item(
            TableName=settings.tables.accounts,
            Key={"account_id": {"S": account_id}},
            UpdateExpression="ADD balance :amount",
            ExpressionAttributeValues={":amount": {"N": format(amount, "f")}},
        )

    yield done
    for account_id, amount in done:
        add(account_id, -amount)


def test_books_balance_after_billing(
    billed: str, service: AccountService, capsys: pytest.CaptureFixture[str]
) -> None:
    account = service.accounts.get(billed)
    assert account is not None
    assert account.balance == Decimal("7.5") - 7 * Decimal("0.0301") - Decimal("1.1")

    assert main(["ledger", "check", "--account", billed, "--records", "--all"]) == 0
    out = capsys.readouterr().out
    assert f"{billed}: balance 6.1893, ledger credits 7.5 - expired 0 - usage 1.3107" in out
    assert "books balance: 1 accounts checked" in out


def test_every_account_balances(capsys: pytest.CaptureFixture[str], billed: str) -> None:
    """The whole test store: every account any test made, billed or granted, balances."""
    assert main(["ledger", "check", "--records"]) == 0, capsys.readouterr().out


def test_a_tampered_balance_is_reported_with_its_difference(
    billed: str,
    tamper: list[tuple[str, Decimal]],
    service: AccountService,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
) -> None:
    other = service.open_account(Decimal(1)).account_id
    boto3.client("dynamodb").update_item(
        TableName=settings.tables.accounts,
        Key={"account_id": {"S": billed}},
        UpdateExpression="ADD balance :amount",
        ExpressionAttributeValues={":amount": {"N": "0.0000001"}},
    )
    tamper.append((billed, Decimal("0.0000001")))

    assert main(["ledger", "check", "--account", billed, "--account", other]) == 1
    out = capsys.readouterr().out
    assert f"{billed}: balance 6.1893001" in out
    assert "difference 0.0000001" in out
    assert other not in out  # only the accounts that differ are printed
    assert "books do not balance: 1 of 2 accounts differ" in out


def test_a_usage_record_billed_nowhere_is_reported(
    billed: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    stray = usage_event(billed, cost="0.5")
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(
        TableName=settings.tables.usage,
        Item={
            "generation_id": {"S": stray.generation_id},
            "account_id": {"S": billed},
            "cost": {"N": "0.5"},
        },
    )
    try:
        assert main(["ledger", "check", "--account", billed]) == 0
        capsys.readouterr()
        assert main(["ledger", "check", "--account", billed, "--records"]) == 1
        out = capsys.readouterr().out
        assert "usage records total 1.8107, billed 1.3107 (difference 0.5)" in out
    finally:
        dynamodb.delete_item(
            TableName=settings.tables.usage, Key={"generation_id": {"S": stray.generation_id}}
        )


def test_prefix_names_the_dev_runners_tables(
    billed: str, capsys: pytest.CaptureFixture[str], aws: object
) -> None:
    # The session's tables are the dev runner's naming with the prefix "onerouter-test".
    assert main(["ledger", "check", "--prefix", "onerouter-test", "--account", billed]) == 0
    assert "books balance: 1 accounts checked" in capsys.readouterr().out
