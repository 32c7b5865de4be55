"""A chat completion as a Responses API `Response` object, and the pieces a stream builds it from.

Item ids derive from the response id, which derives from the generation id, so one request's
ids are stable across its whole answer and its stream.
"""

from __future__ import annotations

import time
from typing import Any

from . import reasoning

# chat finish_reason -> the Responses `incomplete_details.reason`; any other reason completes.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def response_id(generation_id: str) -> str:
    return f"resp_{generation_id}"


def item_id(response: str, kind: str, index: int | None = None) -> str:
    """`msg_…`, `rs_…`, `fc_…_<n>`: an output item's id within response `response`."""
    base = response.removeprefix("resp_")
    return f"{kind}_{base}" if index is None else f"{kind}_{base}_{index}"


def skeleton(
    rid: str, body: dict[str, Any], model: Any, created_at: int | None = None
) -> dict[str, Any]:
    """The response before any output: what the request asked for, echoed as the API does."""
    asked = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else None
    return {
        "id": rid,
        "object": "response",
        "created_at": created_at if created_at is not None else int(time.time()),
        "status": "in_progress",
        "model": model if isinstance(model, str) else body.get("model"),
        "output": [],
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "max_output_tokens": body.get("max_output_tokens"),
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "previous_response_id": None,
        "reasoning": (
            {"effort": asked.get("effort"), "summary": asked.get("summary")} if asked else None
        ),
        "store": False,
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "truncation": "disabled",
        "usage": None,
        "user": body.get("user"),
    }


def finish(response: dict[str, Any], finish_reason: Any) -> str:
    """Sets the final status from the chat finish_reason; returns it."""
    reason = _INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None
    response["status"] = "incomplete" if reason else "completed"
    response["incomplete_details"] = {"reason": reason} if reason else None
    return str(response["status"])


def reasoning_item(rid: str, text: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": item_id(rid, "rs"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    if (sealed := reasoning.encode(details)) is not None:
        item["encrypted_content"] = sealed
    return item


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(
    rid: str, text: str, status: str, refusal: str | None = None, index: int | None = None
) -> dict[str, Any]:
    content = [output_text(text)] if text or not refusal else []
    if refusal:
        content.append({"type": "refusal", "refusal": refusal})
    return {
        "id": item_id(rid, "msg", index),
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def function_call_item(
    rid: str, index: int, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id(rid, "fc", index),
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def usage(chat: Any) -> dict[str, Any] | None:
    """Chat usage in the Responses shape; OneRouter's cost, when asked for, rides along."""
    if not isinstance(chat, dict):
        return None
    prompt = chat.get("prompt_tokens") or 0
    completion = chat.get("completion_tokens") or 0
    prompt_details = chat.get("prompt_tokens_details") or {}
    completion_details = chat.get("completion_tokens_details") or {}
    out: dict[str, Any] = {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": prompt_details.get("cached_tokens") or 0,
            "cache_write_tokens": prompt_details.get("cache_write_tokens") or 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": completion_details.get("reasoning_tokens") or 0
        },
        "total_tokens": chat.get("total_tokens") or prompt + completion,
    }
    for extra in ("cost", "cost_details"):
        if extra in chat:
            out[extra] = chat[extra]
    return out


def extras(response: dict[str, Any], chat: dict[str, Any]) -> None:
    """What OneRouter adds to every answer: who served it, and its cost when asked."""
    for name in ("provider", "cost", "cost_details"):
        if name in chat:
            response[name] = chat[name]


def from_chat_completion(
    completion: dict[str, Any], rid: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The Response for a whole chat completion (its first choice)."""
    response = skeleton(rid, body, completion.get("model"), completion.get("created"))
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    status = finish(response, choice.get("finish_reason"))
    output = response["output"]
    thought = message.get("reasoning")
    details = message.get("reasoning_details")
    if thought or details:
        text = thought if isinstance(thought, str) else ""
        output.append(reasoning_item(rid, text, details if isinstance(details, list) else []))
    content, refusal = message.get("content"), message.get("refusal")
    calls = message.get("tool_calls") or []
    if content or refusal or not calls:
        text = content if isinstance(content, str) else ""
        output.append(message_item(rid, text, status, refusal if refusal else None))
    for k, call in enumerate(calls):
        function = call.get("function") or {}
        output.append(
            function_call_item(
                rid,
                k,
                call.get("id") or item_id(rid, "call", k),
                function.get("name") or "",
                function.get("arguments") or "",
                "completed",
            )
        )
    response["usage"] = usage(completion.get("usage"))
    extras(response, completion)
    return response
