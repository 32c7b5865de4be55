"""The usage event: what one served request used and cost. Metadata only: never a prompt, a
completion, or anything else the caller wrote.

It travels as the JSON body of one SQS message. Money is a decimal string, never a float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import orjson

from ..billing.money import usd_str

Status = Literal["ok", "error", "cancelled"]
VERSION = 1


# The event's whole-number counts: tokens, images and milliseconds.
COUNTS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "images",
    "latency_ms",
)


@dataclass(frozen=True, slots=True)
class UsageEvent:
    generation_id: str
    account_id: str
    key_id: str
    key_hash: str  # the keys table's primary key, to add to the key's usage
    model: str  # the model that served (a fallback model, when one did)
    provider: str
    provider_model: str  # the provider's own name for it
    created_at: str  # ISO-8601 UTC, when the request arrived
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    images: int
    cost: Decimal
    cost_details: dict[str, Decimal]
    latency_ms: int  # request in to last byte out
    ttft_ms: int | None  # to the first streamed chunk; None for whole answers
    status: Status  # ok; error: the provider failed mid-stream; cancelled: the client left
    streamed: bool
    cache: Literal["HIT", "MISS"] = "MISS"
    finish_reason: str | None = None
    # Token counts estimated by the gateway (the provider never reported them).
    estimated: bool = False
    # (model, provider) of each endpoint that failed before this one served: its outage,
    # counted in that endpoint's success rate (store/endpoint_stats.py).
    failed_endpoints: tuple[tuple[str, str], ...] = ()
    # Served with the caller's own provider key: the provider bills them, `cost` is zero.
    is_byok: bool = False
    version: int = field(default=VERSION)

    @property
    def day(self) -> str:
        return self.created_at[:10]

    def to_message(self) -> str:
        # orjson writes the dataclass itself; money, as exact decimal strings, by `_money`.
        return orjson.dumps(self, default=_money).decode()

    @classmethod
    def from_message(cls, body: str | bytes) -> UsageEvent:
        """Raises ValueError (or KeyError/TypeError) for a message that is not an event."""
        values: dict[str, Any] = orjson.loads(body)
        if not isinstance(values, dict) or values.get("version") != VERSION:
            raise ValueError("not a usage event of a known version")
        values["cost"] = Decimal(values["cost"])
        values["cost_details"] = {k: Decimal(v) for k, v in values["cost_details"].items()}
        values["failed_endpoints"] = tuple(
            (str(model), str(provider)) for model, provider in values.get("failed_endpoints", ())
        )
        return cls(**values)


def _money(value: object) -> str:
    if isinstance(value, Decimal):
        return usd_str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
