"""Sending usage events to the SQS usage queue, before each response ends.

botocore's client blocks, so a send runs on a worker thread. Sends are retried (botocore's
standard mode); one that still fails is logged whole at ERROR (an event is metadata only, so
this is safe) with the marker `usage event not sent`, so the event can be replayed from the
logs and no request goes unbilled.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Protocol

import botocore.session
from anyio import to_thread
from botocore.config import Config

from ..logs import log_failure
from .events import UsageEvent

logger = logging.getLogger("onerouter.usage")


class UsageSink(Protocol):
    async def send(self, event: UsageEvent) -> None: ...


@functools.cache
def _sqs() -> Any:
    return botocore.session.get_session().create_client(
        "sqs",
        config=Config(
            max_pool_connections=64,
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


class SqsUsageSink:
    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    async def send(self, event: UsageEvent) -> None:
        body = event.to_message()
        try:
            await to_thread.run_sync(self._send, body)
        except Exception as exc:
            log_failure(logger, "usage event not sent", exc)
            logger.error("usage event not sent: %s", body)

    def _send(self, body: str) -> None:
        _sqs().send_message(QueueUrl=self._queue_url, MessageBody=body)


class LoggedUsageSink:
    """Without a queue (a bare local run): events are logged, at INFO, and go nowhere else."""

    async def send(self, event: UsageEvent) -> None:
        logger.info("usage event (no queue configured): %s", event.to_message())
