"""ConverseStream → OpenAI `chat.completion.chunk`s, each as soon as it arrives.

The body is AWS's binary event stream (`application/vnd.amazon.eventstream`), not SSE: frames
of prelude, headers and payload, each checked by CRC. `EventDecoder` turns bytes, split
anywhere, into (event type, payload) pairs; `StreamTranslator` turns those into chunks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from botocore.eventstream import EventStreamBuffer, ParserError

from ..anthropic.params import JSON_TOOL
from ..base import Target, UpstreamError
from ..reasoning import encrypted_detail, text_detail
from .response import finish_reason, generation_id, usage

Chunk = dict[str, Any]

# Exceptions ConverseStream sends inside the stream, and the HTTP status each stands for.
EXCEPTION_STATUS = {
    "internalServerException": 500,
    "modelStreamErrorException": 500,
    "throttlingException": 429,
    "validationException": 400,
    "serviceUnavailableException": 503,
}


class EventDecoder:
    """Feed it the body's bytes as they come; yields each whole event's type and payload."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._buffer = EventStreamBuffer()

    def feed(self, data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
        self._buffer.add_data(data)
        try:
            for message in self._buffer:
                headers: dict[str, Any] = message.headers  # type: ignore[assignment]
                yield self._event(headers, message.payload)
        except ParserError as exc:
            detail = f"bad event stream frame: {type(exc).__name__}"
            raise UpstreamError(self._provider, "protocol", detail=detail) from None

    def _event(self, headers: dict[str, Any], payload: bytes) -> tuple[str, dict[str, Any]]:
        try:
            body = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError:
            body = {"message": payload[:2000].decode("utf-8", "replace")}
        if not isinstance(body, dict):
            raise UpstreamError(self._provider, "protocol", detail="bad stream event")
        kind = headers.get(":message-type", "event")
        if kind == "exception":
            name = str(headers.get(":exception-type", "internalServerException"))
            status = EXCEPTION_STATUS.get(name, 500)
            raw = {**body, "type": name}
            raise UpstreamError(self._provider, "status", status=status, raw=raw)
        if kind == "error":
            raw = {"type": headers.get(":error-code"), "message": headers.get(":error-message")}
            raise UpstreamError(self._provider, "status", status=500, raw=raw)
        return str(headers.get(":event-type", "")), body


class StreamTranslator:
    """Feed it each event in order; `finished` says whether messageStop and metadata came."""

    def __init__(self, target: Target) -> None:
        self._base: Chunk = {
            "id": generation_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": target.model_id,
            "provider": target.provider.id,
        }
        # Converse content block index -> OpenAI tool call index, for toolUse blocks.
        self._tools: dict[int, int] = {}
        # Content block indexes of the forced `json_output` tool: its input is the content.
        self._json: set[int] = set()
        # Converse content block index -> reasoning_details index, for reasoning blocks.
        self._thoughts: dict[int, int] = {}
        self._started = False
        self.stopped = False
        self.finished = False

    def feed(self, kind: str, event: dict[str, Any]) -> list[Chunk]:
        if self.finished:
            return []
        chunks: list[Chunk] = []
        if not self._started and kind in ("messageStart", "contentBlockStart", "contentBlockDelta"):
            self._started = True
            chunks.append(self._delta({"role": "assistant", "content": ""}))
        if kind == "contentBlockStart":
            chunks += self._start(event.get("contentBlockIndex", 0), event.get("start") or {})
        elif kind == "contentBlockDelta":
            chunks += self._block_delta(event.get("contentBlockIndex", 0), event.get("delta") or {})
        elif kind == "messageStop":
            self.stopped = True
            stop_reason = event.get("stopReason")
            choice: Chunk = {
                "index": 0,
                "delta": {},
                "finish_reason": finish_reason(stop_reason, bool(self._tools)),
                "native_finish_reason": stop_reason,
                "logprobs": None,
            }
            chunks.append({**self._base, "choices": [choice]})
        elif kind == "metadata" and self.stopped:
            self.finished = True
            chunks.append({**self._base, "choices": [], "usage": usage(event.get("usage") or {})})
        return chunks  # messageStart, contentBlockStop, and event types added later

    def _delta(self, delta: dict[str, Any]) -> Chunk:
        choice = {"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}
        return {**self._base, "choices": [choice]}

    def _start(self, index: int, start: dict[str, Any]) -> list[Chunk]:
        tool_use = start.get("toolUse")
        if not isinstance(tool_use, dict):
            return []
        if tool_use.get("name") == JSON_TOOL:
            self._json.add(index)
            return []
        self._tools[index] = tool = len(self._tools)
        function = {"name": tool_use.get("name"), "arguments": ""}
        call = {"index": tool, "id": tool_use.get("toolUseId"), "type": "function"}
        return [self._delta({"tool_calls": [{**call, "function": function}]})]

    def _reasoning(self, index: int, reasoning: dict[str, Any]) -> list[Chunk]:
        ordinal = self._thoughts.setdefault(index, len(self._thoughts))
        if isinstance(reasoning.get("redactedContent"), str):
            detail = encrypted_detail(ordinal, reasoning["redactedContent"])
            return [self._delta({"reasoning_details": [detail]})]
        if isinstance(reasoning.get("signature"), str):
            detail = text_detail(ordinal, signature=reasoning["signature"])
            return [self._delta({"reasoning_details": [detail]})]
        text = reasoning.get("text")
        if not text:
            return []
        return [self._delta({"reasoning": text, "reasoning_details": [text_detail(ordinal, text)]})]

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[Chunk]:
        if "text" in delta:
            return [self._delta({"content": delta.get("text") or ""})]
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict):
            return self._reasoning(index, reasoning)
        tool_use = delta.get("toolUse")
        if isinstance(tool_use, dict) and index in self._json:
            return [self._delta({"content": tool_use.get("input") or ""})]
        if isinstance(tool_use, dict) and index in self._tools:
            fragment = tool_use.get("input") or ""
            if fragment:
                call = {"index": self._tools[index], "function": {"arguments": fragment}}
                return [self._delta({"tool_calls": [call]})]
        return []
