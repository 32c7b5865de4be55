"""The fallback loop reports every outcome to Health: failures that are the endpoint's, the
speed of answers, and probes the client abandoned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from onerouter.errors import InvalidRequest, UpstreamFailed
from onerouter.providers.base import Target, UpstreamError
from onerouter.requests import GatewayRequest
from onerouter.routing.choose import health_key
from onerouter.routing.dispatch import Dispatcher
from onerouter.routing.health import Health
from onerouter.routing.router import Route
from tests.unit.routing.test_plan import CATALOG, request

MODEL = CATALOG.models[0]
TARGETS = tuple(
    Target(MODEL.id, CATALOG.providers[e.provider], e, "key") for e in MODEL.endpoints[:2]
)
FIRST, SECOND = (health_key(t) for t in TARGETS)
CHUNK = {"choices": [{"index": 0, "delta": {"content": "hi"}}]}
LAST = {"choices": [], "usage": {"completion_tokens": 20}}


class Scripted:
    """An adapter whose endpoints answer as scripted: an exception, or chunks."""

    def __init__(self, script: dict[str, Any]) -> None:
        self.script = script
        self.calls: list[str] = []

    async def complete(self, target: Target, request: GatewayRequest) -> dict[str, Any]:
        self.calls.append(target.provider.id)
        outcome = self.script[target.provider.id]
        if isinstance(outcome, Exception):
            raise outcome
        return {"choices": [{"message": {"content": "hi"}}], **LAST}

    async def stream(self, target: Target, request: GatewayRequest) -> AsyncIterator[Any]:
        self.calls.append(target.provider.id)
        outcome = self.script[target.provider.id]
        if isinstance(outcome, Exception):
            raise outcome
        for chunk in outcome:
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk


def dispatcher(script: dict[str, Any]) -> tuple[Dispatcher, Scripted, Health]:
    adapter = Scripted(script)
    health = Health()
    return Dispatcher({"openai": adapter, "anthropic": adapter}, health), adapter, health


ROUTE = Route(MODEL, TARGETS)


def failures(health: Health, key: str) -> int:
    state = health.snapshot(key)
    return state.failures_in_a_row if state else 0


def test_a_retryable_failure_counts_against_the_endpoint_and_falls_back() -> None:
    dispatch, adapter, health = dispatcher(
        {"dear": UpstreamError("dear", "status", status=503), "cheap": None}
    )
    target, _ = anyio.run(dispatch.complete, ROUTE, request())
    assert target is TARGETS[1] and adapter.calls == ["dear", "cheap"]
    assert failures(health, FIRST) == 1
    state = health.snapshot(SECOND)
    assert state is not None and state.throughput is not None and state.throughput > 0


def test_the_requests_own_fault_is_not_the_endpoints() -> None:
    dispatch, adapter, health = dispatcher({"dear": UpstreamError("dear", "status", status=400)})
    with pytest.raises(InvalidRequest):
        anyio.run(dispatch.complete, ROUTE, request())
    assert adapter.calls == ["dear"]  # no fallback: the next would refuse it too
    assert failures(health, FIRST) == 0


def test_a_stream_records_first_token_time_and_pace() -> None:
    dispatch, _, health = dispatcher({"dear": [CHUNK, LAST]})

    async def go() -> list[Any]:
        return [chunk async for _, chunk in dispatch.stream(ROUTE, request())]

    assert anyio.run(go) == [CHUNK, LAST]
    state = health.snapshot(FIRST)
    assert state is not None and state.ttft is not None and state.state == "closed"


def test_a_drop_after_the_first_chunk_is_an_error_not_a_fallback() -> None:
    dropped = UpstreamError("dear", "dropped")
    dispatch, adapter, health = dispatcher({"dear": [CHUNK, dropped], "cheap": [CHUNK, LAST]})

    async def go() -> list[Any]:
        seen = []
        with pytest.raises(UpstreamFailed):
            async for _, chunk in dispatch.stream(ROUTE, request()):
                seen.append(chunk)
        return seen

    assert anyio.run(go) == [CHUNK]
    assert adapter.calls == ["dear"]
    assert failures(health, FIRST) == 1


def test_a_probe_the_client_walks_away_from_frees_the_slot() -> None:
    dispatch, _, _ = dispatcher({"dear": [CHUNK, CHUNK, LAST]})
    clock = [0.0]
    dispatch.health = health = Health(clock=lambda: clock[0])
    for _ in range(3):
        health.failed(FIRST)
    clock[0] = health.reopens_at(FIRST)

    async def go() -> None:
        stream = dispatch.stream(ROUTE, request())
        await stream.__anext__()
        assert not health.available(FIRST)  # the probe is out
        await stream.aclose()  # type: ignore[attr-defined]

    anyio.run(go)
    assert health.available(FIRST)
