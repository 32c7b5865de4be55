"""A front door's own SSE dialect: its keep-alive, its error event, its end (Anthropic's
Messages stream: `event: ping`, `event: error`, no `[DONE]`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from onerouter.api.routes.messages import SSE
from onerouter.api.sse import open_stream
from onerouter.doors.messages.events import PING
from onerouter.errors import RateLimited
from tests.unit.api.test_sse import LONG, SHORT, body_of, no_headers, run


def render(item: int) -> bytes:
    return f"event: n\ndata: {item}\n\n".encode()


def test_a_stream_that_ends_well_gets_its_end_and_no_done() -> None:
    async def scenario() -> list[bytes]:
        async def source() -> AsyncIterator[int]:
            yield 1
            yield 2

        response = await open_stream(
            source(), render, LONG, no_headers, dialect=SSE, end=lambda: b"END"
        )
        return await body_of(response)

    assert run(scenario) == [render(1), render(2), b"END"]


def test_an_error_is_the_dialects_event_and_ends_the_stream() -> None:
    ended: list[bool] = []

    def end() -> bytes:
        ended.append(True)
        return b"END"

    async def scenario() -> list[bytes]:
        async def source() -> AsyncIterator[int]:
            yield 1
            raise RateLimited("acme is rate limiting")

        return await body_of(await open_stream(source(), render, LONG, no_headers, SSE, end))

    chunks = run(scenario)
    assert chunks[0] == render(1)
    assert chunks[1] == (
        b'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error",'
        b'"message":"acme is rate limiting"}}\n\n'
    )
    assert len(chunks) == 2 and not ended


def test_silence_is_a_ping() -> None:
    async def scenario() -> list[bytes]:
        release = asyncio.Event()

        async def source() -> AsyncIterator[int]:
            await release.wait()
            yield 1

        response = await open_stream(source(), render, SHORT, no_headers, dialect=SSE)
        body = response.body_iterator.__aiter__()
        first = await anext(body)
        release.set()
        return [first] + [chunk async for chunk in body]  # type: ignore[misc]

    chunks = run(scenario)
    assert chunks[0] == PING == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert [c for c in chunks if c != PING] == [render(1)]
