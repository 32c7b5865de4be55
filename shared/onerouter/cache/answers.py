"""A cached answer, and the answer in the shape the next caller asks for.

An entry keeps what the provider sent, as it sent it: the whole answer of a request that was
not streamed, or every chunk of one that was. A hit is answered in the shape asked for: a
streamed entry replays its chunks as they came (or is put together into one answer); a whole
one is returned as it was (or streamed as a role chunk, the content, the finish and usage).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import orjson

Chunk = dict[str, Any]

VERSION = 1


@dataclass(frozen=True, slots=True)
class Entry:
    model: str
    provider: str
    provider_model: str
    answer: dict[str, Any] | None = None  # a whole answer, without its id
    chunks: list[Chunk] | None = None  # a stream's chunks, without their id

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "v": VERSION,
                "model": self.model,
                "provider": self.provider,
                "provider_model": self.provider_model,
                "answer": self.answer,
                "chunks": self.chunks,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry | None:
        try:
            values = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(values, dict) or values.get("v") != VERSION:
            return None
        answer, chunks = values.get("answer"), values.get("chunks")
        if not isinstance(answer, dict) and not isinstance(chunks, list):
            return None
        return cls(
            model=str(values.get("model")),
            provider=str(values.get("provider")),
            provider_model=str(values.get("provider_model")),
            answer=answer if isinstance(answer, dict) else None,
            chunks=chunks if isinstance(chunks, list) else None,
        )

    @property
    def usage(self) -> dict[str, Any]:
        if self.answer is not None:
            usage = self.answer.get("usage")
        else:
            usage = next((c.get("usage") for c in self.chunks or () if c.get("usage")), None)
        return usage if isinstance(usage, dict) else {}


def cached_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """The usage a hit reports: the same tokens, every prompt token read from the cache."""
    out = copy.deepcopy(usage)
    prompt = out.get("prompt_tokens") if isinstance(out.get("prompt_tokens"), int) else 0
    details = out.get("prompt_tokens_details")
    details = dict(details) if isinstance(details, dict) else {}
    details["cached_tokens"] = prompt
    details.pop("cache_write_tokens", None)
    out["prompt_tokens_details"] = details
    return out


def whole(entry: Entry) -> dict[str, Any]:
    """The entry as one answer."""
    if entry.answer is not None:
        answer = copy.deepcopy(entry.answer)
    else:
        answer = _assemble(entry.chunks or [])
    answer["usage"] = cached_usage(entry.usage)
    return answer


def streamed(entry: Entry) -> list[Chunk]:
    """The entry as the chunks of a stream, the usage chunk last."""
    chunks = copy.deepcopy(entry.chunks) if entry.chunks is not None else _split(entry)
    usage = cached_usage(entry.usage)
    for chunk in chunks:
        if chunk.get("usage"):
            chunk["usage"] = usage
    if not any(chunk.get("usage") for chunk in chunks):
        last = {k: v for k, v in chunks[-1].items() if k != "choices"} if chunks else {}
        chunks.append({**last, "choices": [], "usage": usage})
    return chunks


def _split(entry: Entry) -> list[Chunk]:
    answer = copy.deepcopy(entry.answer or {})
    chat = answer.get("object") == "chat.completion"
    base = {k: v for k, v in answer.items() if k not in ("choices", "usage", "object")}
    base["object"] = "chat.completion.chunk" if chat else "text_completion"
    chunks: list[Chunk] = []
    for choice in answer.get("choices") or ():
        index = choice.get("index", 0)
        finish = {"index": index, "finish_reason": choice.get("finish_reason"), "logprobs": None}
        if chat:
            message = {k: v for k, v in (choice.get("message") or {}).items() if v is not None}
            for call_index, call in enumerate(message.get("tool_calls") or ()):
                call["index"] = call_index
            role = {"role": message.pop("role", "assistant"), "content": ""}
            chunks.append({**base, "choices": [{"index": index, "delta": role}]})
            chunks.append({**base, "choices": [{"index": index, "delta": message}]})
            chunks.append({**base, "choices": [{**finish, "delta": {}}]})
        else:
            text = {"index": index, "text": choice.get("text") or ""}
            chunks.append({**base, "choices": [text]})
            chunks.append({**base, "choices": [{**finish, "text": ""}]})
    chunks.append({**base, "choices": [], "usage": answer.get("usage") or {}})
    return chunks


def _assemble(chunks: list[Chunk]) -> dict[str, Any]:
    """One answer from a stream's chunks: texts joined, tool calls merged by index."""
    first = chunks[0] if chunks else {}
    chat = first.get("object") == "chat.completion.chunk"
    answer: dict[str, Any] = {
        k: v for k, v in first.items() if k not in ("choices", "usage", "object")
    }
    answer["object"] = "chat.completion" if chat else "text_completion"
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for piece in chunk.get("choices") or ():
            index = piece.get("index", 0)
            choice = choices.setdefault(index, {"index": index, "finish_reason": None})
            if piece.get("finish_reason"):
                choice["finish_reason"] = piece["finish_reason"]
            if piece.get("native_finish_reason"):
                choice["native_finish_reason"] = piece["native_finish_reason"]
            if chat:
                _merge(choice.setdefault("message", {"role": "assistant"}), piece.get("delta"))
            else:
                choice["text"] = choice.get("text", "") + (piece.get("text") or "")
    answer["choices"] = [choices[i] for i in sorted(choices)]
    for choice in answer["choices"]:
        message = choice.get("message")
        if message is not None:
            message.setdefault("content", None)
            calls = message.pop("_calls", None)
            if calls:
                message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return answer


def _merge(message: dict[str, Any], delta: Any) -> None:
    if not isinstance(delta, dict):
        return
    for name in ("content", "reasoning", "refusal"):
        if isinstance(delta.get(name), str):
            message[name] = (message.get(name) or "") + delta[name]
    if isinstance(delta.get("reasoning_details"), list):
        message.setdefault("reasoning_details", []).extend(delta["reasoning_details"])
    for call in delta.get("tool_calls") or ():
        calls = message.setdefault("_calls", {})
        merged = calls.setdefault(call.get("index", 0), {"type": "function"})
        if call.get("id"):
            merged["id"] = call["id"]
        function = merged.setdefault("function", {"name": None, "arguments": ""})
        given = call.get("function") or {}
        if given.get("name"):
            function["name"] = given["name"]
        function["arguments"] += given.get("arguments") or ""
