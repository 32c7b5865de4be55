"""Endpoint stats: log-spaced buckets, medians read back from merged histograms, and the
counters one batch of usage events adds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from onerouter.api.routes.models import endpoint_summary
from onerouter.settings import Settings
from onerouter.store.endpoint_stats import (
    BUCKETS,
    EndpointCounts,
    bucket,
    last_hours,
    midpoint,
    percentile,
)
from onerouter.usage.writer import endpoint_counts
from tests.usage_events import usage_event


@pytest.mark.parametrize("ms", [1, 2, 3, 7, 50, 99, 120, 812, 1000, 4567, 60_000, 900_000])
def test_a_duration_reads_back_within_ten_percent(ms: int) -> None:
    assert abs(midpoint(bucket(ms)) - ms) / ms < 0.1


def test_buckets_are_ordered_and_bounded() -> None:
    assert bucket(0) == 0
    assert [bucket(ms) for ms in (1, 2, 4, 8)] == [1, 5, 9, 13]
    assert bucket(10**12) == BUCKETS - 1
    assert all(bucket(ms) <= bucket(ms + 1) for ms in range(0, 5000))
    # Exact powers of two land in the bucket they start.
    assert bucket(16) == 1 + 16 and bucket(15) == 16


def test_percentile_is_the_midpoint_of_the_bucket_holding_the_rank() -> None:
    histogram = {bucket(100): 1, bucket(200): 1, bucket(300): 1, bucket(1000): 1}
    assert percentile(histogram, 0.5) == midpoint(bucket(200))
    assert percentile({bucket(100): 3, bucket(5000): 1}, 0.5) == midpoint(bucket(100))
    assert percentile({}, 0.5) is None
    assert percentile({bucket(7): 1}, 0.5) == midpoint(bucket(7))


def test_merging_adds_counters_and_histograms() -> None:
    first = EndpointCounts("m", "p", requests=2, ok=2, latency={3: 1, 4: 1}, tokens=10, gen_ms=5)
    second = EndpointCounts("m", "p", requests=1, errors=1, latency={4: 2}, ttft={1: 1})
    first.merge(second)
    assert (first.requests, first.ok, first.errors, first.tokens, first.gen_ms) == (3, 2, 1, 10, 5)
    assert first.latency == {3: 1, 4: 3} and first.ttft == {1: 1}


def test_last_hours_are_this_one_and_those_before() -> None:
    now = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    hours = last_hours(now, 24)
    assert hours[0] == "2026-03-01T00" and hours[1] == "2026-02-28T23"
    assert hours[-1] == "2026-02-28T01" and len(set(hours)) == 24


def test_counts_of_a_batch() -> None:
    base = {"day": "2026-11-20", "model": "m", "provider": "p"}
    events = [
        usage_event("a", **base, latency_ms=1000, ttft_ms=200, completion_tokens=400),
        usage_event("a", **base, latency_ms=2000, ttft_ms=None, streamed=False),
        usage_event("b", **base, status="error"),
        usage_event("b", **base, status="cancelled"),
        usage_event("b", **base, cache="HIT"),  # no provider was called: not counted
        usage_event("b", **{**base, "provider": "q"}),
        usage_event("b", **base, created_at="2026-11-20T13:00:00.000Z"),
    ]
    counted = {(hour, c.model, c.provider): c for hour, c in endpoint_counts(events)}
    assert set(counted) == {
        ("2026-11-20T12", "m", "p"),
        ("2026-11-20T12", "m", "q"),
        ("2026-11-20T13", "m", "p"),
    }
    noon = counted["2026-11-20T12", "m", "p"]
    assert (noon.requests, noon.ok, noon.errors, noon.cancelled) == (4, 2, 1, 1)
    assert noon.latency == {bucket(1000): 1, bucket(2000): 1}
    assert noon.ttft == {bucket(200): 1}  # whole answers have no first token
    assert (noon.tokens, noon.gen_ms) == (400, 800)  # the streamed one only

    summary = endpoint_summary(noon)
    assert summary["requests"] == 4
    assert summary["success_rate"] == pytest.approx(2 / 3, abs=1e-4)  # cancelled left out
    assert summary["throughput"] == 500.0  # 400 tokens in 0.8 s
    assert summary["p50_latency_ms"] == round(midpoint(bucket(1000)))
    assert summary["p50_ttft_ms"] == round(midpoint(bucket(200)))


def test_an_endpoint_without_answers_has_no_rates() -> None:
    summary = endpoint_summary(EndpointCounts("m", "p", requests=1, cancelled=1))
    assert summary == {
        "model": "m",
        "provider": "p",
        "requests": 1,
        "p50_latency_ms": None,
        "p50_ttft_ms": None,
        "throughput": None,
        "success_rate": None,
    }
    assert not math.isnan(endpoint_summary(EndpointCounts("m", "p", errors=1))["success_rate"])


def test_the_table_is_named_by_the_environment() -> None:
    assert Settings.from_env({}).tables.endpoint_stats == "onerouter-endpoint-stats"
    named = Settings.from_env({"ENDPOINT_STATS_TABLE": "stack-endpoint-stats"})
    assert named.tables.endpoint_stats == "stack-endpoint-stats"
