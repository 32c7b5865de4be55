"""Accounts, keys and credit grants in DynamoDB (moto server): atomic, idempotent, hashed."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import boto3
import pytest

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import AccountService
from onerouter.settings import Settings
from onerouter.store.accounts import AccountsRepository
from onerouter.store.keys import KeysRepository
from onerouter.store.ledger import LedgerRepository, UnknownAccount


@pytest.fixture
def service(settings: Settings) -> AccountService:
    accounts = AccountsRepository(settings.tables.accounts)
    return AccountService(
        accounts,
        KeysRepository(settings.tables.keys),
        LedgerRepository(settings.tables.ledger, accounts),
    )


def _scan(table: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=table)["Items"]


def test_open_account_writes_account_key_and_opening_credit(
    service: AccountService, settings: Settings
) -> None:
    opened = service.open_account(Decimal("12.34"))

    account = service.accounts.get(opened.account_id)
    assert account is not None
    assert account.balance == Decimal("12.34")
    assert account.total_credits == Decimal("12.34")
    key = service.keys.get(hash_secret(opened.key))
    assert key is not None
    assert key.account_id == opened.account_id
    assert key.key_id == opened.key_id
    ledger = [i for i in _scan(settings.tables.ledger) if i["account_id"]["S"] == opened.account_id]
    assert [i["amount"]["N"] for i in ledger] == ["12.34"]


def test_key_secret_is_stored_only_as_its_hash(service: AccountService, settings: Settings) -> None:
    opened = service.open_account(Decimal(1))
    for table in (settings.tables.keys, settings.tables.accounts, settings.tables.ledger):
        assert opened.key not in repr(_scan(table))
    assert hash_secret(opened.key) in repr(_scan(settings.tables.keys))


def test_grant_is_idempotent_on_its_id(service: AccountService) -> None:
    opened = service.open_account(Decimal(0))
    assert service.grant(opened.account_id, Decimal("5.5"), grant_id="topup-1") is True
    assert service.grant(opened.account_id, Decimal("5.5"), grant_id="topup-1") is False
    assert service.grant(opened.account_id, Decimal("0.25"), grant_id="topup-2") is True

    account = service.accounts.get(opened.account_id)
    assert account is not None
    assert account.balance == Decimal("5.75")
    assert account.total_credits == Decimal("5.75")


def test_grant_to_unknown_account_changes_nothing(
    service: AccountService, settings: Settings
) -> None:
    before = len(_scan(settings.tables.ledger))
    with pytest.raises(UnknownAccount):
        service.grant("acct_missing", Decimal(1), grant_id="g")
    assert len(_scan(settings.tables.ledger)) == before
    assert service.accounts.get("acct_missing") is None


def test_open_account_with_an_existing_id_writes_nothing(service: AccountService) -> None:
    first = service.open_account(Decimal(3), account_id="acct_fixed_id_test")
    with pytest.raises(Exception, match=r"TransactionCanceled|ConditionalCheckFailed"):
        service.open_account(Decimal(100), account_id="acct_fixed_id_test")
    account = service.accounts.get("acct_fixed_id_test")
    assert account is not None
    assert account.balance == Decimal(3)
    assert service.keys.get(hash_secret(first.key)) is not None


def test_money_is_exact_through_storage(service: AccountService) -> None:
    opened = service.open_account(Decimal(0))
    for _ in range(10):
        service.grant(opened.account_id, Decimal("0.1"))
    account = service.accounts.get(opened.account_id)
    assert account is not None
    assert account.balance == Decimal("1.0")


def test_a_transaction_resent_with_its_client_token_succeeds_once(settings: Settings) -> None:
    """botocore resends a TransactWriteItems whose answer came late, with the same client
    token; DynamoDB answers the repeat with the first call's success and applies nothing
    twice, and so does the local emulator (dev/aws.py). (On the limits table, whose items no
    audit reads.)"""
    dynamodb = boto3.client("dynamodb")
    scope = f"test#resent-{secrets.token_hex(6)}"
    items = [
        {
            "Update": {
                "TableName": settings.tables.limits,
                "Key": {"scope": {"S": scope}},
                "UpdateExpression": "ADD n :one",
                "ConditionExpression": "attribute_not_exists(n) OR n < :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    token = f"token-{scope}"
    dynamodb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    dynamodb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=items, ClientRequestToken=token + "-new")
    item = dynamodb.get_item(
        TableName=settings.tables.limits, Key={"scope": {"S": scope}}, ConsistentRead=True
    )["Item"]
    assert item["n"] == {"N": "1"}  # applied once
