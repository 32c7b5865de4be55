"""The accounts table: one item per account, holding its balance."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .dynamo import Repository, from_item, to_item
from .records import Account


class AccountsRepository(Repository):
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
            data_collection=values.get("data_collection", "deny"),
        )

    def put_item(self, account: Account) -> dict[str, Any]:
        return self._put_new(asdict(account), "account_id")

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
