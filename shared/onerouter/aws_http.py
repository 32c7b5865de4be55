"""POSTs to one HTTP/1.1 origin over kept-alive connections, on asyncio's streams.

The usage event's send and the prompt cache's reads and writes are on every request's path, so
their cost counts: a general client (httpcore over anyio and h11) spends about a millisecond of
CPU per call on bookkeeping this narrow case does not need. Here: one origin, one method, bodies
sized by Content-Length (what SQS and DynamoDB answer with), the request written in one piece,
the answer read in two.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

_MAX_BODY = 4 * 1024 * 1024


class ConnectionFailed(Exception):
    """The exchange failed on the network or broke HTTP; the text names how, nothing else."""


class Origin:
    def __init__(self, url: str, timeout: float = 5.0, keep: int = 16) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._tls else 80)
        self._authority = parts.netloc
        self._timeout = timeout
        self._keep = keep
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._context = ssl.create_default_context() if self._tls else None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """(status, body). A kept connection the server had closed is retried once, fresh."""
        head = [f"POST {path} HTTP/1.1", f"host: {self._authority}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"content-length: {len(body)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        while self._idle:
            connection = self._idle.pop()
            try:
                return await self._exchange(connection, request)
            except (ConnectionFailed, OSError, asyncio.IncompleteReadError):
                connection[1].close()  # it went stale while idle: try the next, or a new one
        try:
            connection = await asyncio.wait_for(
                asyncio.open_connection(
                    self._host,
                    self._port,
                    ssl=self._context,
                    server_hostname=self._host if self._tls else None,
                ),
                self._timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectionFailed(f"connect: {type(exc).__name__}") from None
        try:
            return await self._exchange(connection, request)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            connection[1].close()
            raise ConnectionFailed(type(exc).__name__) from None

    async def _exchange(
        self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[int, bytes]:
        reader, writer = connection
        writer.write(request)
        try:
            async with asyncio.timeout(self._timeout):
                head = await reader.readuntil(b"\r\n\r\n")
                status, length, close = _parse_head(head)
                body = await reader.readexactly(length)
        except (asyncio.LimitOverrunError, ValueError) as exc:
            writer.close()
            raise ConnectionFailed(f"bad answer: {type(exc).__name__}") from None
        except BaseException:  # cancelled too (a caller's time budget): the answer is lost
            writer.close()
            raise
        if close or len(self._idle) >= self._keep:
            writer.close()
        else:
            self._idle.append(connection)
        return status, body


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """(status, content length, whether the server closes the connection)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    try:
        status = int(rest[:3])
    except ValueError:
        raise ConnectionFailed("bad status line") from None
    length: int | None = None
    close = version != "HTTP/1.1"
    for line in lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding":
            raise ConnectionFailed("chunked answers are not expected here")
    if length is None or not 0 <= length <= _MAX_BODY:
        raise ConnectionFailed("answer without a usable content-length")
    return status, length, close
