"""Counting what an answer holds: its characters, its tokens when the provider gave no count,
its cost as the client is shown it, and a stream's chunks kept for the prompt cache while
they stay small enough."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..billing.pricing import Cost, Tokens, cost_of
from ..providers.base import Target

# For billing what the provider never finished counting: about four characters a token.
CHARS_PER_TOKEN = 4
# A stream is kept for the cache only up to about this many characters of text.
KEEP_CHARS = 200_000


class Kept:
    """A stream's chunks as the provider sent them, for the cache; dropped once too big."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] | None = []
        self._chars = 0

    def add(self, chunk: dict[str, Any]) -> None:
        if self.chunks is None:
            return
        copied = {k: v for k, v in chunk.items() if k != "id"}
        if isinstance(copied.get("usage"), dict):
            copied["usage"] = dict(copied["usage"])
        self.chunks.append(copied)
        self._chars += sum(delta_chars(c.get("delta")) for c in chunk.get("choices") or ())
        if self._chars > KEEP_CHARS:
            self.chunks = None


def cost_for(target: Target, tokens: Tokens, images: int = 0) -> Cost:
    """At the endpoint's prices; nothing charged with the caller's own key."""
    cost = cost_of(target.endpoint.pricing, tokens, images)
    return cost.own_key() if target.byok else cost


def delta_chars(delta: Any) -> int:
    if not isinstance(delta, dict):
        return 0
    count = 0
    for name in ("content", "reasoning"):
        text = delta.get(name)
        if isinstance(text, str):
            count += len(text)
    for call in delta.get("tool_calls") or ():
        if isinstance(call, dict):
            arguments = (call.get("function") or {}).get("arguments")
            count += len(arguments) if isinstance(arguments, str) else 0
    return count


def estimate(prompt_tokens: int, body: dict[str, Any]) -> Tokens:
    """Tokens of a whole answer whose provider reported none."""
    chars = 0
    for choice in body.get("choices") or ():
        chars += delta_chars(choice.get("message") or {"content": choice.get("text")})
    return Tokens(prompt_tokens, -(-chars // CHARS_PER_TOKEN))


def _money(amount: Decimal) -> float:
    # JSON numbers, as OpenRouter clients read them; the books keep the exact decimal.
    return float(amount)


def show_cost(body: dict[str, Any], usage: dict[str, Any], cost: Cost) -> None:
    details = {name: _money(amount) for name, amount in cost.details().items()}
    usage["cost"] = _money(cost.total)
    usage["cost_details"] = details
    body["cost"] = usage["cost"]
    body["cost_details"] = details
