"""The `openai` adapter's I/O on an in-process network: what it sends, how it reads answers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from onerouter.providers.base import UpstreamError
from onerouter.providers.http import Upstream
from onerouter.providers.openai import OpenAIAdapter
from tests.fakes.mock_network import HandlerBackend
from tests.unit.providers.acme import MESSAGES, TARGET, chat

# ---------------------------------------------------------------- the adapter, on a mock network
# HandlerBackend answers in-process: no socket, no server; the real I/O code runs.


def run_adapter(handler: Any, call: str, raw: dict[str, Any]) -> Any:
    async def go() -> Any:
        upstream = Upstream(network_backend=HandlerBackend(handler))
        adapter = OpenAIAdapter(upstream)
        try:
            if call == "complete":
                return await adapter.complete(TARGET, chat(raw))
            return [chunk async for chunk in adapter.stream(TARGET, chat(raw))]
        finally:
            await upstream.aclose()

    return asyncio.run(go())


def test_complete_posts_the_translated_body_to_chat_completions() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"model": "acme-large", "choices": [{"index": 0, "finish_reason": "stop"}]}
        )

    out = run_adapter(handler, "complete", {"model": "acme/large", "messages": MESSAGES})

    (request,) = seen
    assert str(request.url) == "https://api.acme.test/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-acme"
    assert request.headers["x-acme-org"] == "org-1"
    assert json.loads(request.content) == {"model": "acme-large-2024-07", "messages": MESSAGES}
    assert out["model"] == "acme/large"
    assert out["provider"] == "acme"


def test_complete_turns_a_provider_error_into_an_upstream_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json={"error": {"message": "slow down"}}, headers={"retry-after": "3"}
        )

    with pytest.raises(UpstreamError) as caught:
        run_adapter(handler, "complete", {"model": "acme/large", "messages": MESSAGES})

    error = caught.value
    assert (error.provider, error.kind, error.status) == ("acme", "status", 429)
    assert error.retry_after == "3"
    assert error.raw == {"error": {"message": "slow down"}}


def sse(*events: str) -> bytes:
    return "".join(f"data: {event}\n\n" for event in events).encode()


def test_stream_yields_named_chunks_until_done() -> None:
    chunks = [
        {
            "model": "p",
            "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
        },
        {"model": "p", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"model": "p", "choices": [], "usage": {"total_tokens": 3}},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        body = sse(*(json.dumps(c) for c in chunks), "[DONE]")
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    out = run_adapter(handler, "stream", {"model": "m", "messages": MESSAGES, "stream": True})

    assert [c["model"] for c in out] == ["acme/large"] * 3
    assert [c["provider"] for c in out] == ["acme"] * 3
    assert out[1]["choices"][0]["native_finish_reason"] == "stop"
    assert out[2]["usage"] == {"total_tokens": 3}


def test_stream_that_ends_before_finishing_is_dropped() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse(json.dumps(chunk)))

    with pytest.raises(UpstreamError) as caught:
        run_adapter(handler, "stream", {"model": "m", "messages": MESSAGES, "stream": True})

    assert caught.value.kind == "dropped"


def test_stream_error_event_becomes_an_upstream_error_with_the_providers_words() -> None:
    event = {"error": {"message": "overloaded"}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse(json.dumps(event)))

    with pytest.raises(UpstreamError) as caught:
        run_adapter(handler, "stream", {"model": "m", "messages": MESSAGES, "stream": True})

    assert caught.value.raw == event
    assert caught.value.retryable


def test_stream_with_a_bad_event_is_a_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse("{not json"))

    with pytest.raises(UpstreamError) as caught:
        run_adapter(handler, "stream", {"model": "m", "messages": MESSAGES, "stream": True})

    assert caught.value.kind == "protocol"
