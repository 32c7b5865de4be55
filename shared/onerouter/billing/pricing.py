"""The exact cost of one request, from the provider's reported usage and the catalog's prices.

Prices are USD per million tokens (`request`: per request, `image`: per input image), exact
decimals; so is every cost here. Prompt tokens read from the provider's cache are billed at
`input_cache_read`, those written to it at `input_cache_write` (each at the prompt price when
the endpoint lists none), the rest at `prompt`; reasoning tokens are completion tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..routing.catalog import Pricing

_MILLION = Decimal(1_000_000)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts in OpenAI's terms: `prompt` includes cached reads and cache writes;
    `completion` includes reasoning."""

    prompt: int = 0
    completion: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @classmethod
    def from_usage(cls, usage: Any) -> Tokens:
        """From an OpenAI-shaped `usage` object; missing or malformed counts are zero."""
        if not isinstance(usage, dict):
            return cls()
        prompt_details = usage.get("prompt_tokens_details")
        completion_details = usage.get("completion_tokens_details")
        prompt_details = prompt_details if isinstance(prompt_details, dict) else {}
        completion_details = completion_details if isinstance(completion_details, dict) else {}
        return cls(
            prompt=_count(usage.get("prompt_tokens")),
            completion=_count(usage.get("completion_tokens")),
            cache_read=_count(prompt_details.get("cached_tokens")),
            cache_write=_count(prompt_details.get("cache_write_tokens")),
            reasoning=_count(completion_details.get("reasoning_tokens")),
        )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True, slots=True)
class Cost:
    prompt: Decimal = ZERO
    cache_read: Decimal = ZERO
    cache_write: Decimal = ZERO
    completion: Decimal = ZERO
    reasoning: Decimal = ZERO
    request: Decimal = ZERO
    images: Decimal = ZERO
    # Bring your own key: what the provider bills the caller at our catalog's prices, for the
    # caller's information; never part of `total`, which is what we charge (nothing).
    upstream: Decimal | None = None

    @property
    def total(self) -> Decimal:
        return (
            self.prompt
            + self.cache_read
            + self.cache_write
            + self.completion
            + self.reasoning
            + self.request
            + self.images
        )

    def details(self) -> dict[str, Decimal]:
        """OpenRouter's `cost_details` names."""
        details = {
            "prompt_cost": self.prompt,
            "completion_cost": self.completion,
            "prompt_cache_read_cost": self.cache_read,
            "prompt_cache_write_cost": self.cache_write,
            "reasoning_cost": self.reasoning,
            "request_cost": self.request,
            "image_cost": self.images,
        }
        if self.upstream is not None:
            details["upstream_inference_cost"] = self.upstream
        return details

    def own_key(self) -> Cost:
        """This cost, for a request served with the caller's own key: nothing charged, what
        the provider bills them said beside it."""
        return Cost(upstream=self.total)


def cost_of(pricing: Pricing, tokens: Tokens, images: int = 0) -> Cost:
    read = min(tokens.cache_read, tokens.prompt)
    written = min(tokens.cache_write, tokens.prompt - read)
    fresh = tokens.prompt - read - written
    reasoning = min(tokens.reasoning, tokens.completion)
    read_price = (
        pricing.input_cache_read if pricing.input_cache_read is not None else pricing.prompt
    )
    write_price = (
        pricing.input_cache_write if pricing.input_cache_write is not None else pricing.prompt
    )
    return Cost(
        prompt=fresh * pricing.prompt / _MILLION,
        cache_read=read * read_price / _MILLION,
        cache_write=written * write_price / _MILLION,
        completion=(tokens.completion - reasoning) * pricing.completion / _MILLION,
        reasoning=reasoning * pricing.completion / _MILLION,
        request=pricing.request,
        images=images * pricing.image if pricing.image is not None else ZERO,
    )


def worst_case(
    pricing: Pricing, prompt_tokens: int, completion_tokens: int, images: int
) -> Decimal:
    """The most a request may cost before it is made: every prompt token fresh."""
    return cost_of(pricing, Tokens(prompt_tokens, completion_tokens), images).total


def hit_cost(pricing: Pricing, prompt_tokens: int) -> Cost:
    """A prompt-cache hit: the prompt at the cache-read price, and nothing else (no completion
    was generated and no provider was called)."""
    read_price = (
        pricing.input_cache_read if pricing.input_cache_read is not None else pricing.prompt
    )
    return Cost(cache_read=max(prompt_tokens, 0) * read_price / _MILLION)
