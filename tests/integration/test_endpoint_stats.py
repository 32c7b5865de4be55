"""Endpoint stats as the usage consumer writes them and GET /api/v1/models/stats reads them:
counted once per request however often SQS delivers it, merged over the last 24 hours."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.dev.poller import drain
from onerouter.settings import Settings
from onerouter.store.endpoint_stats import bucket, midpoint
from onerouter.store.records import utcnow
from onerouter.usage.consumer import UsageConsumer, make_handler
from onerouter.usage.events import UsageEvent
from tests.fakes.gateway import ServerThread, client_of
from tests.fakes.openai_provider import FakeOpenAIProvider
from tests.usage_events import failed_ids, sqs_event, usage_event
from tests.usage_queue import new_queue


@pytest.fixture(scope="module")
def consumer(settings: Settings) -> UsageConsumer:
    return UsageConsumer.from_settings(settings)


@pytest.fixture
def model() -> str:
    """A model no other test bills, so that its stats are this test's alone."""
    return f"test/stats-{secrets.token_hex(4)}"


def _event(account: NewAccount, model: str, **changes: Any) -> UsageEvent:
    event = usage_event(account.account_id, account.key_id, hash_secret(account.key), model=model)
    return dataclasses.replace(event, **{"created_at": utcnow(), **changes})


def _stats(gateway: ServerThread, fresh: bool = True) -> dict[str, Any]:
    if fresh:
        gateway.app.state.endpoint_stats.forget()
    response = httpx.get(f"{gateway.url}/api/v1/models/stats", timeout=10)  # no key: public
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["window_hours"] == 24
    return body


def _line(body: dict[str, Any], model: str, provider: str = "primary") -> dict[str, Any] | None:
    found = [e for e in body["data"] if (e["model"], e["provider"]) == (model, provider)]
    assert len(found) <= 1
    return found[0] if found else None


def test_stats_from_consumed_events(
    gateway: ServerThread, account: NewAccount, consumer: UsageConsumer, model: str
) -> None:
    events = [
        _event(account, model, latency_ms=100, ttft_ms=40, completion_tokens=60),
        _event(account, model, latency_ms=200, ttft_ms=50, completion_tokens=150),
        _event(account, model, latency_ms=300, ttft_ms=60, completion_tokens=240),
        _event(account, model, latency_ms=5000, ttft_ms=None, streamed=False),
        _event(account, model, status="error", latency_ms=10),
        _event(account, model, status="cancelled", latency_ms=20),
        _event(account, model, cache="HIT", latency_ms=1),  # no provider called: left out
        _event(account, model, provider="backup", latency_ms=700, ttft_ms=None, streamed=False),
    ]
    assert not failed_ids(consumer.handle(sqs_event(*events)))

    body = _stats(gateway)
    line = _line(body, model)
    assert line is not None
    assert line["requests"] == 6
    # Four answered ok, one failed; the cancelled one is neither.
    assert line["success_rate"] == 0.8
    # Latencies 100, 200, 300, 5000: the median's bucket, read as its midpoint (within 9%).
    assert line["p50_latency_ms"] == round(midpoint(bucket(200)))
    assert abs(line["p50_latency_ms"] - 200) <= 18
    assert line["p50_ttft_ms"] == round(midpoint(bucket(50)))
    # Streamed answers only: 450 tokens over 60 + 150 + 240 ms of generating.
    assert line["throughput"] == 1000.0
    backup = _line(body, model, "backup")
    assert backup is not None and backup["requests"] == 1 and backup["throughput"] is None
    assert backup["p50_ttft_ms"] is None and backup["success_rate"] == 1.0


def test_a_redelivered_batch_is_not_counted_twice(
    gateway: ServerThread, account: NewAccount, consumer: UsageConsumer, model: str
) -> None:
    events = [_event(account, model, latency_ms=100 * (i + 1)) for i in range(3)]
    batch = sqs_event(*events)
    assert not failed_ids(consumer.handle(batch))
    assert consumer.processor.outcome.written == 3
    before = _line(_stats(gateway), model)
    assert before is not None and before["requests"] == 3

    # SQS delivers the batch again, and one new request with it: the writer refuses the three.
    again = _event(account, model, latency_ms=400)
    assert not failed_ids(consumer.handle(sqs_event(*events, again, events[0])))
    assert consumer.processor.outcome.duplicates == 4
    after = _line(_stats(gateway), model)
    assert after is not None and after["requests"] == 4


