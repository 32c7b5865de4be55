"""The one pipeline every front door feeds: who is calling, can they pay, where does it go,
and what it cost.

A front door translates its wire format into a `GatewayRequest` and back; everything between
(auth, credit checks, routing, fallback, billing, and later the cache) happens here, once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio

from ..accounts.auth import Authenticator, Principal
from ..billing.pricing import Cost, Tokens, cost_of, worst_case
from ..billing.spend import Hold, Spending
from ..providers.base import Target
from ..requests import GatewayRequest
from ..routing.dispatch import Dispatcher
from ..routing.needs import Needs
from ..routing.router import Route, Router
from ..store.records import utcnow
from ..usage.events import Status, UsageEvent
from ..usage.producer import LoggedUsageSink, UsageSink

# When a request sets no max_tokens, the credit check assumes an answer this long.
FLOOR_COMPLETION_TOKENS = 1000
# For billing a stream the provider never finished counting: about four characters a token.
_CHARS_PER_TOKEN = 4


def new_generation_id() -> str:
    # Time-ordered, so ids sort by when the request arrived.
    return f"gen-{int(time.time() * 1000):011x}{secrets.token_hex(10)}"


@dataclass(slots=True)
class Call:
    principal: Principal
    request: GatewayRequest
    route: Route
    generation_id: str
    hold: Hold
    created_at: str = field(default_factory=utcnow)
    started: float = field(default_factory=time.monotonic)

    @property
    def needs(self) -> Needs:
        assert self.route.needs is not None
        return self.route.needs


class Pipeline:
    def __init__(
        self,
        authenticator: Authenticator,
        router: Router,
        dispatcher: Dispatcher,
        usage: UsageSink | None = None,
        spending: Spending | None = None,
    ):
        self.authenticator = authenticator
        self.router = router
        self.dispatcher = dispatcher
        self.usage = usage or LoggedUsageSink()
        self.spending = spending or Spending()

    async def authenticate(self, authorization: str | None) -> Principal:
        return await self.authenticator.authenticate(authorization)

    def begin(self, principal: Principal, request: GatewayRequest) -> Call:
        principal.check_can_spend()
        allow_training = principal.account.data_collection == "allow"
        route = self.router.plan(request, allow_training)
        needs = route.needs
        assert needs is not None
        completion = needs.max_tokens or FLOOR_COMPLETION_TOKENS
        most = max(
            worst_case(t.endpoint.pricing, needs.prompt_tokens, completion, needs.images)
            for t in route.targets
        )
        hold = self.spending.hold(principal, most)
        return Call(principal, request, route, new_generation_id(), hold)

    async def complete(self, call: Call) -> tuple[Target, dict[str, Any]]:
        try:
            target, body = await self.dispatcher.complete(call.route, call.request)
        except BaseException:
            self.spending.settle(call.hold, None)
            raise
        body["id"] = call.generation_id
        usage = body.get("usage")
        estimated = not isinstance(usage, dict) or not usage.get("completion_tokens")
        tokens = _estimate(call, body) if estimated else Tokens.from_usage(usage)
        cost = cost_of(target.endpoint.pricing, tokens, call.needs.images)
        if call.request.include_cost and isinstance(usage, dict):
            _show_cost(body, usage, cost)
        choices = body.get("choices") or [{}]
        finish = choices[0].get("finish_reason") if isinstance(choices[0], dict) else None
        await self._book(call, target, tokens, cost, "ok", None, finish, estimated)
        return target, body

    async def stream(self, call: Call) -> AsyncIterator[tuple[Target, dict[str, Any]]]:
        """Chunks for the client. The usage-only chunk is kept only if the client asked for it.

        Whatever way the stream ends, the request is booked before it does: from the provider's
        usage, or from what was received when the provider never said (a dropped stream, a
        client that went away)."""
        show_usage = call.request.include_usage
        show_cost = call.request.include_cost
        served: Target | None = None
        tokens: Tokens | None = None
        cost: Cost | None = None
        received = 0
        first: float | None = None
        finish: str | None = None
        status: Status = "cancelled"
        try:
            async for target, chunk in self.dispatcher.stream(call.route, call.request):
                if served is None:
                    served, first = target, time.monotonic()
                chunk["id"] = call.generation_id
                for choice in chunk.get("choices") or ():
                    received += _delta_chars(choice.get("delta"))
                    finish = choice.get("finish_reason") or finish
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    tokens = Tokens.from_usage(usage)
                    cost = cost_of(target.endpoint.pricing, tokens, call.needs.images)
                    if show_cost:
                        _show_cost(chunk, usage, cost)
                if not show_usage and usage and not chunk.get("choices"):
                    continue
                if not show_usage:
                    chunk.pop("usage", None)
                yield target, chunk
            status = "ok"
        except Exception:
            status = "error"
            raise
        finally:
            if served is None:
                self.spending.settle(call.hold, None)
            else:
                estimated = tokens is None or cost is None
                if tokens is None or cost is None:
                    tokens = Tokens(call.needs.prompt_tokens, -(-received // _CHARS_PER_TOKEN))
                    cost = cost_of(served.endpoint.pricing, tokens, call.needs.images)
                ttft = int(((first or call.started) - call.started) * 1000)
                with anyio.CancelScope(shield=True):
                    await self._book(call, served, tokens, cost, status, ttft, finish, estimated)

    async def _book(
        self,
        call: Call,
        target: Target,
        tokens: Tokens,
        cost: Cost,
        status: Status,
        ttft_ms: int | None,
        finish_reason: str | None,
        estimated: bool,
    ) -> None:
        """Settles the request's hold and sends its usage event."""
        self.spending.settle(call.hold, cost.total)
        key = call.principal.key
        event = UsageEvent(
            generation_id=call.generation_id,
            account_id=call.principal.account_id,
            key_id=key.key_id,
            key_hash=key.key_hash,
            model=target.model_id,
            provider=target.provider.id,
            provider_model=target.endpoint.model,
            created_at=call.created_at,
            prompt_tokens=tokens.prompt,
            completion_tokens=tokens.completion,
            cached_tokens=tokens.cache_read,
            cache_write_tokens=tokens.cache_write,
            reasoning_tokens=tokens.reasoning,
            images=call.needs.images,
            cost=cost.total,
            cost_details=cost.details(),
            latency_ms=int((time.monotonic() - call.started) * 1000),
            ttft_ms=ttft_ms,
            status=status,
            streamed=call.request.stream,
            finish_reason=finish_reason if isinstance(finish_reason, str) else None,
            estimated=estimated,
        )
        await self.usage.send(event)


def _delta_chars(delta: Any) -> int:
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


def _estimate(call: Call, body: dict[str, Any]) -> Tokens:
    """Tokens of a whole answer whose provider reported none."""
    chars = 0
    for choice in body.get("choices") or ():
        chars += _delta_chars(choice.get("message") or {"content": choice.get("text")})
    return Tokens(call.needs.prompt_tokens, -(-chars // _CHARS_PER_TOKEN))


def _money(amount: Decimal) -> float:
    # JSON numbers, as OpenRouter clients read them; the books keep the exact decimal.
    return float(amount)


def _show_cost(body: dict[str, Any], usage: dict[str, Any], cost: Cost) -> None:
    details = {name: _money(amount) for name, amount in cost.details().items()}
    usage["cost"] = _money(cost.total)
    usage["cost_details"] = details
    body["cost"] = usage["cost"]
    body["cost_details"] = details
