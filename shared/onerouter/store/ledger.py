"""The ledger table: every movement of money, keyed by an id that makes it happen once.

A ledger entry and the balance change it causes are written in one transaction, so a replay
changes nothing and a crash leaves no half-applied credit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from botocore.exceptions import ClientError

from .accounts import AccountsRepository
from .dynamo import Repository, cancellation_codes, from_item
from .records import LedgerEntry


class UnknownAccount(LookupError):
    pass


class LedgerRepository(Repository):
    def __init__(self, table: str, accounts: AccountsRepository, dynamodb: Any = None) -> None:
        super().__init__(table, dynamodb)
        self.accounts = accounts

    def put_item(self, entry: LedgerEntry) -> dict[str, Any]:
        return self._put_new(asdict(entry), "entry_id")

    def entries(self, account_id: str | None = None) -> Iterator[LedgerEntry]:
        """One account's entries, or every account's (a scan: audits only)."""
        items = (
            self._all_items(
                "query",
                KeyConditionExpression="account_id = :account",
                ExpressionAttributeValues={":account": {"S": account_id}},
            )
            if account_id is not None
            else self._all_items()
        )
        for item in items:
            yield LedgerEntry(**from_item(item))

    def credit(self, entry: LedgerEntry) -> bool:
        """Records `entry` and adds its amount to the balance; False if it was already recorded."""
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    self.put_item(entry),
                    self.accounts.credit_item(entry.account_id, entry.amount),
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise UnknownAccount(entry.account_id) from None
            raise
        return True
