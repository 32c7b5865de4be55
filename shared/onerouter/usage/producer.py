"""Sending usage events to the SQS usage queue, before each response ends.

Sends go over our own pooled connection (usage/sqs.py) and are retried; one that still fails
is logged whole at ERROR (an event is metadata only, so this is safe) with the marker
`usage event not sent`, so the event can be replayed from the logs and no request goes
unbilled.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ..logs import log_failure
from .events import UsageEvent
from .sqs import SqsSender

logger = logging.getLogger("onerouter.usage")


class UsageSink(Protocol):
    async def send(self, event: UsageEvent) -> None: ...

    async def aclose(self) -> None: ...


class SqsUsageSink:
    def __init__(self, queue_url: str) -> None:
        self._sender = SqsSender(queue_url)

    async def send(self, event: UsageEvent) -> None:
        body = event.to_message()
        try:
            await self._sender.send(body)
        except Exception as exc:
            log_failure(logger, "usage event not sent", exc)
            logger.error("usage event not sent: %s", body)

    async def aclose(self) -> None:
        await self._sender.aclose()


class LoggedUsageSink:
    """Without a queue (a bare local run): events are logged, at INFO, and go nowhere else."""

    async def send(self, event: UsageEvent) -> None:
        logger.info("usage event (no queue configured): %s", event.to_message())

    async def aclose(self) -> None:
        return None
