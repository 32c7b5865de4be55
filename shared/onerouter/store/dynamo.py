"""The DynamoDB client and item (de)serialisation shared by the repositories.

The endpoint comes from the standard AWS_ENDPOINT_URL setting, so the same code talks to
moto server locally and to DynamoDB on AWS.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@functools.cache
def client() -> Any:
    # One client per process: thread-safe, pooled; sized for requests served off the event loop.
    return boto3.client(
        "dynamodb",
        config=Config(
            max_pool_connections=64,
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


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

    def _put_new(self, values: dict[str, Any], key: str) -> dict[str, Any]:
        """The transaction item that writes `values`, refusing to overwrite an item."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(values),
                "ConditionExpression": f"attribute_not_exists({key})",
            }
        }
