"""Locally, what an EventBridge schedule does: call a handler with a scheduled event, once at
start and then every `interval` seconds, on a daemon thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..billing.expiry import scheduled_event
from ..logs import log_failure
from ..store.records import utcnow

logger = logging.getLogger("onerouter.dev")

Handler = Callable[[dict[str, Any], Any], Any]
DAY = 24 * 60 * 60.0


class ScheduleThread:
    """Calls `handler` at once and then every `interval` seconds until `stop()`. A failed run
    is logged and the schedule goes on, as on AWS (where the next day's run retries)."""

    def __init__(self, handler: Handler, interval: float = DAY, name: str = "schedule") -> None:
        self.handler = handler
        self.interval = interval
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.handler(scheduled_event(utcnow()), None)
            except Exception as exc:
                log_failure(logger, f"scheduled {self._thread.name}", exc)
            self.runs += 1
            self._stop.wait(self.interval)

    def start(self) -> ScheduleThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def __enter__(self) -> ScheduleThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
