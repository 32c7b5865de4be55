"""Golden tests: chat completions in, Anthropic Messages out."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from onerouter.doors.messages.answer import stop_reason, to_message

CLAUDE_ANSWER: dict[str, Any] = {
    "id": "gen-1",
    "object": "chat.completion",
    "created": 1,
    "model": "anthropic/claude",
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
                        "format": "anthropic-claude-v1",
                        "index": 0,
                        "text": "Hmm.",
                        "signature": "sig",
                    },
                    {
                        "type": "reasoning.encrypted",
                        "format": "anthropic-claude-v1",
                        "index": 1,
                        "data": "ENC",
                    },
                ],
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
            "native_finish_reason": "tool_use",
            "logprobs": None,
        }
    ],
    "usage": {
        "prompt_tokens": 150,
        "completion_tokens": 30,
        "total_tokens": 180,
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20},
    },
}


def test_a_claude_answer_with_thinking_and_a_tool_call() -> None:
    message = to_message(CLAUDE_ANSWER)
    assert message == {
        "id": "gen-1",
        "type": "message",
        "role": "assistant",
        "model": "anthropic/claude",
        "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "ENC"},
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 30,
            "output_tokens": 30,
            "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 100,
        },
    }
    # The SDK's own model takes it as it is.
    assert anthropic.types.Message.model_validate(message).content[0].type == "thinking"


def test_an_openai_answer_with_reasoning_text_only() -> None:
    answer = {
        "id": "gen-2",
        "model": "openai/o",
        "choices": [
            {
                "message": {"role": "assistant", "content": "Hi", "reasoning": "thought"},
                "finish_reason": "length",
                "native_finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }
    message = to_message(answer)
    assert message["content"] == [
        {"type": "thinking", "thinking": "thought", "signature": ""},
        {"type": "text", "text": "Hi"},
    ]
    assert message["stop_reason"] == "max_tokens"
    assert message["usage"] == {
        "input_tokens": 5,
        "output_tokens": 7,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    anthropic.types.Message.model_validate(message)


@pytest.mark.parametrize(
    ("finish", "native", "expected"),
    [
        ("stop", "end_turn", "end_turn"),
        ("stop", "stop_sequence", "stop_sequence"),
        ("stop", "pause_turn", "pause_turn"),
        ("length", "max_tokens", "max_tokens"),
        ("tool_calls", "tool_use", "tool_use"),
        ("content_filter", "refusal", "refusal"),
        # A forced JSON tool answers as text: Claude's tool_use is not the client's.
        ("stop", "tool_use", "end_turn"),
        ("stop", "STOP", "end_turn"),  # Gemini's own word
        ("length", None, "max_tokens"),
        ("tool_calls", None, "tool_use"),
        ("content_filter", None, "refusal"),
        (None, None, "end_turn"),
    ],
)
def test_stop_reasons(finish: Any, native: Any, expected: str) -> None:
    assert stop_reason(finish, native) == expected


def test_arguments_that_are_not_an_object_give_an_empty_input() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1"}}
    answer = {"choices": [{"message": {"tool_calls": [call]}, "finish_reason": "tool_calls"}]}
    assert to_message(answer)["content"] == [
        {"type": "tool_use", "id": "c", "name": "f", "input": {}}
    ]
