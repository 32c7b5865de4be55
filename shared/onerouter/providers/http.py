"""The I/O every adapter shares: pooled httpx clients per provider, JSON calls, SSE reading.

Failures become `UpstreamError` here, so adapters only translate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from ..routing.catalog import Provider
from .base import UpstreamError

# An error body is read only this far: enough for the provider's message, bounded for memory.
_MAX_ERROR_BODY = 64 * 1024


class Upstream:
    """One pooled client per provider, created on first use, so each keeps its own timeouts."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._transport = transport

    def client(self, provider: Provider) -> httpx.AsyncClient:
        client = self._clients.get(provider.id)
        if client is None:
            timeouts = provider.timeouts
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=timeouts.connect, read=timeouts.first_byte, write=30.0, pool=10.0
                ),
                limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
                transport=self._transport,
            )
            self._clients[provider.id] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def post_json(
        self, provider: Provider, url: str, headers: dict[str, str], body: bytes
    ) -> Any:
        client = self.client(provider)
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise UpstreamError(provider.id, "timeout", detail=type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise UpstreamError(provider.id, "connect", detail=type(exc).__name__) from None
        if response.status_code >= 400:
            raise _status_error(provider.id, response, response.content)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamError(provider.id, "protocol", detail="response is not JSON") from None

    async def sse_events(
        self, provider: Provider, url: str, headers: dict[str, str], body: bytes
    ) -> AsyncIterator[str]:
        """Yields the `data` of each server-sent event, as the provider sends it."""
        client = self.client(provider)
        request = client.build_request("POST", url, content=body, headers=headers)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamError(provider.id, "timeout", detail=type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise UpstreamError(provider.id, "connect", detail=type(exc).__name__) from None
        try:
            if response.status_code >= 400:
                raw = await _read_bounded(response)
                raise _status_error(provider.id, response, raw)
            data: list[str] = []
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                elif not line and data:
                    yield "\n".join(data)
                    data = []
                # Comments (":"), "event:", "id:" and "retry:" lines carry nothing we forward.
            if data:
                yield "\n".join(data)
        except httpx.TimeoutException:
            raise UpstreamError(provider.id, "timeout", detail="stream went silent") from None
        except httpx.TransportError as exc:
            raise UpstreamError(provider.id, "dropped", detail=type(exc).__name__) from None
        finally:
            await response.aclose()


async def _read_bounded(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _MAX_ERROR_BODY:
            break
    return b"".join(chunks)[:_MAX_ERROR_BODY]


def _status_error(provider: str, response: httpx.Response, raw_body: bytes) -> UpstreamError:
    raw: Any
    try:
        raw = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        raw = raw_body[:2000].decode("utf-8", "replace")
    return UpstreamError(
        provider,
        "status",
        status=response.status_code,
        raw=raw,
        retry_after=response.headers.get("retry-after"),
    )
