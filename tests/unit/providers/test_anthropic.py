"""Golden tests of the `anthropic` protocol's translation: OpenAI JSON in, Anthropic JSON out,
and back."""

from __future__ import annotations

from typing import Any

import pytest

from onerouter.errors import InvalidRequest
from onerouter.providers.anthropic import from_provider_response, to_provider_request
from onerouter.providers.base import Target
from onerouter.requests import ChatRequest, CompletionRequest, GatewayRequest
from onerouter.routing.catalog import Endpoint, Pricing, Provider

PROVIDER = Provider(id="anthropic", protocol="anthropic", base_url="https://api.anthropic.com")
ENDPOINT = Endpoint(
    provider="anthropic",
    model="claude-sonnet-4-5",
    pricing=Pricing(prompt="3", completion="15"),  # type: ignore[arg-type]
)
TARGET = Target("anthropic/claude-sonnet", PROVIDER, ENDPOINT, "sk-ant", max_output_tokens=64000)
NO_LIMIT = Target("anthropic/claude-sonnet", PROVIDER, ENDPOINT, "sk-ant")


def chat(**raw: Any) -> GatewayRequest:
    raw = {"model": "anthropic/claude-sonnet", **raw}
    return GatewayRequest("chat", ChatRequest.model_validate(raw), raw)


def translate(target: Target = TARGET, **raw: Any) -> dict[str, Any]:
    return to_provider_request(chat(**raw), target)


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


def test_system_and_developer_go_top_level_and_same_roles_merge() -> None:
    body = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {
                "role": "developer",
                "content": [
                    {"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}
                ],
            },
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "there"}]},
            {"role": "assistant", "content": "Hello"},
        ],
        user="u-1",
        stream=True,
    )
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64000,
        "system": [
            text("Be brief."),
            {"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": [text("Hi"), text("there")]},
            {"role": "assistant", "content": [text("Hello")]},
        ],
        "metadata": {"user_id": "u-1"},
        "stream": True,
    }


def test_images_and_pdfs_become_blocks() -> None:
    body = translate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                    {
                        "type": "file",
                        "file": {
                            "filename": "a.pdf",
                            "file_data": "data:application/pdf;base64,JVB",
                        },
                    },
                ],
            }
        ]
    )
    assert body["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.png"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
        },
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVB"},
            "title": "a.pdf",
        },
    ]


def test_unsupported_part_is_a_400_naming_the_part_and_the_model() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[{"role": "user", "content": [text("listen"), audio]}])
    assert caught.value.status == 400
    assert "messages[0].content[1]" in caught.value.message
    assert "input_audio" in caught.value.message
    assert "anthropic/claude-sonnet" in caught.value.message


def test_tool_round_trip_keeps_ids_and_merges_results() -> None:
    weather = {"type": "object", "properties": {"city": {"type": "string"}}}
    body = translate(
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "toolu_2",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": [text("rain")]},
        ],
        tools=[
            {
                "type": "function",
                "function": {"name": "weather", "description": "Weather", "parameters": weather},
            }
        ],
        tool_choice="required",
        parallel_tool_calls=False,
    )
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [text("rain")]},
            ],
        },
    ]
    assert body["tools"] == [{"name": "weather", "description": "Weather", "input_schema": weather}]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    body = translate(messages=[{"role": "user", "content": "x"}], tools=tools, tool_choice=choice)
    assert body["tool_choice"] == expected
    assert body["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]


def test_bad_tool_arguments_are_a_400() -> None:
    call = {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    with pytest.raises(InvalidRequest, match=r"messages\[1\]\.tool_calls\[0\]"):
        translate(
            messages=[{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}]
        )


def test_parameters_clamped_and_renamed() -> None:
    body = translate(
        NO_LIMIT,
        messages=[{"role": "user", "content": "x"}],
        temperature=1.7,
        top_p=0.9,
        top_k=40,
        stop="END",
        seed=7,
    )
    assert body["max_tokens"] == 4096
    assert body["temperature"] == 1.0
    assert (body["top_p"], body["top_k"], body["stop_sequences"]) == (0.9, 40, ["END"])
    assert "seed" not in body
    assert translate(messages=[{"role": "user", "content": "x"}], max_tokens=10)["max_tokens"] == 10
    asked = translate(messages=[{"role": "user", "content": "x"}], max_completion_tokens=20)
    assert asked["max_tokens"] == 20


def test_reasoning_becomes_a_thinking_budget_below_max_tokens() -> None:
    body = translate(
        messages=[{"role": "user", "content": "x"}],
        reasoning={"effort": "high"},
        max_tokens=1000,
        temperature=0.2,
    )
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 24576}
    assert body["max_tokens"] > 24576
    assert "temperature" not in body
    small = translate(messages=[{"role": "user", "content": "x"}], reasoning={"max_tokens": 10})
    assert small["thinking"]["budget_tokens"] == 1024
    low = translate(messages=[{"role": "user", "content": "x"}], reasoning_effort="low")
    assert low["thinking"]["budget_tokens"] == 1024
    off = translate(messages=[{"role": "user", "content": "x"}], reasoning={"effort": "none"})
    assert "thinking" not in off


def test_json_schema_is_a_forced_tool() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    body = translate(
        messages=[{"role": "user", "content": "x"}],
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": schema}},
    )
    assert body["tools"][0]["name"] == "json_output"
    assert body["tools"][0]["input_schema"] == schema
    assert body["tool_choice"] == {"type": "tool", "name": "json_output"}


def test_legacy_prompt_is_one_user_turn() -> None:
    raw = {"model": "m", "prompt": "Once upon"}
    request = GatewayRequest("completion", CompletionRequest.model_validate(raw), raw)
    body = to_provider_request(request, TARGET)
    assert body["messages"] == [{"role": "user", "content": [text("Once upon")]}]


# ------------------------------------------------------------------------------ responses


def test_response_text_thinking_tools_and_usage() -> None:
    data = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "s"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 7,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 5,
        },
    }
    out = from_provider_response(data, TARGET)
    assert isinstance(out.pop("created"), int)
    assert out == {
        "id": "msg_1",
        "object": "chat.completion",
        "model": "anthropic/claude-sonnet",
        "provider": "anthropic",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me check.",
                    "reasoning": "Hmm.",
                    "reasoning_details": [
                        {
                            "type": "reasoning.text",
                            "text": "Hmm.",
                            "signature": "s",
                            "format": "anthropic-claude-v1",
                            "index": 0,
                        }
                    ],
                    "tool_calls": [
                        {
                            "id": "toolu_9",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
                "native_finish_reason": "tool_use",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 115,
            "completion_tokens": 7,
            "total_tokens": 122,
            "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 5},
        },
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
    ],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    data = {"type": "message", "content": [text("x")], "stop_reason": stop_reason, "usage": {}}
    choice = from_provider_response(data, TARGET)["choices"][0]
    assert (choice["finish_reason"], choice["native_finish_reason"]) == (finish, stop_reason)
    assert choice["message"]["content"] == "x"


def test_json_output_tool_comes_back_as_content() -> None:
    block = {"type": "tool_use", "id": "t", "name": "json_output", "input": {"n": 1}}
    data = {"type": "message", "content": [block], "stop_reason": "tool_use", "usage": {}}
    choice = from_provider_response(data, TARGET)["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": '{"n":1}'}
    assert choice["finish_reason"] == "stop"
