"""What every fake provider shares: a loopback server, recorded requests, scripted answers and
injected faults (failures, delays, pauses and drops in streams).

A fake names its routes, says how it checks a key and a body, and how its provider words an
error; its handlers start with `_prologue` and stream through `_streaming`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from tests.fakes.gateway import ServerThread

T = TypeVar("T")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lowercase names
    body: Any  # parsed JSON, or None (GET / invalid JSON)

    def __getitem__(self, key: str) -> Any:  # allow req["body"] as well as req.body
        return getattr(self, key)


@dataclass
class Script:
    """What the next answers hold; None: the fake's default. `usage` adds to counted tokens."""

    text: str | None = None
    thinking: str | None = None
    tool: tuple[str, str, dict[str, Any]] | None = None  # (id, name, arguments)
    usage: dict[str, int] = field(default_factory=dict)


@dataclass
class _Fault:
    params: dict[str, Any]
    remaining: int | None  # None = always


class DroppedStream(Exception):
    """Raised inside a stream generator so uvicorn aborts the connection."""


def _not_expected(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, DroppedStream | asyncio.CancelledError)


# Injected drops and streams cancelled by stop() are not errors worth a traceback.
logging.getLogger("uvicorn.error").addFilter(_not_expected)


class FakeProvider:
    """A provider's API on a loopback port. Subclasses give `routes` and `error_response`, and
    override `_unauthorized` and `_problem` to check keys and bodies as the provider does."""

    name = "fake"
    default_api_key = "fake-key"
    base_path = ""  # what `base_url` adds to the server's URL
    tool_id_prefix = "call_"

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key or self.default_api_key
        # Other customers' keys the provider also takes (callers bringing their own key).
        self.customer_keys: set[str] = set()
        self.disconnects = 0
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: dict[str, _Fault] = {}
        self._script = Script()
        self._gate: threading.Event | None = None
        self.app = Starlette(routes=self.routes())
        # A stream stalled by a pause must not hold up stop() for long.
        self._server = ServerThread(self.app, self.name, lifespan="off", loop="asyncio", grace=1)

    def routes(self) -> Sequence[BaseRoute]:
        raise NotImplementedError

    def error_response(self, status: int, message: str | None = None) -> Response:
        """An error in the provider's own shape (message None: its usual one for `status`)."""
        raise NotImplementedError

    def _problem(self, request: Request, body: dict[str, Any]) -> str | None:
        """What the provider would refuse in this request, in its words; None when fine."""
        return None

    def _unauthorized(self, request: Request) -> Response | None:
        """The answer to a request without the right key; None when the key is right."""
        return None

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.port

    @port.setter
    def port(self, port: int) -> None:  # when something else serves `app` (the bench)
        self._server.port = port

    @property
    def base_url(self) -> str:
        return self._server.url + self.base_path

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

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
        """Forget requests, faults, the script and the disconnects counter."""
        with self._lock:
            if self._gate is not None:
                self._gate.set()  # nothing stays held for the next test
            self._gate = None
            self.customer_keys.clear()
            self._requests.clear()
            self._faults.clear()
            self._script = Script()
            self.disconnects = 0

    def reply(self, text: str | None) -> None:
        """Reply with `text` from now on (None: back to the fake's default reply)."""
        with self._lock:
            self._script.text = text

    def think(self, thinking: str | None) -> None:
        """Think `thinking` (reasoning before the reply) from now on."""
        with self._lock:
            self._script.thinking = thinking

    def tool_use(self, name: str, arguments: dict[str, Any], tool_id: str = "") -> None:
        """Call tool `name` with `arguments` from now on."""
        tool_id = tool_id or f"{self.tool_id_prefix}{uuid.uuid4().hex[:24]}"
        with self._lock:
            self._script.tool = (tool_id, name, arguments)

    def count(self, **usage: int) -> None:
        """Report these token counts too, in the provider's names, from now on."""
        with self._lock:
            self._script.usage = usage

    def fail(
        self,
        status: int = 500,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next `times` requests (None: all) with `status`; `body` is JSON
        (dict/list) or raw (str/bytes), by default the provider's error for `status`."""
        self._set("fail", times, status=status, body=body, headers=headers or {})

    def hold(self) -> threading.Event:
        """Keeps every request waiting, once recorded, until the event returned is set: a
        request in flight for as long as a test needs, with no clock involved."""
        gate = threading.Event()
        with self._lock:
            self._gate = gate
        return gate

    def delay(self, seconds: float, times: int | None = 1) -> None:
        """Sleep before sending response headers."""
        self._set("delay", times, seconds=seconds)

    def _drop(self, after: int, times: int | None = 1) -> None:
        """Break the next `times` streams off before their event number `after`."""
        self._set("drop", times, after=after)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll `predicate` until true or timeout, e.g. `lambda: fake.disconnects == 1`."""
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

    def _scripted(self) -> Script:
        with self._lock:
            return replace(self._script, usage=dict(self._script.usage))

    # ---- HTTP side -------------------------------------------------------------------------
    async def _prologue(self, request: Request) -> tuple[Any, Response | None]:
        """Record the request, then apply delay, failure, key and body checks, in that order.
        Returns the parsed body and the early response, if any."""
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
            gate = self._gate
        if gate is not None:
            await anyio.to_thread.run_sync(gate.wait, abandon_on_cancel=True)
        if delay := self._take("delay"):
            await asyncio.sleep(delay["seconds"])
            if await request.is_disconnected():
                # The caller gave up meanwhile (a timeout): the faults stay armed for the
                # requests they are meant for, not spent on an answer nobody will read.
                return body, Response(status_code=499)
        if fail := self._take("fail"):
            return body, self._failure(**fail)
        if (refused := self._unauthorized(request)) is not None:
            return body, refused
        if bad_json:
            return body, self.error_response(400, "The body is not a JSON object.")
        if request.method == "POST" and (problem := self._problem(request, body)):
            return body, self.error_response(400, problem)
        return body, None

    def _failure(self, status: int, body: Any, headers: dict[str, str]) -> Response:
        if isinstance(body, str | bytes):
            return Response(body, status, headers, media_type="text/plain")
        if body is None:
            response = self.error_response(status)
            response.headers.update(headers)
            return response
        return JSONResponse(body, status, headers)

    def _streaming(
        self,
        events: Iterable[str | bytes],
        media_type: str,
        skip: int = 0,
        pause: tuple[int, float] | None = None,
    ) -> StreamingResponse:
        """`events` streamed, with the drop asked for (counted after the first `skip`) and a
        pause of `pause[1]` seconds before event `pause[0]`."""
        drop = self._take("drop")
        at = skip + drop["after"] if drop else None
        return StreamingResponse(self._send(events, at, pause), media_type=media_type)

    async def _send(
        self, events: Iterable[T], drop: int | None, pause: tuple[int, float] | None
    ) -> AsyncIterator[T]:
        """Stream `events`, pausing `pause[1]` seconds before event `pause[0]` and breaking
        the connection off before event `drop`; a client that leaves early is counted."""
        finished = False
        try:
            for sent, event in enumerate(events):
                if pause is not None and sent == pause[0]:
                    await asyncio.sleep(pause[1])
                if sent == drop:
                    finished = True
                    raise DroppedStream(f"{self.name} dropped the stream (drop_stream)")
                yield event
                await asyncio.sleep(0)
            finished = True
        finally:
            if not finished:  # cancelled or closed early: the client went away
                with self._lock:
                    self.disconnects += 1
