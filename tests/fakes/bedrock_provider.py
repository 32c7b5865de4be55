"""A fake Bedrock Runtime Converse API: a real loopback HTTP server speaking Bedrock's wire format,
binary event stream included.

Usage::

    with FakeBedrockProvider() as fake:
        fake.tool_use("get_weather", {"city": "Paris"})    # next answers call a tool
        fake.fail(429, "ThrottlingException")              # next request is throttled
        fake.stream_exception("throttlingException", 3)    # next stream fails in-stream
        fake.drop_stream(after_events=4)                   # next stream breaks off
        assert fake.requests[-1].body["inferenceConfig"]["maxTokens"] == 4096

Replies are deterministic: ``default_reply`` unless ``reply(text)`` was called.
"""

from __future__ import annotations

import json
import struct
import threading
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.anthropic_provider import _Dropped
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import RecordedRequest, split_reply

DEFAULT_API_KEY = "bedrock-api-key-fake"
EVENT_STREAM = "application/vnd.amazon.eventstream"

# ---------------------------------------------------------------- event stream encoding


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total length, headers length, CRC), string headers
    (name length, name, type 7, value length, value), payload, CRC of everything before it."""
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += bytes([len(raw_name)]) + raw_name + b"\x07"
        encoded += struct.pack(">H", len(raw_value)) + raw_value
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def encode_event(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return encode_frame(headers, json.dumps(payload).encode())


def encode_exception(kind: str, message: str) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, json.dumps({"message": message}).encode())


# ---------------------------------------------------------------- replies


def user_text(messages: list[Any]) -> str:
    """Text of the last user turn's text blocks."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):  # OpenAI-shaped, as tests hold them
                return content
            return " ".join(b["text"] for b in content or () if "text" in b)
    return ""


def default_reply(messages: list[Any]) -> str:
    return f"Hello from Bedrock: {len(user_text(messages).split())} words"


@dataclass
class Script:
    """What the next answers hold besides text; `usage` adds to the counted tokens."""

    text: str | None = None
    reasoning: str | None = None
    tool: tuple[str, str, dict[str, Any]] | None = None  # (id, name, input)
    usage: dict[str, int] = field(default_factory=dict)


def converse_response(body: dict[str, Any], script: Script) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if script.reasoning is not None:
        reasoning = {"reasoningText": {"text": script.reasoning, "signature": "sig-fake"}}
        content.append({"reasoningContent": reasoning})
    text = script.text if script.text is not None else default_reply(body["messages"])
    if text:
        content.append({"text": text})
    if script.tool is not None:
        tool_id, name, tool_input = script.tool
        content.append({"toolUse": {"toolUseId": tool_id, "name": name, "input": tool_input}})
    prompt = len(json.dumps(body["messages"]).split())
    completion = len(text.split()) + (5 if script.tool else 0)
    usage = {"inputTokens": prompt, "outputTokens": completion, **script.usage}
    usage["totalTokens"] = (
        prompt
        + completion
        + usage.get("cacheReadInputTokens", 0)
        + usage.get("cacheWriteInputTokens", 0)
    )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use" if script.tool else "end_turn",
        "usage": usage,
        "metrics": {"latencyMs": 12},
    }


def stream_events(response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (event type, payload) pairs ConverseStream sends for `response`, in order."""
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(response["output"]["message"]["content"]):
        deltas: list[dict[str, Any]]
        if "text" in block:
            deltas = [{"text": piece} for piece in split_reply(block["text"])]
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"]["reasoningText"]
            deltas = [
                {"reasoningContent": {"text": reasoning["text"]}},
                {"reasoningContent": {"signature": reasoning["signature"]}},
            ]
        else:
            call = block["toolUse"]
            start = {"toolUse": {"toolUseId": call["toolUseId"], "name": call["name"]}}
            events.append(("contentBlockStart", {"contentBlockIndex": index, "start": start}))
            arguments = json.dumps(call["input"])
            cut = len(arguments) // 2
            deltas = [{"toolUse": {"input": part}} for part in (arguments[:cut], arguments[cut:])]
        events += [("contentBlockDelta", {"contentBlockIndex": index, "delta": d}) for d in deltas]
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": response["stopReason"]}))
    events.append(("metadata", {"usage": response["usage"], "metrics": response["metrics"]}))
    return events


# ---------------------------------------------------------------- the server


class FakeBedrockProvider:
    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._script = Script()
        self._failures: list[tuple[int, str]] = []
        self._drop_after: int | None = None
        self._exception: tuple[str, int] | None = None
        app = Starlette(
            routes=[
                Route("/model/{model_id:path}/converse", self._converse, methods=["POST"]),
                Route("/model/{model_id:path}/converse-stream", self._stream, methods=["POST"]),
            ]
        )
        self._server = ServerThread(app, name="fake-bedrock")

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
            self._exception = None

    def reply(self, text: str | None) -> None:
        with self._lock:
            self._script.text = text

    def reason(self, text: str | None) -> None:
        with self._lock:
            self._script.reasoning = text

    def tool_use(self, name: str, tool_input: dict[str, Any], tool_id: str = "") -> None:
        with self._lock:
            self._script.tool = (tool_id or f"tooluse_{uuid.uuid4().hex[:22]}", name, tool_input)

    def cache(self, read: int = 0, written: int = 0) -> None:
        with self._lock:
            self._script.usage = {"cacheReadInputTokens": read, "cacheWriteInputTokens": written}

    def fail(
        self, status: int = 429, error_type: str = "ThrottlingException", times: int = 1
    ) -> None:
        with self._lock:
            self._failures += [(status, error_type)] * times

    def stream_exception(self, kind: str = "throttlingException", after_events: int = 2) -> None:
        with self._lock:
            self._exception = (kind, after_events)

    def drop_stream(self, after_events: int = 3) -> None:
        with self._lock:
            self._drop_after = after_events

    # ---- HTTP side -------------------------------------------------------------------------
    async def _converse(self, request: Request) -> Response:
        answer = await self._answer(request)
        if isinstance(answer, Response):
            return answer
        return JSONResponse(converse_response(answer[0], answer[1]))

    async def _stream(self, request: Request) -> Response:
        answer = await self._answer(request)
        if isinstance(answer, Response):
            return answer
        body, script, drop, exception = answer
        events = stream_events(converse_response(body, script))
        return StreamingResponse(_frames(events, drop, exception), media_type=EVENT_STREAM)

    async def _answer(
        self, request: Request
    ) -> Response | tuple[dict[str, Any], Script, int | None, tuple[str, int] | None]:
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
            exception, self._exception = self._exception, None
        if failure is not None:
            return _error(failure[0], failure[1], f"Fake Bedrock {failure[1]}")
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(403, "AccessDeniedException", "Authentication failed")
        if not isinstance(body, dict) or not body.get("messages"):
            return _error(400, "ValidationException", "messages: required")
        return body, script, drop, exception


def _error(status: int, error_type: str, message: str) -> Response:
    return JSONResponse({"message": message}, status, headers={"x-amzn-errortype": error_type})


async def _frames(
    events: list[tuple[str, dict[str, Any]]], drop: int | None, exception: tuple[str, int] | None
) -> AsyncIterator[bytes]:
    for sent, (kind, payload) in enumerate(events):
        if drop is not None and sent == drop:
            raise _Dropped("fake Bedrock dropped the stream")
        if exception is not None and sent == exception[1]:
            yield encode_exception(exception[0], f"Fake Bedrock {exception[0]}")
            return
        yield encode_event(kind, payload)
