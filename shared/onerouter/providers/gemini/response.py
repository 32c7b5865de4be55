"""A Gemini `GenerateContentResponse` as an OpenAI chat completion (or legacy completion)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from ..base import Target

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def finish_reason(native: str | None, has_tool_calls: bool) -> str | None:
    if native is None:
        return None
    if has_tool_calls and native == "STOP":
        return "tool_calls"
    return FINISH_REASONS.get(native, "stop")


def tool_call(part: dict[str, Any], number: int) -> dict[str, Any]:
    """An OpenAI tool call from a `functionCall` part; Gemini gives no id, so we number them.

    The ids only have to be unique within the conversation's turn: a later request maps each
    `tool` result back to the name of the call with that id, in message order.
    """
    call = part["functionCall"]
    out: dict[str, Any] = {
        "id": call.get("id") or f"call_{number}",
        "type": "function",
        "function": {"name": call.get("name", ""), "arguments": _json(call.get("args") or {})},
    }
    if part.get("thoughtSignature"):
        # Google's own OpenAI-compatible endpoint carries the signature here; clients echo it.
        out["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
    return out


def _json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def split_parts(parts: list[Any], first_call: int = 0) -> tuple[str, str, list[dict[str, Any]]]:
    """(text, reasoning text, tool calls) of a candidate's parts."""
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if "functionCall" in part:
            calls.append(tool_call(part, first_call + len(calls)))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else text).append(part["text"])
    return "".join(text), "".join(thoughts), calls


def usage(metadata: Any) -> dict[str, Any] | None:
    if not isinstance(metadata, dict):
        return None
    prompt = int(metadata.get("promptTokenCount") or 0)
    thoughts = int(metadata.get("thoughtsTokenCount") or 0)
    completion = int(metadata.get("candidatesTokenCount") or 0) + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": int(metadata.get("cachedContentTokenCount") or 0)
        },
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def blocked_reason(data: dict[str, Any]) -> str | None:
    """The prompt's block reason when Gemini refused to answer at all."""
    feedback = data.get("promptFeedback")
    if data.get("candidates") or not isinstance(feedback, dict):
        return None
    reason = feedback.get("blockReason")
    return str(reason) if reason else None


def from_provider_response(
    data: dict[str, Any], target: Target, operation: str = "chat"
) -> dict[str, Any]:
    choices = []
    for i, candidate in enumerate(data.get("candidates") or ()):
        if not isinstance(candidate, dict):
            continue
        parts = (candidate.get("content") or {}).get("parts") or []
        text, thoughts, calls = split_parts(parts)
        native = candidate.get("finishReason")
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if thoughts:
            message["reasoning"] = thoughts
        if calls:
            message["tool_calls"] = calls
        choices.append(
            {
                "index": candidate.get("index", i),
                "message": message,
                "finish_reason": finish_reason(native, bool(calls)),
                "native_finish_reason": native,
                "logprobs": None,
            }
        )
    blocked = blocked_reason(data)
    if blocked:
        choices.append(
            {
                "index": 0,
                "message": {"role": "assistant", "content": None},
                "finish_reason": "content_filter",
                "native_finish_reason": blocked,
                "logprobs": None,
            }
        )
    body: dict[str, Any] = {
        "id": data.get("responseId") or "",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": target.model_id,
        "provider": target.provider.id,
        "choices": choices,
    }
    if (counted := usage(data.get("usageMetadata"))) is not None:
        body["usage"] = counted
    return as_text_completion(body) if operation == "completion" else body


def as_text_completion(body: dict[str, Any]) -> dict[str, Any]:
    """Legacy completions: the message's text becomes the choice's `text`."""
    body["object"] = "text_completion"
    for choice in body["choices"]:
        message = choice.pop("message", {})
        choice["text"] = message.get("content") or ""
    return body
