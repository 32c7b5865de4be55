"""A chat completion → an Anthropic Message: content blocks, stop reason, usage."""

from __future__ import annotations

from typing import Any

import orjson

from ...providers.reasoning import signed_thinking

Json = dict[str, Any]

# The chat finish reason for each of Anthropic's stop reasons (as the Claude adapters map them).
_FINISH_OF = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_STOP_OF = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish: Any, native: Any = None) -> str:
    """Anthropic's stop reason: Claude's own when it served and agrees with the finish reason
    (a forced JSON tool finishes as `stop`, not `tool_use`), else the finish reason's."""
    if isinstance(native, str) and native in _FINISH_OF and _FINISH_OF[native] == finish:
        return native
    return _STOP_OF.get(finish, "end_turn") if isinstance(finish, str) else "end_turn"


def usage(chat: Any) -> Json:
    """Anthropic's usage from OpenAI's: input tokens exclude those read from or written to the
    cache, which Anthropic counts apart."""
    chat = chat if isinstance(chat, dict) else {}
    details = chat.get("prompt_tokens_details") or {}
    read = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    prompt = int(chat.get("prompt_tokens") or 0)
    return {
        "input_tokens": max(prompt - read - written, 0),
        "output_tokens": int(chat.get("completion_tokens") or 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
    }


def thinking_blocks(message: Json) -> list[Json]:
    """Claude's signed (or redacted) thinking as it wrote it; other models' reasoning text as
    one unsigned thinking block."""
    signed = signed_thinking(message)
    if signed:
        return [
            {"type": "thinking", "thinking": text, "signature": signature}
            if kind == "text"
            else {"type": "redacted_thinking", "data": text}
            for kind, text, signature in signed
        ]
    reasoning = message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        return [{"type": "thinking", "thinking": reasoning, "signature": ""}]
    return []


def tool_input(arguments: Any) -> Json:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def to_message(answer: Json) -> Json:
    choices = answer.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content = thinking_blocks(message)
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": tool_input(function.get("arguments")),
            }
        )
    return {
        "id": answer.get("id"),
        "type": "message",
        "role": "assistant",
        "model": answer.get("model"),
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason"), choice.get("native_finish_reason")),
        "stop_sequence": None,
        "usage": usage(answer.get("usage")),
    }
