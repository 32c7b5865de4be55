"""Logging that cannot leak a prompt: failures are logged by type and stack, never by message.

An exception's message may quote what it failed on, and that can be request content.
"""

from __future__ import annotations

import logging
import traceback


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    stack = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("%s: %s\n%s", what, type(exc).__name__, stack)
