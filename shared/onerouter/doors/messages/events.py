"""Chat completion chunks → Anthropic's stream events, each emitted as its chunk arrives.

Anthropic streams `message_start`, then each content block as `content_block_start`, its
deltas and `content_block_stop`, one block at a time, then `message_delta` (stop reason and
usage) and `message_stop`. Chat chunks interleave nothing within a choice, so a block opens
when a chunk of another kind (text, thinking, a tool call) arrives and closes when the next
one opens. Usage comes in the last chunk, which is why `message_delta` waits for `finish`.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...providers.reasoning import FORMAT
from .answer import stop_reason, usage

Json = dict[str, Any]
Event = dict[str, Any]
PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def encode(events: list[Event]) -> bytes:
    return b"".join(
        b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
        for event in events
    )


class MessageEvents:
    """Feed it each chat chunk, in order, then call `finish` once the chunks end."""

    def __init__(self, input_tokens: int = 0) -> None:
        # message_start comes before the provider has counted: the prompt estimate stands in
        # until message_delta reports the count.
        self._input_tokens = input_tokens
        self._started = False
        self._next = 0  # index of the next content block
        self._open: tuple[str, Any] | None = None  # (kind, key) of the open block
        self._open_index = 0
        self._tools: dict[int, int] = {}  # chat tool call index -> content block index
        self._finish: Any = None
        self._native: Any = None
        self._usage: Json | None = None

    def feed(self, chunk: Json) -> list[Event]:
        events = [] if self._started else self._start(chunk)
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            events += self._reasoning(delta)
            text = delta.get("content")
            if isinstance(text, str) and text:
                events += self._ensure(("text", None), {"type": "text", "text": ""})
                events.append(self._delta({"type": "text_delta", "text": text}))
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    events += self._tool(call)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
                self._native = choice.get("native_finish_reason")
                events += self._close()
        return events

    def finish(self) -> list[Event]:
        events = [] if self._started else self._start({})
        events += self._close()
        counted = usage(self._usage)
        if self._usage is None:
            counted["input_tokens"] = self._input_tokens
        events.append(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": stop_reason(self._finish, self._native),
                    "stop_sequence": None,
                },
                "usage": counted,
            }
        )
        events.append({"type": "message_stop"})
        return events

    # ---- blocks --------------------------------------------------------------------------
    def _start(self, chunk: Json) -> list[Event]:
        self._started = True
        message: Json = {
            "id": chunk.get("id"),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._input_tokens, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}, {"type": "ping"}]

    def _delta(self, delta: Json, index: int | None = None) -> Event:
        at = self._open_index if index is None else index
        return {"type": "content_block_delta", "index": at, "delta": delta}

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        return [{"type": "content_block_stop", "index": self._open_index}]

    def _ensure(self, key: tuple[str, Any], block: Json) -> list[Event]:
        """The block `key` open (closing another, starting it when new)."""
        if self._open == key:
            return []
        events = self._close()
        self._open, self._open_index = key, self._next
        self._next += 1
        events.append(
            {"type": "content_block_start", "index": self._open_index, "content_block": block}
        )
        return events

    def _reasoning(self, delta: Json) -> list[Event]:
        events: list[Event] = []
        told = False  # Claude's details carry the text the `reasoning` field repeats
        for detail in delta.get("reasoning_details") or ():
            if not isinstance(detail, dict) or detail.get("format") != FORMAT:
                continue
            key = ("thinking", detail.get("index"))
            if detail.get("type") == "reasoning.encrypted":
                block = {"type": "redacted_thinking", "data": detail.get("data") or ""}
                events += self._ensure(("redacted", detail.get("index")), block)
                events += self._close()
                continue
            if detail.get("type") != "reasoning.text":
                continue
            events += self._ensure(key, {"type": "thinking", "thinking": "", "signature": ""})
            if isinstance(detail.get("text"), str):
                told = True
                if detail["text"]:
                    events.append(
                        self._delta({"type": "thinking_delta", "thinking": detail["text"]})
                    )
            if isinstance(detail.get("signature"), str):
                signature = {"type": "signature_delta", "signature": detail["signature"]}
                events.append(self._delta(signature))
        text = delta.get("reasoning")
        if not told and isinstance(text, str) and text:
            key = self._open if self._open and self._open[0] == "thinking" else ("thinking", None)
            events += self._ensure(key, {"type": "thinking", "thinking": "", "signature": ""})
            events.append(self._delta({"type": "thinking_delta", "thinking": text}))
        return events

    def _tool(self, call: Json) -> list[Event]:
        position = call.get("index", 0)
        function = call.get("function") or {}
        events: list[Event] = []
        if call.get("id") or position not in self._tools:
            block: Json = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{position}",
                "name": function.get("name") or "",
                "input": {},
            }
            events += self._ensure(("tool", position), block)
            self._tools[position] = self._open_index
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            json_delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append(self._delta(json_delta, self._tools[position]))
        return events
