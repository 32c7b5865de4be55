"""Admitting a request under its account's (and its key's) rate limits.

`Limiter.admit` starts the check the moment the pipeline knows the request will be served, and
returns at once: the one DynamoDB round trip runs while the pipeline does what it must anyway
(the prompt-cache lookup), and the pipeline awaits the answer before any provider is called.
An account's scope and, when the key has limits of its own, the key's are checked side by
side: still one round trip of waiting. A request refused by one scope is taken back off the
other's count.

While the request runs, its slot is renewed every third of a lease; when it ends the slot is
given back, beside the usage event's send (no added wait). A process that dies mid-request
renews nothing, and its slot lapses with the lease.

If the table cannot be reached the request is let through (and the failure logged): a limiter
that turned a storage hiccup into an outage would be worse than one that briefly limits less.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass

from ..accounts.auth import Principal
from ..errors import RateLimited
from ..logs import log_failure
from ..store.records import Account
from .table import Granted, LimitsTable, Refused, Rule, TableUnavailable, seconds_left

logger = logging.getLogger("onerouter.limits")

# The most an admission may take before the request goes ahead unchecked.
BUDGET = 1.0


@dataclass(frozen=True, slots=True)
class Scope:
    key: str  # the table's key: "account#<id>" or "key#<id>"
    rule: Rule
    name: str  # "account" or "key", for messages


class ConcurrencyLimited(RateLimited):
    code = "concurrency_limited"


class Limiter:
    def __init__(
        self,
        table: LimitsTable | None,
        defaults: Rule,
        lease_seconds: float = 60.0,
        budget: float = BUDGET,
    ) -> None:
        """`table` None: limits are off (a deployment that limits elsewhere)."""
        self.table = table
        self.defaults = defaults
        self.lease_seconds = lease_seconds
        self.budget = budget

    def account_rule(self, account: Account) -> Rule:
        return Rule(
            account.requests_per_minute or self.defaults.requests_per_minute,
            account.concurrent_requests or self.defaults.concurrent_requests,
        )

    def account_view(self, account: Account) -> dict[str, int] | None:
        """The account's limits as the API shows them; None when limits are off."""
        if self.table is None:
            return None
        rule = self.account_rule(account)
        return {
            "requests_per_minute": rule.requests_per_minute,
            "concurrent_requests": rule.concurrent_requests,
        }

    def scopes(self, principal: Principal) -> list[Scope]:
        account, key = principal.account, principal.key
        scopes = [Scope(f"account#{account.account_id}", self.account_rule(account), "account")]
        if key.requests_per_minute is not None or key.concurrent_requests is not None:
            # A key's limits sit within its account's: the tighter of the two applies to it.
            account_rule = scopes[0].rule
            rule = Rule(
                int(key.requests_per_minute or account_rule.requests_per_minute),
                int(key.concurrent_requests or account_rule.concurrent_requests),
            )
            scopes.append(Scope(f"key#{key.key_id}", rule, "key"))
        return scopes

    def admit(self, principal: Principal) -> Ticket:
        """Starts the check; `Ticket.admitted()` waits for its answer."""
        if self.table is None:
            return Ticket.unchecked()
        return Ticket(self, self.scopes(principal))


