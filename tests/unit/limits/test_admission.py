"""Admission against a table stand-in: both scopes checked side by side, a refusal taken back
off the other scope's count, a slow or failing table letting the request through, leases
renewed while the request runs and never after it ends."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

import pytest

from onerouter.accounts.auth import Principal
from onerouter.errors import RateLimited
from onerouter.limits.admission import ConcurrencyLimited, Limiter
from onerouter.limits.table import Granted, Refused, Rule, TableUnavailable
from onerouter.store.records import Account, ApiKey

WINDOW = 29_000_000


class Table:
    """What the limiter asks of the table, answered from `answers` by scope."""

    def __init__(self, answers: dict[str, Any], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.calls: list[tuple[str, ...]] = []

    def clock(self) -> float:
        return WINDOW * 60 + 30.0

    async def acquire(self, scope: str, rule: Rule, lease: str, until: int) -> Any:
        self.calls.append(("acquire", scope))
        await asyncio.sleep(self.delay)
        answer = self.answers[scope.split("#")[0]]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def renew(self, scope: str, lease: str, until: int) -> bool:
        self.calls.append(("renew", scope))
        return True

    async def release(self, scope: str, lease: str, uncount_window: int | None = None) -> None:
        self.calls.append(("release", scope, str(uncount_window)))


def principal(key_limits: bool = False) -> Principal:
    account = Account("acct_1", Decimal(1), Decimal(1), "2026-11-25T00:00:00.000Z")
    key = ApiKey(
        "hash",
        "key_1",
        "acct_1",
        "label",
        "…",
        "2026-11-25T00:00:00.000Z",
        requests_per_minute=5 if key_limits else None,
    )
    return Principal(key, account)


def limiter(table: Table, lease: float = 60.0, budget: float = 1.0) -> Limiter:
    return Limiter(table, Rule(600, 30), lease, budget)  # type: ignore[arg-type]


def test_a_key_with_limits_is_checked_beside_its_account_within_the_account_s() -> None:
    scopes = limiter(Table({})).scopes(principal(key_limits=True))
    assert [(s.key, s.rule) for s in scopes] == [
        ("account#acct_1", Rule(600, 30)),
        ("key#key_1", Rule(5, 30)),
    ]


def test_a_refusal_by_the_key_gives_the_account_s_slot_and_count_back() -> None:
    table = Table({"account": Granted(7, WINDOW), "key": Refused("requests_per_minute", WINDOW)})

    async def run() -> RateLimited:
        ticket = limiter(table).admit(principal(key_limits=True))
        with pytest.raises(RateLimited) as refused:
            await ticket.admitted()
        await ticket.release()
        return refused.value

    refused = asyncio.run(run())
    assert refused.metadata == {"limit": "requests_per_minute", "scope": "key"}
    assert refused.headers["Retry-After"] == "30"
    assert refused.headers["X-RateLimit-Reset"] == str((WINDOW + 1) * 60)
    assert ("release", "account#acct_1", str(WINDOW)) in table.calls
    assert [c for c in table.calls if c[0] == "release"] == [
        ("release", "account#acct_1", str(WINDOW))
    ]


def test_a_concurrency_refusal_says_so() -> None:
    table = Table({"account": Refused("concurrent_requests", WINDOW)})

    async def run() -> None:
        await limiter(table).admit(principal()).admitted()

    with pytest.raises(ConcurrencyLimited) as refused:
        asyncio.run(run())
    assert refused.value.code == "concurrency_limited" and refused.value.status == 429


@pytest.mark.parametrize(
    ("table", "why"),
    [
        (Table({"account": Granted(1, WINDOW)}, delay=5.0), "took over"),
        (Table({"account": TableUnavailable("HTTP 500")}), "HTTP 500"),
    ],
)
def test_a_slow_or_failing_table_lets_the_request_through_unchecked(
    table: Table, why: str, caplog: Any
) -> None:
    caplog.set_level(logging.WARNING, "onerouter.limits")

    async def run() -> dict[str, str]:
        ticket = limiter(table, budget=0.05).admit(principal())
        await ticket.admitted()
        await ticket.release()
        return ticket.headers()

    assert asyncio.run(run()) == {}
    assert why in caplog.text


def test_leases_are_renewed_while_the_request_runs_and_not_after() -> None:
    table = Table({"account": Granted(1, WINDOW)})

    async def run() -> tuple[int, int]:
        ticket = limiter(table, lease=0.03).admit(principal())
        await ticket.admitted()
        deadline = time.monotonic() + 5
        while table.calls.count(("renew", "account#acct_1")) < 2:
            assert time.monotonic() < deadline, "never renewed"
            await asyncio.sleep(0.005)
        await ticket.release()
        renewed = table.calls.count(("renew", "account#acct_1"))
        await asyncio.sleep(0.1)  # several renewal periods
        return renewed, table.calls.count(("renew", "account#acct_1"))

    during, after = asyncio.run(run())
    assert during == after
    assert table.calls[-1] == ("release", "account#acct_1", "None")


def test_admitted_answers_carry_the_per_minute_limit_closest_to_running_out() -> None:
    table = Table({"account": Granted(100, WINDOW), "key": Granted(4, WINDOW)})

    async def run() -> dict[str, str]:
        ticket = limiter(table).admit(principal(key_limits=True))
        await ticket.admitted()
        headers = ticket.headers()
        await ticket.release()
        return headers

    assert asyncio.run(run()) == {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Reset": str((WINDOW + 1) * 60),
    }
