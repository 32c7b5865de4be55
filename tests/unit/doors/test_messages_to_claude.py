"""A Messages request for a Claude model reaches Anthropic as it was sent: through the door's
translation and the `anthropic` adapter, nothing it carries is lost (cache breakpoints on
system, tools, text, images and tool results, signed thinking, tool choice, sampling,
metadata), and what arrives passes the `anthropic` SDK's own request types."""

from __future__ import annotations

from typing import Any

from onerouter.doors.messages.body import MessagesBody, parse
from onerouter.doors.messages.request import to_chat_body
from onerouter.providers import bedrock
from onerouter.providers.anthropic import to_provider_request
from onerouter.providers.openai import to_provider_request as openai_request
from onerouter.requests import ChatRequest, GatewayRequest
from tests.fakes.checks import anthropic_problem
from tests.unit.providers import test_bedrock as on_bedrock
from tests.unit.providers.test_anthropic import NO_LIMIT

CACHED = {"type": "ephemeral"}
PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
PDF = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}

BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 8000,
    "system": [{"type": "text", "text": "You are helpful.", "cache_control": CACHED}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": PNG, "cache_control": CACHED},
                {"type": "document", "source": PDF, "title": "a.pdf"},
                {"type": "text", "text": "What is the weather?"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "sig-1"},
                {"type": "redacted_thinking", "data": "ENC"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"c": "P"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "sunny", "cache_control": CACHED}],
                },
                {"type": "text", "text": "Thanks, and tomorrow?"},
            ],
        },
    ],
    "tools": [
        {
            "name": "weather",
            "description": "Weather",
            "input_schema": {"type": "object", "properties": {"c": {"type": "string"}}},
            "cache_control": CACHED,
        }
    ],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "stop_sequences": ["END"],
    "metadata": {"user_id": "u-1"},
    "top_p": 0.97,
    "stream": True,
}


def to_claude(body: dict[str, Any]) -> dict[str, Any]:
    chat = to_chat_body(parse(MessagesBody, body))
    request = GatewayRequest("chat", ChatRequest.model_validate(chat), chat)
    return to_provider_request(request, NO_LIMIT)


def test_a_full_request_reaches_claude_unchanged() -> None:
    sent = to_claude(BODY)
    assert anthropic_problem(sent) is None
    assert sent == BODY


def test_sampling_without_thinking_reaches_claude() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "temperature": 0.3,
        "top_k": 20,
    }
    sent = to_claude(body)
    assert anthropic_problem(sent) is None
    assert sent == body


def _failed_tool_turns() -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "timeout",
                        "is_error": True,
                    }
                ],
            },
        ],
    }


def test_a_failed_tool_result_reaches_claude_as_an_error() -> None:
    sent = to_claude(_failed_tool_turns())
    assert anthropic_problem(sent) is None
    assert sent["messages"][2]["content"][0]["is_error"] is True


def test_a_failed_tool_result_elsewhere() -> None:
    """Bedrock's Converse says so in the tool result's status; OpenAI-compatible hosts have no
    place for it and never see the flag."""
    chat = to_chat_body(parse(MessagesBody, _failed_tool_turns()))
    request = GatewayRequest("chat", ChatRequest.model_validate(chat), chat)
    converse = bedrock.to_provider_request(request, on_bedrock.TARGET)
    assert converse["messages"][2]["content"][0]["toolResult"]["status"] == "error"
    assert "is_error" not in str(openai_request(request, "gpt"))
