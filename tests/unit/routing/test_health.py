"""The circuit breaker's states and the speed averages, on a clock the test moves."""

from __future__ import annotations

import pytest

from onerouter.routing.health import BreakerPolicy, Health

KEY = "acme/large"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> Health:
    return Health(BreakerPolicy(cooldown=10.0, max_cooldown=25.0), clock=clock)


def test_unknown_endpoints_are_available(health: Health) -> None:
    assert health.available(KEY)
    assert health.snapshot(KEY) is None


def test_three_failures_in_a_row_open_it(health: Health) -> None:
    health.failed(KEY)
    health.failed(KEY)
    assert health.available(KEY)
    health.failed(KEY)
    assert not health.available(KEY)
    state = health.snapshot(KEY)
    assert state is not None and state.state == "open"


def test_a_success_between_failures_resets_the_run(health: Health) -> None:
    for _ in range(2):
        health.failed(KEY)
        health.failed(KEY)
        health.succeeded(KEY)
    assert health.available(KEY)  # 4 of 6 failed, never 3 in a row: rate rule below


def test_half_the_calls_failing_over_the_window_opens_it(health: Health) -> None:
    for ok in (True, False, True, False, True, False):
        if ok:
            health.succeeded(KEY)
        else:
            health.failed(KEY)
    assert not health.available(KEY)


def test_old_outcomes_leave_the_window(health: Health, clock: Clock) -> None:
    for _ in range(4):
        health.succeeded(KEY)
        health.failed(KEY)
        clock.now += 61  # each pair alone in the window: never 5 calls to judge by
    assert health.available(KEY)


def test_cooldown_then_one_probe_at_a_time(health: Health, clock: Clock) -> None:
    for _ in range(3):
        health.failed(KEY)
    clock.now += 9.9
    assert not health.available(KEY)
    clock.now += 0.1
    assert health.available(KEY)

    health.begin(KEY)  # the probe
    assert not health.available(KEY)  # no second probe while it runs
    health.succeeded(KEY)
    assert health.available(KEY)
    state = health.snapshot(KEY)
    assert state is not None and state.state == "closed"


def test_a_failed_probe_reopens_with_a_longer_cooldown_up_to_the_cap(
    health: Health, clock: Clock
) -> None:
    for _ in range(3):
        health.failed(KEY)
    for cooldown in (20.0, 25.0, 25.0):
        clock.now = health.reopens_at(KEY)
        health.begin(KEY)
        health.failed(KEY)
        assert health.reopens_at(KEY) == clock.now + cooldown
        assert not health.available(KEY)


def test_an_abandoned_probe_frees_the_slot(health: Health, clock: Clock) -> None:
    for _ in range(3):
        health.failed(KEY)
    clock.now = health.reopens_at(KEY)
    health.begin(KEY)
    assert not health.available(KEY)
    health.abandoned(KEY)
    assert health.available(KEY)


def test_slow_answers_count_against_it(health: Health) -> None:
    for _ in range(5):
        health.succeeded(KEY, slow=True)
    assert not health.available(KEY)


def test_speed_is_a_moving_average(health: Health) -> None:
    health.succeeded(KEY, ttft=1.0, throughput=100.0)
    health.succeeded(KEY, ttft=2.0, throughput=50.0)
    state = health.snapshot(KEY)
    assert state is not None
    assert state.ttft == pytest.approx(1.2)
    assert state.throughput == pytest.approx(90.0)


def test_forget_starts_over(health: Health) -> None:
    for _ in range(3):
        health.failed(KEY)
    health.forget()
    assert health.available(KEY)
