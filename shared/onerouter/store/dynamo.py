"""The DynamoDB client and item (de)serialisation shared by the repositories.

The endpoint comes from the standard AWS_ENDPOINT_URL setting, so the same code talks to
moto server locally and to DynamoDB on AWS. botocore directly, not boto3: boto3's import
(resources, s3transfer) would add ~150 ms to every cold start and give nothing used here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import botocore.session
from botocore.config import Config


@functools.cache
def client() -> Any:
    # One client per process: thread-safe, pooled; sized for requests served off the event loop.
    return botocore.session.get_session().create_client(
        "dynamodb",
        config=Config(
            max_pool_connections=64,
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


def serialize(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value. Numbers are int or Decimal, never float."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, Decimal):
        # Positional, never "1E-7": the same number to DynamoDB, and moto's ADD cannot parse
        # exponents.
        return {"N": format(value, "f")}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, dict):
        return {"M": {k: serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    if isinstance(value, set | frozenset) and value:
        if all(isinstance(v, str) for v in value):
            return {"SS": sorted(value)}
        if all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in value):
            return {"NS": [serialize(v)["N"] for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__} in DynamoDB")


def deserialize(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S" or kind == "B" or kind == "BOOL":
        return value
    if kind == "N":
        return Decimal(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: deserialize(v) for k, v in value.items()}
    if kind == "L":
        return [deserialize(v) for v in value]
    if kind == "SS" or kind == "BS":
        return set(value)
    if kind == "NS":
        return {Decimal(v) for v in value}
    raise TypeError(f"unknown DynamoDB attribute type {kind}")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: serialize(v) for k, v in values.items() if v is not None}


def set_or_remove(changes: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The UpdateExpression that sets each changed attribute, or removes it when changed to
    None, with its names and its values (Python values: `to_item` them)."""
    sets = [f"#{name} = :{name}" for name, value in changes.items() if value is not None]
    removes = [f"#{name}" for name, value in changes.items() if value is None]
    expression = " ".join(
        f"{verb} {', '.join(parts)}"
        for verb, parts in (("SET", sets), ("REMOVE", removes))
        if parts
    )
    names = {f"#{name}": name for name in changes}
    values = {f":{name}": value for name, value in changes.items() if value is not None}
    return expression, names, values


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: deserialize(v) for k, v in item.items()}


def cancellation_codes(error: Any) -> list[str]:
    """The per-item reasons a TransactWriteItems call was cancelled, in request order."""
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]


class Repository:
    """One table: its name, the client (injectable for tests), and the writes all tables share."""

    def __init__(self, table: str, dynamodb: Any = None) -> None:
        self.table = table
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> Any:
        return self._dynamodb or client()

    def _all_items(self, operation: str = "scan", **arguments: Any) -> Iterator[dict[str, Any]]:
        """Every item a scan (or a query, given its conditions) finds, page by page, read
        consistently: for audits and listings, never the hot path."""
        call = getattr(self.dynamodb, operation)
        arguments = {"TableName": self.table, "ConsistentRead": True, **arguments}
        while True:
            page = call(**arguments)
            yield from page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            arguments["ExclusiveStartKey"] = last

    def _put_new(self, values: dict[str, Any], key: str) -> dict[str, Any]:
        """The transaction item that writes `values`, refusing to overwrite an item."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(values),
                "ConditionExpression": f"attribute_not_exists({key})",
            }
        }
