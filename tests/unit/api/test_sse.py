"""Server-sent events: prefetch without loss, keep-alives, in-stream errors, [DONE], clean closes.

Each test drives its own event loop with asyncio.run; ordering comes from asyncio.Event, never
from how long anything takes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from starlette.responses import StreamingResponse

from onerouter.api.sse import DONE, KEEPALIVE, SILENCE, Pump, encode, open_stream
from onerouter.errors import OneRouterError, RateLimited, UpstreamFailed

T = TypeVar("T")
SHORT = 0.01  # a keep-alive interval the silent sources below always outlast
LONG = 5.0  # an upper bound never reached: items are ready long before


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def no_headers(_: object) -> dict[str, str]:
    return {}


async def body_of(response: StreamingResponse) -> list[bytes]:
    return [chunk async for chunk in response.body_iterator]  # type: ignore[misc]


def event(chunk: bytes) -> Any:
    assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n")
    return json.loads(chunk[len(b"data: ") : -2])


def test_wire_constants_are_the_contracts() -> None:
    assert KEEPALIVE == b": ONEROUTER PROCESSING\n\n"
    assert DONE == b"data: [DONE]\n\n"
    assert encode({"a": 1}) == b'data: {"a":1}\n\n'


# ---------------------------------------------------------------- Pump


def test_pump_returns_silence_then_the_same_item_without_loss() -> None:
    pulls: list[int] = []

    async def scenario() -> list[object]:
        release = asyncio.Event()

        async def source() -> AsyncIterator[str]:
            pulls.append(1)
            await release.wait()
            yield "a"
            yield "b"

        ahead = Pump(source(), SHORT)
        seen: list[object] = [await ahead.next(), await ahead.next()]
        release.set()
        seen += [await ahead.next(), await ahead.next()]
        with pytest.raises(StopAsyncIteration):
            await ahead.next()
        with pytest.raises(StopAsyncIteration):
            await ahead.next()
        await ahead.aclose()
        return seen

    assert run(scenario) == [SILENCE, SILENCE, "a", "b"]
    assert pulls == [1], "the source was started once, not restarted after the silence"


def test_pump_passes_the_sources_error_on() -> None:
    async def scenario() -> None:
        async def source() -> AsyncIterator[str]:
            yield "a"
            raise RateLimited("slow down")

        ahead = Pump(source(), LONG)
        assert await ahead.next() == "a"
        with pytest.raises(RateLimited):
            await ahead.next()
        await ahead.aclose()

    run(scenario)


def test_pump_close_stops_a_source_that_is_still_waiting() -> None:
    closed: list[bool] = []

    async def scenario() -> None:
        async def source() -> AsyncIterator[str]:
            try:
                await asyncio.Event().wait()
                yield "never"
            finally:
                closed.append(True)

        ahead = Pump(source(), SHORT)
        assert await ahead.next() is SILENCE
        await ahead.aclose()
        # Checked inside the loop: asyncio.run would finalise the generator on its way out.
        assert closed == [True]

    run(scenario)


def test_pump_close_stops_a_source_blocked_on_a_full_queue() -> None:
    closed: list[bool] = []

    async def scenario() -> None:
        async def source() -> AsyncIterator[int]:
            try:
                for i in range(100):
                    yield i
            finally:
                closed.append(True)

        ahead = Pump(source(), LONG)
        assert await ahead.next() == 0
        await asyncio.sleep(0.05)  # let the pump fill its queue and wait
        await ahead.aclose()
        assert closed == [True]

    run(scenario)


# ---------------------------------------------------------------- open_stream


class Failing:
    """An iterator whose first item is an error, recording whether it was closed."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.closed = False

    def __aiter__(self) -> Failing:
        return self

    async def __anext__(self) -> dict[str, Any]:
        raise self.error

    async def aclose(self) -> None:
        self.closed = True


def test_failing_first_item_raises_its_error_and_closes_the_source() -> None:
    source = Failing(UpstreamFailed("every provider failed"))

    async def scenario() -> None:
        await open_stream(source, encode, LONG, no_headers)

    with pytest.raises(UpstreamFailed, match="every provider failed"):
        run(scenario)
    assert source.closed


def test_stream_yields_rendered_items_then_done() -> None:
    seen_first: list[object] = []

    def headers(first: dict[str, Any] | None) -> dict[str, str]:
        seen_first.append(first)
        return {"x-onerouter-provider": first["provider"] if first else "?"}

    async def scenario() -> tuple[StreamingResponse, list[bytes]]:
        async def source() -> AsyncIterator[dict[str, Any]]:
            yield {"n": 1, "provider": "acme"}
            yield {"n": 2, "provider": "acme"}

        response = await open_stream(source(), encode, LONG, headers)
        return response, await body_of(response)

    response, chunks = run(scenario)

    assert isinstance(response, StreamingResponse)
    assert response.status_code == 200
    assert response.media_type == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-onerouter-provider"] == "acme"
    assert seen_first == [{"n": 1, "provider": "acme"}]
    assert [event(c) for c in chunks[:-1]] == [
        {"n": 1, "provider": "acme"},
        {"n": 2, "provider": "acme"},
    ]
    assert chunks[-1] == DONE


