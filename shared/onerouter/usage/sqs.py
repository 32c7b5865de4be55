"""Sending messages to SQS over our own pooled connection: SQS's JSON protocol, SigV4-signed.

A usage event goes out before each response ends, so this is on the hot path: botocore's
client would spend milliseconds of CPU and a worker thread on every send; this spends a
signature and one round trip on a kept-alive connection (aws_json.AwsJsonClient, which also
retries throttling, 5xx answers and network failures). Messages that arrive while a
send is in flight go out together in the next SendMessageBatch (up to ten): no waiting
added when traffic is light, one round trip for many messages when it is heavy.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio

from ..aws_json import ATTEMPTS, AwsJsonClient
from ..aws_signing import region_of

BATCH = 10  # SendMessageBatch's most


class SendFailed(Exception):
    """SQS did not take the message; the text names the status or error type, never the body."""


class SqsSender:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        # The JSON protocol posts to the service's root; the queue is named in the body.
        self._client = AwsJsonClient(queue_url, "sqs", "AmazonSQS", region_of(queue_url, "sqs"))
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, body: str) -> None:
        """Sends one message, alone or in a batch with others; raises SendFailed when SQS
        will not take it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, done))
        if self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send_waiting())
        await asyncio.shield(done)

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                try:
                    failed = await self._send_batch([body for body, _ in batch])
                except Exception as exc:  # whatever went wrong, no sender waits for ever
                    failed = {i: type(exc).__name__ for i in range(len(batch))}
                for i, (_, done) in enumerate(batch):
                    if done.done():
                        continue
                    if i in failed:
                        done.set_exception(SendFailed(failed[i]))
                    else:
                        done.set_result(None)
        finally:
            self._sending = None

    async def _send_batch(self, bodies: list[str]) -> dict[int, str]:
        """Sends `bodies`, retrying what SQS did not take; returns those it never took."""
        payload: dict[str, Any]
        if len(bodies) == 1:
            target, payload = "SendMessage", {"MessageBody": bodies[0]}
        else:
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
            target, payload = "SendMessageBatch", {"Entries": entries}
        left = dict(enumerate(bodies))
        refused: dict[int, str] = {}  # entries SQS says are at fault themselves: never retried
        problem = ""
        # The client retries whole calls; entries SQS failed on its side are sent again here.
        for attempt in range(ATTEMPTS):
            if attempt:
                await anyio.sleep(0.05 * 2**attempt)
                if target == "SendMessageBatch":
                    payload = {
                        "Entries": [{"Id": str(i), "MessageBody": b} for i, b in left.items()]
                    }
            status, answer = await self._client.call(
                target, {"QueueUrl": self.queue_url, **payload}
            )
            if status == 200 and target == "SendMessage":
                return {}
            if status == 200:
                failed = answer.get("Failed", [])
                refused |= {
                    int(f["Id"]): str(f.get("Code", "")) for f in failed if f["SenderFault"]
                }
                left = {int(f["Id"]): left[int(f["Id"])] for f in failed if not f["SenderFault"]}
                if not left:
                    return refused
                problem = "SQS did not take some entries"
                continue
            kind = answer.get("__type", "")
            problem = f"HTTP {status} {kind}".strip() if status else answer.get("message", kind)
            break
        return refused | {i: problem for i in left}
