"""Bedrock Converse response → OpenAI chat completion: pure translation, no I/O."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..anthropic.params import JSON_TOOL
from ..base import Target
from ..parts import arguments
from ..parts import usage as openai_usage
from ..reasoning import encrypted_detail, text_detail

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def finish_reason(stop_reason: str | None, called_tools: bool = True) -> str:
    reason = FINISH_REASONS.get(stop_reason or "", "stop")
    # A forced `json_output` call is the answer itself, not a call for the client to make.
    return "stop" if reason == "tool_calls" and not called_tools else reason


def generation_id() -> str:
    """Converse answers carry no id of their own."""
    return f"gen-{uuid.uuid4().hex}"


def usage(data: dict[str, Any]) -> dict[str, Any]:
    return openai_usage(
        data.get("inputTokens") or 0,
        data.get("cacheReadInputTokens") or 0,
        data.get("cacheWriteInputTokens") or 0,
        data.get("outputTokens") or 0,
    )


def from_provider_response(data: dict[str, Any], target: Target) -> dict[str, Any]:
    texts: list[str] = []
    thoughts: list[str] = []
    details: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    message = (data.get("output") or {}).get("message") or {}
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        if "text" in block:
            texts.append(block.get("text") or "")
        elif "reasoningContent" in block:
            content = block["reasoningContent"] or {}
            if isinstance(content.get("redactedContent"), str):
                details.append(encrypted_detail(len(details), content["redactedContent"]))
                continue
            reasoning = content.get("reasoningText") or {}
            thoughts.append(reasoning.get("text") or "")
            details.append(text_detail(len(details), thoughts[-1], reasoning.get("signature")))
        elif "toolUse" in block and (block["toolUse"] or {}).get("name") == JSON_TOOL:
            texts.append(arguments(block["toolUse"].get("input")))
        elif "toolUse" in block:
            call = block["toolUse"] or {}
            tool_calls.append(
                {
                    "id": call.get("toolUseId"),
                    "type": "function",
                    "function": {
                        "name": call.get("name"),
                        "arguments": arguments(call.get("input")),
                    },
                }
            )
    answer: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if tool_calls:
        answer["tool_calls"] = tool_calls
        answer["content"] = answer["content"] or None
    if thoughts:
        answer["reasoning"] = "".join(thoughts)
    if details:
        answer["reasoning_details"] = details
    stop_reason = data.get("stopReason")
    choice = {
        "index": 0,
        "message": answer,
        "finish_reason": finish_reason(stop_reason, bool(tool_calls)),
        "native_finish_reason": stop_reason,
        "logprobs": None,
    }
    return {
        "id": generation_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": target.model_id,
        "provider": target.provider.id,
        "choices": [choice],
        "usage": usage(data.get("usage") or {}),
    }
