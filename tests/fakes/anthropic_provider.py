"""A fake Anthropic Messages API: a real loopback HTTP server speaking Anthropic's wire format.

Usage::

    with FakeAnthropicProvider() as fake:
        fake.tool_use("get_weather", {"city": "Paris"})  # next answers call a tool
        fake.fail(529)                                   # next request: overloaded_error
        fake.drop_stream(after_events=4)                 # next stream breaks off
        assert fake.requests[-1].body["max_tokens"] == 4096

Replies are deterministic: ``default_reply`` unless ``reply(text)`` was called.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.base import FakeProvider, Script
from tests.fakes.checks import anthropic_problem
from tests.fakes.openai_provider import split_reply

DEFAULT_API_KEY = "sk-ant-fake"
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "api_error")
    text = message or ("Overloaded" if status == 529 else f"Fake Anthropic error {status}")
    return {"type": "error", "error": {"type": kind, "message": text}}


def user_text(messages: list[Any]) -> str:
    """Text of the last user turn's text blocks."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(b.get("text", "") for b in content or () if b.get("type") == "text")
    return ""


def default_reply(messages: list[Any]) -> str:
    return f"Hello from Claude: {len(user_text(messages).split())} words"


class FakeAnthropicProvider(FakeProvider):
    name = "fake-anthropic"
    default_api_key = DEFAULT_API_KEY
    tool_id_prefix = "toolu_"

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/messages", self._messages, methods=["POST"])]

    def error_response(self, status: int, message: str | None = None) -> Response:
        return JSONResponse(error_body(status, message), status)

    # ---- test-side controls ----------------------------------------------------------------
    def cache(self, read: int = 0, written: int = 0) -> None:
        self.count(cache_read_input_tokens=read, cache_creation_input_tokens=written)

    def drop_stream(self, after_events: int = 3) -> None:
        self._drop(after_events)

    # ---- HTTP side -------------------------------------------------------------------------
    def _unauthorized(self, request: Request) -> Response | None:
        # The API reference documents x-api-key; the official Python SDK 2.x sends the key as
        # a bearer token instead. Both name the same key.
        keys = {request.headers.get("x-api-key"), request.headers.get("authorization")}
        if self.api_key in keys or f"Bearer {self.api_key}" in keys:
            return None
        return self.error_response(401, "invalid x-api-key")

    def _problem(self, request: Request, body: dict[str, Any]) -> str | None:
        if not request.headers.get("anthropic-version"):
            return "anthropic-version: header is required"
        return anthropic_problem(body)

    async def _messages(self, request: Request) -> Response:
        body, early = await self._prologue(request)
        if early is not None:
            return early
        message = _message(body, self._scripted())
        if not body.get("stream"):
            return JSONResponse(message)
        events = [encode(event) for event in stream_events(message)]
        return self._streaming(events, "text/event-stream")


def _message(body: dict[str, Any], script: Script) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if script.thinking is not None:
        content.append({"type": "thinking", "thinking": script.thinking, "signature": "sig-fake"})
    text = script.text if script.text is not None else default_reply(body["messages"])
    if text:
        content.append({"type": "text", "text": text})
    if script.tool is not None:
        tool_id, name, tool_input = script.tool
        content.append({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input})
    words = len(json.dumps(body["messages"]).split())
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": "tool_use" if script.tool else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": words,
            "output_tokens": len(text.split()) + (5 if script.tool else 0),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            **script.usage,
        },
    }


def stream_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events Anthropic streams for `message`, in order."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        empty: dict[str, Any]
        if kind == "text":
            empty, deltas = (
                {"type": "text", "text": ""},
                [{"type": "text_delta", "text": piece} for piece in split_reply(block["text"])],
            )
        elif kind == "thinking":
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
        else:
            empty = {**block, "input": {}}
            arguments = json.dumps(block["input"])
            cut = len(arguments) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": part}
                for part in ("", arguments[:cut], arguments[cut:])
            ]
        events.append({"type": "content_block_start", "index": index, "content_block": empty})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


def encode(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
