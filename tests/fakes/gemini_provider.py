"""A fake Gemini upstream (Generative Language API v1beta) on loopback, for gateway tests.

Usage::

    with FakeGeminiProvider() as fake:
        # POST {fake.base_url}/v1beta/models/gemini-2.5-flash:generateContent
        fake.fail(429)                              # next request: RESOURCE_EXHAUSTED
        fake.call_function("get_weather", {"city": "Paris"})
        fake.think("Let me see.")                   # a `thought: true` part before the reply
        fake.drop_stream(after_chunks=1)
        assert fake.requests[-1].body["contents"][0]["role"] == "user"

Wire format as Google serves it: `x-goog-api-key` (or `?key=`) required, bodies checked
against `google.genai.types` (unknown fields refused with 400 INVALID_ARGUMENT), `alt=sse`
streams as `data: {...}\\r\\n\\r\\n` events and, without it, one JSON array written item
by item.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.base import FakeProvider, Script
from tests.fakes.checks import gemini_embedding_problem, gemini_problem
from tests.fakes.embeddings import vector_of
from tests.fakes.openai_provider import count_words

DEFAULT_API_KEY = "gemini-fake-key"

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


class FakeGeminiProvider(FakeProvider):
    name = "fake-gemini"
    default_api_key = DEFAULT_API_KEY

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1beta/models/{call}", self._handle, methods=["POST"])]

    def error_response(self, status: int, message: str | None = None) -> Response:
        return JSONResponse(google_error(status, message), status)

    # ---- test-side controls ----------------------------------------------------------------
    def cached(self, tokens: int) -> None:
        self.count(cachedContentTokenCount=tokens)

    def call_function(self, name: str, args: dict[str, Any]) -> None:
        """The next answer is a call of `name` (then back to text)."""
        self.tool_use(name, args)

    def fail(  # type: ignore[override]
        self, status: int, times: int = 1, message: str | None = None
    ) -> None:
        super().fail(status, google_error(status, message), times=times)

    def drop_stream(self, after_chunks: int = 1) -> None:
        self._drop(after_chunks)

    # ---- HTTP side -------------------------------------------------------------------------
    def _unauthorized(self, request: Request) -> Response | None:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if key == self.api_key:
            return None
        if not key:
            message = (
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API."
            )
            return self.error_response(403, message)
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

    def _problem(self, request: Request, body: dict[str, Any]) -> str | None:
        model, _, method = request.path_params["call"].partition(":")
        if method == "batchEmbedContents":
            return gemini_embedding_problem(body, model)
        return gemini_problem(body)

    async def _handle(self, request: Request) -> Response:
        body, early = await self._prologue(request)
        if early is not None:
            return early
        model, _, method = request.path_params["call"].partition(":")
        if method == "batchEmbedContents":
            # Vectors by `vector_of` of each text (3072 long by default, as
            # gemini-embedding-001's); no token counts, as Gemini gives none here.
            embeddings = [
                {
                    "values": vector_of(
                        item["content"]["parts"][0]["text"], item.get("outputDimensionality", 3072)
                    )
                }
                for item in body["requests"]
            ]
            return JSONResponse({"embeddings": embeddings})
        if method not in ("generateContent", "streamGenerateContent"):
            return self.error_response(404, f"Method {method!r} not found.")
        script = self._scripted()
        with self._lock:
            self._script.tool = None  # a function call answers once
        responses = _responses(body, model, script, streaming=method != "generateContent")
        if method == "generateContent":
            return JSONResponse(responses[0])
        sse = request.query_params.get("alt") == "sse"
        media_type = "text/event-stream" if sse else "application/json"
        return self._streaming(_framed(responses, sse), media_type)


def _framed(responses: list[dict[str, Any]], sse: bool) -> list[bytes]:
    """Server-sent events, or (without `alt=sse`) one JSON array written item by item."""
    if sse:
        return [f"data: {json.dumps(response)}\r\n\r\n".encode() for response in responses]
    items = [("[" if n == 0 else "\n,\r\n") + json.dumps(r) for n, r in enumerate(responses)]
    return [item.encode() for item in items] + [b"\n]"]


def _responses(
    body: dict[str, Any], model: str, script: Script, streaming: bool
) -> list[dict[str, Any]]:
    """The answer as GenerateContentResponses: one whole, or one per streamed slice."""
    call = {"name": script.tool[1], "args": script.tool[2]} if script.tool else None
    thought = script.thinking
    text = script.text or default_reply(body["contents"])
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
    usage.update(script.usage)
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
