"""Calls to an AWS service's JSON protocol (SQS, DynamoDB) over our own pooled connection.

A call is a signed POST to the service's root (aws_signing.sign_root_post) naming its operation
in `x-amz-target`, on a kept-alive connection (aws_http.Origin): no botocore client, no worker
thread. Throttling, 5xx answers and network failures are tried again after a short backoff;
anything else is the caller's to judge, since only it knows what an error means.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import anyio
import orjson

from .aws_http import ConnectionFailed, Origin
from .aws_signing import Signer

ATTEMPTS = 3
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Throttling comes as a 400 naming one of these (SQS's and DynamoDB's names).
_THROTTLED = frozenset(
    {
        "ThrottlingException",
        "RequestThrottled",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)


def root_of(url: str) -> str:
    """`scheme://host[:port]/`: where the JSON protocol posts, whatever path `url` has."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def worth_retrying(status: int, answer: dict[str, Any]) -> bool:
    if status == 0 or status in _RETRY_STATUS:
        return True
    return status == 400 and answer.get("__type") in _THROTTLED


class AwsJsonClient:
    def __init__(
        self,
        endpoint_url: str,
        service: str,
        target_prefix: str,
        region: str,
        *,
        timeout: float = 5.0,
        attempts: int = ATTEMPTS,
        signer: Signer | None = None,
    ) -> None:
        self.endpoint = root_of(endpoint_url)
        self._service = service
        self._target_prefix = target_prefix
        self._region = region
        self._attempts = attempts
        self._signer = signer or Signer()
        self._origin = Origin(self.endpoint, timeout=timeout)

    async def aclose(self) -> None:
        await self._origin.aclose()

    async def call(self, operation: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, JSON answer), after retries. An error answer's `__type` is shortened to its
        name (`ResourceNotFoundException`); a network failure is status 0 with `__type`
        "ConnectionFailed" and a `message` naming how, never a body."""
        body = orjson.dumps(payload)
        headers = {
            "content-type": "application/x-amz-json-1.0",
            "x-amz-target": f"{self._target_prefix}.{operation}",
        }
        status = 0
        answer: dict[str, Any] = {}
        for attempt in range(self._attempts):
            if attempt:
                await anyio.sleep(0.05 * 2**attempt)
            status, answer = await self._post(headers, body)
            if not worth_retrying(status, answer):
                break
        return status, answer

    async def _post(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        signed = await self._signer.sign_root_post(
            self.endpoint, headers, body, self._service, self._region
        )
        try:
            status, content = await self._origin.post("/", signed, body)
        except ConnectionFailed as exc:
            return 0, {"__type": "ConnectionFailed", "message": str(exc)}
        try:
            answer = orjson.loads(content) if content else {}
        except orjson.JSONDecodeError:
            answer = {}
        if not isinstance(answer, dict):
            return status, {}
        if isinstance(answer.get("__type"), str):
            answer["__type"] = answer["__type"].rsplit("#", 1)[-1]
        return status, answer
