"""Calling a route's provider endpoints in order, falling back while nothing has been sent.

An endpoint failure that says nothing about the request (connection error, timeout, 408, 429,
5xx, the provider refusing our own credentials) moves on to the next endpoint, unless the
request's `fallback_rules` say otherwise (`fallback_rules.py`; they may also cut a slow
endpoint short). Once a stream
has yielded its first chunk the answer is committed: a later failure ends the stream with an
error instead. Every outcome, and the speed of every answer, is reported to `Health`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, cast

from ..errors import OneRouterError, UpstreamFailed
from ..providers.base import Adapter, Embedder, Target, UpstreamError
from ..requests import EmbeddingGatewayRequest, GatewayRequest
from .choose import health_key
from .fallback_rules import FallbackPolicy, ThresholdExceeded, first_chunk_within, within
from .health import Health
from .router import Route


def _completion_tokens(chunk: dict[str, Any]) -> int:
    usage = chunk.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) else 0


class Dispatcher:
    def __init__(self, adapters: Mapping[str, Adapter], health: Health | None = None) -> None:
        self._adapters = adapters
        self.health = health or Health()

    def _adapter(self, target: Target) -> Adapter:
        return self._adapters[target.provider.protocol]

    def _failed(self, key: str, error: UpstreamError) -> None:
        # The request's fault (a 400), or a bound the caller set itself (fallback_rules), says
        # nothing about the endpoint: one caller's tight threshold must not open the breaker
        # every caller shares.
        if error.retryable and not isinstance(error, ThresholdExceeded):
            self.health.failed(key)
        else:
            self.health.abandoned(key)

    def _slow(self, target: Target, ttft: float) -> bool:
        return ttft > target.provider.timeouts.first_byte / 2

    async def complete(
        self, route: Route, request: GatewayRequest, failed: list[Target] | None = None
    ) -> tuple[Target, dict[str, Any]]:
        """The first endpoint's answer that succeeds. `failed`, if given, gets each endpoint
        that failed through no fault of the request (the usage record's failed attempts)."""
        return await self._whole(
            route,
            FallbackPolicy.of(request.params.fallback_rules),
            lambda target: self._adapter(target).complete(target, request),
            failed,
        )

    async def embed(
        self, route: Route, request: EmbeddingGatewayRequest, failed: list[Target] | None = None
    ) -> tuple[Target, dict[str, Any]]:
        """As `complete`, for embeddings: the same fallback and the same health bookkeeping
        (an embedding is one whole answer, with no completion tokens to time)."""
        return await self._whole(
            route,
            FallbackPolicy.of(request.params.fallback_rules),
            lambda target: cast(Embedder, self._adapter(target)).embed(target, request),
            failed,
        )

    async def _whole(
        self,
        route: Route,
        rules: FallbackPolicy,
        call: Callable[[Target], Awaitable[dict[str, Any]]],
        failed: list[Target] | None,
    ) -> tuple[Target, dict[str, Any]]:
        """The fallback loop of answers that come in one piece."""
        failures: list[UpstreamError] = []
        for target in route.targets:
            key = health_key(target)
            self.health.begin(key)
            started = time.monotonic()
            try:
                answer = await within(rules.whole_deadline(target), target, call(target))
            except UpstreamError as exc:
                self._failed(key, exc)
                _note(failed, target, exc, rules)
                failures.append(exc)
                if not rules.falls_back(exc):
                    break
                continue
            except BaseException:
                self.health.abandoned(key)
                raise
            elapsed = time.monotonic() - started
            # A whole answer has no first token to time; its pace still counts.
            tokens = _completion_tokens(answer)
            self.health.succeeded(key, throughput=tokens / elapsed if tokens and elapsed else None)
            return target, answer
        raise _give_up(route, failures, rules)

    async def stream(
        self, route: Route, request: GatewayRequest, failed: list[Target] | None = None
    ) -> AsyncIterator[tuple[Target, dict[str, Any]]]:
        """Yields (the endpoint serving, chunk) pairs; the endpoint is fixed by the first one.
        `failed` as for `complete`: endpoints that failed before a first chunk."""
        rules = FallbackPolicy.of(request.params.fallback_rules)
        failures: list[UpstreamError] = []
        for target in route.targets:
            key = health_key(target)
            self.health.begin(key)
            chunks = first_chunk_within(
                rules.first_byte_deadline(target),
                target,
                self._adapter(target).stream(target, request),
            )
            started = time.monotonic()
            first: float | None = None
            tokens = 0
            try:
                async for chunk in chunks:
                    if first is None:
                        first = time.monotonic()
                    tokens = _completion_tokens(chunk) or tokens
                    yield target, chunk
            except UpstreamError as exc:
                self._failed(key, exc)
                if first is not None:
                    raise exc.to_error() from None
                _note(failed, target, exc, rules)
                failures.append(exc)
                if not rules.falls_back(exc):
                    break
                continue
            except BaseException:
                self.health.abandoned(key)
                raise
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]
            ttft = (first or time.monotonic()) - started
            generating = time.monotonic() - (first or started)
            self.health.succeeded(
                key,
                ttft=ttft,
                throughput=tokens / generating if tokens and generating > 0 else None,
                slow=self._slow(target, ttft),
            )
            return
        raise _give_up(route, failures, rules)


def _note(
    failed: list[Target] | None, target: Target, error: UpstreamError, rules: FallbackPolicy
) -> None:
    # An endpoint cut by the caller's own threshold is not a failed attempt: the public success
    # rates (/api/v1/models/stats) count the endpoints' failures, not callers' impatience.
    if failed is not None and rules.falls_back(error) and not isinstance(error, ThresholdExceeded):
        failed.append(target)


def _give_up(route: Route, failures: list[UpstreamError], rules: FallbackPolicy) -> OneRouterError:
    last = failures[-1]
    # A failure the rules do not fall back on (by default a provider refusing the request
    # itself, a 400) has the last word: an earlier one's outage does not turn a bad request
    # into a gateway failure worth retrying.
    if len(failures) == 1 or not rules.falls_back(last):
        return last.to_error()
    tried = ", ".join(f"{f.provider} ({_why(f)})" for f in failures)
    return UpstreamFailed(
        f"Every provider for {route.model.id} failed: {tried}.",
        metadata={"provider_name": last.provider, "raw": last.raw},
    )


def _why(failure: UpstreamError) -> str:
    if isinstance(failure, ThresholdExceeded):
        return failure.detail
    return str(failure.status or failure.kind)
