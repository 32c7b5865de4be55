"""Billing as the gateway does it: the cost in the answer when asked, one usage event per served
request on the SQS queue before the response ends (whatever way it ends), and the credit
checks made before a request is sent anywhere."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import botocore.session
import httpx
import openai
import pytest

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.billing.books import Books
from onerouter.dev.poller import drain
from onerouter.settings import Settings
from onerouter.usage.consumer import make_handler
from onerouter.usage.events import UsageEvent
from onerouter.usage.sqs import SqsSender
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

MILLION = Decimal(1_000_000)
# test/solo is served by `primary` alone at $1 / $2 per million tokens.
PROMPT_PRICE, COMPLETION_PRICE = Decimal(1), Decimal(2)


@pytest.fixture(scope="module")
def sqs() -> Any:
    return botocore.session.get_session().create_client("sqs")


@pytest.fixture(scope="module")
def queue(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName=f"onerouter-test-billing-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    return url


@pytest.fixture(scope="module")
def billing(settings: Settings, queue: str) -> Iterator[ServerThread]:
    """A gateway of its own, sending usage events to a queue only this module reads."""
    with ServerThread(create_app(dataclasses.replace(settings, usage_queue_url=queue))) as server:
        yield server


@pytest.fixture
def events(sqs: Any, queue: str) -> None:
    """Starts each test with an empty queue (the last test's events read and deleted)."""
    while messages := sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def receive(sqs: Any, queue: str, count: int, timeout: float = 10.0) -> list[UsageEvent]:
    """Waits for `count` events (a stream's is sent as the stream ends, maybe after the
    client has gone) and checks no more come."""
    found: list[UsageEvent] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            found.append(UsageEvent.from_message(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert len(found) == count
    assert not sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages")
    return found


def client_for(server: ServerThread, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def expected_cost(prompt: int, completion: int) -> Decimal:
    return (prompt * PROMPT_PRICE + completion * COMPLETION_PRICE) / MILLION


def canary_messages() -> tuple[str, list[dict[str, str]]]:
    canary = f"CANARY-{uuid.uuid4().hex}"
    return canary, [{"role": "user", "content": f"please repeat {canary} back to me"}]


# ------------------------------------------------------------------------------ the answer


def test_whole_answer_shows_its_exact_cost_and_sends_one_event(
    billing: ServerThread,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    sqs: Any,
    queue: str,
    events: None,
) -> None:
    canary, messages = canary_messages()
    raw = client_for(billing, account.key).chat.completions.with_raw_response.create(
        model="test/solo", messages=messages, extra_body={"usage": {"include": True}}
    )
    answer = raw.parse()
    assert answer.usage is not None
    cost = expected_cost(answer.usage.prompt_tokens, answer.usage.completion_tokens)
    body = raw.http_response.json()
    assert Decimal(str(body["usage"]["cost"])) == cost
    assert Decimal(str(body["cost"])) == cost
    assert set(body["cost_details"]) >= {"prompt_cost", "completion_cost", "reasoning_cost"}

    (event,) = receive(sqs, queue, 1)
    assert event.generation_id == answer.id == raw.headers["x-onerouter-generation-id"]
    assert (event.account_id, event.model, event.provider) == (
        account.account_id,
        "test/solo",
        "primary",
    )
    assert event.key_id == account.key_id
    assert (event.prompt_tokens, event.completion_tokens) == (
        answer.usage.prompt_tokens,
        answer.usage.completion_tokens,
    )
    assert event.cost == cost and sum(event.cost_details.values()) == cost
    assert (event.status, event.streamed, event.estimated, event.ttft_ms) == (
        "ok",
        False,
        False,
        None,
    )
    assert event.finish_reason == "stop"
    assert canary in fake.requests[-1].body["messages"][0]["content"]  # it did go upstream...
    assert canary not in event.to_message()  # ...and never into the books


def test_without_asking_there_is_no_cost_but_still_an_event(
    billing: ServerThread, account: NewAccount, sqs: Any, queue: str, events: None
) -> None:
    _, messages = canary_messages()
    body = (
        client_for(billing, account.key)
        .chat.completions.with_raw_response.create(model="test/solo", messages=messages)
        .http_response.json()
    )
    assert "cost" not in body and "cost" not in body["usage"]
    (event,) = receive(sqs, queue, 1)
    assert event.cost > 0


def test_stream_shows_cost_in_its_final_chunk_and_books_before_done(
    billing: ServerThread, account: NewAccount, sqs: Any, queue: str, events: None
) -> None:
    canary, messages = canary_messages()
    chunks = list(
        client_for(billing, account.key).chat.completions.create(
            model="test/solo",
            messages=messages,
            stream=True,
            extra_body={"usage": {"include": True}},
        )
    )
    final = chunks[-1]
    assert final.choices == [] and final.usage is not None
    cost = expected_cost(final.usage.prompt_tokens, final.usage.completion_tokens)
    assert Decimal(str(final.model_extra["cost"])) == cost  # type: ignore[index]

    (event,) = receive(sqs, queue, 1)
    assert (event.status, event.streamed, event.estimated) == ("ok", True, False)
    assert event.ttft_ms is not None and event.cost == cost
    assert canary not in event.to_message()


def test_a_stream_dropped_midway_is_billed_for_what_arrived(
    billing: ServerThread,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    sqs: Any,
    queue: str,
    events: None,
) -> None:
    fake.drop_stream(after_chunks=3)
    with pytest.raises(openai.APIError):
        for _ in client_for(billing, account.key).chat.completions.create(
            model="test/solo", messages=canary_messages()[1], stream=True
        ):
            pass
    (event,) = receive(sqs, queue, 1)
    assert (event.status, event.estimated) == ("error", True)
    assert event.completion_tokens > 0
    assert event.cost == expected_cost(event.prompt_tokens, event.completion_tokens)


def test_a_client_that_leaves_midway_is_billed_for_what_was_generated(
    billing: ServerThread,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    sqs: Any,
    queue: str,
    events: None,
) -> None:
    fake.stream_pause(5.0, after_chunks=2)
    body = {"model": "test/solo", "messages": canary_messages()[1], "stream": True}
    headers = {"authorization": f"Bearer {account.key}"}
    with httpx.stream(
        "POST", f"{billing.url}/v1/chat/completions", json=body, headers=headers, timeout=10
    ) as response:
        for line in response.iter_lines():
            if '"content"' in line and '"content":""' not in line:
                break  # got real content: hang up while the provider is paused
    (event,) = receive(sqs, queue, 1)
    assert (event.status, event.estimated) == ("cancelled", True)
    assert event.completion_tokens > 0


def test_nothing_served_nothing_booked(
    billing: ServerThread,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    sqs: Any,
    queue: str,
    events: None,
) -> None:
    fake.fail(500, times=None)
    with pytest.raises(openai.InternalServerError):
        client_for(billing, account.key).chat.completions.create(
            model="test/solo", messages=canary_messages()[1]
        )
    receive(sqs, queue, 0, timeout=0.5)


# ------------------------------------------------------------------------------ before the call


def account_with(server: ServerThread, credits: str) -> NewAccount:
    opened: NewAccount = server.app.state.accounts.open_account(Decimal(credits))
    return opened


def test_a_request_the_balance_cannot_cover_at_worst_is_a_402(
    billing: ServerThread, fake: FakeOpenAIProvider, events: None
) -> None:
    poor = account_with(billing, "0.01")  # $2/M completion: 5,000 tokens at most
    client = client_for(billing, poor.key)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="test/solo", messages=canary_messages()[1], max_tokens=6000
        )
    assert caught.value.status_code == 402
    assert "$0.012" in caught.value.message
    seen = len(fake.requests)
    assert client.chat.completions.create(
        model="test/solo", messages=canary_messages()[1], max_tokens=4000
    ).choices
    assert len(fake.requests) == seen + 1


def test_a_request_over_the_keys_limit_at_worst_is_a_403(
    billing: ServerThread, account: NewAccount, events: None
) -> None:
    service = billing.app.state.accounts
    key, secret = service.issue_key(account.account_id, label="capped")
    service.keys.dynamodb.put_item(
        TableName=service.keys.table,
        Item={
            **service.keys.put_item(dataclasses.replace(key, limit=Decimal("0.001")))["Put"]["Item"]
        },
    )
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client_for(billing, secret).chat.completions.create(
            model="test/solo", messages=canary_messages()[1], max_tokens=1000
        )
    assert caught.value.code == "key_limit_exceeded"


def test_concurrent_requests_cannot_all_spend_one_small_balance(
    billing: ServerThread, fake: FakeOpenAIProvider, events: None
) -> None:
    """$0.01 covers five requests of up to 1,000 completion tokens ($0.002 each, plus a few
    prompt tokens) at a time. 200 sent at once: each stays in flight a second, so only a few
    holds fit at any moment (how many pass in all depends on how fast the 200 arrive, as
    finished requests free their holds; without holds, all 200 would pass)."""
    small = account_with(billing, "0.01")
    fake.stream_pause(1.0, after_chunks=1, times=None)  # keep them in flight together

    async def one(client: openai.AsyncOpenAI) -> int:
        try:
            stream = await client.chat.completions.create(
                model="test/solo", messages=canary_messages()[1], max_tokens=1000, stream=True
            )
            async for _ in stream:
                pass
            return 200
        except openai.APIStatusError as exc:
            return exc.status_code

    async def burst() -> list[int]:
        client = openai.AsyncOpenAI(base_url=f"{billing.url}/v1", api_key=small.key, max_retries=0)
        async with client:
            return await asyncio.gather(*(one(client) for _ in range(200)))

    statuses = asyncio.run(burst())
    assert set(statuses) <= {200, 402}
    assert 1 <= statuses.count(200) <= 50
    assert statuses.count(402) >= 150

    # The consumer books what was served: exactly, never below zero, and once.
    assert book(billing) >= statuses.count(200)
    (books,) = Books(billing.app.state.accounts.accounts, billing.app.state.accounts.ledger).check(
        [small.account_id]
    )
    assert books.balances, books.describe()
    credits = get(billing, small.key, "/credits")["data"]
    assert Decimal(credits["balance"]) >= 0
    assert Decimal(credits["balance"]) + Decimal(credits["total_usage"]) == Decimal("0.01")


# ------------------------------------------------------------------------------ the books


def book(server: ServerThread) -> int:
    """Runs the usage consumer over everything on the queue, as the dev runner does."""
    settings: Settings = server.app.state.settings
    assert settings.usage_queue_url
    return drain(settings.usage_queue_url, make_handler(settings))


def get(server: ServerThread, key: str, path: str, **params: str) -> Any:
    response = httpx.get(
        f"{server.url}/api/v1{path}",
        params=params,
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_what_was_served_is_booked_and_can_be_read_back(
    billing: ServerThread, fake: FakeOpenAIProvider, events: None
) -> None:
    payer = account_with(billing, "1")
    client = client_for(billing, payer.key)
    answers = [
        client.chat.completions.create(model="test/solo", messages=canary_messages()[1])
        for _ in range(3)
    ]
    costs = [
        expected_cost(a.usage.prompt_tokens, a.usage.completion_tokens)  # type: ignore[union-attr]
        for a in answers
    ]
    assert book(billing) == 3
    assert book(billing) == 0  # nothing twice

    record = get(billing, payer.key, "/generation", id=answers[0].id)["data"]
    assert (record["id"], record["model"], record["provider"]) == (
        answers[0].id,
        "test/solo",
        "primary",
    )
    assert Decimal(record["cost"]) == costs[0] and record["status"] == "ok"

    credits = get(billing, payer.key, "/credits")["data"]
    assert Decimal(credits["balance"]) == Decimal(1) - sum(costs)
    assert Decimal(credits["total_usage"]) == sum(costs)
    key = get(billing, payer.key, "/key")["data"]
    assert Decimal(key["usage"]) == sum(costs) and key["limit"] is None

    activity = get(billing, payer.key, "/activity")
    (row,) = activity["data"]
    assert (row["model"], row["provider"], row["key_id"], row["requests"]) == (
        "test/solo",
        "primary",
        payer.key_id,
        3,
    )
    assert Decimal(row["cost"]) == Decimal(activity["total_cost"]) == sum(costs)


def test_a_generation_of_another_account_is_not_found(
    billing: ServerThread, account: NewAccount, events: None
) -> None:
    other = account_with(billing, "1")
    answer = client_for(billing, other.key).chat.completions.create(
        model="test/solo", messages=canary_messages()[1]
    )
    book(billing)
    response = httpx.get(
        f"{billing.url}/api/v1/generation",
        params={"id": answer.id},
        headers={"authorization": f"Bearer {account.key}"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "generation_not_found"


@pytest.mark.parametrize(
    ("params", "param"),
    [({"from": "2026-13-01"}, "from"), ({"from": "2026-02-01", "to": "2026-01-01"}, "from")],
)
def test_activity_dates_are_checked(
    billing: ServerThread, account: NewAccount, params: dict[str, str], param: str
) -> None:
    response = httpx.get(
        f"{billing.url}/api/v1/activity",
        params=params,
        headers={"authorization": f"Bearer {account.key}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_events_sent_together_reach_the_queue_in_batches(
    sqs: Any, queue: str, events: None
) -> None:
    """Against the emulated SQS: SendMessageBatch through our own signed JSON calls."""
    bodies = [f"message {i}" for i in range(25)]

    async def go() -> None:
        sender = SqsSender(queue)
        await asyncio.gather(*(sender.send(body) for body in bodies))
        await sender.aclose()

    asyncio.run(go())
    received: list[str] = []
    while len(received) < 25:
        reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            received.append(message["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(received) == sorted(bodies)


def test_a_cache_hit_is_booked_at_the_cache_read_price(
    billing: ServerThread, account: NewAccount, sqs: Any, queue: str, events: None
) -> None:
    _, messages = canary_messages()
    client = client_for(billing, account.key)
    client.chat.completions.create(model="test/cached", messages=messages)
    deadline = time.monotonic() + 5
    while billing.app.state.pipeline.cache.writing:  # the entry is stored after answering
        assert time.monotonic() < deadline
        time.sleep(0.01)
    hit = client.chat.completions.with_raw_response.create(model="test/cached", messages=messages)
    assert hit.headers["x-onerouter-cache"] == "HIT"

    by_cache = {event.cache: event for event in receive(sqs, queue, 2)}
    assert set(by_cache) == {"MISS", "HIT"}
    hit_event = by_cache["HIT"]
    assert hit_event.completion_tokens == 0 and hit_event.cached_tokens == hit_event.prompt_tokens
    assert hit_event.cost == hit_event.prompt_tokens * Decimal("0.5") / MILLION
    assert hit_event.provider == "primary" and hit_event.model == "test/cached"
