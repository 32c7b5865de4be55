"""A Responses request body in, the chat request body out: golden cases and the clear 400s."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import CompletionCreateParams
from pydantic import TypeAdapter

from onerouter.api.body import validate
from onerouter.doors.responses import reasoning
from onerouter.doors.responses.request import StatelessEndpoint, renamed, to_chat_body
from onerouter.errors import InvalidRequest
from onerouter.requests import ChatRequest

CHAT_PARAMS: TypeAdapter[Any] = TypeAdapter(CompletionCreateParams)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}


def _chat(body: dict[str, Any]) -> dict[str, Any]:
    chat = to_chat_body(body)
    ChatRequest.model_validate(chat)  # what the gateway validates next
    return chat


def test_string_input_is_one_user_message() -> None:
    assert _chat({"model": "m", "input": "hi"}) == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_everything_a_request_may_say() -> None:
    body = {
        "model": "openai/gpt-4o",
        "instructions": "Be brief.",
        "input": [
            {"role": "developer", "content": "Answer in French."},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in these?"},
                    {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "low"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBO"},
                    {
                        "type": "input_file",
                        "filename": "a.pdf",
                        "file_data": "data:application/pdf;base64,JVBE",
                    },
                ],
            },
        ],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "parallel_tool_calls": False,
        "text": {
            "format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}},
            "verbosity": "low",
        },
        "reasoning": {"effort": "high", "summary": "auto"},
        "max_output_tokens": 300,
        "temperature": 0.5,
        "top_p": 0.8,
        "user": "u-1",
        "metadata": {"a": "b"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "truncation": "disabled",
        "stream": True,
        "seed": 7,  # not a Responses field: passed on like any field the gateway does not know
        "provider": {"sort": "price"},  # OneRouter's own, as on chat completions
        "models": ["openai/gpt-4o-mini"],
    }
    assert _chat(body) == {
        "model": "openai/gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer in French."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                    {
                        "type": "file",
                        "file": {
                            "file_data": "data:application/pdf;base64,JVBE",
                            "filename": "a.pdf",
                        },
                    },
                ],
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "The weather in a city.",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                    "strict": True,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": {"type": "object"}},
        },
        "verbosity": "low",
        "reasoning": {"effort": "high"},
        "max_completion_tokens": 300,
        "temperature": 0.5,
        "top_p": 0.8,
        "user": "u-1",
        "stream": True,
        "stream_options": {"include_usage": True},
        "seed": 7,
        "provider": {"sort": "price"},
        "models": ["openai/gpt-4o-mini"],
    }


def test_a_conversation_with_calls_and_their_outputs() -> None:
    sealed = reasoning.encode([{"type": "reasoning.text", "text": "hm", "signature": "sig"}])
    body = {
        "model": "m",
        "input": [
            {"role": "user", "content": "weather in Paris and Oslo?"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": sealed},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
            },
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": '{"c":"Paris"}'},
            {"type": "function_call", "call_id": "c2", "name": "w", "arguments": '{"c":"Oslo"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "rain"}],
            },
            # Another service's reasoning means nothing here and is left out.
            {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAAA"},
            {"role": "assistant", "content": "Paris is sunny, Oslo rainy."},
            {"role": "user", "content": "thanks"},
        ],
    }
    chat = _chat(body)
    assert chat["messages"] == [
        {"role": "user", "content": "weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "reasoning_details": [{"type": "reasoning.text", "text": "hm", "signature": "sig"}],
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"c":"Paris"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"c":"Oslo"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
        {"role": "assistant", "content": "Paris is sunny, Oslo rainy."},
        {"role": "user", "content": "thanks"},
    ]
    # What OpenAI's own SDK would send as a chat request, but for the gateway's extras.
    CHAT_PARAMS.validate_python(
        {
            **chat,
            "messages": [
                {k: v for k, v in m.items() if k != "reasoning_details"} for m in chat["messages"]
            ],
        }
    )


def test_text_after_a_call_is_a_turn_of_its_own() -> None:
    chat = _chat(
        {
            "model": "m",
            "input": [
                {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
                {"role": "assistant", "content": "and then"},
            ],
        }
    )
    assert [(m["role"], m["content"], "tool_calls" in m) for m in chat["messages"]] == [
        ("assistant", None, True),
        ("assistant", "and then", False),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ({"format": {"type": "text"}}, None),
        ({"format": {"type": "json_object"}}, {"type": "json_object"}),
        (
            {"format": {"type": "json_schema", "name": "n", "schema": {}, "strict": False}},
            {"type": "json_schema", "json_schema": {"name": "n", "schema": {}, "strict": False}},
        ),
    ],
)
def test_text_format_is_the_response_format(text: Any, expected: Any) -> None:
    chat = _chat({"model": "m", "input": "x", "text": text})
    assert chat.get("response_format") == expected


def test_allowed_tools_offer_only_those_tools() -> None:
    other = {**WEATHER, "name": "get_time"}
    chat = _chat(
        {
            "model": "m",
            "input": "x",
            "tools": [WEATHER, other],
            "tool_choice": {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "get_time"}],
            },
        }
    )
    assert [t["function"]["name"] for t in chat["tools"]] == ["get_time"]
    assert chat["tool_choice"] == "required"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"store": True}, "store"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"background": True}, "background"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            "input[0].content[0].file_id",
        ),
    ],
)
def test_stored_state_is_refused_as_stateless(body: dict[str, Any], param: str) -> None:
    with pytest.raises(StatelessEndpoint) as caught:
        to_chat_body({"model": "m", "input": "x", **body})
    assert caught.value.status == 400 and caught.value.code == "stateless_endpoint"
    assert caught.value.param == param
    assert "stateless" in caught.value.message
    assert "whole conversation as `input`" in caught.value.message


def test_store_false_is_fine() -> None:
    assert "store" not in _chat({"model": "m", "input": "x", "store": False})


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"tools": [{"type": "web_search"}]}, "'web_search'"),
        ({"tools": [WEATHER, {"type": "file_search", "vector_store_ids": []}]}, "tools[1]"),
        ({"input": [{"type": "computer_call_output", "call_id": "c"}]}, "'computer_call_output'"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "call_id"),
        ({"input": [{"role": "critic", "content": "x"}]}, "role"),
        ({"input": []}, "input: is required"),
        ({"tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
        ({"text": {"format": {"type": "yaml"}}}, "text.format"),
    ],
)
def test_what_cannot_be_translated_is_a_400_naming_it(body: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_chat_body({"model": "m", "input": "x", **body})
    assert caught.value.status == 400
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("body", "param"), [({"max_output_tokens": 0}, "max_output_tokens"), ({"top_p": 3}, "top_p")]
)
def test_chat_validation_errors_name_the_responses_parameter(
    body: dict[str, Any], param: str
) -> None:
    chat = to_chat_body({"model": "m", "input": "x", **body})
    with pytest.raises(InvalidRequest) as caught:
        try:
            validate(ChatRequest, chat)
        except InvalidRequest as invalid:
            raise renamed(invalid) from None
    assert caught.value.param == param
    assert caught.value.message.startswith(f"Invalid request: {param} ")


@pytest.mark.parametrize(
    ("chat", "responses"),
    [
        ("response_format.type", "text.format.type"),
        ("messages[3].content", "input"),
        ("max_completion_tokens", "max_output_tokens"),
        ("tools[0].function.name", "tools[0].function.name"),
    ],
)
def test_renamed(chat: str, responses: str) -> None:
    error = renamed(InvalidRequest(f"Invalid request: {chat} is wrong.", param=chat))
    assert (error.param, error.message) == (responses, f"Invalid request: {responses} is wrong.")