class Ticket:
    """One request's admission: its answer, its headers, its slots."""

    def __init__(self, limiter: Limiter | None, scopes: list[Scope]) -> None:
        self._limiter = limiter
        self._scopes = scopes
        self._lease = secrets.token_hex(6)
        self._held: list[Scope] = []
        self._granted: dict[str, Granted] = {}
        # The next renewal: a timer while the request runs (no task until one is due).
        self._timer: asyncio.TimerHandle | None = None
        self._renewing: asyncio.Task[None] | None = None
        self._released = False
        self._deciding: asyncio.Task[RateLimited | None] | None = None
        if scopes:
            self._deciding = asyncio.get_running_loop().create_task(self._decide())

    @classmethod
    def unchecked(cls) -> Ticket:
        """A request no limits apply to (limits off)."""
        return cls(None, [])

    @property
    def _table(self) -> LimitsTable:
        assert self._limiter is not None and self._limiter.table is not None
        return self._limiter.table

    @property
    def _settings(self) -> Limiter:
        assert self._limiter is not None
        return self._limiter

    async def admitted(self) -> None:
        """Returns once the request may go ahead; raises RateLimited if it may not."""
        if self._deciding is None:
            return
        refusal = await asyncio.shield(self._deciding)
        if refusal is not None:
            raise refusal

    def headers(self) -> dict[str, str]:
        """X-RateLimit-* of the per-minute limit closest to running out (none when unchecked)."""
        best: tuple[int, Scope, Granted] | None = None
        for scope in self._scopes:
            granted = self._granted.get(scope.key)
            if granted is None:
                continue
            remaining = max(0, scope.rule.requests_per_minute - granted.count)
            if best is None or remaining < best[0]:
                best = (remaining, scope, granted)
        if best is None:
            return {}
        remaining, scope, granted = best
        return _limit_headers(scope.rule.requests_per_minute, remaining, granted.window)

    async def release(self) -> None:
        """Gives the request's slots back; safe to call more than once, and on any path."""
        if self._released:
            return
        self._released = True
        if self._timer is not None:
            self._timer.cancel()
        if self._renewing is not None:
            self._renewing.cancel()
        if self._deciding is not None and not self._deciding.done():
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._deciding)
        held, self._held = self._held, []
        await self._give_back(held)

    # ---- inside ------------------------------------------------------------------------
    def _lease_until(self) -> int:
        return int(self._table.clock() + self._settings.lease_seconds) + 1

    async def _decide(self) -> RateLimited | None:
        table = self._table
        until = self._lease_until()
        try:
            async with asyncio.timeout(self._settings.budget):
                answers = await asyncio.gather(
                    *(table.acquire(s.key, s.rule, self._lease, until) for s in self._scopes),
                    return_exceptions=True,
                )
        except TimeoutError:
            budget = self._settings.budget
            logger.warning("rate limits not checked: the limits table took over %ss", budget)
            return None
        refusal: tuple[Scope, Refused] | None = None
        for scope, answer in zip(self._scopes, answers, strict=True):
            if isinstance(answer, Granted):
                self._granted[scope.key] = answer
                self._held.append(scope)
            elif isinstance(answer, Refused):
                refusal = refusal or (scope, answer)
            elif isinstance(answer, TableUnavailable | OSError):
                logger.warning("rate limits not checked for one scope: %s", answer)
            elif isinstance(answer, BaseException):
                log_failure(logger, "rate limits not checked", answer)
        if refusal is not None:
            # Refused by one scope: the others take the request back off their count.
            held, self._held = self._held, []
            await self._give_back(held, uncount=True)
            return _refusal(*refusal, table.clock())
        self._renew_later()
        return None

    def _renew_later(self) -> None:
        if self._held and not self._released:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._settings.lease_seconds / 3, self._renew_now)

    def _renew_now(self) -> None:
        self._timer = None
        if self._held and not self._released:
            self._renewing = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        until = self._lease_until()
        for scope in list(self._held):
            try:
                if not await self._table.renew(scope.key, self._lease, until):
                    self._held.remove(scope)  # lapsed and swept: nothing left to renew
            except Exception as exc:
                log_failure(logger, "rate-limit lease not renewed", exc)
        self._renew_later()

    async def _give_back(self, held: list[Scope], uncount: bool = False) -> None:
        if not held:
            return
        table = self._table

        async def one(scope: Scope) -> None:
            window = self._granted[scope.key].window if uncount else None
            try:
                await table.release(scope.key, self._lease, window)
            except Exception as exc:  # the lease lapses by itself
                log_failure(logger, "rate-limit slot not released", exc)

        await asyncio.gather(*(one(scope) for scope in held))


def _refusal(scope: Scope, refused: Refused, now: float) -> RateLimited:
    whose = "This account" if scope.name == "account" else "This API key"
    metadata = {"limit": refused.limit, "scope": scope.name}
    if refused.limit == "requests_per_minute":
        limit = scope.rule.requests_per_minute
        wait = seconds_left(refused.window, now)
        headers = {"Retry-After": str(wait), **_limit_headers(limit, 0, refused.window)}
        return RateLimited(
            f"{whose} has reached its limit of {limit} requests per minute; try again in {wait} s.",
            metadata=metadata,
            headers=headers,
        )
    limit = scope.rule.concurrent_requests
    headers = {
        "Retry-After": "1",
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(now) + 1),
    }
    return ConcurrencyLimited(
        f"{whose} already has {limit} requests in flight, its limit; "
        "try again when one has finished.",
        metadata=metadata,
        headers=headers,
    )


def _limit_headers(limit: int, remaining: int, window: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str((window + 1) * 60),
    }
