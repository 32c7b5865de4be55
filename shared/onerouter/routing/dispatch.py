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
    def __init__(
        self,
        adapters: Mapping[str, Adapter],
        health: Health | None = None,
        load: Callable[[str], Adapter | None] | None = None,
    ) -> None:
        """`load`: the adapter of a protocol not in `adapters`, imported on first use (a
        caller's own key may reach a provider no shared key does)."""
        self._adapters = dict(adapters)
        self._load = load
        self.health = health or Health()

    def _adapter(self, target: Target) -> Adapter:
        protocol = target.provider.protocol
        adapter = self._adapters.get(protocol)
        if adapter is None and self._load is not None:
            adapter = self._load(protocol)
            if adapter is not None:
                self._adapters[protocol] = adapter
        if adapter is None:
            raise KeyError(f"no adapter for the {protocol} protocol")
        return adapter

    def _failed(self, key: str, target: Target, error: UpstreamError) -> None:
        # The request's fault (a 400), or a bound the caller set itself (fallback_rules), says
        # nothing about the endpoint: one caller's tight threshold must not open the breaker
        # every caller shares. Nor does a caller's own key refused or out of quota.
        if error.retryable and not _callers_own(target, error):
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
                exc = _scrubbed(target, exc)
                self._failed(key, target, exc)
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
                exc = _scrubbed(target, exc)
                self._failed(key, target, exc)
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
    # rates (/api/v1/models/stats) count the endpoints' failures, not callers' impatience (nor
    # a caller's own key refused).
    if failed is not None and rules.falls_back(error) and not _callers_own(target, error):
        failed.append(target)


# A caller's own key refused, or over its own quota: the caller's account at the provider,
# not the endpoint's health.
_OWN_KEY_STATUSES = frozenset({401, 402, 403, 429})


def _callers_own(target: Target, error: UpstreamError) -> bool:
    if isinstance(error, ThresholdExceeded):
        return True
    return target.byok and error.status in _OWN_KEY_STATUSES


def _scrubbed(target: Target, error: UpstreamError) -> UpstreamError:
    """A failure whose words may quote the caller's own key (some providers echo part of a
    rejected key) has it masked before it reaches an error message or a log."""
    secret = target.api_key
    if not target.byok or not secret:
        return error
    if secret not in error.detail and secret not in repr(error.raw):
        return error
    error.detail = error.detail.replace(secret, "***")
    error.raw = _masked(error.raw, secret)
    error.args = (str(error.args[0]).replace(secret, "***"),)
    return error


def _masked(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, "***")
    if isinstance(value, dict):
        return {k: _masked(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secret) for v in value]
    return value


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
