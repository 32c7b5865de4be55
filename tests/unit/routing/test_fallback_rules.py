"""A request's `fallback_rules`: how they are read (and refused), which failures they send to
the next endpoint, and the thresholds that cut a slow endpoint short."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from onerouter.api.body import validate
from onerouter.errors import InvalidRequest, UpstreamFailed, UpstreamTimeout
from onerouter.providers.base import Target, UpstreamError
from onerouter.requests import GATEWAY_FIELDS, ChatRequest, EmbeddingRequest
from onerouter.routing.fallback_rules import AUTO, Cutoff, FallbackPolicy, ThresholdExceeded
from tests.unit.routing.test_dispatch import (
    CHUNK,
    FIRST,
    LAST,
    ROUTE,
    TARGETS,
    Scripted,
    dispatcher,
    failures,
)
from tests.unit.routing.test_plan import PROMPT, request

BODY = {"model": "t/m", "messages": PROMPT}


def policy(rules: Any) -> FallbackPolicy:
    return FallbackPolicy.of(
        validate(ChatRequest, {**BODY, "fallback_rules": rules}).fallback_rules
    )


def status(code: int) -> UpstreamError:
    return UpstreamError("p", "status", status=code)


# ---------------------------------------------------------------------------- reading the rules


def test_auto_is_the_default_and_its_own_spelling() -> None:
    assert FallbackPolicy.of(validate(ChatRequest, BODY).fallback_rules) is AUTO
    assert policy("auto") is AUTO
    assert policy({}) == AUTO  # an object naming nothing changes nothing


def test_an_object_is_read_into_the_policy() -> None:
    rules = {
        "status_codes": [400, 502],
        "connection_errors": False,
        "max_ttft_ms": 200,
        "max_latency_ms": 1500,
    }
    assert policy(rules) == FallbackPolicy(frozenset({400, 502}), False, 0.2, 1.5)


@pytest.mark.parametrize(
    ("rules", "param"),
    [
        ({"status_codes": [503], "on_timeout": True}, "fallback_rules.on_timeout"),
        ({"status_codes": [200]}, "fallback_rules.status_codes[0]"),
        ({"status_codes": [503, 600]}, "fallback_rules.status_codes[1]"),
        ({"max_ttft_ms": 0}, "fallback_rules.max_ttft_ms"),
        ({"max_latency_ms": -5}, "fallback_rules.max_latency_ms"),
        ("fast", "fallback_rules"),
        (["auto"], "fallback_rules"),
    ],
    ids=["unknown-key", "not-an-error", "past-599", "zero-ttft", "negative", "string", "list"],
)
def test_bad_rules_are_a_400_naming_the_field(rules: Any, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        policy(rules)
    assert caught.value.param == param
    assert param in caught.value.message


def test_embeddings_take_the_rules_too_and_no_provider_sees_them() -> None:
    body = {"model": "e", "input": "x", "fallback_rules": {"status_codes": [503]}}
    rules = validate(EmbeddingRequest, body).fallback_rules
    assert rules is not None and rules.status_codes == [503]
    assert "fallback_rules" in GATEWAY_FIELDS


# ------------------------------------------------------------------------ what falls back


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 401, 403, 404, 409, 424])
def test_auto_falls_back_as_the_gateway_always_has(code: int) -> None:
    assert AUTO.falls_back(status(code))


@pytest.mark.parametrize("code", [400, 413, 422])
def test_auto_never_falls_back_on_the_requests_own_fault(code: int) -> None:
    assert not AUTO.falls_back(status(code))


@pytest.mark.parametrize("kind", ["connect", "timeout", "dropped", "protocol"])
def test_failures_without_a_status_follow_connection_errors(kind: Any) -> None:
    error = UpstreamError("p", kind)
    assert AUTO.falls_back(error)
    assert policy({"status_codes": [503]}).falls_back(error)
    assert not policy({"connection_errors": False}).falls_back(error)


def test_explicit_status_codes_are_exactly_the_ones_that_fall_back() -> None:
    rules = policy({"status_codes": [400, 502]})
    assert rules.falls_back(status(400)) and rules.falls_back(status(502))
    assert not rules.falls_back(status(503)) and not rules.falls_back(status(429))
    # Without status_codes, the statuses stay auto's while connection errors change.
    assert policy({"connection_errors": False}).falls_back(status(503))


def test_a_threshold_cut_always_falls_back() -> None:
    assert policy({"connection_errors": False, "status_codes": []}).falls_back(
        ThresholdExceeded("p", "first byte over 200 ms")
    )


# ------------------------------------------------------------------------------ thresholds


def test_no_threshold_no_deadline() -> None:
    assert AUTO.first_byte_deadline(TARGETS[0]) is None
    assert AUTO.whole_deadline(TARGETS[0]) is None


def test_a_stream_waits_for_its_first_byte_the_tighter_threshold() -> None:
    target = TARGETS[0]
    both = policy({"max_ttft_ms": 300, "max_latency_ms": 200})
    assert both.first_byte_deadline(target) == Cutoff(0.2, "first byte over 200 ms")
    ttft = policy({"max_ttft_ms": 300})
    assert ttft.first_byte_deadline(target) == Cutoff(0.3, "first byte over 300 ms")


def test_a_whole_answer_is_bounded_by_either_threshold() -> None:
    target = TARGETS[0]
    latency = policy({"max_ttft_ms": 900, "max_latency_ms": 400})
    assert latency.whole_deadline(target) == Cutoff(0.4, "answer over 400 ms")
    ttft = policy({"max_ttft_ms": 300, "max_latency_ms": 400})
    assert ttft.whole_deadline(target) == Cutoff(0.3, "first byte over 300 ms")


def test_the_providers_own_tighter_timeout_is_left_to_cut() -> None:
    target = TARGETS[0]
    first_byte = target.provider.timeouts.first_byte
    slack = policy({"max_ttft_ms": int(first_byte * 1000) + 1})
    assert slack.first_byte_deadline(target) is None


# ------------------------------------------------------------------- the dispatcher's loop


def ruled(rules: Any, **raw: Any) -> Any:
    return request(fallback_rules=rules, **raw)


class Slow(Scripted):
    """As `Scripted`, but the named endpoint takes `seconds` before answering."""

    def __init__(self, script: dict[str, Any], slow: str, seconds: float) -> None:
        super().__init__(script)
        self.slow, self.seconds = slow, seconds

    async def complete(self, target: Target, request: Any) -> dict[str, Any]:
        answer = await super().complete(target, request)
        if target.provider.id == self.slow:
            await anyio.sleep(self.seconds)
        return answer

    async def stream(self, target: Target, request: Any) -> AsyncIterator[Any]:
        chunks = super().stream(target, request)
        first = await anext(chunks)
        if target.provider.id == self.slow:
            await anyio.sleep(self.seconds)
        yield first
        async for chunk in chunks:
            yield chunk


def slow_dispatcher(seconds: float) -> tuple[Any, Slow, Any]:
    dispatch, _, health = dispatcher({})
    adapter = Slow({"dear": [CHUNK, LAST], "cheap": [CHUNK, LAST]}, "dear", seconds)
    dispatch._adapters = {"openai": adapter, "anthropic": adapter}
    return dispatch, adapter, health


def test_a_status_left_out_of_the_rules_is_the_answer() -> None:
    dispatch, adapter, _ = dispatcher({"dear": status(503), "cheap": None})
    with pytest.raises(UpstreamFailed):
        anyio.run(dispatch.complete, ROUTE, ruled({"status_codes": [502]}))
    assert adapter.calls == ["dear"]


def test_a_listed_400_falls_back_and_is_noted() -> None:
    dispatch, adapter, health = dispatcher({"dear": status(400), "cheap": None})
    failed: list[Target] = []
    target, _ = anyio.run(dispatch.complete, ROUTE, ruled({"status_codes": [400]}), failed)
    assert target is TARGETS[1] and adapter.calls == ["dear", "cheap"]
    assert failed == [TARGETS[0]]
    assert failures(health, FIRST) == 0  # still the request's fault, not the endpoint's


def test_a_slow_whole_answer_is_cut_but_not_held_against_the_endpoint() -> None:
    """The caller chose the bound: one caller's `max_latency_ms: 1` must not open a healthy
    endpoint's breaker for everyone, nor count in its public success rate."""
    dispatch, adapter, health = slow_dispatcher(5)
    failed: list[Target] = []
    target, _ = anyio.run(dispatch.complete, ROUTE, ruled({"max_latency_ms": 50}), failed)
    assert target is TARGETS[1] and adapter.calls == ["dear", "cheap"]
    assert failed == []
    assert failures(health, FIRST) == 0


