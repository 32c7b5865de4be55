"""Writing a batch of usage events to the books, grouped per account.

Per account and batch, one DynamoDB transaction (TransactWriteItems) holds:

- a Put of each request's usage record, refused if the generation id is recorded already;
- ONE `ADD balance -Σcost` on the account (and `total_usage +Σcost`);
- one `ADD usage` per key used;
- one ADD of the counters per activity row (day, model, provider, key);
- one ledger entry, kind `usage`, amount -Σcost, id `usage#<smallest generation id>`.

So the records and the money move together or not at all, and a busy account's balance item
is written once per batch rather than once per request. A transaction cancelled because some
records exist already (a duplicate delivery) is retried without them: nothing is billed twice.
The ledger entry id is unique because it names a record created in the same transaction, and
a record is created once. Groups larger than a transaction's 100 items are split.

Once the batch's transactions are done, the requests they recorded (never the duplicates they
refused) are added to the endpoint stats (store/endpoint_stats.py), outside the transactions:
stats are not money.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Context, Decimal, Inexact, Rounded
from typing import Any

from botocore.exceptions import ClientError

from ..logs import log_failure
from ..store.accounts import AccountsRepository
from ..store.dynamo import cancellation_codes
from ..store.endpoint_stats import EndpointCounts, EndpointStatsRepository, bucket, hour_of
from ..store.keys import KeysRepository
from ..store.ledger import LedgerRepository, UnknownAccount
from ..store.records import ActivityRow, LedgerEntry, utcnow
from ..store.usage import ActivityRepository, UsageRepository
from .events import UsageEvent

logger = logging.getLogger("onerouter.usage")

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems call
# Account, ledger entry: the items every transaction holds besides records, keys and rows.
_FIXED_ITEMS = 2
# Sums are exact or they fail: DynamoDB keeps 38 significant digits, and so do we.
_EXACT = Context(prec=38, traps=[Inexact, Rounded])
# Cancellation codes worth an immediate retry: another writer held an item, or a throttle.
_TRANSIENT = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
_TRANSIENT_RETRIES = 4


class WriteFailed(Exception):
    """A group's transaction failed; its messages are to be delivered again. The message names
    only the exception type: a DynamoDB error message may quote the values it refused."""


@dataclass
class WriteOutcome:
    written: int = 0  # usage records created (requests billed now)
    duplicates: int = 0  # events already billed, by an earlier delivery or twice in this batch
    transactions: int = 0  # transactions committed
    # Message id -> why it failed, for each message whose write did not happen.
    failed: dict[str, BaseException] = field(default_factory=dict)


@dataclass
class _Usage:
    """One request to bill, and every message of this batch that carried it."""

    event: UsageEvent
    message_ids: list[str]


@dataclass
class _Plan:
    items: list[dict[str, Any]]
    # What each item is, in item order: ("record", generation id), ("key", key hash),
    # ("account", id), ("activity", row key) or ("ledger", entry id).
    roles: list[tuple[str, str]]


class UsageWriter:
    def __init__(
        self,
        accounts: AccountsRepository,
        keys: KeysRepository,
        ledger: LedgerRepository,
        usage: UsageRepository,
        activity: ActivityRepository,
        *,
        max_items: int = MAX_TRANSACTION_ITEMS,
        stats: EndpointStatsRepository | None = None,
    ) -> None:
        if max_items < _FIXED_ITEMS + 3:
            raise ValueError("a transaction must hold at least one request's items")
        self.accounts = accounts
        self.keys = keys
        self.ledger = ledger
        self.usage = usage
        self.activity = activity
        self.max_items = max_items
        self.stats = stats

    def write(self, events: Sequence[tuple[str, UsageEvent]]) -> WriteOutcome:
        """Bills `events` (message id, event), each account's in its own transactions.
        Failures are per group; an exception that is not an `Exception` (a crash) propagates,
        leaving the whole batch to be delivered again."""
        outcome = WriteOutcome()
        groups: dict[str, dict[str, _Usage]] = {}
        for message_id, event in events:
            group = groups.setdefault(event.account_id, {})
            usage = group.get(event.generation_id)
            if usage is None:
                group[event.generation_id] = _Usage(event, [message_id])
            else:  # the same request delivered twice in one batch: bill it once
                usage.message_ids.append(message_id)
                outcome.duplicates += 1
        # One transaction after another: a batch of 100 accounts takes 1-2 s on DynamoDB, well
        # inside the function's 20 s. (Accounts could go side by side: their items are disjoint.)
        billed: list[UsageEvent] = []
        results = [
            self._write_account(account_id, self._chunks(group.values()), billed)
            for account_id, group in groups.items()
        ]
        self._add_stats(billed)
        for result in results:
            outcome.written += result.written
            outcome.duplicates += result.duplicates
            outcome.transactions += result.transactions
            outcome.failed.update(result.failed)
        return outcome

    def _chunks(self, usages: Iterable[_Usage]) -> list[list[_Usage]]:
        """The group split so that each transaction holds at most `max_items` items."""
        chunks: list[list[_Usage]] = []
        chunk: list[_Usage] = []
        keys: set[str] = set()
        rows: set[tuple[str, ...]] = set()
        for usage in sorted(usages, key=lambda u: u.event.generation_id):
            event = usage.event
            row = _row_id(event)
            more = 1 + (event.key_hash not in keys) + (row not in rows)
            if chunk and len(chunk) + len(keys) + len(rows) + _FIXED_ITEMS + more > self.max_items:
                chunks.append(chunk)
                chunk, keys, rows = [], set(), set()
            chunk.append(usage)
            keys.add(event.key_hash)
            rows.add(row)
        if chunk:
            chunks.append(chunk)
        return chunks

    def _write_account(
        self, account_id: str, chunks: list[list[_Usage]], billed: list[UsageEvent]
    ) -> WriteOutcome:
        outcome = WriteOutcome()
        for chunk in chunks:
            try:
                written, duplicates = self._write_chunk(account_id, chunk, billed)
            except Exception as exc:
                log_failure(logger, f"usage not written for account {account_id}", exc)
                failure = WriteFailed(type(exc).__name__)
                failure.__cause__ = exc
                for usage in chunk:
                    for message_id in usage.message_ids:
                        outcome.failed[message_id] = failure
                continue
            outcome.written += written
            outcome.duplicates += duplicates
            outcome.transactions += 1 if written else 0
        return outcome

    def _write_chunk(
        self, account_id: str, chunk: list[_Usage], billed: list[UsageEvent]
    ) -> tuple[int, int]:
        """Writes one transaction's worth; answers (records written, records already there),
        and adds the events it billed now to `billed`."""
        pending = {usage.event.generation_id: usage.event for usage in chunk}
        gone_keys: set[str] = set()
        duplicates = 0
        transient = 0
        while pending:
            plan = self._plan(account_id, list(pending.values()), gone_keys)
            try:
                self.accounts.dynamodb.transact_write_items(TransactItems=plan.items)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                codes = cancellation_codes(exc)
                failed = [
                    role
                    for role, code in zip(plan.roles, codes, strict=False)
                    if code == "ConditionalCheckFailed"
                ]
                if ("account", account_id) in failed:
                    raise UnknownAccount(account_id) from None
                recorded = {name for kind, name in failed if kind == "record"}
                deleted_keys = {name for kind, name in failed if kind == "key"}
                if recorded or deleted_keys:
                    # Already billed (drop them), or a key deleted since (bill the account
                    # and record the request, skip the key's own usage counter).
                    for generation_id in recorded:
                        del pending[generation_id]
                    duplicates += len(recorded)
                    gone_keys |= deleted_keys
                    continue
                if set(codes) & _TRANSIENT and transient < _TRANSIENT_RETRIES:
                    transient += 1
                    time.sleep(0.02 * 2**transient * (1 + random.random()))
                    continue
                raise
            billed.extend(pending.values())
            return len(pending), duplicates
        return 0, duplicates

    def _add_stats(self, events: Iterable[UsageEvent]) -> None:
        """Adds the batch's newly recorded requests to the endpoint stats, one update per hour
        and endpoint; a failure is logged, never raised (the books are written). A redelivery
        cannot count a request twice: its record exists, so it is a duplicate and never gets
        here again. A crash between the transactions and this update loses those requests'
        counts instead: the stats may undercount, never overcount."""
        if self.stats is None:
            return
        try:
            for hour, counts in endpoint_counts(events):
                self.stats.add(hour, counts)
        except Exception as exc:
            log_failure(logger, "endpoint stats not added", exc)

    def _plan(self, account_id: str, events: list[UsageEvent], gone_keys: set[str]) -> _Plan:
        events = sorted(events, key=lambda e: e.generation_id)
        entry_id = "usage#" + events[0].generation_id
        total = _sum(e.cost for e in events)
        per_key: dict[str, list[Decimal]] = {}
        rows: dict[tuple[str, ...], ActivityRow] = {}
        plan = _Plan([], [])
        for event in events:
            plan.items.append(self.usage.put_item(usage_record(event, entry_id)))
            plan.roles.append(("record", event.generation_id))
            per_key.setdefault(event.key_hash, []).append(event.cost)
            row_id = _row_id(event)
            rows[row_id] = _add(rows.get(row_id), event)
        plan.items.append(self.accounts.debit_item(account_id, total))
        plan.roles.append(("account", account_id))
        for key_hash, costs in per_key.items():
            if key_hash not in gone_keys:
                plan.items.append(self.keys.add_usage_item(key_hash, _sum(costs)))
                plan.roles.append(("key", key_hash))
        for labels, counters in rows.items():
            plan.items.append(self.activity.add_item(counters))
            plan.roles.append(("activity", "#".join(labels)))
        entry = LedgerEntry(
            account_id=account_id,
            entry_id=entry_id,
            kind="usage",
            amount=total.copy_negate() if total else Decimal(0),
            created_at=utcnow(),
            note=f"{len(events)} requests",
        )
        plan.items.append(self.ledger.put_item(entry))
        plan.roles.append(("ledger", entry_id))
        return plan


def usage_record(event: UsageEvent, ledger_entry: str) -> dict[str, Any]:
    """What the usage table keeps of an event: all of it but the key's hash (the keys table's
    key, needed only to add to the key's usage) and the message version; plus the ledger
    entry that billed it."""
    values = asdict(event)
    del values["key_hash"], values["version"]
    if not values["failed_endpoints"]:
        del values["failed_endpoints"]
    values["ledger_entry"] = ledger_entry
    return values


def endpoint_counts(events: Iterable[UsageEvent]) -> list[tuple[str, EndpointCounts]]:
    """The events' counters per hour and endpoint. Cache hits are left out: no provider was
    called. Endpoints that failed before another served count an error each. Latency and time
    to first token count requests that ended ok; throughput, the streamed ones that also
    generated for a while after their first token."""
    groups: dict[tuple[str, str, str], EndpointCounts] = {}
    for event in events:
        if event.cache == "HIT":
            continue
        hour = hour_of(event.created_at)
        # Endpoints tried first that failed (an outage, a 429, a timeout): an error each.
        for model, provider in event.failed_endpoints:
            failed = groups.setdefault((hour, model, provider), EndpointCounts(model, provider))
            failed.requests += 1
            failed.errors += 1
        key = (hour, event.model, event.provider)
        counts = groups.setdefault(key, EndpointCounts(event.model, event.provider))
        counts.requests += 1
        if event.status == "error":
            counts.errors += 1
            continue
        if event.status != "ok":
            counts.cancelled += 1
            continue
        counts.ok += 1
        _tally(counts.latency, bucket(event.latency_ms))
        if event.ttft_ms is None:
            continue
        _tally(counts.ttft, bucket(event.ttft_ms))
        generating = event.latency_ms - event.ttft_ms
        if event.streamed and generating > 0 and event.completion_tokens > 0:
            counts.tokens += event.completion_tokens
            counts.gen_ms += generating
    return [(key[0], counts) for key, counts in groups.items()]


def _tally(histogram: dict[int, int], index: int) -> None:
    histogram[index] = histogram.get(index, 0) + 1


def _row_id(event: UsageEvent) -> tuple[str, str, str, str]:
    return (event.day, event.model, event.provider, event.key_id)


def _add(row: ActivityRow | None, event: UsageEvent) -> ActivityRow:
    base = row or ActivityRow(event.account_id, *_row_id(event))
    return ActivityRow(
        account_id=base.account_id,
        day=base.day,
        model=base.model,
        provider=base.provider,
        key_id=base.key_id,
        requests=base.requests + 1,
        prompt_tokens=base.prompt_tokens + event.prompt_tokens,
        completion_tokens=base.completion_tokens + event.completion_tokens,
        cached_tokens=base.cached_tokens + event.cached_tokens,
        reasoning_tokens=base.reasoning_tokens + event.reasoning_tokens,
        cost=_sum((base.cost, event.cost)),
    )


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        total = _EXACT.add(total, amount)
    return total
