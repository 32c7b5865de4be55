"""The prompt cache's table: sealed blobs by lookup id, each with an expiry.

Reads are on the hot path of every cacheable request, so they go the way usage events do: a
signed POST of DynamoDB's JSON protocol on a kept-alive connection (aws_json.AwsJsonClient), no
botocore client and no worker thread. A cache must never fail or slow a request much: a read
that errs, or takes longer than its budget (0.5 s), is a miss; a write that errs is dropped.
Only an exception's type or an error's name is logged, never a lookup id or a blob.

An item is `{"lookup": S, "blob": B, "expires_at": N}` (epoch seconds). DynamoDB's TTL deletes
expired items only eventually, so reads check `expires_at` themselves.

CPU per call, this machine (Python 3.11, client thread's CPU time, median of 5 runs of 2000
calls, fake DynamoDB on loopback in another process, kept-alive connection): a 2 KB blob's get
~260 µs, put ~250 µs, a miss ~240 µs, against ~290 µs for a usage event's SQS send; of which
the signature is ~25 µs and most of the rest asyncio and the socket calls. A 100 KB blob's get
~1.0 ms and put ~0.65 ms: base64, which DynamoDB's JSON protocol requires for binary, costs
~300 µs to decode and ~170 µs to encode at that size.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from ..aws_json import AwsJsonClient
from ..aws_signing import region_of
from .sealed import MAX_SEALED

log = logging.getLogger("onerouter.cache")

TARGET_PREFIX = "DynamoDB_20120810"
READ_BUDGET = 0.5  # seconds a lookup may take before it counts as a miss
WRITE_BUDGET = 2.0


def dynamodb_endpoint(endpoint_url: str | None, region: str | None) -> tuple[str, str]:
    """(endpoint, region): the endpoint given, else the environment's (as the AWS SDKs read
    it), else DynamoDB's regional one."""
    endpoint = (
        endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    if endpoint:
        return endpoint, region or region_of(endpoint, "dynamodb")
    region = region or region_of("", "dynamodb")
    return f"https://dynamodb.{region}.amazonaws.com/", region


class CacheStore:
    def __init__(
        self,
        table: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        clock: Callable[[], float] = time.time,
        *,
        read_budget: float = READ_BUDGET,
        write_budget: float = WRITE_BUDGET,
    ) -> None:
        endpoint, region = dynamodb_endpoint(endpoint_url, region)
        self.table = table
        self._clock = clock
        self._read_budget = read_budget
        self._write_budget = write_budget
        self._client = AwsJsonClient(
            endpoint, "dynamodb", TARGET_PREFIX, region, timeout=max(read_budget, write_budget)
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, lookup: str) -> bytes | None:
        """The blob stored under `lookup` and not yet expired; None otherwise, or on any
        failure."""
        payload = {"TableName": self.table, "Key": {"lookup": {"S": lookup}}}
        answer = await self._call("GetItem", payload, self._read_budget)
        item = answer.get("Item") if answer else None
        if not item:
            return None
        try:
            if float(item["expires_at"]["N"]) <= self._clock():
                return None
            return base64.b64decode(item["blob"]["B"], validate=True)
        except Exception as exc:  # a malformed item is a miss too
            log.warning("prompt cache read: unusable item (%s)", type(exc).__name__)
            return None

    async def put(self, lookup: str, blob: bytes, ttl_seconds: int) -> None:
        """Stores `blob` under `lookup` for `ttl_seconds`; failures are logged and dropped."""
        if len(blob) > MAX_SEALED or ttl_seconds <= 0:
            return  # too big for one item, or expired already: not worth a write
        item = {
            "lookup": {"S": lookup},
            "blob": {"B": base64.b64encode(blob).decode("ascii")},
            "expires_at": {"N": str(int(self._clock()) + ttl_seconds)},
        }
        await self._call("PutItem", {"TableName": self.table, "Item": item}, self._write_budget)

    async def _call(
        self, operation: str, payload: dict[str, Any], budget: float
    ) -> dict[str, Any] | None:
        """The answer of a successful call; None, logged by type or error name, otherwise."""
        try:
            async with asyncio.timeout(budget):
                status, answer = await self._client.call(operation, payload)
        except Exception as exc:
            log.warning("prompt cache %s failed: %s", operation, type(exc).__name__)
            return None
        if status != 200:
            kind = answer.get("__type", "") if status else "ConnectionFailed"
            log.warning("prompt cache %s failed: HTTP %s %s", operation, status, kind)
            return None
        return answer
