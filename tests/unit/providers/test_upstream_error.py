"""Upstream failures: mapped onto the CONTRACT's error table, in the provider's words only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from onerouter.errors import (
    InvalidRequest,
    OneRouterError,
    RateLimited,
    UpstreamFailed,
    UpstreamTimeout,
)
from onerouter.providers.base import UpstreamError

RAW = {"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}}


@pytest.mark.parametrize(
    ("kind", "status", "error_class", "http_status"),
    [
        ("timeout", None, UpstreamTimeout, 408),
        ("status", 408, UpstreamTimeout, 408),
        ("status", 429, RateLimited, 429),
        ("status", 400, InvalidRequest, 400),
        ("status", 401, UpstreamFailed, 502),
        ("status", 403, UpstreamFailed, 502),
        ("status", 404, UpstreamFailed, 502),
        ("status", 422, InvalidRequest, 400),
        ("status", 500, UpstreamFailed, 502),
        ("status", 502, UpstreamFailed, 502),
        ("status", 503, UpstreamFailed, 502),
        ("status", 529, UpstreamFailed, 502),
        ("connect", None, UpstreamFailed, 502),
        ("dropped", None, UpstreamFailed, 502),
        ("protocol", None, UpstreamFailed, 502),
    ],
)
def test_maps_onto_the_contract_error_table(
    kind: Any, status: int | None, error_class: type[OneRouterError], http_status: int
) -> None:
    error = UpstreamError("acme", kind, status=status, raw=RAW).to_error()

    assert type(error) is error_class
    assert error.status == http_status


@pytest.mark.parametrize(("kind", "status"), [("timeout", None), ("status", 429), ("status", 500)])
def test_metadata_names_the_provider_and_carries_its_raw_body(
    kind: Any, status: int | None
) -> None:
    error = UpstreamError("acme", kind, status=status, raw=RAW).to_error()

    assert error.metadata == {"provider_name": "acme", "raw": RAW}
    assert error.body()["error"]["metadata"] == {"provider_name": "acme", "raw": RAW}


def test_rate_limit_passes_on_the_providers_retry_after() -> None:
    error = UpstreamError("acme", "status", status=429, raw=RAW, retry_after="17").to_error()

    assert error.headers == {"Retry-After": "17"}
    assert error.type == "rate_limit_error"


def test_rate_limit_without_retry_after_says_one_second() -> None:
    error = UpstreamError("acme", "status", status=429, raw=RAW).to_error()

    assert error.headers == {"Retry-After": "1"}


def test_timeout_says_who_timed_out() -> None:
    error = UpstreamError("acme", "timeout", detail="ReadTimeout").to_error()

    assert error.message == "acme timed out"
    assert error.type == "timeout_error"
    assert error.code == "upstream_timeout"


def test_connect_failure_message_names_the_provider_and_the_failure() -> None:
    error = UpstreamError("acme", "connect", detail="ConnectError").to_error()

    assert error.message == "acme failed: ConnectError"
    assert error.metadata == {"provider_name": "acme", "raw": None}


@pytest.mark.parametrize(
    ("kind", "status", "retryable"),
    [
        ("connect", None, True),
        ("timeout", None, True),
        ("dropped", None, True),
        ("protocol", None, True),
        ("status", 408, True),
        ("status", 424, True),
        ("status", 429, True),
        ("status", 500, True),
        ("status", 502, True),
        ("status", 503, True),
        ("status", 401, True),
        ("status", 403, True),
        ("status", 404, True),
        ("status", 400, False),
        ("status", 413, False),
        ("status", 422, False),
    ],
)
def test_retryable_when_the_failure_is_the_endpoints_not_the_requests(
    kind: Any, status: int | None, retryable: bool
) -> None:
    assert UpstreamError("acme", kind, status=status).retryable is retryable


# ---------------------------------------------------------------- privacy: provider's words only

PROMPT = "my bank password is hunter2"


def test_message_holds_only_the_providers_words() -> None:
    # What a gateway request would have sent; the error is built from the response alone.
    request_body = {"model": "acme/large", "messages": [{"role": "user", "content": PROMPT}]}
    failure = UpstreamError("acme", "status", status=400, raw=RAW)

    error = failure.to_error()

    assert error.message == "acme rejected the request: max_tokens is too large"
    rendered = json.dumps(error.body())
    assert PROMPT not in rendered
    assert "messages" not in rendered
    assert json.dumps(request_body) not in rendered
    assert error.body()["error"]["metadata"]["raw"] == RAW


def test_string_error_in_the_raw_body_is_used_as_the_message() -> None:
    error = UpstreamError("acme", "status", status=500, raw={"error": "overloaded"}).to_error()

    assert error.message == "acme failed: overloaded"


def test_non_json_raw_body_stays_in_metadata_not_in_the_message() -> None:
    html = "<html><body>502 Bad Gateway</body></html>"

    error = UpstreamError("acme", "status", status=502, raw=html).to_error()

    assert error.message == "acme failed: HTTP 502"
    assert error.metadata == {"provider_name": "acme", "raw": html}


def test_long_provider_message_is_truncated_in_the_message() -> None:
    long = "x" * 2000
    raw = {"error": {"message": long}}

    error = UpstreamError("acme", "status", status=400, raw=raw).to_error()

    assert len(error.message) < 600
    assert error.metadata is not None and error.metadata["raw"] == raw


def test_exception_text_for_logs_leaves_the_raw_body_out() -> None:
    failure = UpstreamError("acme", "status", status=400, raw=RAW)

    assert str(failure) == "acme: status 400"
    assert "max_tokens" not in str(failure)
