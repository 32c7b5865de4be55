"""Cached answers in either shape: a whole answer streamed, a stream put together, and the
usage a hit reports."""

from __future__ import annotations

from typing import Any

from onerouter.cache.answers import Entry, cached_usage, streamed, whole

USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 5,
    "total_tokens": 17,
    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 3},
}
BASE = {"model": "m/x", "provider": "p", "created": 1}


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    return {**BASE, "object": "chat.completion.chunk", "choices": [choice]}


CALL = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo", "reasoning": "hm"}),
    chunk({"tool_calls": [CALL]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
    chunk({}, "tool_calls"),
    {**BASE, "object": "chat.completion.chunk", "choices": [], "usage": USAGE},
]
ANSWER = {
    **BASE,
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello",
                "reasoning": "hm",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a":1}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": USAGE,
}


def entry(**shape: Any) -> Entry:
    return Entry("m/x", "p", "x-1", **shape)


def test_a_hit_reports_every_prompt_token_as_cached() -> None:
    usage = cached_usage(USAGE)
    assert usage["prompt_tokens_details"] == {"cached_tokens": 12}
    assert usage["completion_tokens"] == 5
    assert USAGE["prompt_tokens_details"]["cached_tokens"] == 0  # the entry is left as it was


def test_a_stream_replays_as_it_came() -> None:
    replay = streamed(entry(chunks=CHUNKS))
    assert [c["choices"] for c in replay[:-1]] == [c["choices"] for c in CHUNKS[:-1]]
    assert replay[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] == 12


def test_a_stream_put_together_is_the_whole_answer() -> None:
    answer = whole(entry(chunks=CHUNKS))
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {
        **ANSWER["choices"][0]["message"],  # type: ignore[index]
    }
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert answer["usage"] == cached_usage(USAGE)


def test_a_whole_answer_streamed_then_put_together_is_itself() -> None:
    chunks = streamed(entry(answer=ANSWER))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 12
    again = whole(entry(chunks=chunks))
    assert again["choices"][0]["message"] == ANSWER["choices"][0]["message"]  # type: ignore[index]


def test_legacy_text_completions_too() -> None:
    answer = {
        **BASE,
        "object": "text_completion",
        "choices": [{"index": 0, "text": "Once upon", "finish_reason": "length"}],
        "usage": USAGE,
    }
    chunks = streamed(entry(answer=answer))
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "Once upon"
    assert whole(entry(chunks=chunks))["choices"][0]["text"] == "Once upon"


def test_entries_round_trip_and_junk_is_no_entry() -> None:
    original = entry(chunks=CHUNKS)
    assert Entry.from_bytes(original.to_bytes()) == original
    assert Entry.from_bytes(b"not json") is None
    assert Entry.from_bytes(b'{"v": 99, "answer": {}}') is None
    assert Entry.from_bytes(b'{"v": 1}') is None
