"""Errors in Anthropic's envelope, with the types its SDK and Claude Code expect."""

from __future__ import annotations

import json

import pytest

from onerouter.doors.messages.errors import envelope, error_event
from onerouter.errors import (
    AuthenticationFailed,
    InsufficientCredits,
    InvalidRequest,
    ModelNotFound,
    NoProviderAvailable,
    OneRouterError,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    UpstreamFailed,
    UpstreamTimeout,
)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidRequest("bad"), "invalid_request_error"),
        (AuthenticationFailed("who"), "authentication_error"),
        (InsufficientCredits("broke"), "billing_error"),
        (PermissionDenied("no"), "permission_error"),
        (ModelNotFound("where"), "not_found_error"),
        (UpstreamTimeout("slow"), "timeout_error"),
        (PayloadTooLarge("big"), "request_too_large"),
        (RateLimited("slow down"), "rate_limit_error"),
        (OneRouterError("oops"), "api_error"),
        (UpstreamFailed("all failed"), "api_error"),
        (NoProviderAvailable("none"), "overloaded_error"),
    ],
)
def test_each_status_has_anthropics_type(error: OneRouterError, kind: str) -> None:
    assert envelope(error) == {"type": "error", "error": {"type": kind, "message": error.message}}


def test_an_error_in_a_stream_is_an_error_event() -> None:
    raw = error_event(UpstreamFailed("every provider failed"))
    head, data = raw.decode().removesuffix("\n\n").split("\n")
    assert head == "event: error"
    assert json.loads(data.removeprefix("data: ")) == {
        "type": "error",
        "error": {"type": "api_error", "message": "every provider failed"},
    }
