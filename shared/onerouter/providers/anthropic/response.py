"""Anthropic Messages response → OpenAI chat completion: pure translation, no I/O."""

from __future__ import annotations

from typing import Any

from ..base import Target
from ..parts import Answer, arguments, tool_call
from ..parts import usage as openai_usage
from ..reasoning import encrypted_detail, text_detail
from .params import JSON_TOOL

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None, called_tools: bool) -> str:
    reason = FINISH_REASONS.get(stop_reason or "", "stop")
    # A forced `json_output` call is the answer itself, not a call for the client to make.
    return "stop" if reason == "tool_calls" and not called_tools else reason


def usage(data: dict[str, Any]) -> dict[str, Any]:
    return openai_usage(
        data.get("input_tokens") or 0,
        data.get("cache_read_input_tokens") or 0,
        data.get("cache_creation_input_tokens") or 0,
        data.get("output_tokens") or 0,
    )


def from_provider_response(data: dict[str, Any], target: Target) -> dict[str, Any]:
    answer = Answer()
    for block in data.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            answer.texts.append(block.get("text") or "")
        elif kind == "thinking":
            answer.thoughts.append(block.get("thinking") or "")
            signature = block.get("signature")
            answer.details.append(text_detail(len(answer.details), answer.thoughts[-1], signature))
        elif kind == "redacted_thinking":
            answer.details.append(encrypted_detail(len(answer.details), block.get("data") or ""))
        elif kind == "tool_use" and block.get("name") == JSON_TOOL:
            answer.texts.append(arguments(block.get("input")))
        elif kind == "tool_use":
            answer.tool_calls.append(
                tool_call(block.get("id"), block.get("name"), block.get("input"))
            )
    stop_reason = data.get("stop_reason")
    finish = finish_reason(stop_reason, bool(answer.tool_calls))
    return answer.chat_completion(
        data.get("id"), target, finish, stop_reason, usage(data.get("usage") or {})
    )
