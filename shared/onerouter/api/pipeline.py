"""The one pipeline every front door feeds: who is calling, can they pay, where does it go,
and what it cost.

A front door translates its wire format into a `GatewayRequest` and back; everything between
(auth, credit checks, routing, fallback, billing, and later the cache) happens here, once.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

import anyio

from ..accounts.auth import Authenticator, Principal
from ..billing.pricing import Cost, Tokens, hit_cost, worst_case
from ..billing.spend import Hold, Spending
from ..cache import answers
from ..cache.answers import Entry
from ..cache.key import CacheKey
from ..cache.prompt_cache import PromptCache
from ..limits.admission import Limiter, Ticket
from ..providers.base import Target
from ..requests import AnyRequest, EmbeddingGatewayRequest, GatewayRequest
from ..routing.dispatch import Dispatcher
from ..routing.needs import Needs
from ..routing.own_keys import NONE, Credential, OwnKeys, own_keys
from ..routing.router import Route, Router
from ..store.records import Account, utcnow
from ..usage.events import Status, UsageEvent
from ..usage.producer import LoggedUsageSink, UsageSink
from .counting import CHARS_PER_TOKEN, Kept, cost_for, delta_chars, estimate, show_cost

# When a request sets no max_tokens, the credit check assumes an answer this long.
FLOOR_COMPLETION_TOKENS = 1000


def new_generation_id() -> str:
    # Time-ordered, so ids sort by when the request arrived.
    return f"gen-{int(time.time() * 1000):011x}{secrets.token_hex(10)}"


@dataclass(slots=True)
class Call:
    principal: Principal
    request: AnyRequest
    route: Route
    generation_id: str
    hold: Hold
    # The rate limits' answer, started when the call begins and awaited before any provider.
    ticket: Ticket
    cache_key: CacheKey | None = None  # None: the model's cache is off
    cache_status: str = "MISS"
    created_at: str = field(default_factory=utcnow)
    started: float = field(default_factory=time.monotonic)
    # Endpoints that failed before the one that served (provider outages, not the request's).
    failed: list[Target] = field(default_factory=list)

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
        cache: PromptCache | None = None,
        limiter: Limiter | None = None,
        stored_keys: StoredKeys | None = None,
    ):
        self.authenticator = authenticator
        self.router = router
        self.dispatcher = dispatcher
        self.usage = usage or LoggedUsageSink()
        self.spending = spending or Spending()
        self.cache = cache
        self.limiter = limiter
        self.stored_keys = stored_keys

    async def authenticate(self, authorization: str | None) -> Principal:
        return await self.authenticator.authenticate(authorization)

    async def begin(self, principal: Principal, request: AnyRequest) -> Call:
        """The request routed, its worst case held against the balance, its rate limits'
        check started; raises what refuses it (403, 402, 400, 404, 503)."""
        principal.check_key()
        allow_training = principal.account.data_collection == "allow"
        own = await self._own_keys(principal, request)
        route = self.router.plan(request, allow_training, own)
        needs = route.needs
        assert needs is not None
        if request.operation == "embedding":
            completion = 0  # an embedding is all prompt
        else:
            completion = needs.max_tokens or FLOOR_COMPLETION_TOKENS
        # What our keys may spend: the caller's own keys cost us, and them here, nothing.
        shared = [t for t in route.targets if not t.byok]
        if shared:
            principal.check_balance()
        most = max(
            (
                worst_case(t.endpoint.pricing, needs.prompt_tokens, completion, needs.images)
                for t in shared
            ),
            default=Decimal(0),
        )
        hold = self.spending.hold(principal, most)
        ticket = self.limiter.admit(principal) if self.limiter else Ticket.unchecked()
        call = Call(principal, request, route, new_generation_id(), hold, ticket)
        # An answer paid for with the caller's own key is not kept, nor one served them.
        if self.cache is not None and route.model.cache_ttl and not own:
            call.cache_key = self.cache.key(principal.account_id, route.model.id, request)
        return call

    async def _own_keys(self, principal: Principal, request: AnyRequest) -> OwnKeys:
        conf = request.params.byok_conf
        if not principal.account.byok_providers and conf is None:
            return NONE
        stored: Mapping[str, Credential] = {}
        if self.stored_keys is not None and principal.account.byok_providers:
            stored = await self.stored_keys.credentials(principal.account)
        return own_keys(conf, stored, self.router.provider_names())

    async def complete(self, call: Call) -> tuple[Target, dict[str, Any]]:
        request = call.request
        assert isinstance(request, GatewayRequest)
        try:
            entry = await self._admitted_lookup(call)
            if entry is not None:
                return await self._whole_hit(call, entry)
            target, body = await self.dispatcher.complete(call.route, request, call.failed)
        except BaseException:
            await self._unbooked(call)
            raise
        self._remember(call, target, answer=body)
        body["id"] = call.generation_id
        usage = body.get("usage")
        estimated = not isinstance(usage, dict) or not usage.get("completion_tokens")
        tokens = estimate(call.needs.prompt_tokens, body) if estimated else Tokens.from_usage(usage)
        cost = cost_for(target, tokens, call.needs.images)
        if call.request.include_cost and isinstance(usage, dict):
            show_cost(body, usage, cost)
        choices = body.get("choices") or [{}]
        finish = choices[0].get("finish_reason") if isinstance(choices[0], dict) else None
        await self._book(call, target, tokens, cost, "ok", None, finish, estimated)
        return target, body

    async def embed(self, call: Call) -> tuple[Target, dict[str, Any]]:
        """Embeddings: the same cache, fallback and books as a whole chat answer. Billed per
        input token, from the provider's count, else the gateway's estimate."""
        request = call.request
        assert isinstance(request, EmbeddingGatewayRequest)
        try:
            entry = await self._admitted_lookup(call)
            if entry is not None:
                return await self._whole_hit(call, entry)
            target, body = await self.dispatcher.embed(call.route, request, call.failed)
        except BaseException:
            await self._unbooked(call)
            raise
        estimated = "usage" not in body
        if estimated:
            prompt = call.needs.prompt_tokens
            body["usage"] = {"prompt_tokens": prompt, "total_tokens": prompt}
        self._remember(call, target, answer=body)  # a hit is billed the tokens billed here
        usage = body["usage"]
        tokens = Tokens(prompt=Tokens.from_usage(usage).prompt)
        cost = cost_for(target, tokens)
        if request.include_cost:
            show_cost(body, usage, cost)
        await self._book(call, target, tokens, cost, "ok", None, None, estimated)
        return target, body

    async def stream(self, call: Call) -> AsyncIterator[tuple[Target, dict[str, Any]]]:
        """Chunks for the client. The usage-only chunk is kept only if the client asked for it.

        Whatever way the stream ends, the request is booked before it does: from the provider's
        usage, or from what was received when the provider never said (a dropped stream, a
        client that went away)."""
        try:
            entry = await self._admitted_lookup(call)
        except BaseException:
            await self._unbooked(call)
            raise
        if entry is not None:
            async for item in self._streamed_hit(call, entry):
                yield item
            return
        request = call.request
        assert isinstance(request, GatewayRequest)
        show_usage = request.include_usage
        costed = request.include_cost
        kept = Kept() if call.cache_key is not None else None
        served: Target | None = None
        tokens: Tokens | None = None
        cost: Cost | None = None
        received = 0
        first: float | None = None
        finish: str | None = None
        status: Status = "cancelled"
        try:
            async for target, chunk in self.dispatcher.stream(call.route, request, call.failed):
                if served is None:
                    served, first = target, time.monotonic()
                if kept is not None:
                    kept.add(chunk)
                chunk["id"] = call.generation_id
                for choice in chunk.get("choices") or ():
                    received += delta_chars(choice.get("delta"))
                    finish = choice.get("finish_reason") or finish
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    tokens = Tokens.from_usage(usage)
                    cost = cost_for(target, tokens, call.needs.images)
                    if costed:
                        show_cost(chunk, usage, cost)
                if not show_usage and usage and not chunk.get("choices"):
                    continue
                if not show_usage:
                    chunk.pop("usage", None)
                yield target, chunk
            status = "ok"
            if served is not None and kept is not None and kept.chunks:
                self._remember(call, served, chunks=kept.chunks)
        except Exception:
            status = "error"
            raise
        finally:
            if served is None:
                await self._unbooked(call)
            else:
                estimated = tokens is None or cost is None
                if tokens is None or cost is None:
                    tokens = Tokens(call.needs.prompt_tokens, -(-received // CHARS_PER_TOKEN))
                    cost = cost_for(served, tokens, call.needs.images)
                ttft = int(((first or call.started) - call.started) * 1000)
                with anyio.CancelScope(shield=True):
                    await self._book(call, served, tokens, cost, status, ttft, finish, estimated)

    async def _admitted_lookup(self, call: Call) -> Entry | None:
        """The prompt cache's entry (None: a miss, or no cache), once the rate limits have let
        the request through: the two round trips overlap, and nothing is served, from the
        cache or a provider, before the limits answer."""
        entry = await self._lookup(call)
        await call.ticket.admitted()
        return entry

    async def _unbooked(self, call: Call) -> None:
        """A request that ends with nothing to bill: its hold and its slot are let go."""
        self.spending.settle(call.hold, None)
        with anyio.CancelScope(shield=True):
            await call.ticket.release()

    # ---- the prompt cache ---------------------------------------------------------------
    async def _lookup(self, call: Call) -> Entry | None:
        if self.cache is None or call.cache_key is None:
            return None
        entry = await self.cache.lookup(call.cache_key)
        call.cache_status = "MISS" if entry is None else "HIT"
        return entry

    def _remember(
        self,
        call: Call,
        target: Target,
        answer: dict[str, Any] | None = None,
        chunks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Keeps a finished answer for the next identical request: only the requested model's
        (a fallback model's answer is not the answer to this key), and only a whole one."""
        if self.cache is None or call.cache_key is None or target.model_id != call.route.model.id:
            return
        if answer is not None:
            kept = {k: v for k, v in answer.items() if k != "id"}
            if any(c.get("finish_reason") in (None, "error") for c in kept.get("choices") or ()):
                return
        elif not chunks or not any(c.get("usage") for c in chunks):
            return
        entry = Entry(
            target.model_id,
            target.provider.id,
            target.endpoint.model,
            answer=kept if answer is not None else None,
            chunks=chunks,
        )
        self.cache.remember(call.cache_key, entry, call.route.model.cache_ttl)

    def _hit_target(self, call: Call, entry: Entry) -> Target:
        """The endpoint that made the cached answer, as the catalog has it now."""
        for target in call.route.targets:
            if target.provider.id == entry.provider and target.model_id == entry.model:
                return target
        model = self.router.model(entry.model)
        provider = self.router.catalog.providers.get(entry.provider)
        for endpoint in model.endpoints:
            if provider is not None and endpoint.provider == provider.id:
                return Target(model.id, provider, endpoint, None)
        return call.route.targets[0]

    async def _whole_hit(self, call: Call, entry: Entry) -> tuple[Target, dict[str, Any]]:
        target = self._hit_target(call, entry)
        body = answers.whole(entry)
        body["id"] = call.generation_id
        usage = body["usage"]
        tokens = Tokens.from_usage(usage)
        cost = hit_cost(target.endpoint.pricing, tokens.prompt)
        if call.request.include_cost:
            show_cost(body, usage, cost)
        billed = Tokens(prompt=tokens.prompt, cache_read=tokens.prompt)
        await self._book(call, target, billed, cost, "ok", None, None, False, "HIT")
        return target, body

    async def _streamed_hit(
        self, call: Call, entry: Entry
    ) -> AsyncIterator[tuple[Target, dict[str, Any]]]:
        target = self._hit_target(call, entry)
        billed = Tokens()
        cost = Cost()
        status: Status = "cancelled"
        try:
            for chunk in answers.streamed(entry):
                chunk["id"] = call.generation_id
                usage = chunk.get("usage")
                if isinstance(usage, dict) and usage:
                    prompt = Tokens.from_usage(usage).prompt
                    billed = Tokens(prompt=prompt, cache_read=prompt)
                    cost = hit_cost(target.endpoint.pricing, prompt)
                    if call.request.include_cost:
                        show_cost(chunk, usage, cost)
                    if not call.request.include_usage:
                        continue
                yield target, chunk
            status = "ok"
        finally:
            with anyio.CancelScope(shield=True):
                await self._book(call, target, billed, cost, status, 0, None, False, "HIT")

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
        cache: Literal["HIT", "MISS"] = "MISS",
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
            cache=cache,
            failed_endpoints=tuple((t.model_id, t.provider.id) for t in call.failed),
            is_byok=target.byok,
        )
        await asyncio.gather(self.usage.send(event), call.ticket.release())


class StoredKeys(Protocol):
    """The account's stored provider keys (accounts/provider_keys.ProviderKeys)."""

    async def credentials(self, account: Account) -> Mapping[str, Credential]: ...
