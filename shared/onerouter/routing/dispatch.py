"""Calling a route's provider endpoints in order, falling back while nothing has been sent.

An endpoint failure that says nothing about the request (connection error, timeout, 408, 429,
5xx) moves on to the next endpoint. Once a stream has yielded its first chunk the answer is
committed: a later failure ends the stream with an error instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ..errors import OneRouterError, UpstreamFailed
from ..providers.base import Adapter, Target, UpstreamError
from ..requests import GatewayRequest
from .router import Route


class Dispatcher:
    def __init__(self, adapters: Mapping[str, Adapter]) -> None:
        self._adapters = adapters

    def _adapter(self, target: Target) -> Adapter:
        return self._adapters[target.provider.protocol]

    async def complete(
        self, route: Route, request: GatewayRequest
    ) -> tuple[Target, dict[str, Any]]:
        failures: list[UpstreamError] = []
        for target in route.targets:
            try:
                return target, await self._adapter(target).complete(target, request)
            except UpstreamError as exc:
                failures.append(exc)
                if not exc.retryable:
                    break
        raise _give_up(route, failures)

    async def stream(
        self, route: Route, request: GatewayRequest
    ) -> AsyncIterator[tuple[Target, dict[str, Any]]]:
        """Yields (the endpoint serving, chunk) pairs; the endpoint is fixed by the first one."""
        failures: list[UpstreamError] = []
        for target in route.targets:
            chunks = self._adapter(target).stream(target, request)
            started = False
            try:
                async for chunk in chunks:
                    started = True
                    yield target, chunk
                return
            except UpstreamError as exc:
                if started:
                    raise exc.to_error() from None
                failures.append(exc)
                if not exc.retryable:
                    break
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]
        raise _give_up(route, failures)


def _give_up(route: Route, failures: list[UpstreamError]) -> OneRouterError:
    if len(failures) == 1:
        return failures[0].to_error()
    tried = ", ".join(f"{f.provider} ({f.status or f.kind})" for f in failures)
    last = failures[-1]
    return UpstreamFailed(
        f"Every provider for {route.model.id} failed: {tried}.",
        metadata={"provider_name": last.provider, "raw": last.raw},
    )
