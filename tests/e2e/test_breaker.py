"""The circuit breaker through the real server and the openai SDK, on a gateway whose health
has a clock of the test's own: opening on failures, routing around an open endpoint while
requests keep succeeding, one probe after the cool-down, and a longer cool-down when it fails."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import openai
import pytest

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.routing.health import Health
from onerouter.settings import Settings
from tests.e2e.test_routing import MESSAGES, _ask
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

# ---- the circuit breaker, on a gateway with a clock of the test's own --------------------------


@dataclass
class Clocked:
    client: openai.OpenAI
    url: str
    key: str
    now: list[float]

    def advance(self, seconds: float) -> None:
        self.now[0] += seconds

    def ask(self) -> str:
        return _ask(self.client)[0]


@pytest.fixture
def clocked(settings: Settings, account: NewAccount) -> Iterator[Clocked]:
    now = [1000.0]
    app = create_app(settings, endpoint_health=Health(clock=lambda: now[0]))
    with ServerThread(app, "clocked-gateway") as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=account.key, max_retries=0)
        yield Clocked(client, server.url, account.key, now)
        client.close()


def _open_primary(clocked: Clocked, fake: FakeOpenAIProvider) -> None:
    fake.fail(503, times=3)
    assert [clocked.ask() for _ in range(3)] == ["backup"] * 3
    assert len(fake.requests) == 3


def test_breaker_opens_after_three_failures_in_a_row(
    clocked: Clocked, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503, times=None)
    assert [clocked.ask() for _ in range(3)] == ["backup"] * 3
    assert len(fake.requests) == 3

    # Open: the cheaper endpoint is no longer tried first, and requests still succeed.
    assert [clocked.ask() for _ in range(3)] == ["backup"] * 3
    assert len(fake.requests) == 3
    assert len(backup.requests) == 6


def test_breaker_opens_when_half_the_calls_fail(
    clocked: Clocked, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served = []
    for failing in (True, False, True, False, True):  # never three in a row
        if failing:
            fake.fail(503)
        served.append(clocked.ask())
    assert served == ["backup", "primary", "backup", "primary", "backup"]
    assert len(fake.requests) == 5

    assert clocked.ask() == "backup"
    assert len(fake.requests) == 5


def test_refused_requests_do_not_open_the_breaker(
    clocked: Clocked, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(400, times=3)  # the request's fault, not the endpoint's
    for _ in range(3):
        with pytest.raises(openai.BadRequestError):
            clocked.ask()
    assert clocked.ask() == "primary"
    assert backup.requests == []


def test_concurrent_requests_all_succeed_while_the_breaker_opens(
    clocked: Clocked, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503, times=None)

    async def burst(count: int) -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=f"{clocked.url}/v1", api_key=clocked.key, max_retries=0
        ) as client:

            async def one() -> str:
                raw = await client.chat.completions.with_raw_response.create(
                    model="test/chat", messages=MESSAGES
                )
                return raw.headers["x-onerouter-provider"]

            return await asyncio.gather(*(one() for _ in range(count)))

    assert asyncio.run(burst(12)) == ["backup"] * 12
    # Requests routed before it opened still tried it; it opened after three failures.
    tried = len(fake.requests)
    assert 3 <= tried <= 12
    assert clocked.ask() == "backup"
    assert len(fake.requests) == tried


def test_open_endpoint_still_serves_when_the_others_fail(
    clocked: Clocked, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    _open_primary(clocked, fake)
    backup.fail(503)
    assert clocked.ask() == "primary"  # routed last, not removed
    assert len(fake.requests) == 4


def test_after_the_cooldown_one_probe_closes_the_breaker(
    clocked: Clocked, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    _open_primary(clocked, fake)
    fake.reset()
    assert clocked.ask() == "backup"  # healthy again, but the breaker is still open
    assert fake.requests == []

    clocked.advance(16)
    fake.delay(0.5)  # keep the probe in flight while others arrive
    with ThreadPoolExecutor(max_workers=4) as pool:
        probe = pool.submit(clocked.ask)
        assert fake.wait_for(lambda: len(fake.requests) == 1)
        others = [pool.submit(clocked.ask) for _ in range(3)]
        assert [f.result() for f in others] == ["backup"] * 3
        assert len(fake.requests) == 1  # only the probe reached it
        assert probe.result() == "primary"

    # The probe succeeded: closed, and back in its price place.
    assert [clocked.ask() for _ in range(2)] == ["primary"] * 2
    assert len(fake.requests) == 3


def test_a_failed_probe_doubles_the_cooldown(
    clocked: Clocked, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    _open_primary(clocked, fake)
    clocked.advance(16)
    fake.fail(503)
    assert clocked.ask() == "backup"  # the probe failed; the request did not
    assert len(fake.requests) == 4

    clocked.advance(16)  # past the first cool-down, not the doubled one
    assert clocked.ask() == "backup"
    assert len(fake.requests) == 4

    clocked.advance(15)
    assert clocked.ask() == "primary"
    assert len(fake.requests) == 5
