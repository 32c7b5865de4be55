"""The keys table: API keys by the SHA-256 of their secret. The secret itself is never stored.

An account's keys are found through the `by_account` index (account id, then creation time).
Like every global secondary index it is eventually consistent: a key created a moment ago may
be missing from it for a moment (well under a second on DynamoDB).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .dynamo import Repository, from_item, set_or_remove, to_item
from .records import ApiKey

ACCOUNT_INDEX = "by_account"
# What an account may change about a key. `usage` is not among them: the usage consumer ADDs
# to it concurrently, so an update SETs only the attributes it changes.
CHANGEABLE = frozenset({"label", "limit", "disabled", "requests_per_minute", "concurrent_requests"})
_FIELDS = frozenset(field.name for field in fields(ApiKey))


def _key(item: dict[str, Any]) -> ApiKey:
    # Attributes the record does not know are left out; ones it gained since (say `management`)
    # take their defaults on older items.
    values = from_item(item)
    return ApiKey(**{name: value for name, value in values.items() if name in _FIELDS})


class KeysRepository(Repository):
    def get(self, key_hash: str) -> ApiKey | None:
        response = self.dynamodb.get_item(TableName=self.table, Key={"key_hash": {"S": key_hash}})
        item = response.get("Item")
        return _key(item) if item else None

    def of_account(self, account_id: str) -> list[ApiKey]:
        """The account's keys, oldest first."""
        return [_key(item) for item in self._by_account(account_id)]

    def find(self, account_id: str, key_id: str) -> ApiKey | None:
        """The account's key with this id; another account's key is as absent as no key."""
        items = self._by_account(
            account_id,
            FilterExpression="key_id = :key_id",
            values={":key_id": {"S": key_id}},
        )
        return next((_key(item) for item in items), None)

    def put_item(self, key: ApiKey) -> dict[str, Any]:
        return self._put_new(asdict(key), "key_hash")

    def update(self, key_hash: str, account_id: str, changes: Mapping[str, Any]) -> ApiKey | None:
        """Sets the given attributes (a `limit` of None removes the limit) of the account's key,
        in one conditional write; None if the key is gone or belongs to another account."""
        unknown = set(changes) - CHANGEABLE
        if unknown or not changes:
            raise ValueError(f"cannot change {sorted(unknown) or 'nothing'} of a key")
        expression, names, values = set_or_remove(changes)
        values[":account"] = account_id
        try:
            response = self.dynamodb.update_item(
                TableName=self.table,
                Key={"key_hash": {"S": key_hash}},
                UpdateExpression=expression,
                # Never creates an item: an update of a missing key would write a stub.
                ConditionExpression="attribute_exists(key_hash) AND account_id = :account",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _key(response["Attributes"])

    def delete(self, key_hash: str, account_id: str) -> ApiKey | None:
        """Deletes the account's key; None if it is gone already or belongs to another account."""
        try:
            response = self.dynamodb.delete_item(
                TableName=self.table,
                Key={"key_hash": {"S": key_hash}},
                ConditionExpression="account_id = :account",
                ExpressionAttributeValues={":account": {"S": account_id}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _key(response["Attributes"])

    def add_usage_item(self, key_hash: str, amount: Decimal) -> dict[str, Any]:
        """The transaction item that adds `amount` to an existing key's usage."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"key_hash": {"S": key_hash}},
                "UpdateExpression": "ADD #usage :amount",
                "ConditionExpression": "attribute_exists(key_hash)",
                "ExpressionAttributeNames": {"#usage": "usage"},
                "ExpressionAttributeValues": to_item({":amount": amount}),
            }
        }

    def _by_account(
        self, account_id: str, values: dict[str, Any] | None = None, **arguments: Any
    ) -> Iterator[dict[str, Any]]:
        return self._all_items(
            "query",
            IndexName=ACCOUNT_INDEX,
            ConsistentRead=False,  # an index cannot be read consistently
            KeyConditionExpression="account_id = :account",
            ExpressionAttributeValues={":account": {"S": account_id}, **(values or {})},
            **arguments,
        )
