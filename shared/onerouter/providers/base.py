"""What every provider adapter offers, and the one error type upstream failures raise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..errors import (
    InvalidRequest,
    OneRouterError,
    RateLimited,
    UpstreamFailed,
    UpstreamTimeout,
)
from ..requests import EmbeddingGatewayRequest, GatewayRequest
from ..routing.catalog import Endpoint, Provider


@dataclass(frozen=True, slots=True)
class Target:
    """One provider endpoint of one model, with the credential to call it."""

    model_id: str
    provider: Provider
    endpoint: Endpoint
    api_key: str | None
    # The most the model may write: the endpoint's limit, else the model's (None: unknown).
    max_output_tokens: int | None = None
    # `api_key` is the caller's own (bring your own key): the provider bills the caller.
    byok: bool = False

    def __repr__(self) -> str:  # never the credential
        return f"Target({self.model_id!r}, {self.provider.id!r}, byok={self.byok})"


FailureKind = Literal["connect", "timeout", "status", "dropped", "protocol"]


_ENDPOINT_FAULTS = frozenset({401, 403, 404, 408, 409, 424, 429})


class UpstreamError(Exception):
    """A provider call failed. Carries the provider's own words (never the prompt)."""

    def __init__(
        self,
        provider: str,
        kind: FailureKind,
        *,
        status: int | None = None,
        raw: Any = None,
        retry_after: str | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(f"{provider}: {kind} {status or ''} {detail}".strip())
        self.provider = provider
        self.kind = kind
        self.status = status
        self.raw = raw
        self.retry_after = retry_after
        self.detail = detail

    @property
    def retryable(self) -> bool:
        """Worth trying another endpoint: the failure says nothing about the request itself."""
        if self.kind != "status":
            return True
        # 401/403: the provider refuses our credentials; 404: it lacks the model it is
        # listed for; 424: the model failed behind it (Bedrock's ModelErrorException).
        # None of these is the caller's doing, and another endpoint may well serve.
        return self.status in _ENDPOINT_FAULTS or (self.status or 0) >= 500

    def to_error(self) -> OneRouterError:
        metadata = {"provider_name": self.provider, "raw": self.raw}
        what = self.detail or _provider_message(self.raw) or f"HTTP {self.status}"
        if self.kind == "timeout" or self.status == 408:
            return UpstreamTimeout(f"{self.provider} timed out", metadata=metadata)
        if self.status == 429:
            headers = {"Retry-After": self.retry_after or "1"}
            return RateLimited(
                f"{self.provider} is rate limiting: {what}", metadata=metadata, headers=headers
            )
        if self.kind == "status" and self.status in (400, 413, 422):
            return InvalidRequest(
                f"{self.provider} rejected the request: {what}", metadata=metadata
            )
        return UpstreamFailed(f"{self.provider} failed: {what}", metadata=metadata)


def _provider_message(raw: Any) -> str:
    if isinstance(raw, dict):
        error = raw.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:500]
        if isinstance(error, str):
            return error[:500]
    return ""


class Adapter(Protocol):
    async def complete(self, target: Target, request: GatewayRequest) -> dict[str, Any]:
        """One whole answer, in OpenAI's shape."""
        ...

    def stream(self, target: Target, request: GatewayRequest) -> AsyncIterator[dict[str, Any]]:
        """OpenAI-shaped chunks as the provider produces them."""
        ...


class Embedder(Protocol):
    """An adapter whose protocol serves embeddings (openai, azure, gemini, bedrock)."""

    async def embed(self, target: Target, request: EmbeddingGatewayRequest) -> dict[str, Any]:
        """OpenAI's CreateEmbeddingResponse, in the encoding asked for; no `usage` when the
        provider counted no tokens."""
        ...
