"""The `openai` protocol: golden tests of the pure translation, JSON in and JSON out."""

from __future__ import annotations

import copy
import json
from typing import Any

from onerouter.providers.base import Target
from onerouter.providers.openai import (
    from_provider_response,
    headers_for,
    to_provider_request,
)
from onerouter.requests import CompletionRequest, GatewayRequest
from tests.unit.providers.acme import ENDPOINT, KEYLESS, MESSAGES, PROVIDER, TARGET, chat


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


# ---------------------------------------------------------------- cache_control


def _marked() -> dict[str, Any]:
    mark = {"type": "ephemeral", "ttl": "1h"}
    schema = {"type": "object", "properties": {"cache_control": {"type": "string"}}}
    return {
        "model": "acme/large",
        "messages": [
            {
                "role": "system",
                "content": [{"type": "text", "text": "Be brief.", "cache_control": mark}],
            },
            {"role": "user", "content": "hi", "cache_control": mark},
            {"role": "user", "content": [{"type": "text", "text": "again"}]},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "f", "parameters": schema},
                "cache_control": mark,
            }
        ],
    }


def test_cache_control_is_removed_for_hosts_that_refuse_it() -> None:
    """Claude Code marks its prompts with cache_control; strict OpenAI-compatible hosts answer
    400 to it, so it is removed from messages, parts and tools, and nowhere else."""
    raw = _marked()
    sent = copy.deepcopy(raw)
    body = as_json(to_provider_request(chat(raw), "acme-large"))
    assert "cache_control" not in json.dumps(body["messages"])
    assert body["messages"][0]["content"] == [{"type": "text", "text": "Be brief."}]
    assert body["messages"][1] == {"role": "user", "content": "hi"}
    tool = body["tools"][0]
    assert "cache_control" not in tool
    # A tool's own schema may name a property cache_control: it is the caller's, kept.
    assert tool["function"]["parameters"]["properties"] == {"cache_control": {"type": "string"}}
    assert raw == sent  # the client's body is not changed in place


def test_cache_control_passes_to_hosts_that_take_it() -> None:
    raw = _marked()
    body = as_json(to_provider_request(chat(raw), "acme-large", cache_control=True))
    assert body["messages"] == raw["messages"] and body["tools"] == raw["tools"]
