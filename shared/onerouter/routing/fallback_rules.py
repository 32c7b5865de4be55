"""A request's own rules for giving up on an endpoint and trying the next (`fallback_rules`).

"auto" keeps the gateway's judgement (`UpstreamError.retryable`): connection errors, timeouts,
408, 429 and 5xx, and the endpoint faults a request cannot cause (our credentials refused, a
model a host does not know). An explicit `status_codes` replaces that status set exactly.
`max_ttft_ms` and `max_latency_ms` cut the wait for an endpoint short; a cut always falls back.
A stream is never buffered: only the wait for its first chunk is bounded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from ..errors import OneRouterError, UpstreamTimeout
from ..providers.base import Target, UpstreamError
from ..requests import FallbackRules

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cutoff:
    """How long to wait for an endpoint, and what to call it when the wait runs out."""

    seconds: float
    reason: str  # "first byte over 200 ms"


class ThresholdExceeded(UpstreamError):
    """An endpoint cut short by the request's own threshold: a fallback, but not held against
    the endpoint (its health, the public stats), since the caller chose the bound."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(provider, "timeout", detail=reason)

    def to_error(self) -> OneRouterError:
        metadata = {"provider_name": self.provider, "raw": None}
        return UpstreamTimeout(
            f"{self.provider} timed out: {self.detail} (fallback_rules)", metadata=metadata
        )


@dataclass(frozen=True, slots=True)
class FallbackPolicy:
    status_codes: frozenset[int] | None = None  # None: auto's
    connection_errors: bool = True
    max_ttft: float | None = None  # seconds
    max_latency: float | None = None

    @classmethod
    def of(cls, rules: FallbackRules | None) -> FallbackPolicy:
        if rules is None:
            return AUTO
        codes = rules.status_codes
        return cls(
            status_codes=None if codes is None else frozenset(codes),
            connection_errors=rules.connection_errors,
            max_ttft=_seconds(rules.max_ttft_ms),
            max_latency=_seconds(rules.max_latency_ms),
        )

    def falls_back(self, error: UpstreamError) -> bool:
        """Whether the next endpoint gets the request after this failure."""
        if isinstance(error, ThresholdExceeded):
            return True
        if self is AUTO:
            return error.retryable
        if error.kind != "status":
            return self.connection_errors
        if self.status_codes is None:
            return error.retryable
        return error.status in self.status_codes

    def first_byte_deadline(self, target: Target) -> Cutoff | None:
        """A stream's wait for its first chunk: the tighter of the two thresholds, when it is
        tighter than the provider's own first-byte timeout (which otherwise cuts first)."""
        if self.max_ttft is None and self.max_latency is None:
            return None
        return _tightest(
            target.provider.timeouts.first_byte,
            (self.max_ttft, "first byte"),
            (self.max_latency, "first byte"),
        )

    def whole_deadline(self, target: Target) -> Cutoff | None:
        """A whole answer's wait. It arrives in one piece, so its first byte is the answer."""
        if self.max_ttft is None and self.max_latency is None:
            return None
        return _tightest(
            target.provider.timeouts.whole,
            (self.max_ttft, "first byte"),
            (self.max_latency, "answer"),
        )


AUTO = FallbackPolicy()


async def within(cutoff: Cutoff | None, target: Target, call: Awaitable[T]) -> T:
    """`call`'s result, or `ThresholdExceeded` once `cutoff` has passed."""
    if cutoff is None:
        return await call
    with anyio.move_on_after(cutoff.seconds):
        return await call
    raise ThresholdExceeded(target.provider.id, cutoff.reason)


def first_chunk_within(
    cutoff: Cutoff | None, target: Target, chunks: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    """`chunks`, the first of them within `cutoff`; the rest as they come."""
    if cutoff is None:
        return chunks
    return _bounded(cutoff, target, chunks)


async def _bounded(
    cutoff: Cutoff, target: Target, chunks: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    try:
        first: dict[str, Any] | None = None
        with anyio.move_on_after(cutoff.seconds):
            first = await anext(chunks, None)
            if first is None:
                return
        if first is None:
            raise ThresholdExceeded(target.provider.id, cutoff.reason)
        yield first  # outside the cancel scope: the consumer's time is not the endpoint's
        async for chunk in chunks:
            yield chunk
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _tightest(provider_bound: float, *bounds: tuple[float | None, str]) -> Cutoff | None:
    found = [(seconds, what) for seconds, what in bounds if seconds is not None]
    if not found:
        return None
    seconds, what = min(found, key=lambda bound: bound[0])
    if seconds >= provider_bound:
        return None
    return Cutoff(seconds, f"{what} over {round(seconds * 1000)} ms")