def test_a_slow_first_chunk_is_cut_and_the_next_endpoint_streams() -> None:
    dispatch, adapter, health = slow_dispatcher(5)
    failed: list[Target] = []

    async def go() -> list[Any]:
        rules = ruled({"max_ttft_ms": 50}, stream=True)
        return [(t, c) async for t, c in dispatch.stream(ROUTE, rules, failed)]

    assert anyio.run(go) == [(TARGETS[1], CHUNK), (TARGETS[1], LAST)]
    assert adapter.calls == ["dear", "cheap"] and failed == []
    assert failures(health, FIRST) == 0


def test_with_no_endpoint_left_the_error_names_the_threshold() -> None:
    only = ROUTE.__class__(ROUTE.model, TARGETS[:1])
    cut, _, _ = slow_dispatcher(5)
    with pytest.raises(UpstreamTimeout) as caught:
        anyio.run(cut.complete, only, ruled({"max_ttft_ms": 50}))
    assert "first byte over 50 ms" in caught.value.message

    both = Slow({"dear": None, "cheap": UpstreamError("cheap", "status", status=503)}, "dear", 5)
    cut._adapters = {"openai": both, "anthropic": both}
    with pytest.raises(UpstreamFailed) as listed:
        anyio.run(cut.complete, ROUTE, ruled({"max_ttft_ms": 50}))
    assert "dear (first byte over 50 ms)" in listed.value.message
    assert "cheap (503)" in listed.value.message
