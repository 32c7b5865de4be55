"""Streams: passed through as they arrive, kept alive while silent, failed over before the first
byte, ended with an in-stream error after it, and cancelled upstream when the client leaves."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.settings import Settings
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider, default_reply

MESSAGES = [{"role": "user", "content": "stream me a few words"}]


def _events(response: httpx.Response) -> list[str]:
    """Every SSE line, comments included, in order."""
    return [line for line in response.iter_lines() if line]


def _stream(url: str, key: str, model: str = "test/chat") -> Iterator[httpx.Response]:
    with httpx.stream(
        "POST",
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": MESSAGES, "stream": True},
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    ) as response:
        yield response


@pytest.fixture(scope="module")
def eager_gateway(settings: Settings) -> Iterator[ServerThread]:
    """A gateway whose keep-alive interval is short enough to see in a test."""
    with ServerThread(create_app(dataclasses.replace(settings, keepalive_interval=0.2))) as server:
        yield server


def test_stream_is_sse_with_headers_and_done(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    for response in _stream(gateway.url, account.key):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-onerouter-provider"] == "primary"
        assert response.headers["x-onerouter-generation-id"].startswith("gen-")
        events = _events(response)
    assert events[-1] == "data: [DONE]"
    chunks = [orjson.loads(e[6:]) for e in events[:-1] if e.startswith("data: ")]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == default_reply(
        MESSAGES
    )
    assert all(c["provider"] == "primary" for c in chunks)


def test_failure_before_first_byte_falls_back_to_next_provider(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503)
    chunks = list(client.chat.completions.create(model="test/chat", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert {c.model_extra["provider"] for c in chunks} == {"backup"}
    assert backup.requests[-1].body["model"] == "gpt-4o"

    fake.fail(429)
    completion = client.chat.completions.create(model="test/chat", messages=MESSAGES)
    assert completion.model_extra["provider"] == "backup"


def test_connection_refused_falls_back(client: openai.OpenAI, backup: FakeOpenAIProvider) -> None:
    # test/dead-first's cheapest endpoint listens on a closed port.
    completion = client.chat.completions.create(model="test/dead-first", messages=MESSAGES)
    assert completion.model_extra["provider"] == "backup"
    chunks = list(
        client.chat.completions.create(model="test/dead-first", messages=MESSAGES, stream=True)
    )
    assert {c.model_extra["provider"] for c in chunks} == {"backup"}


def test_drop_after_first_byte_ends_with_error_event_then_done(
    gateway: ServerThread,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
) -> None:
    fake.drop_stream(after_chunks=2)
    for response in _stream(gateway.url, account.key):
        assert response.status_code == 200
        events = _events(response)
    assert events[-1] == "data: [DONE]"
    error = orjson.loads(events[-2][6:])["error"]
    assert error["code"] == "upstream_error"
    assert error["metadata"]["provider_name"] == "primary"
    # Content already sent is never replayed from another provider.
    assert backup.requests == []


def test_keepalive_comments_while_upstream_is_silent(
    eager_gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    fake.stream_pause(1.5, after_chunks=1)
    for response in _stream(eager_gateway.url, account.key, model="test/solo"):
        events = _events(response)
    assert ": ONEROUTER PROCESSING" in events
    assert events[-1] == "data: [DONE]"
    text = "".join(
        orjson.loads(e[6:])["choices"][0]["delta"].get("content", "")
        for e in events
        if e.startswith("data: {")
    )
    assert text == default_reply(MESSAGES)


def test_slow_first_byte_starts_stream_with_keepalive_and_errors_in_stream(
    eager_gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    fake.delay(1.0)
    fake.fail(500)
    for response in _stream(eager_gateway.url, account.key, model="test/solo"):
        assert response.status_code == 200  # committed by the keep-alive
        events = _events(response)
    assert events[0] == ": ONEROUTER PROCESSING"
    assert orjson.loads(events[-2][6:])["error"]["code"] == "upstream_error"
    assert events[-1] == "data: [DONE]"


def test_client_disconnect_cancels_the_upstream_stream(
    eager_gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    fake.stream_pause(30, after_chunks=1)
    for response in _stream(eager_gateway.url, account.key, model="test/solo"):
        for line in response.iter_lines():
            if line.startswith("data: {"):
                break  # first chunk seen: hang up
    assert fake.wait_for(lambda: fake.disconnects == 1, timeout=10)
