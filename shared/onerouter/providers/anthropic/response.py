"""Anthropic Messages response → OpenAI chat completion: pure translation, no I/O."""

from __future__ import annotations

import time
from typing import Any

from ..base import Target
from ..parts import arguments
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
    texts: list[str] = []
    thoughts: list[str] = []
    details: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for block in data.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "thinking":
            thoughts.append(block.get("thinking") or "")
            details.append(text_detail(len(details), thoughts[-1], block.get("signature")))
        elif kind == "redacted_thinking":
            details.append(encrypted_detail(len(details), block.get("data") or ""))
        elif kind == "tool_use" and block.get("name") == JSON_TOOL:
            texts.append(arguments(block.get("input")))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": arguments(block.get("input")),
                    },
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if tool_calls:
        message["tool_calls"] = tool_calls
        message["content"] = message["content"] or None
    if thoughts:
        message["reasoning"] = "".join(thoughts)
    if details:
        message["reasoning_details"] = details
    stop_reason = data.get("stop_reason")
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": finish_reason(stop_reason, bool(tool_calls)),
        "native_finish_reason": stop_reason,
        "logprobs": None,
    }
    return {
        "id": data.get("id"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": target.model_id,
        "provider": target.provider.id,
        "choices": [choice],
        "usage": usage(data.get("usage") or {}),
    }
