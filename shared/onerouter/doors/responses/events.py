"""Chat completion chunks as Responses API stream events, translated as they arrive.

A chunk's reasoning opens (or continues) a reasoning item, its text a message item, each tool
call a function_call item; a new kind of output closes the reasoning or message item before it.
Function calls stay open until the end, since a chat stream may interleave their arguments.
The end of the stream closes everything and sends `response.completed` (or `.incomplete`)
with the whole response and its usage; a failure sends `error` and `response.failed`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from ...errors import OneRouterError
from . import answer

Event = dict[str, Any]


def encode(event: Event) -> bytes:
    """One server-sent event, named by its type as the Responses API names them."""
    kind: str = event["type"]
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


@dataclass
class _Text:
    """The reasoning or message item being written."""

    kind: str  # "reasoning" | "message"
    item: dict[str, Any]
    index: int
    text: str = ""


@dataclass
class _Call:
    item: dict[str, Any]
    index: int
    arguments: list[str] = field(default_factory=list)


class ResponseEvents:
    """Stateful: feed it each chunk in order, then `finish()` (or `fail()`) once."""

    def __init__(self, rid: str, body: dict[str, Any], created_at: int | None = None) -> None:
        self.rid = rid
        self._body = body
        self._created_at = created_at if created_at is not None else int(time.time())
        self._sequence = 0
        self._response: dict[str, Any] | None = None
        self._output: dict[int, dict[str, Any]] = {}  # output index -> the item as it ends
        self._open: _Text | None = None
        self._calls: dict[int, _Call] = {}  # chat tool-call index -> its item
        self._messages = 0
        self._reasoned = False
        self._details: list[dict[str, Any]] = []
        self._finish: Any = None
        self._usage: Any = None
        self._extras: dict[str, Any] = {}

    # ---- in ------------------------------------------------------------------------------
    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        events = self._begin(chunk.get("model"))
        for name in ("provider", "cost", "cost_details"):
            if name in chunk:
                self._extras[name] = chunk[name]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("reasoning_details"), list):
                self._details += [d for d in delta["reasoning_details"] if isinstance(d, dict)]
            if isinstance(delta.get("reasoning"), str) and delta["reasoning"]:
                events += self._write("reasoning", delta["reasoning"])
            if isinstance(delta.get("content"), str) and delta["content"]:
                events += self._write("message", delta["content"])
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    events += self._call(call)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        return events

    def finish(self) -> list[Event]:
        events = self._begin(None)
        events += self._close_text()
        if self._details and not self._reasoned:
            # Signed reasoning with no text of its own still has to reach the client.
            index = len(self._output)
            item = answer.reasoning_item(self.rid, "", [])
            events.append(self._event("response.output_item.added", output_index=index, item=item))
            self._output[index] = answer.reasoning_item(self.rid, "", self._details)
            events.append(self._item_done(index))
        for call in self._calls.values():
            events += self._close_call(call)
        response = self._snapshot()
        status = answer.finish(response, self._finish)
        response["usage"] = answer.usage(self._usage)
        answer.extras(response, self._extras)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        events.append(self._event(kind, response=response))
        return events

    def fail(self, error: OneRouterError) -> list[Event]:
        events = self._begin(None)
        code = error.code if isinstance(error.code, str) else str(error.code)
        failure = self._event("error", code=code, message=error.message, param=error.param)
        if error.metadata is not None:
            failure["metadata"] = error.metadata
        events.append(failure)
        response = self._snapshot()
        if self._open is not None:
            response["output"].append(self._open.item | self._text_fields(self._open))
        response["status"] = "failed"
        known = "rate_limit_exceeded" if error.status == 429 else "server_error"
        response["error"] = {"code": known, "message": error.message}
        answer.extras(response, self._extras)
        events.append(self._event("response.failed", response=response))
        return events

    # ---- out -----------------------------------------------------------------------------
    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _begin(self, model: Any) -> list[Event]:
        if self._response is not None:
            return []
        self._response = answer.skeleton(self.rid, self._body, model, self._created_at)
        return [
            self._event("response.created", response=self._snapshot()),
            self._event("response.in_progress", response=self._snapshot()),
        ]

    def _snapshot(self) -> dict[str, Any]:
        assert self._response is not None
        return {**self._response, "output": [self._output[k] for k in sorted(self._output)]}

    def _next_index(self) -> int:
        return (
            len(self._output)
            + (self._open is not None)
            + len([c for c in self._calls.values() if c.index not in self._output])
        )

    def _write(self, kind: str, text: str) -> list[Event]:
        events: list[Event] = []
        if self._open is None or self._open.kind != kind:
            events += self._close_text()
            events += self._open_text(kind)
        current = self._open
        assert current is not None
        current.text += text
        where = {"item_id": current.item["id"], "output_index": current.index}
        if kind == "reasoning":
            events.append(
                self._event(
                    "response.reasoning_summary_text.delta", **where, summary_index=0, delta=text
                )
            )
        else:
            events.append(
                self._event(
                    "response.output_text.delta", **where, content_index=0, delta=text, logprobs=[]
                )
            )
        return events

    def _open_text(self, kind: str) -> list[Event]:
        index = self._next_index()
        if kind == "reasoning":
            self._reasoned = True
            item = answer.reasoning_item(self.rid, "", [])
            part: Event = {"summary_index": 0, "part": {"type": "summary_text", "text": ""}}
            part_event = "response.reasoning_summary_part.added"
        else:
            numbered = self._messages or None  # a second message item gets an id of its own
            self._messages += 1
            item = answer.message_item(self.rid, "", "in_progress", index=numbered)
            item["content"] = []
            part = {"content_index": 0, "part": answer.output_text("")}
            part_event = "response.content_part.added"
        self._open = _Text(kind, item, index)
        where = {"item_id": item["id"], "output_index": index}
        return [
            self._event("response.output_item.added", output_index=index, item=item),
            self._event(part_event, **where, **part),
        ]

    def _text_fields(self, current: _Text) -> dict[str, Any]:
        if current.kind == "reasoning":
            return {"summary": [{"type": "summary_text", "text": current.text}]}
        status = "incomplete" if self._finish in ("length", "content_filter") else "completed"
        return {"status": status, "content": [answer.output_text(current.text)]}

    def _close_text(self) -> list[Event]:
        current, self._open = self._open, None
        if current is None:
            return []
        where = {"item_id": current.item["id"], "output_index": current.index}
        done = current.item | self._text_fields(current)
        if current.kind == "reasoning":
            done = answer.reasoning_item(self.rid, current.text, self._details)
            summary = {"type": "summary_text", "text": current.text}
            events = [
                self._event(
                    "response.reasoning_summary_text.done",
                    **where,
                    summary_index=0,
                    text=current.text,
                ),
                self._event(
                    "response.reasoning_summary_part.done", **where, summary_index=0, part=summary
                ),
            ]
        else:
            events = [
                self._event(
                    "response.output_text.done",
                    **where,
                    content_index=0,
                    text=current.text,
                    logprobs=[],
                ),
                self._event(
                    "response.content_part.done",
                    **where,
                    content_index=0,
                    part=answer.output_text(current.text),
                ),
            ]
        self._output[current.index] = done
        events.append(self._item_done(current.index))
        return events

    def _item_done(self, index: int) -> Event:
        return self._event(
            "response.output_item.done", output_index=index, item=self._output[index]
        )

    def _call(self, delta: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        position = delta.get("index", 0)
        function = delta.get("function") or {}
        call = self._calls.get(position)
        if call is None:
            events += self._close_text()
            index = self._next_index()
            call_id = delta.get("id") or answer.item_id(self.rid, "call", len(self._calls))
            item = answer.function_call_item(
                self.rid,
                len(self._calls),
                call_id,
                function.get("name") or "",
                "",
                "in_progress",
            )
            call = self._calls[position] = _Call(item, index)
            events.append(self._event("response.output_item.added", output_index=index, item=item))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.arguments.append(arguments)
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=call.item["id"],
                    output_index=call.index,
                    delta=arguments,
                )
            )
        return events

    def _close_call(self, call: _Call) -> list[Event]:
        arguments = "".join(call.arguments)
        self._output[call.index] = call.item | {"arguments": arguments, "status": "completed"}
        return [
            self._event(
                "response.function_call_arguments.done",
                item_id=call.item["id"],
                output_index=call.index,
                arguments=arguments,
            ),
            self._item_done(call.index),
        ]
