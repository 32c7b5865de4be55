"""A fake OpenAI-protocol upstream: a real loopback HTTP server for gateway tests.

Usage::

    with FakeOpenAIProvider() as fake:
        client = OpenAI(base_url=fake.base_url, api_key=fake.api_key)
        fake.fail(429, headers={"Retry-After": "1"})  # next request gets a 429
        ...
        assert fake.requests[-1].body["model"] == "gpt-4o-mini"

Replies are deterministic (see ``default_reply``/``prompt_tokens``/``completion_tokens``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.base import FakeProvider, Script
from tests.fakes.checks import openai_embedding_problem, openai_problem
from tests.fakes.embeddings import inputs_of, to_base64, tokens_of, vector_of

DEFAULT_API_KEY = "sk-fake-upstream"
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct")


def count_words(text: str) -> int:
    return len(text.split())


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    """Text of the last ``role == "user"`` message ("" if none or not a string)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""


def default_reply(messages: Sequence[dict[str, Any]]) -> str:
    """The reply used unless ``fake.reply(text)`` was called: 'Hello from fake: N words'."""
    return f"Hello from fake: {count_words(last_user_text(messages))} words"


def prompt_tokens(messages: Sequence[dict[str, Any]]) -> int:
    """Words across all string contents, plus 1 per message."""
    total = 0
    for message in messages:
        content = message.get("content")
        total += 1 + (count_words(content) if isinstance(content, str) else 0)
    return total


def completion_tokens(reply: str) -> int:
    return count_words(reply)


def prompt_as_messages(prompt: Any) -> list[dict[str, Any]]:
    """Legacy ``/v1/completions`` prompt (str or list of str) seen as one user message."""
    if isinstance(prompt, list):
        prompt = " ".join(p for p in prompt if isinstance(p, str))
    return [{"role": "user", "content": prompt if isinstance(prompt, str) else ""}]


def split_reply(reply: str) -> list[str]:
    """Word chunks whose concatenation is exactly ``reply``."""
    words = reply.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]]


