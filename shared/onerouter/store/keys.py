"""The keys table: API keys by the SHA-256 of their secret. The secret itself is never stored."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from .dynamo import Repository, from_item, to_item
from .records import ApiKey


class KeysRepository(Repository):
    def get(self, key_hash: str) -> ApiKey | None:
        response = self.dynamodb.get_item(TableName=self.table, Key={"key_hash": {"S": key_hash}})
        item = response.get("Item")
        return ApiKey(**from_item(item)) if item else None

    def put_item(self, key: ApiKey) -> dict[str, Any]:
        return self._put_new(asdict(key), "key_hash")

    def create(self, key: ApiKey) -> None:
        put = self.put_item(key)["Put"]
        self.dynamodb.put_item(**put)

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
