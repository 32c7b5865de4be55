"""The dev runner's stand-in for an EventBridge schedule."""

from __future__ import annotations

import threading
from typing import Any

from onerouter.billing.expiry import as_of
from onerouter.dev.scheduler import ScheduleThread


def test_the_job_runs_at_start_with_a_scheduled_event_then_waits() -> None:
    events: list[dict[str, Any]] = []
    ran = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        events.append(event)
        ran.set()
        raise RuntimeError("a failed run is logged; the schedule goes on")

    with ScheduleThread(handler, interval=3600) as schedule:
        assert ran.wait(5)
    assert schedule.runs == 1
    (event,) = events
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert as_of(event) == event["time"]


def test_as_of_is_the_events_time_in_the_ledgers_format() -> None:
    assert as_of({"time": "2026-11-25T00:15:00Z"}) == "2026-11-25T00:15:00.000Z"
    assert as_of({})[:2] == "20"
