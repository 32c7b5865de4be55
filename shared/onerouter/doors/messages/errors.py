"""Errors in Anthropic's envelope, `{"type": "error", "error": {"type", "message"}}`.

The HTTP status stays the gateway's (the `anthropic` SDK raises its class for each status:
402 `PaymentRequiredError`, 408 `RequestTimeoutError`, 503 `ServiceUnavailableError` ...);
the error type is the one Anthropic uses for that status. Anthropic has no type for "every
provider failed" (502) apart from `api_error`, and says `overloaded_error` (its 529) where we
have no provider available now (503).
"""

from __future__ import annotations

from typing import Any

import orjson

from ...errors import OneRouterError

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "invalid_request_error" if status < 500 else "api_error"


def envelope(error: OneRouterError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(error.status), "message": error.message}}


def error_event(error: OneRouterError) -> bytes:
    """An error after the stream began: Anthropic's `error` event, which ends the stream."""
    return b"event: error\ndata: " + orjson.dumps(envelope(error)) + b"\n\n"
