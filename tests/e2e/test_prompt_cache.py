"""The prompt cache through the real server and the openai SDK: a repeated request is answered
without the provider, in the shape asked for, billed at the cache tier, and only to the account
that asked it first."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

import botocore.session
import httpx
import openai
import pytest

from onerouter.accounts.service import NewAccount
from onerouter.settings import Settings
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

MODEL = "test/cached"  # primary at $1 / $2 per million, cache reads at $0.50, TTL 60 s


def prompt() -> tuple[str, list[dict[str, str]]]:
    canary = f"CANARY-{uuid.uuid4().hex}"
    return canary, [{"role": "user", "content": f"repeat after me {canary}"}]


def stored(gateway: ServerThread) -> None:
    """Waits until the entries the gateway is writing (in the background, after answering)
    are in the store."""
    deadline = time.monotonic() + 5
    while gateway.app.state.pipeline.cache.writing:
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture
def ask(gateway: ServerThread) -> Any:
    def ask(client: openai.OpenAI, messages: list[dict[str, str]], **params: Any) -> Any:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=messages, **params
        )
        stored(gateway)
        return raw

    return ask


def stream_lines(gateway: ServerThread, key: str, messages: list[dict[str, str]]) -> list[str]:
    body = {"model": MODEL, "messages": messages, "stream": True}
    headers = {"authorization": f"Bearer {key}"}
    with httpx.stream(
        "POST", f"{gateway.url}/v1/chat/completions", json=body, headers=headers, timeout=10
    ) as response:
        assert response.status_code == 200
        cache = response.headers["x-onerouter-cache"]
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    stored(gateway)
    return [cache, *lines]


def test_a_repeat_is_answered_from_the_cache(
    client: openai.OpenAI, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()
    first = ask(client, messages)
    assert first.headers["x-onerouter-cache"] == "MISS"
    again = ask(client, messages)
    assert again.headers["x-onerouter-cache"] == "HIT"
    assert len(fake.requests) == 1  # the provider saw it once

    miss, hit = first.parse(), again.parse()
    assert hit.choices[0].message.content == miss.choices[0].message.content
    assert hit.id != miss.id and hit.id == again.headers["x-onerouter-generation-id"]
    assert hit.usage is not None and miss.usage is not None
    assert hit.usage.prompt_tokens == miss.usage.prompt_tokens
    assert hit.usage.prompt_tokens_details is not None
    assert hit.usage.prompt_tokens_details.cached_tokens == miss.usage.prompt_tokens


def test_a_hit_costs_the_prompt_at_the_cache_read_price(
    client: openai.OpenAI, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()
    ask(client, messages)
    body = ask(client, messages, extra_body={"usage": {"include": True}}).http_response.json()
    prompt_tokens = body["usage"]["prompt_tokens"]
    assert Decimal(str(body["usage"]["cost"])) == prompt_tokens * Decimal("0.5") / 1_000_000
    assert body["cost_details"]["completion_cost"] == 0


def test_streams_and_whole_answers_answer_each_other(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()
    miss = stream_lines(gateway, account.key, messages)
    assert miss[0] == "MISS" and miss[-1] == "data: [DONE]"

    replay = stream_lines(gateway, account.key, messages)
    assert replay[0] == "HIT" and replay[-1] == "data: [DONE]"
    assert len(replay) == len(miss)  # the same chunk structure
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=account.key, max_retries=0)
    whole = ask(client, messages)
    assert whole.headers["x-onerouter-cache"] == "HIT"
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model=MODEL, messages=messages, stream=True)
        if c.choices
    )
    assert whole.parse().choices[0].message.content == text
    assert len(fake.requests) == 1


def test_one_accounts_cache_never_answers_another(
    gateway: ServerThread, client: openai.OpenAI, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()
    ask(client, messages)
    other: NewAccount = gateway.app.state.accounts.open_account(Decimal("1"))
    stranger = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=other.key, max_retries=0)
    assert ask(stranger, messages).headers["x-onerouter-cache"] == "MISS"
    assert len(fake.requests) == 2


def test_what_changes_the_answer_changes_the_key(
    client: openai.OpenAI, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()
    ask(client, messages, temperature=0.2)
    assert ask(client, messages, temperature=0.7).headers["x-onerouter-cache"] == "MISS"
    assert ask(client, messages, temperature=0.2, user="u1").headers["x-onerouter-cache"] == "HIT"


def test_no_prompt_or_answer_in_the_cache_table(
    client: openai.OpenAI, fake: FakeOpenAIProvider, settings: Settings, ask: Any
) -> None:
    canary, messages = prompt()
    fake.reply(f"your words: {canary}")
    ask(client, messages)
    dynamodb = botocore.session.get_session().create_client("dynamodb")
    deadline = time.monotonic() + 5
    items: list[Any] = []
    while not items and time.monotonic() < deadline:  # the entry is written in the background
        items = dynamodb.scan(TableName=settings.tables.cache)["Items"]
        time.sleep(0.05)
    assert items
    assert all(canary not in str(item) for item in items)
    # Kept for the model's TTL (60 s in the test catalog), for DynamoDB's TTL to remove.
    newest = max(int(item["expires_at"]["N"]) for item in items)
    assert time.time() + 50 < newest <= time.time() + 61
    assert all(canary.encode() not in item["blob"]["B"] for item in items)


def test_an_answer_too_big_to_store_is_simply_not_cached(
    client: openai.OpenAI, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()
    fake.reply("".join(uuid.uuid4().hex for _ in range(40_000)))  # 1.3 MB: ~650 KB zipped
    ask(client, messages)
    assert ask(client, messages).headers["x-onerouter-cache"] == "MISS"
    assert len(fake.requests) == 2


def test_a_fallback_models_answer_is_not_kept_for_this_model(
    client: openai.OpenAI, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()
    fake.fail(503)
    served = ask(client, messages, extra_body={"models": ["test/solo"]})
    assert served.parse().model == "test/solo"
    assert ask(client, messages).headers["x-onerouter-cache"] == "MISS"


def test_concurrent_identical_requests_are_all_answered(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider, ask: Any
) -> None:
    _, messages = prompt()

    async def burst() -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=f"{gateway.url}/v1", api_key=account.key, max_retries=0
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)
                    for _ in range(8)
                )
            )
        return [a.parse().choices[0].message.content or "" for a in answers]

    texts = asyncio.run(burst())
    assert len(set(texts)) == 1 and texts[0]
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=account.key, max_retries=0)
    deadline = time.monotonic() + 5
    while ask(client, messages).headers["x-onerouter-cache"] != "HIT":
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("model", ["test/solo"])
def test_a_model_with_the_cache_off_always_asks_the_provider(
    client: openai.OpenAI, fake: FakeOpenAIProvider, model: str
) -> None:
    _, messages = prompt()
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)
        assert raw.headers["x-onerouter-cache"] == "MISS"
    assert len(fake.requests) == 2
