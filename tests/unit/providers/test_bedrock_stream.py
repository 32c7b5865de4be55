"""The `bedrock` stream: the fake's event-stream encoder checked against botocore's decoder,
recorded events to OpenAI chunks, the adapter reading frames split at awkward byte boundaries,
in-stream exceptions, and SigV4 signing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from typing import Any

import anyio
import httpx
import pytest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer

from onerouter.providers.base import UpstreamError
from onerouter.providers.bedrock import BedrockAdapter, EventDecoder, StreamTranslator, sign
from onerouter.providers.http import Upstream
from tests.fakes.bedrock_provider import (
    EVENT_STREAM,
    encode_event,
    encode_exception,
    encode_frame,
)
from tests.fakes.mock_network import TrickleBackend
from tests.unit.providers.test_bedrock import TARGET, chat

USAGE = {"inputTokens": 12, "outputTokens": 9, "totalTokens": 51, "cacheReadInputTokens": 30}

RECORDED: list[tuple[str, dict[str, Any]]] = [
    ("messageStart", {"role": "assistant"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Hm"}}}),
    (
        "contentBlockDelta",
        {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "s"}}},
    ),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Héllo "}}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "🌍"}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    (
        "contentBlockStart",
        {
            "contentBlockIndex": 2,
            "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "weather"}},
        },
    ),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"city": '}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '"Paris"}'}}}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    ("messageStop", {"stopReason": "tool_use"}),
    ("metadata", {"usage": USAGE, "metrics": {"latencyMs": 120}, "p": "abc"}),
]
BODY = b"".join(encode_event(kind, payload) for kind, payload in RECORDED)


THOUGHT = {"type": "reasoning.text", "format": "anthropic-claude-v1", "index": 0}


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def test_fake_encoder_frames_decode_with_botocore() -> None:
    frame = encode_frame({":event-type": "messageStart", ":message-type": "event"}, b'{"x": 1}')
    buffer = EventStreamBuffer()
    buffer.add_data(frame + encode_exception("throttlingException", "slow down"))
    first, second = list(buffer)
    assert first.headers == {":event-type": "messageStart", ":message-type": "event"}
    assert first.payload == b'{"x": 1}'
    assert second.headers[":exception-type"] == "throttlingException"
    assert json.loads(second.payload) == {"message": "slow down"}


def test_translator_yields_openai_chunks_in_order() -> None:
    translator = StreamTranslator(TARGET)
    chunks = [chunk for kind, event in RECORDED for chunk in translator.feed(kind, event)]

    assert translator.finished
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["model"] == "bedrock/claude" for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert deltas(chunks)[:-1] == [
        {"role": "assistant", "content": ""},
        {"reasoning": "Hm", "reasoning_details": [THOUGHT | {"text": "Hm"}]},
        {"reasoning_details": [THOUGHT | {"signature": "s"}]},
        {"content": "Héllo "},
        {"content": "🌍"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "tooluse_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
    ]
    final = chunks[-2]["choices"][0]
    assert (final["finish_reason"], final["native_finish_reason"]) == ("tool_calls", "tool_use")
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 42,
        "completion_tokens": 9,
        "total_tokens": 51,
        "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 0},
    }


@pytest.mark.parametrize(
    ("kind", "status", "retryable"),
    [
        ("internalServerException", 500, True),
        ("modelStreamErrorException", 500, True),
        ("throttlingException", 429, True),
        ("validationException", 400, False),
        ("serviceUnavailableException", 503, True),
    ],
)
def test_exception_event_is_an_upstream_error(kind: str, status: int, retryable: bool) -> None:
    decoder = EventDecoder("bedrock")
    with pytest.raises(UpstreamError) as caught:
        list(decoder.feed(encode_event(*RECORDED[0]) + encode_exception(kind, "oops")))
    error = caught.value
    assert (error.kind, error.status, error.retryable) == ("status", status, retryable)
    assert error.raw == {"message": "oops", "type": kind}


def test_corrupt_frame_is_a_protocol_error() -> None:
    frame = bytearray(encode_event(*RECORDED[0]))
    frame[-6] ^= 0xFF
    with pytest.raises(UpstreamError) as caught:
        list(EventDecoder("bedrock").feed(bytes(frame)))
    assert caught.value.kind == "protocol"


# ------------------------------------------------------------ the adapter on a trickling network


def run_stream(
    body: bytes, size: int, seen: list[httpx.Request], status: int = 200
) -> list[dict[str, Any]]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if status != 200:
            headers = {"x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/"}
            return httpx.Response(status, json={"message": "Too many requests"}, headers=headers)
        return httpx.Response(200, content=body, headers={"content-type": EVENT_STREAM})

    async def go() -> list[dict[str, Any]]:
        upstream = Upstream(network_backend=TrickleBackend(handler, size))
        request = chat(messages=[{"role": "user", "content": "Hi"}], stream=True)
        try:
            return [c async for c in BedrockAdapter(upstream).stream(TARGET, request)]
        finally:
            await upstream.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64, 65536])
def test_adapter_reads_frames_split_at_any_byte(size: int) -> None:
    seen: list[httpx.Request] = []
    chunks = run_stream(BODY, size, seen)

    translator = StreamTranslator(TARGET)
    whole = [c for kind, event in RECORDED for c in translator.feed(kind, event)]
    assert deltas(chunks) == deltas(whole)
    assert "".join(d.get("content", "") for d in deltas(chunks)) == "Héllo 🌍"
    assert chunks[-1]["usage"]["completion_tokens"] == 9
    (request,) = seen
    assert str(request.url) == (
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    )
    assert request.headers["authorization"] == "Bearer key"
    assert request.headers["accept"] == EVENT_STREAM
    assert json.loads(request.content)["inferenceConfig"]["maxTokens"] == 64000


def test_stream_without_message_stop_is_dropped() -> None:
    cut = b"".join(encode_event(kind, payload) for kind, payload in RECORDED[:6])
    with pytest.raises(UpstreamError) as caught:
        run_stream(cut, 4096, [])
    assert caught.value.kind == "dropped"


def test_in_stream_exception_through_the_adapter() -> None:
    body = BODY[: len(encode_event(*RECORDED[0]))] + encode_exception("throttlingException", "no")
    with pytest.raises(UpstreamError) as caught:
        run_stream(body, 3, [])
    assert (caught.value.status, caught.value.retryable) == (429, True)
    assert "no" in str(caught.value.to_error())


def test_throttled_status_names_bedrocks_message() -> None:
    with pytest.raises(UpstreamError) as caught:
        run_stream(b"", 4096, [], status=429)
    error = caught.value
    assert (error.status, error.retryable, error.detail) == (429, True, "Too many requests")
    assert error.raw == {"message": "Too many requests", "type": "ThrottlingException"}


# ----------------------------------------------------------------------------------- SigV4


def test_sigv4_signs_with_the_region_from_the_host() -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok")
    url = "https://bedrock-runtime.eu-central-1.amazonaws.com/model/m/converse"
    headers = sign(url, {"content-type": "application/json"}, b"{}", credentials)

    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-central-1/bedrock/aws4_request" in authorization
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token" in authorization
    assert "Signature=" in authorization
    assert headers["X-Amz-Security-Token"] == "tok"
    assert headers["content-type"] == "application/json"


def test_adapter_signs_when_no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={"output": {"message": {"content": [{"text": "hi"}]}}, "stopReason": "end_turn"},
        )

    async def go() -> dict[str, Any]:
        upstream = Upstream(network_backend=TrickleBackend(handler, 65536))
        unkeyed = dataclasses.replace(TARGET, api_key=None)
        try:
            return await BedrockAdapter(upstream).complete(
                unkeyed, chat(messages=[{"role": "user", "content": "Hi"}])
            )
        finally:
            await upstream.aclose()

    answer = asyncio.run(go())
    assert answer["choices"][0]["message"]["content"] == "hi"
    authorization = seen[0].headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-west-2/bedrock/aws4_request" in authorization


def test_forced_json_tool_streams_as_content() -> None:
    start = {"toolUse": {"toolUseId": "t", "name": "json_output"}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockStart", {"contentBlockIndex": 0, "start": start}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"n":'}}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "3}"}}}),
        ("messageStop", {"stopReason": "tool_use"}),
        ("metadata", {"usage": USAGE}),
    ]
    translator = StreamTranslator(TARGET)
    chunks = [c for kind, event in events for c in translator.feed(kind, event)]
    assert "".join(d.get("content", "") for d in deltas(chunks)) == '{"n":3}'
    assert not any("tool_calls" in d for d in deltas(chunks))
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_credentials_are_found_and_refreshed_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finding credentials (instance metadata, SSO) and refreshing them may block on the
    network: that happens on worker threads, once however many calls wait for it."""
    threads: list[tuple[str, int]] = []

    class Expiring:
        def refresh_needed(self) -> bool:
            return True

        def get_frozen_credentials(self) -> Credentials:
            threads.append(("refresh", threading.get_ident()))
            return Credentials("AKIDEXAMPLE", "secret")

    class Session:
        def get_credentials(self) -> Expiring:
            threads.append(("find", threading.get_ident()))
            return Expiring()

    monkeypatch.setattr("onerouter.aws_signing.get_session", Session)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"output": {"message": {"content": [{"text": "hi"}]}}, "stopReason": "end_turn"},
        )

    async def go() -> int:
        upstream = Upstream(network_backend=TrickleBackend(handler, 65536))
        adapter = BedrockAdapter(upstream)
        unkeyed = dataclasses.replace(TARGET, api_key=None)
        request = chat(messages=[{"role": "user", "content": "Hi"}])
        try:
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(adapter.complete, unkeyed, request)
        finally:
            await upstream.aclose()
        return threading.get_ident()

    loop_thread = asyncio.run(go())
    assert [what for what, _ in threads].count("find") == 1
    assert [what for what, _ in threads].count("refresh") == 3
    assert all(thread != loop_thread for _, thread in threads)
