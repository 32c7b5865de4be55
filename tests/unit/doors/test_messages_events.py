"""The stream translator: chat chunks in, Anthropic's events out as each chunk arrives, and its
SSE bytes read back by the `anthropic` SDK's own decoder and accumulator, however they are split."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anthropic._streaming import SSEDecoder
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message

from onerouter.doors.messages.events import MessageEvents, encode
from onerouter.providers.anthropic import StreamTranslator
from tests.fakes.anthropic_provider import stream_events
from tests.unit.providers.test_anthropic import TARGET

BASE = {"id": "gen-1", "object": "chat.completion.chunk", "model": "test/m", "provider": "p"}
DETAIL = {"type": "reasoning.text", "format": "anthropic-claude-v1", "index": 0}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> Any:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {**BASE, "choices": choices, **extra}


OPENAI_TEXT = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hello"}),
    chunk({"content": " there"}),
    chunk({}, "stop"),
    chunk(usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}),
]


def events_of(chunks: list[Any], estimate: int = 7) -> list[dict[str, Any]]:
    translator = MessageEvents(estimate)
    events = [event for c in chunks for event in translator.feed(c)]
    return events + translator.finish()


def test_a_text_stream_golden() -> None:
    assert events_of(OPENAI_TEXT) == [
        {
            "type": "message_start",
            "message": {
                "id": "gen-1",
                "type": "message",
                "role": "assistant",
                "model": "test/m",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 7, "output_tokens": 0},
            },
        },
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Hello"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": " there"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {
                "input_tokens": 9,
                "output_tokens": 2,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        },
        {"type": "message_stop"},
    ]


def test_events_come_as_each_chunk_arrives() -> None:
    translator = MessageEvents()
    assert [e["type"] for e in translator.feed(OPENAI_TEXT[0])] == ["message_start", "ping"]
    assert [e["type"] for e in translator.feed(OPENAI_TEXT[1])] == [
        "content_block_start",
        "content_block_delta",
    ]
    assert [e["type"] for e in translator.feed(OPENAI_TEXT[2])] == ["content_block_delta"]
    assert [e["type"] for e in translator.feed(OPENAI_TEXT[3])] == ["content_block_stop"]
    assert translator.feed(OPENAI_TEXT[4]) == []
    assert [e["type"] for e in translator.finish()] == ["message_delta", "message_stop"]


def test_a_stream_without_usage_reports_the_estimate() -> None:
    events = events_of(OPENAI_TEXT[:-1], estimate=42)
    assert events[-2]["usage"]["input_tokens"] == 42


def test_reasoning_text_then_a_tool_call_in_one_chunk() -> None:
    """Gemini-style: thoughts as `reasoning`, then a whole call with its arguments at once."""
    call = {
        "index": 0,
        "id": "call_0",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
    }
    chunks = [
        chunk({"role": "assistant", "reasoning": "Thinking"}),
        chunk({"tool_calls": [call]}, "tool_calls"),
        chunk(usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
    ]
    message = read_back(encode(events_of(chunks)), [len(encode(events_of(chunks)))])
    assert message.model_dump(exclude_none=True)["content"] == [
        {"type": "thinking", "thinking": "Thinking", "signature": ""},
        {"type": "tool_use", "id": "call_0", "name": "get_weather", "input": {"city": "Rome"}},
    ]
    assert message.stop_reason == "tool_use"


# ------------------------------------------------------------------------------ round trip

CLAUDE_MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "Paris is in France. ünïcödé ✓", "signature": "sig-1"},
        {"type": "text", "text": "Let me check the weather — in Paris ☀️."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {"tz": "CET"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "output_tokens": 40,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 30,
    },
}


def claude_sse() -> bytes:
    """Claude's own stream, through the anthropic adapter into chat chunks, then back out."""
    upstream = StreamTranslator(TARGET)
    translator = MessageEvents(3)
    out = b""
    for event in stream_events(CLAUDE_MESSAGE):
        for c in upstream.feed(event):
            out += encode(translator.feed({**c, "id": "gen-9"}))
    return out + encode(translator.finish())


def pieces(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """`data` in pieces of the given sizes, cycling through them."""
    at, k = 0, 0
    while at < len(data):
        size = sizes[k % len(sizes)]
        yield data[at : at + size]
        at, k = at + size, k + 1


def read_back(data: bytes, sizes: list[int]) -> Message:
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for sse in SSEDecoder().iter_bytes(pieces(data, sizes)):
        assert sse.event is not None
        if sse.event == "ping":
            continue
        event = sse.json()
        assert event["type"] == sse.event
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    return Message.model_validate(snapshot.model_dump())


@pytest.mark.parametrize("sizes", [[1], [2], [3, 7], [5, 1, 13], [64], [1 << 20]])
def test_claude_round_trip_survives_any_split(sizes: list[int]) -> None:
    message = read_back(claude_sse(), sizes)
    got = message.model_dump(exclude_none=True)
    assert (got["id"], got["model"]) == ("gen-9", TARGET.model_id)
    for name in ("content", "stop_reason", "usage", "role", "type"):
        assert got[name] == CLAUDE_MESSAGE[name], name
    assert message.usage.cache_read_input_tokens == 30


def test_signature_and_redacted_thinking_from_claude_details() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning": "Hm", "reasoning_details": [{**DETAIL, "text": "Hm"}]}),
        chunk({"reasoning_details": [{**DETAIL, "signature": "sig"}]}),
        chunk(
            {
                "reasoning_details": [
                    {
                        "type": "reasoning.encrypted",
                        "format": "anthropic-claude-v1",
                        "index": 1,
                        "data": "ENC",
                    }
                ]
            }
        ),
        chunk({"content": "Hi"}, "stop"),
    ]
    data = encode(events_of(chunks))
    message = read_back(data, [3])
    assert message.model_dump(exclude_none=True)["content"] == [
        {"type": "thinking", "thinking": "Hm", "signature": "sig"},
        {"type": "redacted_thinking", "data": "ENC"},
        {"type": "text", "text": "Hi"},
    ]
