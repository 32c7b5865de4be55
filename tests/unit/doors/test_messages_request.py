"""Golden tests: Anthropic Messages requests in, the internal chat request body out."""

from __future__ import annotations

from typing import Any

import pytest

from onerouter.api.body import validate
from onerouter.doors.messages.body import CountTokensBody, MessagesBody, parse
from onerouter.doors.messages.request import to_chat_body
from onerouter.errors import InvalidRequest
from onerouter.requests import ChatRequest

EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}
WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def chat_of(body: dict[str, Any]) -> dict[str, Any]:
    chat = to_chat_body(parse(MessagesBody, {"model": "m", "max_tokens": 100, **body}))
    validate(ChatRequest, chat)  # what the pipeline takes
    return chat


def test_a_plain_request() -> None:
    chat = chat_of(
        {
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}],
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 40,
            "stop_sequences": ["END", "STOP"],
            "metadata": {"user_id": "u-1"},
        }
    )
    assert chat == {
        "model": "m",
        "max_tokens": 100,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "stop": ["END", "STOP"],
        "user": "u-1",
    }


def test_a_stream_asks_for_usage() -> None:
    chat = chat_of({"messages": [{"role": "user", "content": "Hi"}], "stream": True})
    assert chat["stream"] is True
    assert chat["stream_options"] == {"include_usage": True}


def test_content_blocks_keep_cache_control() -> None:
    chat = chat_of(
        {
            "system": [
                {"type": "text", "text": "Rules.", "cache_control": EPHEMERAL},
                {"type": "text", "text": "More."},
            ],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Look:", "cache_control": HOUR},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
                            "cache_control": EPHEMERAL,
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                        {
                            "type": "document",
                            "title": "report.pdf",
                            "source": {
                                "type": "base64",
                                "media_type": "application/pdf",
                                "data": "JVBE",
                            },
                        },
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                            "cache_control": EPHEMERAL,
                        },
                    ],
                }
            ],
        }
    )
    assert chat["messages"] == [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "Rules.", "cache_control": EPHEMERAL},
                {"type": "text", "text": "More."},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:", "cache_control": HOUR},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,AA"},
                    "cache_control": EPHEMERAL,
                },
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {
                    "type": "file",
                    "file": {
                        "filename": "report.pdf",
                        "file_data": "data:application/pdf;base64,JVBE",
                    },
                },
                {"type": "text", "text": "notes", "cache_control": EPHEMERAL},
            ],
        },
    ]


def test_tool_use_and_results_become_tool_calls_and_tool_messages() -> None:
    chat = chat_of(
        {
            "tools": [{**WEATHER, "cache_control": EPHEMERAL}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
            "messages": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Checking."},
                        {
                            "type": "tool_use",
                            "id": "t1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        },
                        {
                            "type": "tool_use",
                            "id": "t2",
                            "name": "get_weather",
                            "input": {"city": "Rome"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "t2",
                            "content": [{"type": "text", "text": "rain"}],
                            "is_error": False,
                            "cache_control": EPHEMERAL,
                        },
                        {"type": "text", "text": "Which is warmer?"},
                    ],
                },
            ],
        }
    )
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER["input_schema"],
                "description": "Weather in a city",
            },
            "cache_control": EPHEMERAL,
        }
    ]
    assert chat["tool_choice"] == "auto"
    assert chat["parallel_tool_calls"] is False
    assert chat["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "t2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
        {
            "role": "tool",
            "tool_call_id": "t2",
            "content": [{"type": "text", "text": "rain", "cache_control": EPHEMERAL}],
        },
        {"role": "user", "content": [{"type": "text", "text": "Which is warmer?"}]},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "get_weather"},
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        ),
        (
            {"type": "any", "disable_parallel_tool_use": True},
            {"tool_choice": "required", "parallel_tool_calls": False},
        ),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: dict[str, Any]) -> None:
    chat = chat_of(
        {"messages": [{"role": "user", "content": "Hi"}], "tools": [WEATHER], "tool_choice": choice}
    )
    assert {k: chat[k] for k in ("tool_choice", "parallel_tool_calls") if k in chat} == expected


