"""The `gemini` adapter's I/O and stream translation, on an in-process network that splits
the provider's bytes at awkward places; and the JSON-array form of Gemini's stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from onerouter.providers.base import UpstreamError
from onerouter.providers.gemini import GeminiAdapter, parse_json_array_stream
from onerouter.providers.gemini.stream import JsonArrayStream
from onerouter.providers.http import Upstream
from onerouter.requests import CompletionRequest, GatewayRequest
from tests.fakes.mock_network import Handler, TrickleBackend
from tests.unit.providers.google import TARGET, chat

MESSAGES = [{"role": "user", "content": "Hello"}]


def run(handler: Handler, call: str, request: GatewayRequest, size: int = 65536) -> Any:
    async def go() -> Any:
        upstream = Upstream(network_backend=TrickleBackend(handler, size))
        adapter = GeminiAdapter(upstream)
        try:
            if call == "complete":
                return await adapter.complete(TARGET, request)
            return [chunk async for chunk in adapter.stream(TARGET, request)]
        finally:
            await upstream.aclose()

    return asyncio.run(go())


def sse(*events: dict[str, Any]) -> bytes:
    return "".join(f"data: {json.dumps(e)}\r\n\r\n" for e in events).encode()


def serve(body: bytes, seen: list[httpx.Request] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return handler


def event(parts: list[dict[str, Any]], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", **extra}


USAGE = {
    "promptTokenCount": 5,
    "candidatesTokenCount": 4,
    "thoughtsTokenCount": 3,
    "totalTokenCount": 12,
}
STREAM = sse(
    event([{"text": "Thinking it over", "thought": True}], responseId="r1"),
    event([{"text": "Bonjour, "}], usageMetadata={"promptTokenCount": 5}),
    event([{"text": "café ☕"}]),
    event([{"text": "!"}], "STOP", usageMetadata=USAGE),
)


def strip(chunks: list[dict[str, Any]]) -> list[Any]:
    return [(c["choices"], c.get("usage")) for c in chunks]


@pytest.mark.parametrize("size", [1, 2, 5, 13, 64, 65536])
def test_stream_translates_whatever_the_byte_boundaries(size: int) -> None:
    chunks = run(serve(STREAM), "stream", chat(messages=MESSAGES, stream=True), size)

    def delta(d: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "finish_reason": finish, "logprobs": None, "delta": d}]

    finish = delta({}, "stop")
    finish[0]["native_finish_reason"] = "STOP"
    assert strip(chunks) == [
        (delta({"role": "assistant", "content": ""}), None),
        (delta({"reasoning": "Thinking it over"}), None),
        (delta({"content": "Bonjour, "}), None),
        (delta({"content": "café ☕"}), None),
        (delta({"content": "!"}), None),
        (finish, None),
        (
            [],
            {
                "prompt_tokens": 5,
                "completion_tokens": 7,
                "total_tokens": 12,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
        ),
    ]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {"google/gemini-2.5-flash"}
    assert {c["provider"] for c in chunks} == {"google"}
    assert {c["id"] for c in chunks} == {"r1"}


def test_stream_posts_to_stream_generate_content_with_alt_sse() -> None:
    seen: list[httpx.Request] = []
    run(serve(STREAM, seen), "stream", chat(messages=MESSAGES, stream=True))
    (request,) = seen
    assert str(request.url) == (
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert request.headers["x-goog-api-key"] == "AIza-test"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert json.loads(request.content) == {
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}]
    }


def test_each_function_call_is_one_whole_tool_call_delta() -> None:
    body = sse(
        event([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]),
        event([{"functionCall": {"name": "get_time", "args": {}}}], "STOP"),
    )
    chunks = run(serve(body), "stream", chat(messages=MESSAGES, stream=True), size=3)
    calls = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls == [
        [
            {
                "index": 0,
                "id": "call_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
        [
            {
                "index": 1,
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_time", "arguments": "{}"},
            }
        ],
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_a_stream_without_a_finish_reason_was_dropped() -> None:
    body = sse(event([{"text": "Hel"}]))
    with pytest.raises(UpstreamError) as caught:
        run(serve(body), "stream", chat(messages=MESSAGES, stream=True))
    assert caught.value.kind == "dropped"


def test_an_error_event_mid_stream_is_an_upstream_error() -> None:
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    with pytest.raises(UpstreamError) as caught:
        run(
            serve(sse(event([{"text": "a"}]), error)),
            "stream",
            chat(messages=MESSAGES, stream=True),
        )
    assert caught.value.raw == error
    assert caught.value.retryable


def test_a_blocked_prompt_streams_a_content_filter_finish() -> None:
    body = sse({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}})
    chunks = run(serve(body), "stream", chat(messages=MESSAGES, stream=True))
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert chunks[-1]["choices"][0]["native_finish_reason"] == "PROHIBITED_CONTENT"


def test_legacy_completion_streams_text_chunks() -> None:
    raw = {"model": "m", "prompt": "Once", "stream": True}
    request = GatewayRequest("completion", CompletionRequest.model_validate(raw), raw)
    chunks = run(serve(STREAM), "stream", request, size=7)
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "Bonjour, café ☕!"
    assert {c["object"] for c in chunks} == {"text_completion"}


def test_complete_posts_generate_content_and_passes_google_errors_through() -> None:
    seen: list[httpx.Request] = []
    error = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted.",
            "status": "RESOURCE_EXHAUSTED",
        }
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json=error)

    with pytest.raises(UpstreamError) as caught:
        run(handler, "complete", chat(messages=MESSAGES))
    assert (caught.value.status, caught.value.raw) == (429, error)
    assert str(seen[0].url).endswith("/v1beta/models/gemini-2.5-flash:generateContent")
    assert seen[0].headers["x-goog-api-key"] == "AIza-test"


def test_complete_translates_the_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=event([{"text": "Hi"}], "STOP"))

    answer = run(handler, "complete", chat(messages=MESSAGES), size=4)
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}


# ------------------------------------------------------------------ the JSON-array stream form
ITEMS = [
    event([{"text": 'braces } { and "quotes" and \\ backslashes'}]),
    event([{"text": "unicode: café ☕ 𝄞"}]),
    event([{"text": "[not, an, array]"}], "STOP", usageMetadata=USAGE),
]
ARRAY = (
    "[" + "\n,\r\n".join(json.dumps(i, ensure_ascii=False, indent=2) for i in ITEMS) + "\n]"
).encode()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(ARRAY)])
def test_json_array_stream_any_split(size: int) -> None:
    chunks = [ARRAY[i : i + size] for i in range(0, len(ARRAY), size)]
    assert parse_json_array_stream(chunks) == ITEMS


def test_json_array_stream_yields_items_as_they_complete() -> None:
    parser = JsonArrayStream()
    first, _, rest = ARRAY.partition(b"\n,\r\n")
    assert parser.feed(first[:-1]) == []
    assert parser.feed(first[-1:]) == [ITEMS[0]]
    assert parser.feed(rest) == ITEMS[1:]
    parser.close()


def test_json_array_stream_cut_short_is_an_error() -> None:
    with pytest.raises(ValueError, match="ended early"):
        parse_json_array_stream([ARRAY[:-10]])
    with pytest.raises(ValueError, match="unexpected"):
        parse_json_array_stream([b'{"a": 1}'])
    assert parse_json_array_stream([b"[]"]) == []