def error_body(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _default_error(status: int) -> dict[str, Any]:
    if status == 429:
        return error_body("Rate limit reached (fake)", "rate_limit_error", "rate_limit_exceeded")
    type_ = "server_error" if status >= 500 else "invalid_request_error"
    return error_body(f"Fake upstream error {status}", type_)


class FakeOpenAIProvider(FakeProvider):
    name = "fake-openai"
    default_api_key = DEFAULT_API_KEY
    base_path = "/v1"

    def __init__(self, api_key: str | None = None, models: Sequence[str] = DEFAULT_MODELS) -> None:
        self.models = list(models)
        super().__init__(api_key)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/chat/completions", partial(self._complete, chat=True), methods=["POST"]),
            Route("/v1/completions", partial(self._complete, chat=False), methods=["POST"]),
            Route("/v1/embeddings", self._embed, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ]

    def error_response(self, status: int, message: str | None = None) -> Response:
        if message is None:
            return JSONResponse(_default_error(status), status)
        return JSONResponse(error_body(message, "invalid_request_error"), status)

    # ---- test-side controls ----------------------------------------------------------------
    def stream_pause(self, seconds: float, after_chunks: int = 1, times: int | None = 1) -> None:
        """In streams, pause once after ``after_chunks`` content chunks were sent."""
        self._set("stream_pause", times, seconds=seconds, after_chunks=after_chunks)

    def drop_stream(self, after_chunks: int = 2, times: int | None = 1) -> None:
        """In streams, abort the connection after ``after_chunks`` content chunks (no [DONE])."""
        self._drop(after_chunks, times)

    # ---- HTTP side -------------------------------------------------------------------------
    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization")
        return given in {f"Bearer {key}" for key in (self.api_key, *self.customer_keys)}

    def _unauthorized(self, request: Request) -> Response | None:
        if self._authorized(request):
            return None
        msg = "Incorrect API key provided (fake upstream)."
        return JSONResponse(error_body(msg, "invalid_request_error", "invalid_api_key"), 401)

    def _problem(self, request: Request, body: dict[str, Any]) -> str | None:
        if request.url.path.endswith("/embeddings"):
            return openai_embedding_problem(body)
        return openai_problem(body, chat=request.url.path.endswith("/chat/completions"))

    async def _embed(self, request: Request) -> Response:
        """Deterministic vectors (`vector_of`), `dimensions` long when asked; a token per word
        (or per token of a token array)."""
        body, early = await self._prologue(request)
        if early is not None:
            return early
        inputs = inputs_of(body["input"])
        base64 = body.get("encoding_format") == "base64"
        data = []
        for index, item in enumerate(inputs):
            vector = vector_of(item, body.get("dimensions"))
            shown: Any = to_base64(vector) if base64 else vector
            data.append({"object": "embedding", "index": index, "embedding": shown})
        tokens = sum(tokens_of(item) for item in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        # Azure names no model in the body: its deployment (in the URL) is the model.
        model = body.get("model") or request.path_params.get("deployment")
        return JSONResponse({"object": "list", "data": data, "model": model, "usage": usage})

    async def _models(self, request: Request) -> Response:
        _, early = await self._prologue(request)
        if early is not None:
            return early
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _complete(self, request: Request, chat: bool) -> Response:
        body, early = await self._prologue(request)
        if early is not None:
            return early
        raw = body.get("messages") if chat else prompt_as_messages(body.get("prompt"))
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        script = self._scripted() if chat else Script()
        scripted = script.text if chat else self._scripted().text
        text = scripted if scripted is not None else default_reply(messages)
        if script.tool is not None and scripted is None:
            text = ""  # a scripted tool call, and no text beside it
        p_tokens, c_tokens = prompt_tokens(messages), completion_tokens(text)
        usage = {
            "prompt_tokens": p_tokens,
            "completion_tokens": c_tokens,
            "total_tokens": p_tokens + c_tokens,
        }
        base = {
            "id": ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24],
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "system_fingerprint": "fp_fake",
        }
        if not body.get("stream"):
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop", "logprobs": None}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
                _scripted_message(choice, script)
            else:
                choice["text"] = text
            return JSONResponse({**base, "choices": [choice], "usage": usage})
        options = body.get("stream_options")
        with_usage = isinstance(options, dict) and options.get("include_usage") is True
        events = _stream_events(base, chat, text, usage if with_usage else None, script)
        # Faults count content chunks; in chat streams the role chunk comes before them.
        first = 1 if chat else 0
        pause = self._take("stream_pause")
        paused = (first + pause["after_chunks"], pause["seconds"]) if pause else None
        return self._streaming(events, "text/event-stream", first, paused)


def _scripted_message(choice: dict[str, Any], script: Script) -> None:
    """A whole chat answer's scripted reasoning (OpenRouter's `reasoning`) and tool call."""
    message = choice["message"]
    if script.thinking is not None:
        message["reasoning"] = script.thinking
    if script.tool is not None:
        call_id, name, arguments = script.tool
        function = {"name": name, "arguments": json.dumps(arguments)}
        message["tool_calls"] = [{"id": call_id, "type": "function", "function": function}]
        message["content"] = message["content"] or None
        choice["finish_reason"] = "tool_calls"


def _scripted_deltas(script: Script | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Deltas of a stream's scripted reasoning (before the text) and tool call (after it)."""
    if script is None:
        return [], []
    thinking = [{"reasoning": p} for p in split_reply(script.thinking or "") if script.thinking]
    calls: list[dict[str, Any]] = []
    if script.tool is not None:
        call_id, name, arguments = script.tool
        encoded = json.dumps(arguments)
        half = len(encoded) // 2
        head = {"index": 0, "id": call_id, "type": "function", "function": {"name": name}}
        head["function"]["arguments"] = ""
        calls.append({"tool_calls": [head]})
        for piece in (encoded[:half], encoded[half:]):
            calls.append({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    return thinking, calls


def _stream_events(
    base: dict[str, Any],
    chat: bool,
    text: str,
    usage: dict[str, int] | None,
    script: Script | None = None,
) -> list[str]:
    if chat:
        base = {**base, "object": "chat.completion.chunk"}

    def event(payload: dict[str, Any] | str) -> str:
        return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"

    def chunk(piece: str, finish: str | None = None, delta: dict[str, Any] | None = None) -> str:
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
        if chat:
            choice["delta"] = {"content": piece} if delta is None else delta
        else:
            choice["text"] = piece
        return event({**base, "choices": [choice]})

    thinking, calls = _scripted_deltas(script)
    events = [chunk("", delta={"role": "assistant", "content": ""})] if chat else []
    events += [chunk("", delta=delta) for delta in thinking]
    events += [chunk(piece) for piece in split_reply(text) if piece or not calls]
    events += [chunk("", delta=delta) for delta in calls]
    events.append(chunk("", "tool_calls" if calls else "stop", delta={}))
    if usage is not None:
        events.append(event({**base, "choices": [], "usage": usage}))
    events.append(event("[DONE]"))
    return events