def test_signed_and_redacted_thinking_become_reasoning_details() -> None:
    chat = chat_of(
        {
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "messages": [
                {"role": "user", "content": "Hi"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "Hmm.", "signature": "sig-1"},
                        {"type": "redacted_thinking", "data": "ENC"},
                        {
                            "type": "thinking",
                            "thinking": "unsigned, from elsewhere",
                            "signature": "",
                        },
                        {"type": "text", "text": "Hello!"},
                    ],
                },
                {"role": "user", "content": "Again"},
            ],
        }
    )
    assert chat["reasoning"] == {"max_tokens": 2048}
    assert chat["messages"][1] == {
        "role": "assistant",
        "content": "Hello!",
        "reasoning_details": [
            {
                "type": "reasoning.text",
                "format": "anthropic-claude-v1",
                "index": 0,
                "text": "Hmm.",
                "signature": "sig-1",
            },
            {
                "type": "reasoning.encrypted",
                "data": "ENC",
                "format": "anthropic-claude-v1",
                "index": 1,
            },
        ],
    }


@pytest.mark.parametrize(
    ("extra", "reasoning"),
    [
        ({"thinking": {"type": "disabled"}}, {"enabled": False}),
        ({"thinking": {"type": "adaptive"}}, {"enabled": True}),
        (
            {"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}},
            {"enabled": True, "effort": "xhigh"},
        ),
        ({"output_config": {"effort": "low"}}, {"effort": "low"}),
        ({}, None),
    ],
)
def test_thinking_and_effort(extra: dict[str, Any], reasoning: dict[str, Any] | None) -> None:
    chat = chat_of({"messages": [{"role": "user", "content": "Hi"}], **extra})
    assert chat.get("reasoning") == reasoning


def test_structured_output() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    chat = chat_of(
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        }
    )
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }


def test_gateway_extras_steer_routing() -> None:
    chat = chat_of(
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "models": ["b"],
            "provider": {"order": ["x"]},
        }
    )
    assert (chat["models"], chat["provider"]) == (["b"], {"order": ["x"]})


def test_count_tokens_takes_the_prompt_without_max_tokens() -> None:
    body = parse(
        CountTokensBody,
        {"model": "m", "system": "S", "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert to_chat_body(body) == {
        "model": "m",
        "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}],
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"frobnicate": 1}, "frobnicate"),
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"temperature": 1.5}, "temperature"),
        ({"stop_sequences": ["a", "b", "c", "d", "e"]}, "stop_sequences"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0]"),
    ],
)
def test_invalid_bodies_are_400s_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_of({"messages": [{"role": "user", "content": "Hi"}], **body})
    assert caught.value.param is not None and caught.value.param.startswith(param)


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (
            [{"type": "image", "source": {"type": "file", "file_id": "f1"}}],
            "messages[0].content[0].source",
        ),
        (
            [{"type": "tool_use", "id": "t", "name": "n", "input": {}}],
            "messages[0].content[0].type",
        ),
        (
            [{"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}],
            "messages[0].content[0].source",
        ),
    ],
)
def test_what_cannot_be_carried_is_a_400(content: list[Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_of({"messages": [{"role": "user", "content": content}]})
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (
            [{"type": "image", "source": {"type": "base64"}}],
            "messages[0].content[0].source.media_type",
        ),
        ([{"type": "text"}], "messages[0].content[0].text"),
        ([{"type": "server_tool_use", "id": "x"}], "messages[0].content[0]"),
        (5, "messages[0].content"),
    ],
)
def test_a_refused_block_is_named_as_the_request_names_it(content: Any, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_of({"messages": [{"role": "user", "content": content}]})
    assert caught.value.param == param
    assert caught.value.message.startswith(f"Invalid request: {param} ")