def test_items_rendered_as_none_send_nothing() -> None:
    def render(item: int) -> bytes | None:
        return None if item % 2 else encode({"n": item})

    async def scenario() -> list[bytes]:
        async def source() -> AsyncIterator[int]:
            for n in range(4):
                yield n

        return await body_of(await open_stream(source(), render, LONG, no_headers))

    assert run(scenario) == [encode({"n": 0}), encode({"n": 2}), DONE]


def test_empty_source_sends_only_done() -> None:
    seen_first: list[object] = []

    def headers(first: object) -> dict[str, str]:
        seen_first.append(first)
        return {}

    async def scenario() -> list[bytes]:
        async def source() -> AsyncIterator[int]:
            return
            yield 0

        return await body_of(await open_stream(source(), encode, LONG, headers))

    assert run(scenario) == [DONE]
    assert seen_first == [None]


def test_silent_source_gets_keepalives_then_its_items() -> None:
    seen_first: list[object] = []

    def headers(first: object) -> dict[str, str]:
        seen_first.append(first)
        return {}

    async def scenario() -> tuple[bytes, list[bytes]]:
        release = asyncio.Event()

        async def source() -> AsyncIterator[dict[str, int]]:
            await release.wait()
            yield {"n": 1}

        response = await open_stream(source(), encode, SHORT, headers)
        body = response.body_iterator.__aiter__()
        first = await anext(body)
        release.set()
        return first, [chunk async for chunk in body]

    first, rest = run(scenario)

    assert seen_first == [None], "the response started before the first item arrived"
    assert first == KEEPALIVE
    assert [chunk for chunk in rest if chunk != KEEPALIVE] == [encode({"n": 1}), DONE]


def test_error_mid_stream_becomes_an_error_event_then_done() -> None:
    async def scenario() -> list[bytes]:
        async def source() -> AsyncIterator[dict[str, int]]:
            yield {"n": 1}
            raise RateLimited("acme is rate limiting", metadata={"provider_name": "acme"})

        return await body_of(await open_stream(source(), encode, LONG, no_headers))

    chunks = run(scenario)

    assert len(chunks) == 3
    assert event(chunks[0]) == {"n": 1}
    error = event(chunks[1])["error"]
    assert error["message"] == "acme is rate limiting"
    assert error["type"] == "rate_limit_error"
    assert error["metadata"] == {"provider_name": "acme"}
    assert chunks[2] == DONE


def test_unexpected_failure_mid_stream_is_reported_without_its_text() -> None:
    secret = "the user's prompt text"

    async def scenario() -> list[bytes]:
        async def source() -> AsyncIterator[dict[str, int]]:
            yield {"n": 1}
            raise RuntimeError(secret)

        return await body_of(await open_stream(source(), encode, LONG, no_headers))

    chunks = run(scenario)

    assert event(chunks[1]) == OneRouterError("The stream failed unexpectedly.").body()
    assert chunks[-1] == DONE
    assert not any(secret.encode() in chunk for chunk in chunks)


def test_closing_the_body_early_closes_the_source() -> None:
    closed: list[bool] = []

    async def scenario() -> bytes:
        async def source() -> AsyncIterator[dict[str, int]]:
            try:
                n = 0
                while True:
                    yield {"n": n}
                    n += 1
            finally:
                closed.append(True)

        response = await open_stream(source(), encode, LONG, no_headers)
        body = response.body_iterator.__aiter__()
        first = await anext(body)
        await body.aclose()  # type: ignore[attr-defined]
        # Checked inside the loop: asyncio.run would finalise the generator on its way out.
        assert closed == [True]
        return first

    assert event(run(scenario)) == {"n": 0}


def test_closing_the_body_while_the_source_is_silent_closes_the_source() -> None:
    closed: list[bool] = []

    async def scenario() -> bytes:
        async def source() -> AsyncIterator[dict[str, int]]:
            try:
                await asyncio.Event().wait()
                yield {"n": 0}
            finally:
                closed.append(True)

        response = await open_stream(source(), encode, SHORT, no_headers)
        body = response.body_iterator.__aiter__()
        first = await anext(body)
        await body.aclose()  # type: ignore[attr-defined]
        # Checked inside the loop: asyncio.run would finalise the generator on its way out.
        assert closed == [True]
        return first

    assert run(scenario) == KEEPALIVE
