"""Server-sent events read from raw bytes, however the network splits them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from onerouter.providers.http import _events

STREAM = (
    b": keep-alive comment\n\n"
    b'event: message\r\ndata: {"a": 1}\r\n\r\n'
    b"data: line one\ndata: line two\n\n"
    b"id: 7\nretry: 100\ndata:no-space\n\n"
    b"data: caf\xc3\xa9\n\n"
    b"data: [DONE]"  # the last event may lack its blank line
)
EXPECTED = ['{"a": 1}', "line one\nline two", "no-space", "café", "[DONE]"]


def _parse(chunks: list[bytes]) -> list[str]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[str]:
        return [event async for event in _events(source())]

    return asyncio.run(collect())


def test_whole_stream_in_one_chunk() -> None:
    assert _parse([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_any_split_gives_the_same_events(size: int) -> None:
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert _parse(chunks) == EXPECTED


def test_empty_stream_has_no_events() -> None:
    assert _parse([]) == []
    assert _parse([b": only a comment\n\n"]) == []
