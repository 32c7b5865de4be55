"""Gemini's stream as OpenAI `chat.completion.chunk`s, and the JSON-array form of that stream.

Each Gemini stream event is a whole `GenerateContentResponse` holding the next slice of every
candidate; a function call always arrives whole, so its id, name and arguments go out in one
delta. Usage is reported (cumulatively) on events, so it is sent once, after the last one.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from ..base import Target, UpstreamError
from .response import blocked_reason, finish_reason, split_parts, usage


class StreamTranslator:
    """Feed it Gemini stream events in order; it returns the OpenAI chunks each one makes."""

    def __init__(self, target: Target, operation: str = "chat") -> None:
        self._target = target
        self._text_only = operation == "completion"
        self._created = int(time.time())
        self._id = ""
        self._started: set[int] = set()
        self._calls: dict[int, int] = {}  # candidate index -> tool calls sent so far
        self._finished: set[int] = set()
        self._usage: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return bool(self._finished)

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        self._id = self._id or str(event.get("responseId") or "")
        self._usage = usage(event.get("usageMetadata")) or self._usage
        chunks: list[dict[str, Any]] = []
        for i, candidate in enumerate(event.get("candidates") or ()):
            if isinstance(candidate, dict):
                chunks += self._candidate(int(candidate.get("index", i)), candidate)
        blocked = blocked_reason(event)
        if blocked:
            chunks += self._start(0)
            chunks.append(self._finish(0, "content_filter", blocked))
        return chunks

    def close(self) -> list[dict[str, Any]]:
        """The usage chunk, once the provider's stream has ended; a stream never finished is
        a dropped one."""
        if not self._finished:
            raise UpstreamError(
                self._target.provider.id, "dropped", detail="stream ended before it finished"
            )
        if self._usage is None:
            return []
        return [{**self._base(), "choices": [], "usage": self._usage}]

    def _candidate(self, index: int, candidate: dict[str, Any]) -> list[dict[str, Any]]:
        chunks = self._start(index)
        parts = (candidate.get("content") or {}).get("parts") or []
        sent = self._calls.get(index, 0)
        text, thoughts, calls = split_parts(parts, first_call=sent)
        if thoughts and not self._text_only:
            chunks.append(self._delta(index, {"reasoning": thoughts}))
        if text:
            chunks.append(self._delta(index, {"content": text}))
        if calls and not self._text_only:
            tool_calls = [{"index": sent + k, **call} for k, call in enumerate(calls)]
            chunks.append(self._delta(index, {"tool_calls": tool_calls}))
            self._calls[index] = sent + len(calls)
        native = candidate.get("finishReason")
        if native:
            reason = finish_reason(native, self._calls.get(index, 0) > 0)
            chunks.append(self._finish(index, reason, native))
        return chunks

    def _start(self, index: int) -> list[dict[str, Any]]:
        if index in self._started or self._text_only:
            self._started.add(index)
            return []
        self._started.add(index)
        return [self._delta(index, {"role": "assistant", "content": ""})]

    def _finish(self, index: int, reason: str | None, native: str) -> dict[str, Any]:
        self._finished.add(index)
        chunk = self._delta(index, {}, reason)
        chunk["choices"][0]["native_finish_reason"] = native
        return chunk

    def _delta(
        self, index: int, delta: dict[str, Any], reason: str | None = None
    ) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": index, "finish_reason": reason, "logprobs": None}
        if self._text_only:
            choice["text"] = delta.get("content", "")
        else:
            choice["delta"] = delta
        return {**self._base(), "choices": [choice]}

    def _base(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "text_completion" if self._text_only else "chat.completion.chunk",
            "created": self._created,
            "model": self._target.model_id,
            "provider": self._target.provider.id,
        }


class JsonArrayStream:
    """Items of a JSON array read as it arrives: Gemini's stream without `alt=sse`.

    The body is `[{...}\\n,\\r\\n{...}\\n]`. Bytes are scanned, not decoded: UTF-8 never puts a
    quote, backslash or brace inside a multi-byte character, so any split point is safe.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already scanned
        self._start = -1  # where the current item began (-1: between items)
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._opened = False
        self._closed = False

    def feed(self, chunk: bytes) -> list[Any]:
        self._buffer += chunk
        items: list[Any] = []
        buffer, i = self._buffer, self._scanned
        while i < len(buffer):
            byte = buffer[i]
            if self._start >= 0:
                if self._item_ends(byte):
                    items.append(_load(bytes(buffer[self._start : i + 1])))
                    self._start = -1
            elif byte in b" \t\r\n,":
                pass
            elif byte == ord("[") and not self._opened:
                self._opened = True
            elif byte == ord("]") and self._opened and not self._closed:
                self._closed = True
            elif byte == ord("{") and self._opened and not self._closed:
                self._start, self._depth = i, 1
            else:
                raise ValueError(f"unexpected byte {chr(byte)!r} in a JSON array stream")
            i += 1
        # Keep only the item in progress.
        keep = self._start if self._start >= 0 else i
        del buffer[:keep]
        self._scanned = i - keep
        if self._start >= 0:
            self._start = 0
        return items

    def close(self) -> None:
        if self._start >= 0 or not self._closed:
            raise ValueError("the JSON array stream ended early")

    def _item_ends(self, byte: int) -> bool:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif byte == ord("\\"):
                self._escaped = True
            elif byte == ord('"'):
                self._in_string = False
            return False
        if byte == ord('"'):
            self._in_string = True
        elif byte in b"{[":
            self._depth += 1
        elif byte in b"}]":
            self._depth -= 1
            return self._depth == 0
        return False


def _load(item: bytes) -> Any:
    try:
        return orjson.loads(item)
    except orjson.JSONDecodeError:
        raise ValueError("an item of the JSON array stream is not JSON") from None


def parse_json_array_stream(chunks: list[bytes]) -> list[Any]:
    """Every item of a JSON array delivered in `chunks` (split anywhere)."""
    parser = JsonArrayStream()
    items = [item for chunk in chunks for item in parser.feed(chunk)]
    parser.close()
    return items
