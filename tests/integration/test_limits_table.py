"""The rate limiter's table on the template's own table, provisioned on moto: counts per
minute, slots in flight, lapsed leases swept, a new minute started, and what each refuses."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import boto3
import pytest

from onerouter.dev.aws import LocalAWS
from onerouter.limits.table import Granted, LimitsTable, Refused, Rule
from onerouter.settings import Settings


@pytest.fixture(scope="module")
def table(aws: LocalAWS) -> str:
    name = Settings.from_env().tables.limits
    assert name == aws.environment["LIMITS_TABLE"]
    return name


class Clock:
    def __init__(self) -> None:
        # The start of a minute, so a test's steps stay inside it unless it moves on.
        self.now = float((int(time.time()) // 60 + 1) * 60)

    def __call__(self) -> float:
        return self.now


def run(table: str, clock: Clock, steps: Callable[[LimitsTable], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        limits = LimitsTable(table, clock=clock)
        try:
            return await steps(limits)
        finally:
            await limits.aclose()

    return anyio.run(go)


def scope() -> str:
    return f"account#test_{secrets.token_hex(6)}"


def item(table: str, key: str) -> dict[str, Any]:
    answer = boto3.client("dynamodb").get_item(
        TableName=table, Key={"scope": {"S": key}}, ConsistentRead=True
    )
    return dict(answer["Item"])


def test_counts_requests_until_the_minute_is_full_then_refuses(table: str) -> None:
    clock, key, rule = Clock(), scope(), Rule(requests_per_minute=3, concurrent_requests=10)

    async def steps(limits: LimitsTable) -> list[Granted | Refused]:
        answers = []
        for i in range(4):
            answer = await limits.acquire(key, rule, f"l{i}", int(clock.now) + 60)
            answers.append(answer)
            if isinstance(answer, Granted):
                await limits.release(key, f"l{i}")
        return answers

    answers = run(table, clock, steps)
    window = int(clock.now // 60)
    assert answers[:3] == [Granted(1, window), Granted(2, window), Granted(3, window)]
    assert answers[3] == Refused("requests_per_minute", window)
    assert item(table, key)["n"] == {"N": "3"}  # the refused request was not counted


def test_a_new_minute_starts_the_count_again(table: str) -> None:
    clock, key, rule = Clock(), scope(), Rule(requests_per_minute=1, concurrent_requests=10)

    async def steps(limits: LimitsTable) -> list[Granted | Refused]:
        first = await limits.acquire(key, rule, "a", int(clock.now) + 60)
        await limits.release(key, "a")
        refused = await limits.acquire(key, rule, "b", int(clock.now) + 60)
        clock.now += 60
        again = await limits.acquire(key, rule, "c", int(clock.now) + 60)
        return [first, refused, again]

    first, refused, again = run(table, clock, steps)
    assert isinstance(first, Granted) and isinstance(refused, Refused)
    assert again == Granted(1, first.window + 1)


def test_slots_in_flight_are_limited_and_come_back_when_released(table: str) -> None:
    clock, key, rule = Clock(), scope(), Rule(requests_per_minute=100, concurrent_requests=2)

    async def steps(limits: LimitsTable) -> list[Any]:
        until = int(clock.now) + 60
        a = await limits.acquire(key, rule, "a", until)
        b = await limits.acquire(key, rule, "b", until)
        c = await limits.acquire(key, rule, "c", until)
        await limits.release(key, "a")
        d = await limits.acquire(key, rule, "d", until)
        return [a, b, c, d]

    a, b, c, d = run(table, clock, steps)
    assert isinstance(a, Granted) and isinstance(b, Granted) and isinstance(d, Granted)
    assert c == Refused("concurrent_requests", a.window)
    assert set(item(table, key)["leases"]["M"]) == {"b", "d"}
    assert item(table, key)["n"] == {"N": "3"}  # the refused one was not counted


def test_a_lapsed_lease_is_swept_and_its_slot_reused(table: str) -> None:
    """A request whose process died never releases: its lease lapses and the next request
    that needs the slot removes it, in the same update that takes the slot."""
    clock, key, rule = Clock(), scope(), Rule(requests_per_minute=100, concurrent_requests=1)

    async def steps(limits: LimitsTable) -> list[Any]:
        crashed = await limits.acquire(key, rule, "crashed", int(clock.now) + 5)
        before = await limits.acquire(key, rule, "early", int(clock.now) + 60)
        clock.now += 6
        after = await limits.acquire(key, rule, "late", int(clock.now) + 60)
        return [crashed, before, after]

    crashed, before, after = run(table, clock, steps)
    assert isinstance(crashed, Granted)
    assert before == Refused("concurrent_requests", crashed.window)
    assert isinstance(after, Granted)
    assert set(item(table, key)["leases"]["M"]) == {"late"}


def test_renewing_keeps_a_long_request_s_slot(table: str) -> None:
    clock, key, rule = Clock(), scope(), Rule(requests_per_minute=100, concurrent_requests=1)

    async def steps(limits: LimitsTable) -> list[Any]:
        held = await limits.acquire(key, rule, "long", int(clock.now) + 5)
        clock.now += 4
        renewed = await limits.renew(key, "long", int(clock.now) + 5)
        clock.now += 4  # past the first lease, within the renewed one
        other = await limits.acquire(key, rule, "other", int(clock.now) + 5)
        gone = await limits.renew(key, "never-taken", int(clock.now) + 5)
        return [held, renewed, other, gone]

    held, renewed, other, gone = run(table, clock, steps)
    assert isinstance(held, Granted) and renewed is True and gone is False
    assert other == Refused("concurrent_requests", held.window)


def test_release_can_take_a_refused_request_back_off_the_count(table: str) -> None:
    clock, key, rule = Clock(), scope(), Rule(requests_per_minute=5, concurrent_requests=5)

    async def steps(limits: LimitsTable) -> Any:
        granted = await limits.acquire(key, rule, "a", int(clock.now) + 60)
        assert isinstance(granted, Granted)
        await limits.release(key, "a", uncount_window=granted.window)
        assert item(table, key)["n"] == {"N": "0"}
        # Once the next minute has begun, only the slot goes back: its count is not the
        # refused request's to lower.
        other = await limits.acquire(key, rule, "b", int(clock.now) + 60)
        assert isinstance(other, Granted)
        clock.now += 60
        assert isinstance(await limits.acquire(key, rule, "c", int(clock.now) + 60), Granted)
        await limits.release(key, "b", uncount_window=other.window)

    run(table, clock, steps)
    stored = item(table, key)
    assert stored["n"] == {"N": "1"} and set(stored["leases"]["M"]) == {"c"}


def test_many_requests_at_once_never_exceed_the_limits(table: str) -> None:
    clock, key, rule = Clock(), scope(), Rule(requests_per_minute=12, concurrent_requests=5)

    async def steps(limits: LimitsTable) -> list[Any]:
        answers: list[Any] = [None] * 30

        async def one(i: int) -> None:
            answers[i] = await limits.acquire(key, rule, f"l{i}", int(clock.now) + 60)

        async with anyio.create_task_group() as group:
            for i in range(30):
                group.start_soon(one, i)
        return answers

    answers = run(table, clock, steps)
    granted = [a for a in answers if isinstance(a, Granted)]
    assert len(granted) == 5  # none released: the slots are the tighter limit
    assert {a.limit for a in answers if isinstance(a, Refused)} == {"concurrent_requests"}
    assert len(item(table, key)["leases"]["M"]) == 5
