"""Bedrock Converse response → OpenAI chat completion: pure translation, no I/O."""

from __future__ import annotations

import uuid
from typing import Any

from ..anthropic.params import JSON_TOOL
from ..base import Target
from ..parts import Answer, arguments, tool_call
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
    answer = Answer()
    message = (data.get("output") or {}).get("message") or {}
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        if "text" in block:
            answer.texts.append(block.get("text") or "")
        elif "reasoningContent" in block:
            content = block["reasoningContent"] or {}
            if isinstance(content.get("redactedContent"), str):
                redacted = encrypted_detail(len(answer.details), content["redactedContent"])
                answer.details.append(redacted)
                continue
            reasoning = content.get("reasoningText") or {}
            answer.thoughts.append(reasoning.get("text") or "")
            signature = reasoning.get("signature")
            answer.details.append(text_detail(len(answer.details), answer.thoughts[-1], signature))
        elif "toolUse" in block and (block["toolUse"] or {}).get("name") == JSON_TOOL:
            answer.texts.append(arguments(block["toolUse"].get("input")))
        elif "toolUse" in block:
            call = block["toolUse"] or {}
            answer.tool_calls.append(
                tool_call(call.get("toolUseId"), call.get("name"), call.get("input"))
            )
    stop_reason = data.get("stopReason")
    finish = finish_reason(stop_reason, bool(answer.tool_calls))
    return answer.chat_completion(
        generation_id(), target, finish, stop_reason, usage(data.get("usage") or {})
    )
