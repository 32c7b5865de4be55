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

import asyncio
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

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


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lowercase names
    body: Any  # parsed JSON, or None (GET / invalid JSON)

    def __getitem__(self, key: str) -> Any:  # allow req["body"] as well as req.body
        return getattr(self, key)


@dataclass
class _Fault:
    params: dict[str, Any]
    remaining: int | None  # None = always


class _DroppedStream(Exception):
    """Raised inside a stream generator so uvicorn aborts the connection."""


def _not_expected(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, _DroppedStream | asyncio.CancelledError)


# Injected drops and streams cancelled by stop() are not errors worth a traceback.
logging.getLogger("uvicorn.error").addFilter(_not_expected)


class FakeOpenAIProvider:
    def __init__(
        self, api_key: str = DEFAULT_API_KEY, models: Sequence[str] = DEFAULT_MODELS
    ) -> None:
        self.api_key = api_key
        self.models = list(models)
        self.disconnects = 0
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: dict[str, _Fault] = {}
        self._reply: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", partial(self._complete, chat=True), methods=["POST"]),
                Route("/v1/completions", partial(self._complete, chat=False), methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Self:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", loop="asyncio"
        )
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI provider failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=1.0)
        if self._thread.is_alive():  # e.g. a stream stalled by stream_pause: don't wait for it
            self._server.force_exit = True
            self._thread.join(timeout=5.0)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test-side controls ----------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot copy of the requests received so far (oldest first)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Clear recorded requests, faults, custom reply and the disconnects counter."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._reply = None
            self.disconnects = 0

    def reply(self, text: str | None) -> None:
        """Reply with ``text`` from now on (None: back to ``default_reply``)."""
        with self._lock:
            self._reply = text

    def fail(
        self,
        status: int = 500,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer with ``status``; ``body`` is JSON (dict/list) or raw (str/bytes)."""
        self._set("fail", times, status=status, body=body, headers=headers or {})

    def delay(self, seconds: float, times: int | None = 1) -> None:
        """Sleep before sending response headers."""
        self._set("delay", times, seconds=seconds)

    def stream_pause(self, seconds: float, after_chunks: int = 1, times: int | None = 1) -> None:
        """In streams, pause once after ``after_chunks`` content chunks were sent."""
        self._set("stream_pause", times, seconds=seconds, after_chunks=after_chunks)

    def drop_stream(self, after_chunks: int = 2, times: int | None = 1) -> None:
        """In streams, abort the connection after ``after_chunks`` content chunks (no [DONE])."""
        self._set("drop_stream", times, after_chunks=after_chunks)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate`` until true or timeout, e.g. ``lambda: fake.disconnects == 1``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _set(self, kind: str, times: int | None, **params: Any) -> None:
        with self._lock:
            self._faults[kind] = _Fault(params, times)

    def _take(self, kind: str) -> dict[str, Any] | None:
        with self._lock:
            fault = self._faults.get(kind)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[kind]
            return fault.params

    # ---- HTTP side -------------------------------------------------------------------------
    async def _prologue(self, request: Request) -> tuple[Any, Response | None]:
        """Record the request, apply delay/fail/auth; returns (body, early response or None)."""
        raw = await request.body()
        body: Any = None
        bad_json = False
        if request.method == "POST":
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
            bad_json = bad_json or not isinstance(body, dict)
        record = RecordedRequest(request.method, request.url.path, dict(request.headers), body)
        with self._lock:
            self._requests.append(record)
        if delay := self._take("delay"):
            await asyncio.sleep(delay["seconds"])
        if fail := self._take("fail"):
            status, fbody, fheaders = fail["status"], fail["body"], fail["headers"]
            if isinstance(fbody, str | bytes):
                return body, Response(fbody, status, fheaders, media_type="text/plain")
            return body, JSONResponse(fbody or _default_error(status), status, fheaders)
        if not self._authorized(request):
            msg = "Incorrect API key provided (fake upstream)."
            return body, JSONResponse(
                error_body(msg, "invalid_request_error", "invalid_api_key"), 401
            )
        if bad_json:
            msg = "We could not parse the JSON body of your request (fake upstream)."
            return body, JSONResponse(error_body(msg, "invalid_request_error"), 400)
        return body, None

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

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
        with self._lock:
            text = self._reply if self._reply is not None else default_reply(messages)
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
            else:
                choice["text"] = text
            return JSONResponse({**base, "choices": [choice], "usage": usage})
        options = body.get("stream_options")
        with_usage = isinstance(options, dict) and options.get("include_usage") is True
        pause, drop = self._take("stream_pause"), self._take("drop_stream")
        gen = self._stream(base, chat, text, usage if with_usage else None, pause, drop)
        return StreamingResponse(gen, media_type="text/event-stream")

    async def _stream(
        self,
        base: dict[str, Any],
        chat: bool,
        text: str,
        usage: dict[str, int] | None,
        pause: dict[str, Any] | None,
        drop: dict[str, Any] | None,
    ) -> AsyncIterator[str]:
        if chat:
            base = {**base, "object": "chat.completion.chunk"}

        def event(payload: dict[str, Any] | str) -> str:
            return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"

        def chunk(
            piece: str, finish: str | None = None, delta: dict[str, str] | None = None
        ) -> str:
            choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
            if chat:
                choice["delta"] = {"content": piece} if delta is None else delta
            else:
                choice["text"] = piece
            return event({**base, "choices": [choice]})

        pieces = split_reply(text)
        finished = False
        try:
            if chat:
                yield chunk("", delta={"role": "assistant", "content": ""})
            for sent in range(len(pieces) + 1):  # fault checkpoints before/after every piece
                if pause is not None and sent == pause["after_chunks"]:
                    await asyncio.sleep(pause["seconds"])
                if drop is not None and sent == drop["after_chunks"]:
                    finished = True
                    raise _DroppedStream("fake upstream dropped the stream (drop_stream)")
                if sent < len(pieces):
                    yield chunk(pieces[sent])
            yield chunk("", "stop", delta={})
            if usage is not None:
                yield event({**base, "choices": [], "usage": usage})
            yield event("[DONE]")
            finished = True
        finally:
            if not finished:  # cancelled / closed early: the client went away
                with self._lock:
                    self.disconnects += 1
