"""How each provider endpoint has been doing: a circuit breaker, and measured speed.

Every call's outcome lands here (the dispatcher reports it); routing reads it back.

The breaker, per endpoint (a provider serving one model):
- closed: calls flow. It opens when, over the last `window` seconds, at least `min_calls` calls
  were made and at least `error_rate` of them failed, or after `consecutive` failures in a row.
  A failure is a retryable upstream failure (connection, timeout, 408/429/5xx...); a first
  token slower than half the endpoint's first-byte timeout counts against the error rate
  (not the run of failures in a row). A bad request is not the endpoint's fault.
- open: routing puts the endpoint after every healthy one, so it serves only when all else
  failed. After `cooldown` seconds it turns half-open.
- half-open: one call at a time probes it. Success closes the breaker; failure opens it again
  with the cool-down doubled (up to `max_cooldown`).

Speed, measured from real traffic: time to first token (streams) and tokens per second after
it, each an exponentially weighted moving average.

The state is this process's. To share it later, each process would add its outcomes to
per-endpoint, per-minute counters in DynamoDB (one ADD per endpoint per flush, not per call)
and read the last minutes back with the same short-lived cache routing already uses; the
decisions here stay the same, fed by summed counts instead of local ones.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    window: float = 60.0
    min_calls: int = 5
    error_rate: float = 0.5
    consecutive: int = 3
    cooldown: float = 15.0
    max_cooldown: float = 300.0
    # Weight of the newest sample in the speed averages.
    smoothing: float = 0.2


@dataclass(slots=True)
class EndpointHealth:
    state: State = "closed"
    outcomes: deque[tuple[float, bool]] = field(default_factory=deque)
    failures_in_a_row: int = 0
    reopen_at: float = 0.0
    cooldown: float = 0.0
    probing: bool = False
    ttft: float | None = None  # seconds
    throughput: float | None = None  # completion tokens per second


class Health:
    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._endpoints: dict[str, EndpointHealth] = {}

    def _of(self, key: str) -> EndpointHealth:
        health = self._endpoints.get(key)
        if health is None:
            health = self._endpoints[key] = EndpointHealth()
        return health

    def forget(self) -> None:
        """Start over, as a fresh process would."""
        self._endpoints = {}

    def snapshot(self, key: str) -> EndpointHealth | None:
        return self._endpoints.get(key)

    def available(self, key: str) -> bool:
        """Whether routing may put this endpoint in its price place now (no side effects)."""
        health = self._endpoints.get(key)
        if health is None or health.state == "closed":
            return True
        if health.state == "open":
            return self._clock() >= health.reopen_at
        return not health.probing

    def reopens_at(self, key: str) -> float:
        health = self._endpoints.get(key)
        return health.reopen_at if health is not None else 0.0

    def begin(self, key: str) -> None:
        """A call to the endpoint starts: past its cool-down, it becomes the probe."""
        health = self._endpoints.get(key)
        if health is None or health.state == "closed":
            return
        if health.state == "open" and self._clock() >= health.reopen_at:
            health.state = "half_open"
        if health.state == "half_open":
            health.probing = True

    def abandoned(self, key: str) -> None:
        """The call ended without telling anything (the client went away)."""
        health = self._endpoints.get(key)
        if health is not None:
            health.probing = False

    def succeeded(
        self,
        key: str,
        *,
        ttft: float | None = None,
        throughput: float | None = None,
        slow: bool = False,
    ) -> None:
        health = self._of(key)
        alpha = self.policy.smoothing
        if ttft is not None:
            health.ttft = ttft if health.ttft is None else (1 - alpha) * health.ttft + alpha * ttft
        if throughput is not None:
            previous = health.throughput
            health.throughput = (
                throughput if previous is None else (1 - alpha) * previous + alpha * throughput
            )
        if slow:
            self._record(health, ok=False)
            return
        health.failures_in_a_row = 0
        self._record(health, ok=True)
        if health.state != "closed":
            health.state, health.cooldown, health.probing = "closed", 0.0, False

    def failed(self, key: str) -> None:
        health = self._of(key)
        health.failures_in_a_row += 1
        self._record(health, ok=False)

    def _record(self, health: EndpointHealth, ok: bool) -> None:
        policy = self.policy
        now = self._clock()
        outcomes = health.outcomes
        outcomes.append((now, ok))
        while outcomes and outcomes[0][0] < now - policy.window:
            outcomes.popleft()
        if ok:
            return
        if health.state == "half_open":
            self._open(health, now, min(health.cooldown * 2, policy.max_cooldown))
            return
        if health.state == "open":
            return
        failures = sum(1 for _, good in outcomes if not good)
        too_many = len(outcomes) >= policy.min_calls and failures >= policy.error_rate * len(
            outcomes
        )
        if too_many or health.failures_in_a_row >= policy.consecutive:
            self._open(health, now, policy.cooldown)

    @staticmethod
    def _open(health: EndpointHealth, now: float, cooldown: float) -> None:
        health.state = "open"
        health.cooldown = cooldown
        health.reopen_at = now + cooldown
        health.probing = False
        health.outcomes.clear()
        health.failures_in_a_row = 0
