"""Chat chunks in, Responses stream events out: each event checked by the SDK's types, the bytes
read back by the SDK's own SSE decoder however the network splits them, and the events folded
by the SDK's stream helper into the final response."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai import omit
from openai._streaming import SSEDecoder
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from onerouter.doors.responses import reasoning
from onerouter.doors.responses.events import ResponseEvents, encode
from onerouter.errors import RateLimited, UpstreamFailed

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
RID = "resp_gen-00aa"
BODY = {"model": "test/chat", "input": "hi", "stream": True}
USAGE = {
    "prompt_tokens": 9,
    "completion_tokens": 7,
    "total_tokens": 16,
    "completion_tokens_details": {"reasoning_tokens": 2},
}


def chunk(finish: str | None = None, **delta: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "gen-00aa", "model": "test/chat", "provider": "primary", "choices": [choice]}


def usage_chunk() -> dict[str, Any]:
    return {"id": "gen-00aa", "model": "test/chat", "choices": [], "usage": USAGE}


TEXT = [
    chunk(role="assistant", content=""),
    chunk(content="Héllo, "),
    chunk(content="wörld ✓"),
    chunk(finish="stop"),
    usage_chunk(),
]
DETAILS = [{"type": "reasoning.text", "text": "Think", "format": "x", "index": 0}]
EVERYTHING = [
    chunk(role="assistant", content=""),
    chunk(reasoning="Think ", reasoning_details=DETAILS),
    chunk(reasoning="twice."),
    chunk(content="Calling."),
    chunk(tool_calls=[{"index": 0, "id": "c1", "function": {"name": "w", "arguments": ""}}]),
    chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"city":'}}]),
    chunk(tool_calls=[{"index": 1, "id": "c2", "function": {"name": "t", "arguments": "{}"}}]),
    chunk(tool_calls=[{"index": 0, "function": {"arguments": '"Oslo"}'}}]),
    chunk(finish="tool_calls"),
    usage_chunk(),
]


def translate(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events = ResponseEvents(RID, BODY, created_at=1764000000)
    out = [event for c in chunks for event in events.feed(c)]
    return out + events.finish()


def wire(events: list[dict[str, Any]]) -> bytes:
    return b"".join(encode(event) for event in events)


def decode(data: bytes, size: int) -> list[tuple[str | None, dict[str, Any]]]:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return [(sse.event, orjson.loads(sse.data)) for sse in SSEDecoder().iter_bytes(iter(pieces))]


def fold(events: list[dict[str, Any]]) -> Any:
    """The final response, as `client.responses.stream(...)` builds it from the events."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=[], text_format=omit)
    for event in events:
        state.handle_event(EVENTS.validate_python(event))
    return state._completed_response


def test_text_stream_golden() -> None:
    events = translate(TEXT)
    item = {"item_id": "msg_gen-00aa", "output_index": 0}
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(10))
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["output"] == []
    assert events[2]["item"] == {
        "id": "msg_gen-00aa",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    assert events[4] == {
        "type": "response.output_text.delta",
        "sequence_number": 4,
        **item,
        "content_index": 0,
        "delta": "Héllo, ",
        "logprobs": [],
    }
    assert events[6]["text"] == "Héllo, wörld ✓"
    done = events[8]["item"]
    assert done["status"] == "completed" and done["content"][0]["text"] == "Héllo, wörld ✓"
    completed = events[9]["response"]
    assert completed["status"] == "completed" and completed["output"] == [done]
    assert completed["usage"] == {
        "input_tokens": 9,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 16,
    }
    assert completed["provider"] == "primary"
    assert fold(events).output_text == "Héllo, wörld ✓"


def test_reasoning_text_and_interleaved_calls() -> None:
    events = translate(EVERYTHING)
    for event in events:
        EVENTS.validate_python(event)
    kinds = [e["type"] for e in events]
    assert kinds[2:5] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
    ]
    added = [
        (e["output_index"], e["item"]["type"])
        for e in events
        if e["type"] == "response.output_item.added"
    ]
    assert added == [
        (0, "reasoning"),
        (1, "message"),
        (2, "function_call"),
        (3, "function_call"),
    ]
    arguments = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [(e["output_index"], e["arguments"]) for e in arguments] == [
        (2, '{"city":"Oslo"}'),
        (3, "{}"),
    ]
    final = events[-1]["response"]
    rs, msg, fc1, fc2 = final["output"]
    assert rs["summary"] == [{"type": "summary_text", "text": "Think twice."}]
    assert reasoning.decode(rs["encrypted_content"]) == DETAILS
    assert msg["content"][0]["text"] == "Calling."
    assert (fc1["id"], fc1["call_id"], fc1["name"]) == ("fc_gen-00aa_0", "c1", "w")
    assert (fc2["id"], fc2["call_id"], fc2["name"]) == ("fc_gen-00aa_1", "c2", "t")
    folded = fold(events)
    assert folded.output_text == "Calling."
    assert [item.type for item in folded.output] == [
        "reasoning",
        "message",
        "function_call",
        "function_call",
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64, 100_000])
@pytest.mark.parametrize("chunks", [TEXT, EVERYTHING], ids=["text", "everything"])
def test_any_byte_split_reads_back_the_same_events(chunks: list[dict[str, Any]], size: int) -> None:
    events = translate(chunks)
    decoded = decode(wire(events), size)
    assert [data for _, data in decoded] == events
    assert [name for name, _ in decoded] == [e["type"] for e in events]


def test_length_ends_incomplete() -> None:
    events = translate([chunk(content="Hel"), chunk(finish="length"), usage_chunk()])
    last = events[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["output"][0]["status"] == "incomplete"
    EVENTS.validate_python(last)


def test_failure_after_the_first_byte_sends_error_then_failed() -> None:
    events = ResponseEvents(RID, BODY, created_at=1)
    sent = events.feed(chunk(content="Hel"))
    error = UpstreamFailed("primary dropped the stream", metadata={"provider_name": "primary"})
    failed = events.fail(error)
    assert [e["type"] for e in failed] == ["error", "response.failed"]
    assert failed[0] == {
        "type": "error",
        "sequence_number": len(sent),
        "code": "upstream_error",
        "message": "primary dropped the stream",
        "param": None,
        "metadata": {"provider_name": "primary"},
    }
    response = failed[1]["response"]
    assert response["status"] == "failed"
    assert response["error"] == {"code": "server_error", "message": "primary dropped the stream"}
    assert response["output"][0]["content"][0]["text"] == "Hel"
    for event in sent + failed:
        EVENTS.validate_python(event)
    rate = ResponseEvents(RID, BODY).fail(RateLimited("slow down"))
    assert [e["type"] for e in rate][:2] == ["response.created", "response.in_progress"]
    assert rate[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_signed_reasoning_without_text_still_reaches_the_client() -> None:
    events = translate([chunk(reasoning_details=DETAILS), chunk(content="x"), chunk("stop")])
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["message", "reasoning"]
    assert reasoning.decode(final["output"][1]["encrypted_content"]) == DETAILS
    fold(events)
