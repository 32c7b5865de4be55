"""The ledger table: every movement of money, keyed by an id that makes it happen once.

A ledger entry and the balance change it causes are written in one transaction, so a replay
changes nothing and a crash leaves no half-applied credit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .accounts import AccountsRepository
from .dynamo import Repository, cancellation_codes, from_item, to_item
from .records import LedgerEntry

# Entry kinds that are credit lots, and the entry-id prefixes they are written under.
LOT_KINDS = ("grant", "purchase")
# The sparse index of lots not yet handled by the expiry job: partition `expiry_shard` (one of
# EXPIRY_SHARDS, from the account id), sort `expires_at`. The job removes `expiry_shard` when it
# handles a lot, so the index holds only the lots of the coming year (and any overdue).
EXPIRY_INDEX = "by_expiry"
EXPIRY_SHARDS = 8
_FIELDS = frozenset(field.name for field in fields(LedgerEntry))


def expiry_shard(account_id: str) -> str:
    return str(hashlib.sha256(account_id.encode()).digest()[0] % EXPIRY_SHARDS)


def _entry(item: dict[str, Any]) -> LedgerEntry:
    # Storage-only attributes (expiry_shard) are not part of the record.
    values = from_item(item)
    return LedgerEntry(**{name: value for name, value in values.items() if name in _FIELDS})


class UnknownAccount(LookupError):
    pass


class LedgerRepository(Repository):
    def __init__(self, table: str, accounts: AccountsRepository, dynamodb: Any = None) -> None:
        super().__init__(table, dynamodb)
        self.accounts = accounts

    def put_item(self, entry: LedgerEntry) -> dict[str, Any]:
        values = asdict(entry)
        if entry.expires_at and entry.expired_amount is None:
            values["expiry_shard"] = expiry_shard(entry.account_id)
        return self._put_new(values, "entry_id")

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
            yield _entry(item)

    def lots(self, account_id: str) -> list[LedgerEntry]:
        """The account's credit entries (grants, purchases), read consistently, in any order."""
        found: list[LedgerEntry] = []
        for kind in LOT_KINDS:
            items = self._all_items(
                "query",
                KeyConditionExpression="account_id = :account AND begins_with(entry_id, :kind)",
                ExpressionAttributeValues={
                    ":account": {"S": account_id},
                    ":kind": {"S": kind + "#"},
                },
            )
            found.extend(_entry(item) for item in items)
        return found

    def find_payment(self, account_id: str, payment_intent: str) -> LedgerEntry | None:
        """The account's purchase paid by `payment_intent`, if any."""
        items = self._all_items(
            "query",
            KeyConditionExpression="account_id = :account AND begins_with(entry_id, :kind)",
            FilterExpression="payment_intent = :payment",
            ExpressionAttributeValues={
                ":account": {"S": account_id},
                ":kind": {"S": "purchase#"},
                ":payment": {"S": payment_intent},
            },
        )
        return next((_entry(item) for item in items), None)

    def accounts_with_lots_due(self, as_of: str) -> list[str]:
        """The accounts with a lot not yet handled by the expiry job whose `expires_at` is at
        or before `as_of`. From the index: eventually consistent, so callers read the lots
        themselves again before acting."""
        found: set[str] = set()
        for shard in range(EXPIRY_SHARDS):
            items = self._all_items(
                "query",
                IndexName=EXPIRY_INDEX,
                ConsistentRead=False,  # an index cannot be read consistently
                KeyConditionExpression="expiry_shard = :shard AND expires_at <= :as_of",
                ExpressionAttributeValues={
                    ":shard": {"S": str(shard)},
                    ":as_of": {"S": as_of},
                },
            )
            found.update(item["account_id"]["S"] for item in items)
        return sorted(found)

    def expire_lot_item(self, lot: LedgerEntry, amount: Decimal, at: str) -> dict[str, Any]:
        """The transaction item that marks `lot` expired (`amount` of it) and takes it out of
        the expiry index, on condition that it was not marked yet and no refund touched it
        since it was read."""
        return self._lot_update(
            lot,
            "SET expired_amount = :amount, expired_at = :at REMOVE expiry_shard",
            {":amount": amount, ":at": at},
        )

    def refund_lot_item(self, lot: LedgerEntry, removed: Decimal) -> dict[str, Any]:
        """The transaction item that sets what refunds removed from `lot` to `removed`, on the
        same conditions."""
        return self._lot_update(lot, "SET refunded = :removed", {":removed": removed})

    def _lot_update(self, lot: LedgerEntry, update: str, values: dict[str, Any]) -> dict[str, Any]:
        condition = "attribute_exists(entry_id) AND attribute_not_exists(expired_amount)"
        if lot.refunded is None:
            condition += " AND attribute_not_exists(refunded)"
        else:
            condition += " AND refunded = :seen"
            values = {**values, ":seen": lot.refunded}
        return {
            "Update": {
                "TableName": self.table,
                "Key": {
                    "account_id": {"S": lot.account_id},
                    "entry_id": {"S": lot.entry_id},
                },
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": to_item(values),
            }
        }

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
