"""The I/O every adapter shares: pooled connections per provider, JSON calls, SSE reading.

httpcore, the connection layer under httpx, is used directly: on the hot path httpx's own
layer (request and URL models, cookie jar, event hooks) cost about as much CPU again as the
call itself, and a gateway serving many callers must not keep a provider's cookies anyway.
Failures become `UpstreamError` here, so adapters only translate.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpcore
import orjson

from ..routing.catalog import Provider
from .base import UpstreamError

# An error body is read only this far: enough for the provider's message, bounded for memory.
_MAX_ERROR_BODY = 64 * 1024


class Upstream:
    """One connection pool per provider, created on first use; timeouts per provider."""

    def __init__(self, network_backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._pools: dict[str, httpcore.AsyncConnectionPool] = {}
        self._backend = network_backend

    def pool(self, provider: Provider) -> httpcore.AsyncConnectionPool:
        pool = self._pools.get(provider.id)
        if pool is None:
            pool = httpcore.AsyncConnectionPool(
                max_connections=1000,
                max_keepalive_connections=200,
                keepalive_expiry=30.0,
                network_backend=self._backend,
            )
            self._pools[provider.id] = pool
        return pool

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    async def post_json(
        self, provider: Provider, url: str, headers: dict[str, str], body: bytes
    ) -> Any:
        try:
            response = await self.pool(provider).request(
                "POST",
                url,
                headers=_headers(headers),
                content=body,
                extensions=_timeouts(provider, provider.timeouts.whole),
            )
        except httpcore.TimeoutException as exc:
            raise UpstreamError(provider.id, "timeout", detail=type(exc).__name__) from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise UpstreamError(provider.id, "connect", detail=type(exc).__name__) from None
        if response.status >= 400:
            raise _status_error(provider.id, response, response.content[:_MAX_ERROR_BODY])
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamError(provider.id, "protocol", detail="response is not JSON") from None

    async def sse_events(
        self, provider: Provider, url: str, headers: dict[str, str], body: bytes
    ) -> AsyncIterator[str]:
        """Yields the `data` of each server-sent event, as the provider sends it."""
        chunks = self.byte_stream(provider, url, headers, body)
        try:
            async for data in _events(chunks):
                yield data
        finally:
            await chunks.aclose()

    async def byte_stream(
        self, provider: Provider, url: str, headers: dict[str, str], body: bytes
    ) -> AsyncGenerator[bytes, None]:
        """The response body as it arrives, for binary framings (Bedrock's event stream)."""
        stream = self.pool(provider).stream(
            "POST",
            url,
            headers=_headers(headers),
            content=body,
            extensions=_timeouts(provider, provider.timeouts.first_byte),
        )
        try:
            response = await stream.__aenter__()
        except httpcore.TimeoutException as exc:
            raise UpstreamError(provider.id, "timeout", detail=type(exc).__name__) from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise UpstreamError(provider.id, "connect", detail=type(exc).__name__) from None
        try:
            if response.status >= 400:
                raise _status_error(provider.id, response, await _read_bounded(response))
            async for chunk in response.aiter_stream():
                yield chunk
        except httpcore.TimeoutException:
            raise UpstreamError(provider.id, "timeout", detail="stream went silent") from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise UpstreamError(provider.id, "dropped", detail=type(exc).__name__) from None
        finally:
            await stream.__aexit__(None, None, None)


async def _events(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """Server-sent events' data fields from a byte stream (comments and other fields skipped)."""
    pending = b""
    data: list[bytes] = []
    async for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield b"\n".join(data).decode("utf-8")
                    data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
    line = pending.rstrip(b"\r")
    if line.startswith(b"data:"):
        data.append(line[6:] if line.startswith(b"data: ") else line[5:])
    if data:
        yield b"\n".join(data).decode("utf-8")


def parse_event(provider: str, data: str) -> dict[str, Any]:
    """One SSE event's JSON object; anything else is the provider breaking its protocol."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError(provider, "protocol", detail="bad stream event") from None
    if not isinstance(event, dict):
        raise UpstreamError(provider, "protocol", detail="bad stream event")
    return event


def _headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def _timeouts(provider: Provider, read: float) -> dict[str, Any]:
    timeouts = provider.timeouts
    return {
        "timeout": {
            "connect": timeouts.connect,
            "read": read,
            "write": 30.0,
            "pool": 10.0,
        }
    }


async def _read_bounded(response: httpcore.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_stream():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _MAX_ERROR_BODY:
            break
    return b"".join(chunks)[:_MAX_ERROR_BODY]


def _status_error(provider: str, response: httpcore.Response, raw_body: bytes) -> UpstreamError:
    raw: Any
    try:
        raw = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        raw = raw_body[:2000].decode("utf-8", "replace")
    headers = {k.lower(): v.decode("latin-1") for k, v in response.headers}
    error_type = headers.get(b"x-amzn-errortype")
    if error_type and isinstance(raw, dict) and "type" not in raw:
        # AWS names the error in a header (`ThrottlingException:http://...`), not the body.
        raw = {**raw, "type": error_type.split(":", 1)[0]}
    retry_after = headers.get(b"retry-after")
    return UpstreamError(
        provider, "status", status=response.status, raw=raw, retry_after=retry_after
    )
