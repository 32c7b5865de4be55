"""The `anthropic` stream: recorded events to OpenAI chunks, and the adapter reading SSE bytes
that arrive split at awkward boundaries."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from onerouter.providers.anthropic import AnthropicAdapter, StreamTranslator
from onerouter.providers.base import UpstreamError
from onerouter.providers.http import Upstream
from onerouter.requests import CompletionRequest, GatewayRequest
from tests.fakes.anthropic_provider import encode, stream_events
from tests.fakes.mock_network import HandlerBackend, TrickleBackend
from tests.unit.providers.test_anthropic import TARGET, chat

MESSAGES = [{"role": "user", "content": "Hi"}]
USAGE = {
    "input_tokens": 12,
    "output_tokens": 1,
    "cache_read_input_tokens": 30,
    "cache_creation_input_tokens": 0,
}

RECORDED: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": USAGE,
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": ""},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "Hm"},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "signature_delta", "signature": "s"},
    },
    {"type": "content_block_stop", "index": 0},
    {"type": "ping"},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Héllo "}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "🌍"}},
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'},
    },
    {"type": "content_block_stop", "index": 2},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 9},
    },
    {"type": "message_stop"},
]


THOUGHT = {"type": "reasoning.text", "format": "anthropic-claude-v1", "index": 0}


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def test_translator_yields_openai_chunks_in_order() -> None:
    translator = StreamTranslator(TARGET)
    chunks = [chunk for event in RECORDED for chunk in translator.feed(event)]

    assert translator.finished
    assert all(c["model"] == "anthropic/claude-sonnet" for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert deltas(chunks)[:-1] == [
        {"role": "assistant", "content": ""},
        {"reasoning": "Hm", "reasoning_details": [THOUGHT | {"text": "Hm"}]},
        {"reasoning_details": [THOUGHT | {"signature": "s"}]},
        {"content": "Héllo "},
        {"content": "🌍"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
    ]
    final = chunks[-2]["choices"][0]
    assert (final["finish_reason"], final["native_finish_reason"]) == ("tool_calls", "tool_use")
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 42,
        "completion_tokens": 9,
        "total_tokens": 51,
        "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 0},
    }


@pytest.mark.parametrize(("kind", "status"), [("overloaded_error", 529), ("api_error", 502)])
def test_error_event_is_an_upstream_error(kind: str, status: int) -> None:
    event = {"type": "error", "error": {"type": kind, "message": "Overloaded"}}
    translator = StreamTranslator(TARGET)
    translator.feed(RECORDED[0])
    with pytest.raises(UpstreamError) as caught:
        translator.feed(event)
    assert (caught.value.kind, caught.value.status, caught.value.raw) == ("status", status, event)
    assert caught.value.retryable


# ------------------------------------------------------------ the adapter on a trickling network


def run_stream(body: bytes, size: int, seen: list[httpx.Request]) -> list[dict[str, Any]]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async def go() -> list[dict[str, Any]]:
        upstream = Upstream(network_backend=TrickleBackend(handler, size))
        request = chat(messages=[{"role": "user", "content": "Hi"}], stream=True)
        try:
            return [c async for c in AnthropicAdapter(upstream).stream(TARGET, request)]
        finally:
            await upstream.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 65536])
def test_adapter_reads_events_split_at_any_byte(size: int) -> None:
    seen: list[httpx.Request] = []
    body = "".join(encode(event) for event in RECORDED).encode()
    chunks = run_stream(body, size, seen)

    translator = StreamTranslator(TARGET)
    whole = [c for event in RECORDED for c in translator.feed(event)]
    assert deltas(chunks) == deltas(whole)
    assert "".join(d.get("content", "") for d in deltas(chunks)) == "Héllo 🌍"
    assert chunks[-1]["usage"]["completion_tokens"] == 9
    (request,) = seen
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert json.loads(request.content)["stream"] is True


def test_stream_without_message_stop_is_dropped() -> None:
    message = {
        "id": "msg_2",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "cut short"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }
    body = "".join(encode(event) for event in stream_events(message)[:-2]).encode()
    with pytest.raises(UpstreamError) as caught:
        run_stream(body, 4096, [])
    assert caught.value.kind == "dropped"


# ------------------------------------------------------------- whole answers and legacy prompts

MESSAGE = {
    "id": "msg_3",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "upon a time"}],
    "stop_reason": "max_tokens",
    "stop_sequence": None,
    "usage": USAGE,
}


def run_complete(handler: Any, request: GatewayRequest) -> Any:
    async def go() -> Any:
        upstream = Upstream(network_backend=HandlerBackend(handler))
        try:
            return await AnthropicAdapter(upstream).complete(TARGET, request)
        finally:
            await upstream.aclose()

    return asyncio.run(go())


def legacy(**raw: Any) -> GatewayRequest:
    raw = {"model": "anthropic/claude-sonnet", "prompt": "Once", **raw}
    return GatewayRequest("completion", CompletionRequest.model_validate(raw), raw)


def test_legacy_completion_answers_in_text_completion_shape() -> None:
    out = run_complete(lambda request: httpx.Response(200, json=MESSAGE), legacy())
    assert out["object"] == "text_completion"
    assert out["choices"][0]["text"] == "upon a time"
    assert out["choices"][0]["finish_reason"] == "length"
    assert out["usage"]["prompt_tokens"] == 42


def test_legacy_stream_yields_text_chunks() -> None:
    body = "".join(encode(event) for event in stream_events(MESSAGE)).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    async def go() -> list[dict[str, Any]]:
        upstream = Upstream(network_backend=HandlerBackend(handler))
        try:
            adapter = AnthropicAdapter(upstream)
            return [c async for c in adapter.stream(TARGET, legacy(stream=True))]
        finally:
            await upstream.aclose()

    chunks = asyncio.run(go())
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "upon a time"
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 1


def test_overloaded_is_a_retryable_upstream_error() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamError) as caught:
        run_complete(lambda request: httpx.Response(529, json=error), chat(messages=MESSAGES))
    assert (caught.value.status, caught.value.raw) == (529, error)
    assert caught.value.retryable
    assert "Overloaded" in caught.value.to_error().message
