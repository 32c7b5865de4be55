"""The accounts table: one item per account, holding its balance."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .dynamo import client, from_item, to_item
from .records import Account


class AccountsRepository:
    def __init__(self, table: str, dynamodb: Any = None) -> None:
        self.table = table
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> Any:
        return self._dynamodb or client()

    def get(self, account_id: str) -> Account | None:
        response = self.dynamodb.get_item(
            TableName=self.table, Key={"account_id": {"S": account_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return None
        values = from_item(item)
        return Account(
            account_id=values["account_id"],
            balance=values["balance"],
            total_credits=values["total_credits"],
            created_at=values["created_at"],
        )

    def put_item(self, account: Account) -> dict[str, Any]:
        """The transaction item that creates `account`, refusing to overwrite one."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(asdict(account)),
                "ConditionExpression": "attribute_not_exists(account_id)",
            }
        }

    def credit_item(self, account_id: str, amount: Any) -> dict[str, Any]:
        """The transaction item that adds `amount` to an existing account's balance."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"account_id": {"S": account_id}},
                "UpdateExpression": "ADD balance :amount, total_credits :amount",
                "ConditionExpression": "attribute_exists(account_id)",
                "ExpressionAttributeValues": to_item({":amount": amount}),
            }
        }
