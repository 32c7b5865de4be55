"""Request bodies: bounded reading, strict JSON, errors naming the parameter as OpenAI does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from onerouter.api.body import read_json, validate
from onerouter.errors import InvalidRequest, PayloadTooLarge
from onerouter.requests import ChatRequest

MESSAGES = [{"role": "user", "content": "Hello"}]

# ---------------------------------------------------------------- validate


def invalid(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        validate(ChatRequest, body)
    assert caught.value.status == 400
    assert caught.value.type == "invalid_request_error"
    return caught.value


def test_valid_body_becomes_a_chat_request_keeping_unknown_fields() -> None:
    request = validate(ChatRequest, {"model": "m", "messages": MESSAGES, "foo_bar": 1})

    assert isinstance(request, ChatRequest)
    assert request.model == "m"
    assert request.messages[0].content == "Hello"
    assert request.model_extra == {"foo_bar": 1}


def test_bad_role_names_the_indexed_parameter() -> None:
    error = invalid({"model": "m", "messages": [{"role": "robot", "content": "hi"}]})

    assert error.param == "messages[0].role"
    assert error.message.startswith("Invalid request: messages[0].role ")
    assert error.body()["error"]["param"] == "messages[0].role"


def test_missing_messages_is_required() -> None:
    error = invalid({"model": "m"})

    assert error.param == "messages"
    assert error.message == "Invalid request: messages is required."


def test_missing_model_is_required() -> None:
    error = invalid({"messages": MESSAGES})

    assert error.param == "model"
    assert "is required" in error.message


def test_empty_messages_is_refused() -> None:
    error = invalid({"model": "m", "messages": []})

    assert error.param == "messages"


@pytest.mark.parametrize(("value", "bound"), [(2.5, "2"), (-0.1, "0")])
def test_temperature_out_of_range_names_the_bound(value: float, bound: str) -> None:
    error = invalid({"model": "m", "messages": MESSAGES, "temperature": value})

    assert error.param == "temperature"
    assert bound in error.message


def test_unknown_provider_preference_is_not_a_recognised_field() -> None:
    error = invalid({"model": "m", "messages": MESSAGES, "provider": {"foo": 1}})

    assert error.param == "provider.foo"
    assert error.message == "Invalid request: provider.foo is not a recognised field."


def test_more_than_four_stop_sequences_are_refused() -> None:
    error = invalid({"model": "m", "messages": MESSAGES, "stop": ["a", "b", "c", "d", "e"]})

    assert error.param == "stop"
    assert "at most 4" in error.message


def test_four_stop_sequences_are_fine() -> None:
    request = validate(ChatRequest, {"model": "m", "messages": MESSAGES, "stop": list("abcd")})

    assert request.stop == ["a", "b", "c", "d"]


def test_union_member_names_are_left_out_of_the_parameter() -> None:
    error = invalid({"model": "m", "messages": [MESSAGES[0], {"role": "user", "content": 7}]})

    assert error.param == "messages[1].content"


# ---------------------------------------------------------------- read_json


class Receive:
    """An ASGI `receive` that hands out the body in the given chunks, counting the calls."""

    def __init__(self, chunks: list[bytes]) -> None:
        chunks = chunks or [b""]
        self.messages: list[Message] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        self.calls = 0

    async def __call__(self) -> Message:
        self.calls += 1
        if self.messages:
            return self.messages.pop(0)
        return {"type": "http.disconnect"}


def make_request(receive: Receive, headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope, receive)


def read(
    chunks: list[bytes],
    *,
    limit: int = 1024,
    headers: dict[str, str] | None = None,
    allow_empty: bool = False,
) -> dict[str, Any]:
    request = make_request(Receive(chunks), headers)
    return asyncio.run(read_json(request, limit, allow_empty=allow_empty))


def test_reads_a_json_object_sent_in_chunks() -> None:
    body = read([b'{"model": "m", ', b'"messages": [', b"]}"])

    assert body == {"model": "m", "messages": []}


def test_declared_oversize_is_refused_before_reading() -> None:
    receive = Receive([b"{}"])
    request = make_request(receive, {"content-length": "2048"})

    with pytest.raises(PayloadTooLarge) as caught:
        asyncio.run(read_json(request, 1024))

    assert caught.value.status == 413
    assert caught.value.code == "request_too_large"
    assert "1024" in caught.value.message
    assert receive.calls == 0


def test_streamed_oversize_without_content_length_is_refused() -> None:
    receive = Receive([b"x" * 400] * 10)
    request = make_request(receive)

    with pytest.raises(PayloadTooLarge) as caught:
        asyncio.run(read_json(request, 1000))

    assert caught.value.status == 413
    assert receive.calls < 10, "reading stops once the limit is passed"


def test_understated_content_length_does_not_lift_the_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        read([b'{"a": "' + b"x" * 2000 + b'"}'], limit=1024, headers={"content-length": "10"})


def test_body_of_exactly_the_limit_is_accepted() -> None:
    payload = b'{"a": "' + b"x" * 10 + b'"}'

    assert read([payload], limit=len(payload)) == {"a": "x" * 10}


def test_empty_body_is_400() -> None:
    with pytest.raises(InvalidRequest) as caught:
        read([])

    assert caught.value.status == 400
    assert "empty" in caught.value.message


def test_malformed_json_is_400_naming_line_and_column() -> None:
    with pytest.raises(InvalidRequest) as caught:
        read([b'{"model": "m",\n "messages": oops}'])

    assert caught.value.status == 400
    assert "line 2, column 14" in caught.value.message


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"3", b"null"])
def test_json_that_is_not_an_object_is_400(payload: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        read([payload])

    assert caught.value.status == 400
    assert "JSON object" in caught.value.message


def test_allow_empty_gives_an_empty_object() -> None:
    assert read([], allow_empty=True) == {}


def test_allow_empty_still_parses_a_body() -> None:
    assert read([b'{"credits": "10"}'], allow_empty=True) == {"credits": "10"}
