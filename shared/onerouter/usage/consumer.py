"""The usage consumer: SQS batches of usage events in, the books out.

Powertools' batch processor runs the per-message phase: each message is parsed and checked
(`parse_event`); one that can never be billed (not a usage event, a field of the wrong type or
out of range) fails there, alone, and SQS retries it until the dead-letter queue takes it. Then
the events are written grouped per account (`UsageWriter`); a group whose write fails has all
of its messages reported as failures, so SQS delivers them again. Whatever fails, the rest of
the batch is billed, and `batchItemFailures` names exactly the messages to retry.

Logs hold ids and counts only, never a message body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, get_args

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ..settings import Settings
from ..store.accounts import AccountsRepository
from ..store.endpoint_stats import EndpointStatsRepository
from ..store.keys import KeysRepository
from ..store.ledger import LedgerRepository
from ..store.usage import ActivityRepository, UsageRepository
from .events import COUNTS, Status, UsageEvent
from .writer import UsageWriter, WriteOutcome

logger = logging.getLogger("onerouter.usage")

SqsEvent = dict[str, Any]
BatchResponse = dict[str, Any]
Handler = Callable[[SqsEvent, Any], BatchResponse]


class MalformedEvent(ValueError):
    """A message that is not a usage event we can bill. Its text names the field at most,
    never a value: a value could be anything the message carried."""


_NAMES = (
    "generation_id",
    "account_id",
    "key_id",
    "key_hash",
    "model",
    "provider",
    "provider_model",
)
_MAX_NAME = 256  # keeps every key (usage: 2 KB, activity sort key: 1 KB) within DynamoDB's
_MAX_COUNT = 10**15
_MAX_DIGITS = 38  # a DynamoDB number's precision
# At most 20 decimal places in an amount (prices have a few, per million tokens): a balance
# plus such an amount keeps within DynamoDB's 38 digits, so the ADD cannot be refused.
_MIN_EXPONENT = -20
_STATUSES = set(get_args(Status))


def parse_event(body: str | bytes) -> UsageEvent:
    """The usage event a message carries, checked so that its write cannot fail for what it
    holds. Raises MalformedEvent."""
    try:
        event = UsageEvent.from_message(body)
    except Exception as exc:
        # Unknown fields land here too (TypeError): an event carries metadata only.
        raise MalformedEvent(f"not a usage event ({type(exc).__name__})") from None
    for name in _NAMES:
        _name(event, name)
    for name in COUNTS:
        _count(event, name)
    if event.ttft_ms is not None:
        _count(event, "ttft_ms")
    _money(event.cost, "cost")
    if not isinstance(event.cost_details, dict) or len(event.cost_details) > 16:
        raise MalformedEvent("cost_details")
    for part, amount in event.cost_details.items():
        if not isinstance(part, str) or not 0 < len(part) <= 64:
            raise MalformedEvent("cost_details")
        _money(amount, "cost_details")
    _timestamp(event.created_at)
    if event.status not in _STATUSES:
        raise MalformedEvent("status")
    if event.cache not in ("HIT", "MISS"):
        raise MalformedEvent("cache")
    if not all(isinstance(flag, bool) for flag in (event.streamed, event.estimated, event.is_byok)):
        raise MalformedEvent("streamed")
    if event.finish_reason is not None and not _is_name(event.finish_reason, 64):
        raise MalformedEvent("finish_reason")
    return event


def _timestamp(value: object) -> None:
    """ISO-8601 in UTC, starting with the day (YYYY-MM-DD): the activity rows' day."""
    try:
        created = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MalformedEvent("created_at") from None
    offset = created.utcoffset()
    if offset is None or offset.total_seconds() or str(value)[:10] != created.date().isoformat():
        raise MalformedEvent("created_at")


def _is_name(value: object, longest: int = _MAX_NAME) -> bool:
    return isinstance(value, str) and 0 < len(value) <= longest and value.isprintable()


def _name(event: UsageEvent, name: str) -> None:
    if not _is_name(getattr(event, name)):
        raise MalformedEvent(name)


def _count(event: UsageEvent, name: str) -> None:
    value = getattr(event, name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_COUNT:
        raise MalformedEvent(name)


def _money(value: object, name: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise MalformedEvent(name)
    _, digits, exponent = value.as_tuple()
    if len(digits) > _MAX_DIGITS or not _MIN_EXPONENT <= int(exponent) <= 12:
        raise MalformedEvent(name)


def _record_handler(record: SQSRecord) -> UsageEvent:
    return parse_event(record.body)


class UsageBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor, plus a phase after the per-message one: the parsed
    events are written grouped per account, and a group's failure fails its messages."""

    def __init__(self, writer: UsageWriter) -> None:
        # A batch that fails whole is still answered with every message listed: the same to
        # SQS as raising, and the dev runner's poller reads one shape.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.writer = writer
        self.outcome = WriteOutcome()

    def process(self) -> list[tuple[Any, ...]]:
        results: list[tuple[Any, ...]] = super().process()
        parsed: list[tuple[str, UsageEvent]] = []
        raw: dict[str, dict[str, Any]] = {}
        for status, result, record in results:
            if status == "success":
                parsed.append((record["messageId"], result))
                raw[record["messageId"]] = record
        for status, _, record in results:
            if status == "fail":
                message_id = getattr(record, "message_id", "?")
                logger.warning("usage message %s is not a usage event", message_id)
        self.outcome = self.writer.write(parsed)
        failed: dict[str, tuple[Any, ...]] = {}
        for message_id, exc in self.outcome.failed.items():
            record = raw[message_id]
            # Powertools keeps a success as the raw record, a failure as its data class.
            self.success_messages = [m for m in self.success_messages if id(m) != id(record)]
            failure = SQSRecord(record)
            failed[message_id] = self.failure_handler(failure, (type(exc), exc, None))
        return [
            failed.get(result[2]["messageId"], result) if result[0] == "success" else result
            for result in results
        ]


class UsageConsumer:
    """The consumer's handler: `handle(event, context)` for an SQS event, as Lambda calls it.
    One batch at a time (as Lambda calls it): the processor keeps the batch's state."""

    def __init__(self, writer: UsageWriter) -> None:
        self.processor = UsageBatchProcessor(writer)

    @classmethod
    def from_settings(
        cls, settings: Settings, dynamodb: Any = None, **options: Any
    ) -> UsageConsumer:
        tables = settings.tables
        accounts = AccountsRepository(tables.accounts, dynamodb)
        writer = UsageWriter(
            accounts,
            KeysRepository(tables.keys, dynamodb),
            LedgerRepository(tables.ledger, accounts, dynamodb),
            UsageRepository(tables.usage, dynamodb),
            ActivityRepository(tables.activity, dynamodb),
            stats=EndpointStatsRepository(tables.endpoint_stats, dynamodb),
            **options,
        )
        return cls(writer)

    def handle(self, event: SqsEvent, context: Any = None) -> BatchResponse:
        response: BatchResponse = dict(
            process_partial_response(
                event=event,
                record_handler=_record_handler,
                processor=self.processor,
                context=context,
            )
        )
        outcome = self.processor.outcome
        logger.info(
            "usage batch: %d messages, %d billed, %d duplicates, %d failed, %d transactions",
            len(event.get("Records", [])),
            outcome.written,
            outcome.duplicates,
            len(response.get("batchItemFailures", [])),
            outcome.transactions,
        )
        return response


def make_handler(settings: Settings | None = None, **options: Any) -> Handler:
    """The handler Lambda runs (functions/usage_consumer) and the dev runner's poller calls."""
    return UsageConsumer.from_settings(settings or Settings.from_env(), **options).handle
