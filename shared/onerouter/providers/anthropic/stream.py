"""Anthropic's stream events → OpenAI `chat.completion.chunk`s, each as soon as it arrives."""

from __future__ import annotations

import time
from typing import Any

from ..base import Target, UpstreamError
from ..reasoning import encrypted_detail, text_detail
from .params import JSON_TOOL
from .response import finish_reason, usage

Chunk = dict[str, Any]


class StreamTranslator:
    """Feed it each event's data, in order; `finished` says whether `message_stop` came."""

    def __init__(self, target: Target) -> None:
        self._provider = target.provider.id
        self._base: Chunk = {
            "id": None,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": target.model_id,
            "provider": target.provider.id,
        }
        self._usage: dict[str, Any] = {}
        # Anthropic content block index -> "text", "thinking", "json" or an OpenAI tool index.
        self._blocks: dict[int, str | int] = {}
        self._tools = 0
        # Anthropic content block index -> reasoning_details index, for thinking blocks.
        self._thoughts: dict[int, int] = {}
        self.finished = False

    def feed(self, event: dict[str, Any]) -> list[Chunk]:
        kind = event.get("type")
        if self.finished:
            return []
        if kind == "message_start":
            message = event.get("message") or {}
            self._base["id"] = message.get("id")
            self._usage.update(message.get("usage") or {})
            return [self._delta({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._start(event.get("index", 0), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(event.get("index", 0), event.get("delta") or {})
        if kind == "message_delta":
            return self._message_delta(event)
        if kind == "message_stop":
            self.finished = True
            return [{**self._base, "choices": [], "usage": usage(self._usage)}]
        if kind == "error":
            error = event.get("error") or {}
            status = 529 if error.get("type") == "overloaded_error" else 502
            raise UpstreamError(self._provider, "status", status=status, raw=event)
        return []  # ping, content_block_stop, and event types added later

    def _delta(self, delta: dict[str, Any]) -> Chunk:
        choice = {"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}
        return {**self._base, "choices": [choice]}

    def _start(self, index: int, block: dict[str, Any]) -> list[Chunk]:
        kind = block.get("type")
        if kind == "tool_use" and block.get("name") == JSON_TOOL:
            self._blocks[index] = "json"
            return []
        if kind == "tool_use":
            self._blocks[index] = tool = self._tools
            self._tools += 1
            function = {"name": block.get("name"), "arguments": ""}
            call = {"index": tool, "id": block.get("id"), "type": "function", "function": function}
            return [self._delta({"tool_calls": [call]})]
        self._blocks[index] = kind if isinstance(kind, str) else "other"
        if kind == "text" and block.get("text"):
            return [self._delta({"content": block["text"]})]
        if kind in ("thinking", "redacted_thinking"):
            self._thoughts[index] = len(self._thoughts)
        if kind == "thinking" and block.get("thinking"):
            return [self._thinking(index, block["thinking"])]
        if kind == "redacted_thinking":
            detail = encrypted_detail(self._thoughts[index], block.get("data") or "")
            return [self._delta({"reasoning_details": [detail]})]
        return []

    def _thinking(self, index: int, text: str) -> Chunk:
        detail = text_detail(self._thoughts.get(index, 0), text)
        return self._delta({"reasoning": text, "reasoning_details": [detail]})

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[Chunk]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._delta({"content": delta.get("text", "")})]
        if kind == "thinking_delta":
            return [self._thinking(index, delta.get("thinking", ""))]
        if kind == "signature_delta" and index in self._thoughts:
            detail = text_detail(self._thoughts[index], signature=delta.get("signature", ""))
            return [self._delta({"reasoning_details": [detail]})]
        if kind == "input_json_delta":
            fragment = delta.get("partial_json", "")
            block = self._blocks.get(index)
            if block == "json":
                return [self._delta({"content": fragment})]
            if isinstance(block, int) and fragment:
                call = {"index": block, "function": {"arguments": fragment}}
                return [self._delta({"tool_calls": [call]})]
        return []  # citations_delta

    def _message_delta(self, event: dict[str, Any]) -> list[Chunk]:
        self._usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        stop_reason = (event.get("delta") or {}).get("stop_reason")
        if stop_reason is None:
            return []
        choice = {
            "index": 0,
            "delta": {},
            "finish_reason": finish_reason(stop_reason, self._tools > 0),
            "native_finish_reason": stop_reason,
            "logprobs": None,
        }
        return [{**self._base, "choices": [choice]}]
