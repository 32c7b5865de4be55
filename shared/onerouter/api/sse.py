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


class Prefetch(Generic[T]):
    """Reads an async iterator one item ahead, so waiting for it can time out without loss."""

    def __init__(self, items: AsyncIterator[T]) -> None:
        self._items = items
        self._pending: asyncio.Future[T] | None = None

    async def next(self, within: float) -> T | _Silence:
        """The next item, or SILENCE after `within` seconds; StopAsyncIteration at the end."""
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._items))
        done, _ = await asyncio.wait((self._pending,), timeout=within)
        if not done:
            return SILENCE
        pending, self._pending = self._pending, None
        return pending.result()

    async def aclose(self) -> None:
        """Stops the source, closing its upstream connection, even inside a cancelled scope.

        A client that hangs up cancels the response task; without the shield every await
        below would be cancelled at once, leaving the upstream request running.
        """
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            if self._pending is not None:
                self._pending.cancel()
                with contextlib.suppress(BaseException):
                    await self._pending
                self._pending = None
            aclose = getattr(self._items, "aclose", None)
            if aclose is not None:
                await aclose()


def encode(event: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"


class _End:
    pass


_END = _End()


async def open_stream(
    items: AsyncIterator[T],
    render: Callable[[T], bytes | None],
    keepalive: float,
    headers: Callable[[T | None], dict[str, str]],
) -> StreamingResponse:
    """Starts an SSE response once the first item arrives (or the first keep-alive is due).

    `render` turns an item into bytes to send (None sends nothing); `headers` sees the first
    item, or None when the response had to start before it arrived.
    """
    ahead = Prefetch(items)
    try:
        first: T | _Silence | _End = await ahead.next(keepalive)
    except StopAsyncIteration:
        first = _END
    except BaseException:
        await ahead.aclose()
        raise
    known = None if isinstance(first, _Silence | _End) else first
    return StreamingResponse(
        _body(ahead, first, render, keepalive),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **headers(known)},
    )


async def _body(
    ahead: Prefetch[T],
    item: T | _Silence | _End,
    render: Callable[[T], bytes | None],
    keepalive: float,
) -> AsyncIterator[bytes]:
    try:
        while not isinstance(item, _End):
            if isinstance(item, _Silence):
                yield KEEPALIVE
            else:
                data = render(item)
                if data:
                    yield data
            try:
                item = await ahead.next(keepalive)
            except StopAsyncIteration:
                item = _END
            except OneRouterError as exc:
                yield encode(exc.body())
                break
            except Exception as exc:
                log_failure(logger, "stream failed", exc)
                yield encode(OneRouterError("The stream failed unexpectedly.").body())
                break
        yield DONE
    finally:
        await ahead.aclose()