def test_only_the_last_24_hours_count_and_answers_are_cached(
    gateway: ServerThread, account: NewAccount, consumer: UsageConsumer, model: str
) -> None:
    old = (datetime.now(UTC) - timedelta(hours=25)).isoformat(timespec="milliseconds")
    stale = _event(account, model, created_at=old.replace("+00:00", "Z"))
    assert not failed_ids(consumer.handle(sqs_event(stale)))
    assert _line(_stats(gateway), model) is None

    assert not failed_ids(consumer.handle(sqs_event(_event(account, model))))
    first = _stats(gateway, fresh=False)  # whatever was cached a moment ago
    line = _line(_stats(gateway), model)
    assert line is not None and line["requests"] == 1
    # Served from memory for a minute: a new request shows up later, not now.
    assert not failed_ids(consumer.handle(sqs_event(_event(account, model))))
    cached = _line(_stats(gateway, fresh=False), model)
    assert cached == line
    assert _line(_stats(gateway), model) == {**line, "requests": 2}
    assert isinstance(first["data"], list)


def test_stats_never_fail_the_books(
    gateway: ServerThread, account: NewAccount, settings: Settings, model: str
) -> None:
    """A stats table that cannot be written loses the counts, never the billing."""
    broken = dataclasses.replace(
        settings, tables=dataclasses.replace(settings.tables, endpoint_stats="no-such-table")
    )
    consumer = UsageConsumer.from_settings(broken)
    response = consumer.handle(sqs_event(_event(account, model, cost="0.5")))
    assert not failed_ids(response)
    assert consumer.processor.outcome.written == 1
    stored = gateway.app.state.accounts.accounts.get(account.account_id)
    assert stored is not None and stored.balance == Decimal("9.5")
    assert _line(_stats(gateway), model) is None


@pytest.fixture(scope="module")
def billed(settings: Settings) -> Iterator[ServerThread]:
    """A gateway whose usage events go to a queue of its own: draining it bills this module's
    requests alone, not every earlier test's."""
    own = dataclasses.replace(settings, usage_queue_url=new_queue("onerouter-stats"))
    with ServerThread(create_app(own), name="stats") as server:
        yield server


def test_a_fallback_counts_against_the_endpoint_that_failed(
    billed: ServerThread,
    settings: Settings,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
) -> None:
    """Through the gateway: the cheaper endpoint answers 503, the dearer one serves. The usage
    record names the failed attempt, and the stats count it as that endpoint's error."""
    gateway = billed
    queue = gateway.app.state.settings.usage_queue_url
    client = client_of(gateway)
    stats = _stats(gateway)
    before = _line(stats, "test/chat") or {"requests": 0, "success_rate": None}
    served_before = _line(stats, "test/chat", provider="backup") or {"requests": 0}
    fake.fail(503)
    for stream in (False, True):
        raw = client.chat.completions.with_raw_response.create(
            model="test/chat", messages=[{"role": "user", "content": "hi"}], stream=stream
        )
        assert raw.headers["x-onerouter-provider"] == "backup"
        if stream:
            list(raw.parse())
        fake.fail(503)
    drain(queue, make_handler(settings))

    record = gateway.app.state.usage_records.get(raw.headers["x-onerouter-generation-id"])
    assert record is not None and record["provider"] == "backup"
    assert record["failed_endpoints"] == [["test/chat", "primary"]]
    shown = httpx.get(
        f"{gateway.url}/api/v1/generation",
        params={"id": record["generation_id"]},
        headers={"authorization": f"Bearer {client.api_key}"},
    ).json()["data"]
    assert shown["failed_attempts"] == [{"model": "test/chat", "provider": "primary"}]
    after = _line(_stats(gateway), "test/chat")
    assert after is not None
    assert after["requests"] == before["requests"] + 2
    assert after["success_rate"] is not None and after["success_rate"] < 1
    # The endpoint that served counts two requests (earlier tests' failures of it aside).
    served = _line(_stats(gateway), "test/chat", provider="backup")
    assert served is not None and served["requests"] == served_before["requests"] + 2
