"""Usage events and SQS events of Lambda's shape, for the consumer's tests."""

from __future__ import annotations

import dataclasses
import secrets
from decimal import Decimal
from typing import Any

from onerouter.usage.events import UsageEvent

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:onerouter-test-UsageQueue"


def generation_id() -> str:
    return "gen-" + secrets.token_hex(16)


def usage_event(
    account_id: str,
    key_id: str = "key_0",
    key_hash: str = "0" * 64,
    *,
    cost: str | Decimal = "0.000123",
    day: str = "2026-11-20",
    model: str = "test/chat",
    provider: str = "primary",
    **changes: Any,
) -> UsageEvent:
    cost = Decimal(cost)
    event = UsageEvent(
        generation_id=generation_id(),
        account_id=account_id,
        key_id=key_id,
        key_hash=key_hash,
        model=model,
        provider=provider,
        provider_model="gpt-4o-mini",
        created_at=f"{day}T12:34:56.789Z",
        prompt_tokens=1200,
        completion_tokens=345,
        cached_tokens=1000,
        cache_write_tokens=0,
        reasoning_tokens=45,
        images=0,
        cost=cost,
        cost_details={"prompt_cost": cost, "completion_cost": Decimal(0)},
        latency_ms=812,
        ttft_ms=120,
        status="ok",
        streamed=True,
        finish_reason="stop",
    )
    return dataclasses.replace(event, **changes)


def sqs_record(body: str | UsageEvent, message_id: str | None = None) -> dict[str, Any]:
    text = body.to_message() if isinstance(body, UsageEvent) else body
    return {
        "messageId": message_id or secrets.token_hex(8),
        "receiptHandle": "handle-" + secrets.token_hex(8),
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1764000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1764000000001",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def sqs_event(*records: dict[str, Any] | str | UsageEvent) -> dict[str, Any]:
    return {
        "Records": [r if isinstance(r, dict) else sqs_record(r) for r in records],
    }


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {f["itemIdentifier"] for f in response["batchItemFailures"]}
