"""Server-sent events out: chunks forwarded the moment they arrive, keep-alives while silent.

The first chunk is awaited for one keep-alive interval before the response starts, so an
early failure (every provider down, a bad request upstream) still gets a proper HTTP status.
After that the response is committed: errors arrive in-stream, then `[DONE]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import orjson
from starlette.responses import StreamingResponse

from ..errors import OneRouterError
from ..logs import log_failure

logger = logging.getLogger("onerouter.api")

KEEPALIVE = b": ONEROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"

T = TypeVar("T")


class _Silence:
    """The upstream said nothing for a whole keep-alive interval."""


SILENCE = _Silence()


class _End:
    pass


_END = _End()


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class Pump(Generic[T]):
    """Reads a source in one task of its own into a small queue; a timer marks silences.

    One task per stream, not one per chunk, and a timer that fires once per keep-alive
    interval: relaying a chunk costs a queue hand-off. The queue is small, so a slow client
    slows the reading of the upstream instead of filling memory.
    """

    def __init__(self, items: AsyncIterator[T], keepalive: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[T | _Silence | _End | _Failed] = asyncio.Queue(maxsize=8)
        self._keepalive = keepalive
        self._last = self._loop.time()
        self._timer = self._loop.call_later(keepalive, self._tick)
        self._task = asyncio.ensure_future(self._run(items))

    async def _run(self, items: AsyncIterator[T]) -> None:
        try:
            async for item in items:
                self._last = self._loop.time()
                await self._queue.put(item)
            await self._queue.put(_END)
        except Exception as exc:
            await self._queue.put(_Failed(exc))
        finally:
            # Cancelled while waiting to hand an item over: the source sits at a yield.
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()

    def _tick(self) -> None:
        now = self._loop.time()
        due = self._last + self._keepalive
        if now >= due:
            if self._queue.empty():
                self._queue.put_nowait(SILENCE)
            self._last = now
            due = now + self._keepalive
        self._timer = self._loop.call_at(due, self._tick)

    async def next(self) -> T | _Silence:
        """The next item, or SILENCE; StopAsyncIteration at the end, the source's error on it."""
        item = await self._queue.get()
        if isinstance(item, _End):
            self._queue.put_nowait(item)  # stays at the end for any later call
            raise StopAsyncIteration
        if isinstance(item, _Failed):
            raise item.error
        return item

    async def aclose(self) -> None:
        """Stops the source, closing its upstream connection, even inside a cancelled scope.

        A client that hangs up cancels the response task; without the shield every await
        below would be cancelled at once, leaving the upstream request running.
        """
        self._timer.cancel()
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


def encode(event: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"


def _error_data(error: OneRouterError) -> bytes:
    return encode(error.body())


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a front door's stream says what every stream says: still waiting, failed, done.
    `done` empty: the stream just ends (Anthropic's streams end with their last event)."""

    keepalive: bytes = KEEPALIVE
    error: Callable[[OneRouterError], bytes] = _error_data
    done: bytes = DONE


OPENAI = Dialect()


async def open_stream(
    items: AsyncIterator[T],
    render: Callable[[T], bytes | None],
    keepalive: float,
    headers: Callable[[T | None], dict[str, str]],
    dialect: Dialect = OPENAI,
    end: Callable[[], bytes] | None = None,
) -> StreamingResponse:
    """Starts an SSE response once the first item arrives (or the first keep-alive is due).

    `render` turns an item into bytes to send (None sends nothing); `headers` sees the first
    item, or None when the response had to start before it arrived; `end` gives what follows
    the last item of a stream that did not fail.
    """
    ahead = Pump(items, keepalive)
    try:
        first: T | _Silence | _End = await ahead.next()
    except StopAsyncIteration:
        first = _END
    except BaseException:
        await ahead.aclose()
        raise
    known = None if isinstance(first, _Silence | _End) else first
    return StreamingResponse(
        _body(ahead, first, render, dialect, end),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **headers(known)},
    )


async def _body(
    ahead: Pump[T],
    item: T | _Silence | _End,
    render: Callable[[T], bytes | None],
    dialect: Dialect = OPENAI,
    end: Callable[[], bytes] | None = None,
) -> AsyncIterator[bytes]:
    try:
        while not isinstance(item, _End):
            if isinstance(item, _Silence):
                yield dialect.keepalive
            else:
                data = render(item)
                if data:
                    yield data
            try:
                item = await ahead.next()
            except StopAsyncIteration:
                item = _END
            except OneRouterError as exc:
                yield dialect.error(exc)
                break
            except Exception as exc:
                log_failure(logger, "stream failed", exc)
                yield dialect.error(OneRouterError("The stream failed unexpectedly."))
                break
        else:
            if end is not None:
                yield end()
        if dialect.done:
            yield dialect.done
    finally:
        await ahead.aclose()
