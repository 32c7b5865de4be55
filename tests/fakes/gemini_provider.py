"""A fake Gemini upstream (Generative Language API v1beta) on loopback, for gateway tests.

Usage::

    with FakeGeminiProvider() as fake:
        # POST {fake.base_url}/v1beta/models/gemini-2.5-flash:generateContent
        fake.fail(429)                              # next request: RESOURCE_EXHAUSTED
        fake.call_function("get_weather", {"city": "Paris"})
        fake.think("Let me see.")                   # a `thought: true` part before the reply
        fake.drop_stream(after_chunks=1)
        assert fake.requests[-1].body["contents"][0]["role"] == "user"

Wire format as Google serves it: `x-goog-api-key` (or `?key=`) required, camelCase JSON,
unknown fields refused with 400 INVALID_ARGUMENT, `alt=sse` streams as `data: {...}\\r\\n\\r\\n`
events and, without it, one JSON array written item by item.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import RecordedRequest, _DroppedStream, count_words

DEFAULT_API_KEY = "gemini-fake-key"

_TOP_LEVEL = {
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
}
_GENERATION_CONFIG = {
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
}
_PART = {
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "thought",
    "thoughtSignature",
}
_SCHEMA_REJECTED = {"additionalProperties", "$schema", "$ref", "$defs"}
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}


def google_error(status: int, message: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message or _MESSAGES.get(status, f"Fake Gemini error {status}"),
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }


def text_of(contents: list[dict[str, Any]], role: str | None = None) -> list[str]:
    return [
        part["text"]
        for content in contents
        if role is None or content.get("role") == role
        for part in content.get("parts") or ()
        if isinstance(part.get("text"), str)
    ]


def default_reply(contents: list[dict[str, Any]]) -> str:
    """'Hello from Gemini: N words', N counting the last user turn's text."""
    last = [c for c in contents if c.get("role") == "user"][-1:]
    return f"Hello from Gemini: {sum(count_words(t) for t in text_of(last))} words"


def prompt_tokens(body: dict[str, Any]) -> int:
    """Words of every text (system instruction included), plus 1 per content."""
    contents = body.get("contents") or []
    system = [body["systemInstruction"]] if body.get("systemInstruction") else []
    return len(contents) + sum(count_words(t) for t in text_of(contents + system))


