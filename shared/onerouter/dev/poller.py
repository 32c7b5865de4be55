"""Locally, what Lambda's SQS event source does: receive a batch from the queue, call the
consumer's handler with an SQS event of Lambda's shape, and delete the messages it did not
report in `batchItemFailures`. Failed messages come back after the visibility timeout and
move to the dead-letter queue after the queue's maxReceiveCount, exactly as deployed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3

from ..logs import log_failure

logger = logging.getLogger("onerouter.dev")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

BATCH_SIZE = 100  # as UsageConsumerFunction's event source
_RECEIVE_MAX = 10  # SQS hands out at most ten messages per receive


class QueuePoller:
    """Feeds one queue's messages to `handler` in batches of up to `batch_size`."""

    def __init__(
        self, queue_url: str, handler: Handler, *, batch_size: int = BATCH_SIZE, sqs: Any = None
    ) -> None:
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.sqs: Any = sqs or boto3.client("sqs")
        self._arn: str | None = None

    @property
    def queue_arn(self) -> str:
        if self._arn is None:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )
            self._arn = str(attributes["Attributes"]["QueueArn"])
        return self._arn

    def poll_once(self, wait_seconds: int = 0) -> tuple[int, int]:
        """One batch: waits up to `wait_seconds` for a first message, then gathers what is
        there at once, up to the batch size. Answers (messages received, messages deleted)."""
        messages: list[dict[str, Any]] = []
        wait = wait_seconds
        while len(messages) < self.batch_size:
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(_RECEIVE_MAX, self.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
            wait = 0
        if not messages:
            return 0, 0
        try:
            response = self.handler(self.event(messages), None)
        except Exception as exc:
            # As on Lambda: a handler that raises fails the whole batch; SQS delivers it again.
            log_failure(logger, "usage consumer failed a whole batch", exc)
            return len(messages), 0
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), _RECEIVE_MAX):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + _RECEIVE_MAX])
                ],
            )
        return len(messages), len(done)

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The SQS event Lambda would pass for `messages` (`sam local generate-event sqs`)."""
        region = self.queue_arn.split(":")[3]
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": region,
                }
                for m in messages
            ]
        }


def drain(queue_url: str, handler: Handler, *, batch_size: int = BATCH_SIZE) -> int:
    """Feeds `handler` every message visible now, batch by batch, until the queue answers
    empty. Answers how many messages were processed (and deleted)."""
    poller = QueuePoller(queue_url, handler, batch_size=batch_size)
    processed = 0
    while True:
        received, deleted = poller.poll_once()
        if not received:
            return processed
        processed += deleted


class PollerThread:
    """A daemon thread that long-polls the queue until `stop()` (or the process ends)."""

    def __init__(self, poller: QueuePoller, wait_seconds: int = 1) -> None:
        self.poller = poller
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-poller", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poller.poll_once(self.wait_seconds)
            except Exception as exc:  # the endpoint went away, or a hiccup: try again shortly
                log_failure(logger, "usage poller", exc)
                self._stop.wait(1)

    def start(self) -> PollerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.wait_seconds + 5)

    def __enter__(self) -> PollerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
