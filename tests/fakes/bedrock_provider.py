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
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.base import FakeProvider, Script
from tests.fakes.checks import bedrock_problem, titan_embedding_problem
from tests.fakes.embeddings import tokens_of, vector_of
from tests.fakes.openai_provider import split_reply

DEFAULT_API_KEY = "bedrock-api-key-fake"
EVENT_STREAM = "application/vnd.amazon.eventstream"
ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}

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


def converse_response(body: dict[str, Any], script: Script) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if script.thinking is not None:
        reasoning = {"reasoningText": {"text": script.thinking, "signature": "sig-fake"}}
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


class FakeBedrockProvider(FakeProvider):
    name = "fake-bedrock"
    default_api_key = DEFAULT_API_KEY
    tool_id_prefix = "tooluse_"

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/model/{model_id:path}/converse", self._converse, methods=["POST"]),
            Route("/model/{model_id:path}/converse-stream", self._stream, methods=["POST"]),
            Route("/model/{model_id:path}/invoke", self._invoke, methods=["POST"]),
        ]

    def error_response(self, status: int, message: str | None = None) -> Response:
        error_type = ERROR_TYPES.get(status, "InternalServerException")
        return _error(status, error_type, message or f"Fake Bedrock {error_type}")

    # ---- test-side controls ----------------------------------------------------------------
    def reason(self, text: str | None) -> None:
        self.think(text)

    def cache(self, read: int = 0, written: int = 0) -> None:
        with self._lock:
            self._script.usage = {"cacheReadInputTokens": read, "cacheWriteInputTokens": written}

    def fail(  # type: ignore[override]
        self, status: int = 429, error_type: str = "ThrottlingException", times: int = 1
    ) -> None:
        body = {"message": f"Fake Bedrock {error_type}"}
        super().fail(status, body, {"x-amzn-errortype": error_type}, times)

    def stream_exception(self, kind: str = "throttlingException", after_events: int = 2) -> None:
        self._set("exception", 1, exception=kind, after=after_events)

    def drop_stream(self, after_events: int = 3) -> None:
        self._drop(after_events)

    # ---- HTTP side -------------------------------------------------------------------------
    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Bearer {self.api_key}":
            return None
        return _error(403, "AccessDeniedException", "Authentication failed")

    def _problem(self, request: Request, body: dict[str, Any]) -> str | None:
        if request.url.path.endswith("/invoke"):
            headers = {k.lower(): v for k, v in request.headers.items()}
            blob = json.dumps(body).encode()
            return titan_embedding_problem(request.path_params["model_id"], blob, headers)
        streams = request.url.path.endswith("/converse-stream")
        model_id = request.path_params["model_id"]
        return bedrock_problem("ConverseStream" if streams else "Converse", model_id, body)

    async def _converse(self, request: Request) -> Response:
        body, early = await self._prologue(request)
        if early is not None:
            return early
        return JSONResponse(converse_response(body, self._scripted()))

    async def _invoke(self, request: Request) -> Response:
        """InvokeModel on Titan Text Embeddings V2: one text, its vector (`vector_of`, as long
        as `dimensions`, 1024 by default as Titan's) and a token per word; or on Cohere Embed:
        texts and their vectors."""
        body, early = await self._prologue(request)
        if early is not None:
            return early
        if request.path_params["model_id"].startswith("cohere.embed"):
            # Cohere Embed v3: 1024 floats a text; no token count in the body.
            texts = body["texts"]
            return JSONResponse(
                {
                    "embeddings": [vector_of(text, 1024) for text in texts],
                    "id": "fake-cohere-id",
                    "response_type": "embeddings_floats",
                    "texts": texts,
                }
            )
        vector = vector_of(body["inputText"], body.get("dimensions", 1024))
        return JSONResponse(
            {
                "embedding": vector,
                "inputTextTokenCount": tokens_of(body["inputText"]),
                "embeddingsByType": {"float": vector},
            }
        )

    async def _stream(self, request: Request) -> Response:
        body, early = await self._prologue(request)
        if early is not None:
            return early
        events = stream_events(converse_response(body, self._scripted()))
        frames = [encode_event(kind, payload) for kind, payload in events]
        if exception := self._take("exception"):
            kind, cut = exception["exception"], exception["after"]
            frames[cut:] = [encode_exception(kind, f"Fake Bedrock {kind}")]
        return self._streaming(frames, EVENT_STREAM)


def _error(status: int, error_type: str, message: str) -> Response:
    return JSONResponse({"message": message}, status, headers={"x-amzn-errortype": error_type})
