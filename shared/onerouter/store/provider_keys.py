"""The provider keys table: one item per account and provider, holding a sealed API key.

An item holds the key only as `accounts/envelope.py` sealed it (ciphertext, nonce, the data
key as KMS encrypted it) plus a hint to recognise it by. Writes also keep the account's
`byok_providers` set in step, in the same transaction, so the account record (which the hot
path has in memory anyway) says whether there is anything to look up here at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .dynamo import Repository, cancellation_codes, from_item, to_item


@dataclass(frozen=True, slots=True)
class StoredKey:
    account_id: str
    provider: str
    ciphertext: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    data_key: bytes = field(repr=False)
    hint: str
    fallback: bool
    created_at: str
    updated_at: str


def _stored(item: dict[str, Any]) -> StoredKey:
    values = from_item(item)
    return StoredKey(
        account_id=values["account_id"],
        provider=values["provider"],
        ciphertext=bytes(values["ciphertext"]),
        nonce=bytes(values["nonce"]),
        data_key=bytes(values["data_key"]),
        hint=values["hint"],
        fallback=bool(values.get("fallback", True)),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )


class ProviderKeysRepository(Repository):
    """The provider keys table; `accounts_table` is where each account's `byok_providers` is."""

    def __init__(self, table: str, accounts_table: str, dynamodb: Any = None) -> None:
        super().__init__(table, dynamodb)
        self.accounts_table = accounts_table

    def of_account(self, account_id: str) -> list[StoredKey]:
        items = self._all_items(
            "query",
            KeyConditionExpression="account_id = :account",
            ExpressionAttributeValues={":account": {"S": account_id}},
        )
        return [_stored(item) for item in items]

    def get(self, account_id: str, provider: str) -> StoredKey | None:
        response = self.dynamodb.get_item(
            TableName=self.table, Key=_key(account_id, provider), ConsistentRead=True
        )
        item = response.get("Item")
        return _stored(item) if item else None

    def put(self, key: StoredKey) -> StoredKey | None:
        """Stores (or replaces) the account's key for the provider; None if there is no such
        account. A replaced key keeps its `created_at`."""
        update = (
            "SET ciphertext = :ciphertext, nonce = :nonce, data_key = :data_key, hint = :hint,"
            " fallback = :fallback, updated_at = :now,"
            " created_at = if_not_exists(created_at, :now)"
        )
        values = {
            ":ciphertext": key.ciphertext,
            ":nonce": key.nonce,
            ":data_key": key.data_key,
            ":hint": key.hint,
            ":fallback": key.fallback,
            ":now": key.updated_at,
        }
        item = {
            "Update": {
                "TableName": self.table,
                "Key": _key(key.account_id, key.provider),
                "UpdateExpression": update,
                "ExpressionAttributeValues": to_item(values),
            }
        }
        if not self._transact([item, self._providers_item(key.account_id, key.provider, "ADD")]):
            return None
        return self.get(key.account_id, key.provider)

    def delete(self, account_id: str, provider: str) -> bool:
        """Deletes the account's key for the provider; False if it had none."""
        item = {
            "Delete": {
                "TableName": self.table,
                "Key": _key(account_id, provider),
                "ConditionExpression": "attribute_exists(account_id)",
            }
        }
        return self._transact([item, self._providers_item(account_id, provider, "DELETE")])

    def _providers_item(self, account_id: str, provider: str, action: str) -> dict[str, Any]:
        """The transaction item that adds the provider to (or takes it off) the account's
        `byok_providers` string set, on condition that the account exists."""
        return {
            "Update": {
                "TableName": self.accounts_table,
                "Key": {"account_id": {"S": account_id}},
                "UpdateExpression": f"{action} byok_providers :provider",
                "ConditionExpression": "attribute_exists(account_id)",
                "ExpressionAttributeValues": {":provider": {"SS": [provider]}},
            }
        }

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """Runs the transaction; False when a condition refused it (no such key or account)."""
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            if "ConditionalCheckFailed" not in cancellation_codes(exc):
                raise
            return False
        return True


def _key(account_id: str, provider: str) -> dict[str, Any]:
    return {"account_id": {"S": account_id}, "provider": {"S": provider}}