class FakeGeminiProvider:
    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self.disconnects = 0
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._plan: dict[str, Any] = {}
        self.app = Starlette(
            routes=[Route("/v1beta/models/{call}", self._handle, methods=["POST"])]
        )
        self._server = ServerThread(self.app, name="fake-gemini")

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
            self._plan.clear()
            self.disconnects = 0

    def reply(self, text: str) -> None:
        self._set(reply=text)

    def think(self, thought: str) -> None:
        self._set(thought=thought)

    def cached(self, tokens: int) -> None:
        self._set(cached=tokens)

    def call_function(self, name: str, args: dict[str, Any]) -> None:
        """The next answer is a call of `name` (then back to text)."""
        self._set(function_call={"name": name, "args": args})

    def fail(self, status: int, times: int = 1, message: str | None = None) -> None:
        self._set(fail={"status": status, "times": times, "message": message})

    def drop_stream(self, after_chunks: int = 1) -> None:
        self._set(drop=after_chunks)

    def _set(self, **plan: Any) -> None:
        with self._lock:
            self._plan.update(plan)

    def _take_failure(self) -> dict[str, Any] | None:
        with self._lock:
            fail = self._plan.get("fail")
            if fail is None:
                return None
            fail["times"] -= 1
            if fail["times"] <= 0:
                del self._plan["fail"]
            return dict(fail)

    # ---- HTTP side -------------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        record = RecordedRequest("POST", request.url.path, dict(request.headers), body)
        with self._lock:
            self._requests.append(record)
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            message = (
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API."
            )
            return JSONResponse(google_error(403, message), 403)
        if key != self.api_key:
            error = google_error(400, "API key not valid. Please pass a valid API key.")
            error["error"]["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ]
            return JSONResponse(error, 400)
        model, _, method = request.path_params["call"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return JSONResponse(google_error(404, f"Method {method!r} not found."), 404)
        if problem := _invalid(body):
            return JSONResponse(google_error(400, problem), 400)
        if fail := self._take_failure():
            return JSONResponse(google_error(fail["status"], fail["message"]), fail["status"])
        with self._lock:
            plan = dict(self._plan)
            self._plan.pop("function_call", None)
        responses = _responses(body, model, plan, streaming=method != "generateContent")
        if method == "generateContent":
            return JSONResponse(responses[0])
        sse = request.query_params.get("alt") == "sse"
        media = "text/event-stream" if sse else "application/json"
        return StreamingResponse(self._stream(responses, sse, plan.get("drop")), media_type=media)

    async def _stream(
        self, responses: list[dict[str, Any]], sse: bool, drop: int | None
    ) -> AsyncIterator[bytes]:
        finished = False
        try:
            for sent, response in enumerate(responses):
                if drop is not None and sent == drop:
                    finished = True
                    raise _DroppedStream("fake Gemini dropped the stream (drop_stream)")
                data = json.dumps(response)
                if sse:
                    yield f"data: {data}\r\n\r\n".encode()
                else:
                    yield (("[" if sent == 0 else "\n,\r\n") + data).encode()
                await asyncio.sleep(0)
            if not sse:
                yield b"\n]"
            finished = True
        finally:
            if not finished:
                with self._lock:
                    self.disconnects += 1


def _invalid(body: Any) -> str | None:
    """What Google would refuse in this body, in its words; None when it is fine."""
    if not isinstance(body, dict):
        return "Invalid JSON payload received."
    for name in set(body) - _TOP_LEVEL:
        return f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for i, content in enumerate(contents):
        if content.get("role") not in ("user", "model") or not content.get("parts"):
            return f"* GenerateContentRequest.contents[{i}]: bad role or empty parts"
        for part in content["parts"]:
            if unknown := set(part) - _PART:
                return f'Invalid JSON payload received. Unknown name "{unknown.pop()}"'
    for name in set(body.get("generationConfig") or {}) - _GENERATION_CONFIG:
        return f"Invalid JSON payload received. Unknown name \"{name}\" at 'generation_config'"
    for tool in body.get("tools") or ():
        for declaration in tool.get("functionDeclarations") or ():
            if _mentions(declaration.get("parameters"), _SCHEMA_REJECTED):
                return 'Invalid JSON payload received. Unknown name "additionalProperties"'
    return None


def _mentions(schema: Any, keys: set[str]) -> bool:
    if isinstance(schema, dict):
        return bool(keys & set(schema)) or any(_mentions(v, keys) for v in schema.values())
    if isinstance(schema, list):
        return any(_mentions(v, keys) for v in schema)
    return False


def _responses(
    body: dict[str, Any], model: str, plan: dict[str, Any], streaming: bool
) -> list[dict[str, Any]]:
    """The answer as GenerateContentResponses: one whole, or one per streamed slice."""
    call, thought = plan.get("function_call"), plan.get("thought")
    text = plan.get("reply") or default_reply(body["contents"])
    slices: list[list[dict[str, Any]]] = []
    if thought:
        slices.append([{"text": thought, "thought": True}])
    if call:
        slices.append([{"functionCall": call, "thoughtSignature": "c2lnbmF0dXJl"}])
        text = ""
    else:
        words = text.split(" ")
        pieces = [w + " " for w in words[:-1]] + [words[-1]]
        slices += [[{"text": piece}] for piece in pieces] if streaming else [[{"text": text}]]
    if not streaming:
        slices = [[part for piece in slices for part in piece]]
    prompt = prompt_tokens(body)
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": count_words(text) + (1 if call else 0),
        "totalTokenCount": 0,
    }
    if thought:
        usage["thoughtsTokenCount"] = count_words(thought)
    if plan.get("cached"):
        usage["cachedContentTokenCount"] = plan["cached"]
    usage["totalTokenCount"] = (
        prompt + usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
    )
    out = []
    for n, parts in enumerate(slices):
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        last = n == len(slices) - 1
        if last:
            candidate["finishReason"] = "STOP"
        out.append(
            {
                "candidates": [candidate],
                # Mid-stream events report the prompt only; the last one reports everything.
                "usageMetadata": usage if last else {"promptTokenCount": prompt},
                "modelVersion": model,
                "responseId": "fake-response-id",
            }
        )
    return out
