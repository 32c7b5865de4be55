"""The `openai` protocol: golden tests of the pure translation, JSON in and JSON out."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest

from onerouter.providers.base import Target, UpstreamError
from onerouter.providers.http import Upstream
from onerouter.providers.openai import (
    OpenAIAdapter,
    from_provider_response,
    headers_for,
    to_provider_request,
)
from onerouter.requests import ChatRequest, CompletionRequest, GatewayRequest
from onerouter.routing.catalog import Endpoint, Pricing, Provider
from tests.fakes.mock_network import HandlerBackend

PROVIDER = Provider(
    id="acme",
    protocol="openai",
    base_url="https://api.acme.test/v1/",
    api_key_env="ACME_API_KEY",
    headers={"x-acme-org": "org-1"},
)
ENDPOINT = Endpoint(
    provider="acme",
    model="acme-large-2024-07",
    pricing=Pricing(prompt="1", completion="2"),  # type: ignore[arg-type]
)
TARGET = Target("acme/large", PROVIDER, ENDPOINT, "sk-acme")
KEYLESS = Target("acme/large", PROVIDER.model_copy(update={"headers": {}}), ENDPOINT, None)

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello"},
]


def chat(raw: dict[str, Any]) -> GatewayRequest:
    return GatewayRequest("chat", ChatRequest.model_validate(raw), raw)


def as_json(value: Any) -> Any:
    """What goes on the wire: also proves the value is JSON-serialisable."""
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------- to_provider_request


def test_request_drops_gateway_fields_and_keeps_everything_else() -> None:
    raw = {
        "model": "acme/large",
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": 50,
        "models": ["acme/small"],
        "fallback_models": ["other/model"],
        "provider": {"order": ["acme"], "allow_fallbacks": False},
        "usage": {"include": True},
        "reasoning": {"effort": "high"},
        "transforms": ["middle-out"],
        "route": "fallback",
        "foo_bar": {"baz": [1, 2]},
        "logit_bias": {"50256": -100},
        "service_tier": "flex",
    }

    body = to_provider_request(chat(raw), "acme-large-2024-07")

    assert as_json(body) == {
        "model": "acme-large-2024-07",
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": 50,
        "foo_bar": {"baz": [1, 2]},
        "logit_bias": {"50256": -100},
        "service_tier": "flex",
        "reasoning_effort": "high",
    }


def test_request_replaces_model_with_the_providers_name() -> None:
    body = to_provider_request(chat({"model": "large", "messages": MESSAGES}), "acme-large")

    assert as_json(body) == {"model": "acme-large", "messages": MESSAGES}


def test_request_does_not_change_the_clients_body() -> None:
    raw = {
        "model": "acme/large",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": False},
        "reasoning": {"effort": "low"},
    }
    before = copy.deepcopy(raw)

    to_provider_request(chat(raw), "acme-large")

    assert raw == before


def test_reasoning_effort_becomes_the_openai_shorthand() -> None:
    raw = {"model": "m", "messages": MESSAGES, "reasoning": {"effort": "minimal"}}

    body = to_provider_request(chat(raw), "p")

    assert body["reasoning_effort"] == "minimal"
    assert "reasoning" not in body


def test_clients_own_reasoning_effort_wins() -> None:
    raw = {
        "model": "m",
        "messages": MESSAGES,
        "reasoning_effort": "low",
        "reasoning": {"effort": "high"},
    }

    body = to_provider_request(chat(raw), "p")

    assert as_json(body) == {"model": "p", "messages": MESSAGES, "reasoning_effort": "low"}


def test_reasoning_without_effort_adds_no_shorthand() -> None:
    raw = {"model": "m", "messages": MESSAGES, "reasoning": {"max_tokens": 2000}}

    body = to_provider_request(chat(raw), "p")

    assert as_json(body) == {"model": "p", "messages": MESSAGES}


def test_stream_always_asks_for_usage() -> None:
    raw = {"model": "m", "messages": MESSAGES, "stream": True}

    body = to_provider_request(chat(raw), "p")

    assert as_json(body) == {
        "model": "p",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_stream_usage_is_forced_on_and_other_stream_options_kept() -> None:
    raw = {
        "model": "m",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": False, "include_obfuscation": False},
    }

    body = to_provider_request(chat(raw), "p")

    assert body["stream_options"] == {"include_usage": True, "include_obfuscation": False}


def test_null_stream_options_on_a_stream_still_ask_for_usage() -> None:
    raw = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": None}

    body = to_provider_request(chat(raw), "p")

    assert body["stream_options"] == {"include_usage": True}


def test_no_stream_options_added_without_a_stream() -> None:
    raw = {"model": "m", "messages": MESSAGES, "stream": False}

    body = to_provider_request(chat(raw), "p")

    assert as_json(body) == {"model": "p", "messages": MESSAGES, "stream": False}


def test_legacy_completion_request_translates_the_same_way() -> None:
    raw = {"model": "m", "prompt": "Once upon", "max_tokens": 5, "usage": {"include": True}}
    request = GatewayRequest("completion", CompletionRequest.model_validate(raw), raw)

    body = to_provider_request(request, "p-instruct")

    assert as_json(body) == {"model": "p-instruct", "prompt": "Once upon", "max_tokens": 5}


# ---------------------------------------------------------------- from_provider_response


def test_response_names_our_model_the_provider_and_the_native_reason() -> None:
    data = {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "acme-large-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }

    out = from_provider_response(copy.deepcopy(data), TARGET)

    assert as_json(out) == {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "acme/large",
        "provider": "acme",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!"},
                "finish_reason": "stop",
                "native_finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }


def test_response_keeps_a_native_reason_the_provider_gave() -> None:
    data = {
        "model": "x",
        "choices": [{"index": 0, "finish_reason": "stop", "native_finish_reason": "end_turn"}],
    }

    out = from_provider_response(data, TARGET)

    assert out["choices"][0]["native_finish_reason"] == "end_turn"


def test_stream_chunks_are_named_the_same_way() -> None:
    chunk = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "acme-large-2024-07-18",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
    }

    out = from_provider_response(chunk, TARGET)

    assert as_json(out) == {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "acme/large",
        "provider": "acme",
        "choices": [
            {
                "index": 0,
                "delta": {"content": "Hi"},
                "finish_reason": None,
                "native_finish_reason": None,
            }
        ],
    }


def test_usage_only_chunk_without_choices_is_named() -> None:
    chunk = {
        "object": "chat.completion.chunk",
        "model": "acme-large-2024-07-18",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }

    out = from_provider_response(chunk, TARGET)

    assert out["model"] == "acme/large"
    assert out["provider"] == "acme"
    assert out["choices"] == []
    assert out["usage"]["total_tokens"] == 11


def test_choice_without_finish_reason_gets_no_native_reason() -> None:
    chunk = {"model": "x", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}

    out = from_provider_response(chunk, TARGET)

    assert out["choices"] == [{"index": 0, "delta": {"role": "assistant"}}]


# ---------------------------------------------------------------- headers_for


def test_headers_carry_the_bearer_key_and_the_providers_headers() -> None:
    assert headers_for(TARGET) == {
        "content-type": "application/json",
        "x-acme-org": "org-1",
        "authorization": "Bearer sk-acme",
    }


def test_headers_without_a_key_have_no_authorization() -> None:
    assert headers_for(KEYLESS) == {"content-type": "application/json"}


def test_headers_with_an_empty_key_have_no_authorization() -> None:
    target = Target("acme/large", PROVIDER, ENDPOINT, "")

    assert "authorization" not in headers_for(target)


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
