"""An in-process network for httpcore: requests go to a handler function, no socket involved.

`HandlerBackend(handler)` takes `handler(httpx.Request) -> httpx.Response`, the same shape as
httpx.MockTransport's, so adapter tests read naturally while the real I/O code runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpcore
import httpx

Handler = Callable[[httpx.Request], httpx.Response]


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, handler: Handler, host: str, port: int, tls: bool = False) -> None:
        self._handler = handler
        self._origin = f"{'https' if tls else 'http'}://{host}:{port}"
        self._sent = b""
        self._reply = b""
        self._answered = False

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._sent += buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if not self._answered:
            self._reply = _serialize(self._handler(self._parse()))
            self._answered = True
        data, self._reply = self._reply[:max_bytes], self._reply[max_bytes:]
        return data

    async def aclose(self) -> None:
        return None

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _Stream:
        self._origin = self._origin.replace("http://", "https://")
        return self

    def get_extra_info(self, info: str) -> Any:
        return None

    def _parse(self) -> httpx.Request:
        head, _, body = self._sent.partition(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = [tuple(line.split(": ", 1)) for line in header_lines]
        host = next(v for k, v in headers if k.lower() == "host")
        scheme = self._origin.split("://")[0]
        return httpx.Request(method, f"{scheme}://{host}{target}", headers=headers, content=body)


def _serialize(response: httpx.Response) -> bytes:
    body = response.content
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    lines += [f"{k}: {v}" for k, v in response.headers.items() if k != "content-length"]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HandlerBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(self._handler, host, port)

    async def sleep(self, seconds: float) -> None:
        return None


class _Trickle(httpcore.AsyncNetworkStream):
    """Hands the reply over `size` bytes at a time: events, lines and UTF-8 split anywhere."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, size: int) -> None:
        self._inner, self._size = inner, size

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(min(max_bytes, self._size), timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        self._inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class TrickleBackend(HandlerBackend):
    """`HandlerBackend` whose replies arrive at most `size` bytes per read, for the readers of
    streamed bodies to meet every awkward boundary."""

    def __init__(self, handler: Handler, size: int) -> None:
        super().__init__(handler)
        self._size = size

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _Trickle(await super().connect_tcp(*args, **kwargs), self._size)
