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
import logging
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import RecordedRequest, split_reply

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


@dataclass
class Script:
    """What the next answers hold besides text; `usage` adds to the counted tokens."""

    text: str | None = None
    thinking: str | None = None
    tool: tuple[str, str, dict[str, Any]] | None = None  # (id, name, input)
    usage: dict[str, int] = field(default_factory=dict)


class _Dropped(Exception):
    """Raised inside a stream so uvicorn aborts the connection."""


def _not_expected(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, _Dropped)


# Injected drops are not errors worth a traceback.
logging.getLogger("uvicorn.error").addFilter(_not_expected)


class FakeAnthropicProvider:
    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._script = Script()
        self._failures: list[tuple[int, Any]] = []
        self._drop_after: int | None = None
        app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])
        self._server = ServerThread(app, name="fake-anthropic")

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._server.url

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    # ---- test-side controls ----------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._script = Script()
            self._failures.clear()
            self._drop_after = None

    def reply(self, text: str | None) -> None:
        with self._lock:
            self._script.text = text

    def think(self, thinking: str | None) -> None:
        with self._lock:
            self._script.thinking = thinking

    def tool_use(self, name: str, tool_input: dict[str, Any], tool_id: str = "") -> None:
        with self._lock:
            self._script.tool = (tool_id or f"toolu_{uuid.uuid4().hex[:24]}", name, tool_input)

    def cache(self, read: int = 0, written: int = 0) -> None:
        with self._lock:
            self._script.usage = {
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": written,
            }

    def fail(self, status: int = 529, body: Any = None, times: int = 1) -> None:
        with self._lock:
            self._failures += [(status, body or error_body(status))] * times

    def drop_stream(self, after_events: int = 3) -> None:
        with self._lock:
            self._drop_after = after_events

    # ---- HTTP side -------------------------------------------------------------------------
    async def _messages(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        with self._lock:
            self._requests.append(
                RecordedRequest(request.method, request.url.path, dict(request.headers), body)
            )
            failure = self._failures.pop(0) if self._failures else None
            script = Script(**vars(self._script))
            drop, self._drop_after = self._drop_after, None
        if failure is not None:
            return JSONResponse(failure[1], failure[0])
        # The API reference documents x-api-key; the official Python SDK 2.x sends the key as
        # a bearer token instead. Both name the same key.
        keys = {request.headers.get("x-api-key"), request.headers.get("authorization")}
        if self.api_key not in keys and f"Bearer {self.api_key}" not in keys:
            return JSONResponse(error_body(401, "invalid x-api-key"), 401)
        if not request.headers.get("anthropic-version"):
            return JSONResponse(error_body(400, "anthropic-version: header is required"), 400)
        if not isinstance(body, dict) or not body.get("max_tokens") or not body.get("messages"):
            return JSONResponse(error_body(400, "max_tokens and messages are required"), 400)
        message = _message(body, script)
        if not body.get("stream"):
            return JSONResponse(message)
        return StreamingResponse(_events(message, drop), media_type="text/event-stream")


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


async def _events(message: dict[str, Any], drop: int | None) -> AsyncIterator[str]:
    for sent, event in enumerate(stream_events(message)):
        if drop is not None and sent == drop:
            raise _Dropped("fake Anthropic dropped the stream")
        yield encode(event)
