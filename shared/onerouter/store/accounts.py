"""The accounts table: one item per account, holding its balance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .dynamo import Repository, from_item, set_or_remove, to_item
from .records import Account


def _account(item: dict[str, Any]) -> Account:
    values = from_item(item)
    return Account(
        account_id=values["account_id"],
        balance=values["balance"],
        total_credits=values["total_credits"],
        created_at=values["created_at"],
        data_collection=values.get("data_collection", "deny"),
        total_usage=values.get("total_usage", Decimal(0)),
        total_expired=values.get("total_expired", Decimal(0)),
        requests_per_minute=_count(values.get("requests_per_minute")),
        concurrent_requests=_count(values.get("concurrent_requests")),
        byok_providers=frozenset(values.get("byok_providers") or ()),
    )


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


class AccountsRepository(Repository):
    def get(self, account_id: str) -> Account | None:
        response = self.dynamodb.get_item(
            TableName=self.table, Key={"account_id": {"S": account_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return _account(item) if item else None

    def set_data_collection(self, account_id: str, data_collection: str) -> Account | None:
        """Sets whether providers that may train on prompts may serve the account; None if
        there is no such account (never creates one)."""
        try:
            response = self.dynamodb.update_item(
                TableName=self.table,
                Key={"account_id": {"S": account_id}},
                UpdateExpression="SET data_collection = :value",
                ConditionExpression="attribute_exists(account_id)",
                ExpressionAttributeValues={":value": {"S": data_collection}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _account(response["Attributes"])

    def set_limits(self, account_id: str, changes: Mapping[str, int | None]) -> Account | None:
        """Sets the account's own rate limits (None: back to the gateway's default); None if
        there is no such account."""
        expression, names, values = set_or_remove(changes)
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"account_id": {"S": account_id}},
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(account_id)",
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            arguments["ExpressionAttributeValues"] = to_item(values)
        try:
            response = self.dynamodb.update_item(**arguments)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _account(response["Attributes"])

    def scan(self) -> Iterator[Account]:
        """Every account: for audits, never the hot path."""
        for item in self._all_items():
            yield _account(item)

    def put_item(self, account: Account) -> dict[str, Any]:
        values = {k: v for k, v in asdict(account).items() if v != frozenset()}
        return self._put_new(values, "account_id")

    def exists_item(self, account_id: str) -> dict[str, Any]:
        """The transaction item that only checks that the account exists."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": {"account_id": {"S": account_id}},
                "ConditionExpression": "attribute_exists(account_id)",
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

    def debit_item(self, account_id: str, amount: Decimal) -> dict[str, Any]:
        """The transaction item that takes `amount` (>= 0) of usage off an existing account.

        The balance may go below zero: the requests were served already."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"account_id": {"S": account_id}},
                "UpdateExpression": "ADD #balance :debit, #usage :amount",
                "ConditionExpression": "attribute_exists(account_id)",
                "ExpressionAttributeNames": {"#balance": "balance", "#usage": "total_usage"},
                "ExpressionAttributeValues": to_item(
                    {":debit": amount.copy_negate() if amount else Decimal(0), ":amount": amount}
                ),
            }
        }

    def take_item(self, account: Account, amount: Decimal, *, counter: str) -> dict[str, Any]:
        """The transaction item that takes `amount` (> 0) of credit off the account, adding it
        to `counter` (`total_expired`; a refund lowers `total_credits`), on condition that its
        consumption (total_usage + total_expired, see billing/lots.py) is still what `account`
        says: a usage debit or an expiry in between makes the caller read again."""
        if counter not in ("total_expired", "total_credits"):
            raise ValueError(f"cannot take credit off into {counter}")
        # A refund lowers what was credited; an expiry adds to what expired.
        sign = ":debit" if counter == "total_credits" else ":amount"
        update = f"ADD #balance :debit, #{counter} {sign}"
        names = {f"#{name}": name for name in ("balance", counter, "total_usage", "total_expired")}
        conditions = ["attribute_exists(account_id)"]
        values: dict[str, Any] = {":debit": amount.copy_negate()}
        if sign == ":amount":  # DynamoDB refuses a value the expressions do not use
            values[":amount"] = amount
        for name, seen in (
            ("total_usage", account.total_usage),
            ("total_expired", account.total_expired),
        ):
            values[f":{name}"] = seen
            condition = f"#{name} = :{name}"
            if not seen:  # older accounts lack the counter until it is first added to
                condition = f"({condition} OR attribute_not_exists(#{name}))"
            conditions.append(condition)
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"account_id": {"S": account.account_id}},
                "UpdateExpression": update,
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values),
            }
        }
