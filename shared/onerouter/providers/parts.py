"""Pieces every translation needs: content parts read from OpenAI's shape, usage written to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import InvalidRequest
from .base import Target


def unsupported(part: dict[str, Any], where: str, model: str) -> InvalidRequest:
    return InvalidRequest(
        f"{where}: content part of type {part.get('type')!r} is not supported by {model}",
        param=where,
    )


def data_url(url: str, where: str, model: str) -> tuple[str, str]:
    """(media type, base64 data) of a `data:<media>;base64,<data>` URL."""
    head, comma, data = url.partition(",")
    if not comma or not head.startswith("data:") or not head.endswith(";base64"):
        raise InvalidRequest(f"{where}: {model} takes only base64 data: URLs", param=where)
    return head[5:-7], data


def image_url(part: dict[str, Any], where: str) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise InvalidRequest(f"{where}: image_url.url is missing", param=where)
    return url


def usage(fresh: int, read: int, written: int, completion: int) -> dict[str, Any]:
    """OpenAI's usage from providers that count cached prompt tokens apart from fresh ones."""
    prompt = fresh + read + written
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": written},
    }


def arguments(tool_input: Any) -> str:
    """A tool call's input object as OpenAI's JSON `arguments` string."""
    return orjson.dumps(tool_input if tool_input is not None else {}).decode()


def assistant_calls(
    message: dict[str, Any], where: str
) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """(id, name, input object) of each of an assistant message's tool calls; arguments that
    are not a JSON object are a 400 naming them."""
    for k, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        try:
            tool_input = orjson.loads(function.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            tool_input = None
        if not isinstance(tool_input, dict):
            here = f"{where}.tool_calls[{k}].function.arguments"
            raise InvalidRequest(f"{here}: not a JSON object", param=here)
        yield call.get("id"), function.get("name"), tool_input


def tool_call(call_id: Any, name: Any, tool_input: Any) -> dict[str, Any]:
    """A tool call the model made, in OpenAI's shape."""
    function = {"name": name, "arguments": arguments(tool_input)}
    return {"id": call_id, "type": "function", "function": function}


@dataclass
class Answer:
    """What a provider's whole answer said, read from its own shape, for `chat_completion`."""

    texts: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)  # reasoning_details
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def chat_completion(
        self,
        answer_id: Any,
        target: Target,
        finish_reason: str,
        native_finish_reason: Any,
        usage: dict[str, Any],
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.texts)}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
            message["content"] = message["content"] or None
        if self.thoughts:
            message["reasoning"] = "".join(self.thoughts)
        if self.details:
            message["reasoning_details"] = self.details
        choice = {
            "index": 0,
            "message": message,
            "finish_reason": finish_reason,
            "native_finish_reason": native_finish_reason,
            "logprobs": None,
        }
        return {
            "id": answer_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": target.model_id,
            "provider": target.provider.id,
            "choices": [choice],
            "usage": usage,
        }
