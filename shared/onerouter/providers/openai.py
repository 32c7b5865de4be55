"""The `openai` protocol: any OpenAI-compatible API (OpenAI, Together, Groq, Mistral, vLLM ...).

Our internal format is OpenAI's, so translation is mostly naming: the provider's model name in,
our model id, provider name and generation id out, and the gateway's own fields left behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from ..requests import GATEWAY_FIELDS, EmbeddingGatewayRequest, GatewayRequest
from . import embeddings
from .base import Target, UpstreamError
from .http import Upstream, parse_event

_PATHS = {"chat": "/chat/completions", "completion": "/completions", "embedding": "/embeddings"}
# What our answers add to an assistant message, which clients echo back and OpenAI refuses,
# and a tool message's `is_error` (a Messages client's), which only Claude and Bedrock take.
_ANSWER_ONLY = frozenset(("reasoning", "reasoning_details", "is_error"))


def _without_answer_fields(messages: Any) -> Any:
    if not isinstance(messages, list) or not any(
        isinstance(m, dict) and not _ANSWER_ONLY.isdisjoint(m) for m in messages
    ):
        return messages
    return [
        {k: v for k, v in m.items() if k not in _ANSWER_ONLY} if isinstance(m, dict) else m
        for m in messages
    ]


def _uncached(item: Any) -> Any:
    if isinstance(item, dict) and "cache_control" in item:
        return {k: v for k, v in item.items() if k != "cache_control"}
    return item


def _marked(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    content = message.get("content")
    return "cache_control" in message or (
        isinstance(content, list)
        and any(isinstance(p, dict) and "cache_control" in p for p in content)
    )


def _without_cache_control(messages: Any) -> Any:
    """Messages less Anthropic-style `cache_control` on a message or on its content parts
    (Claude Code marks its prompts so); copied only where there is one. Tool arguments and
    schemas are never looked into."""
    if not isinstance(messages, list) or not any(_marked(m) for m in messages):
        return messages
    out = []
    for message in messages:
        message = _uncached(message)
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and "cache_control" in p for p in content
        ):
            message = {**message, "content": [_uncached(p) for p in content]}
        out.append(message)
    return out


def to_provider_request(
    request: GatewayRequest, provider_model: str, *, cache_control: bool = False
) -> dict[str, Any]:
    """The body for an OpenAI-compatible host; `cache_control`: the host takes it (else it
    is removed from messages, parts and tools)."""
    body = {k: v for k, v in request.raw.items() if k not in GATEWAY_FIELDS}
    body["model"] = provider_model
    if "messages" in body:
        body["messages"] = _without_answer_fields(body["messages"])
        if not cache_control:
            body["messages"] = _without_cache_control(body["messages"])
    if not cache_control and isinstance(body.get("tools"), list):
        body["tools"] = [_uncached(tool) for tool in body["tools"]]
    reasoning = request.params.reasoning
    if reasoning and reasoning.effort and "reasoning_effort" not in body:
        body["reasoning_effort"] = reasoning.effort
    if request.stream:
        # Always ask for usage: billing needs it whether or not the client wants to see it.
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return body


def to_embedding_request(request: EmbeddingGatewayRequest, provider_model: str) -> dict[str, Any]:
    """The body as sent, less the gateway's fields: unknown ones pass through, as for chat."""
    body = {k: v for k, v in request.raw.items() if k not in GATEWAY_FIELDS}
    body["model"] = provider_model
    return body


def from_embedding_response(
    data: Any, request: EmbeddingGatewayRequest, target: Target
) -> dict[str, Any]:
    """The provider's answer, in the encoding asked for (a host that ignores base64 and sends
    floats gets them encoded here), named as ours."""
    provider = target.provider.id
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UpstreamError(provider, "protocol", detail="no embeddings in the answer")
    expected = embeddings.count_inputs(request)
    if len(items) != expected:
        detail = f"{len(items)} embeddings for {expected} inputs"
        raise UpstreamError(provider, "protocol", detail=detail)
    ordered = sorted(items, key=lambda item: item.get("index", 0))
    usage = data.get("usage")
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    # A host that counts nothing (no usage, or 0) leaves it to the gateway's estimate.
    counted = prompt if type(prompt) is int and prompt > 0 else None
    vectors = [item.get("embedding") for item in ordered]
    return embeddings.answer(vectors, request.params.encoding_format, target, counted)


def from_provider_response(data: dict[str, Any], target: Target) -> dict[str, Any]:
    """Names what served the answer; the same for whole responses and stream chunks."""
    data["model"] = target.model_id
    data["provider"] = target.provider.id
    for choice in data.get("choices") or ():
        if isinstance(choice, dict) and "finish_reason" in choice:
            choice.setdefault("native_finish_reason", choice["finish_reason"])
    return data


def headers_for(target: Target) -> dict[str, str]:
    headers = {"content-type": "application/json", **target.provider.headers}
    if target.api_key:
        headers["authorization"] = f"Bearer {target.api_key}"
    return headers


class OpenAIAdapter:
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    def _url(self, target: Target, request: GatewayRequest | EmbeddingGatewayRequest) -> str:
        return target.provider.base_url.rstrip("/") + _PATHS[request.operation]

    def _headers(self, target: Target) -> dict[str, str]:
        return headers_for(target)

    def _body(self, target: Target, request: GatewayRequest) -> bytes:
        return orjson.dumps(
            to_provider_request(
                request, target.endpoint.model, cache_control=target.provider.cache_control
            )
        )

    async def complete(self, target: Target, request: GatewayRequest) -> dict[str, Any]:
        data = await self._upstream.post_json(
            target.provider,
            self._url(target, request),
            self._headers(target),
            self._body(target, request),
        )
        if not isinstance(data, dict) or "choices" not in data:
            raise UpstreamError(target.provider.id, "protocol", raw=None, detail="no choices")
        return from_provider_response(data, target)

    def _embedding_body(self, target: Target, request: EmbeddingGatewayRequest) -> bytes:
        return orjson.dumps(to_embedding_request(request, target.endpoint.model))

    async def embed(self, target: Target, request: EmbeddingGatewayRequest) -> dict[str, Any]:
        data = await self._upstream.post_json(
            target.provider,
            self._url(target, request),
            self._headers(target),
            self._embedding_body(target, request),
        )
        return from_embedding_response(data, request, target)

    async def stream(
        self, target: Target, request: GatewayRequest
    ) -> AsyncIterator[dict[str, Any]]:
        provider = target.provider.id
        finished = False
        events = self._upstream.sse_events(
            target.provider,
            self._url(target, request),
            self._headers(target),
            self._body(target, request),
        )
        done = False
        async for data in events:
            # Read on past [DONE] to the end of the body, so the connection goes back to the
            # pool instead of being dropped with unread bytes.
            if done or data == "[DONE]":
                done = True
                continue
            chunk = parse_event(provider, data)
            if "error" in chunk:
                raise UpstreamError(provider, "status", status=502, raw=chunk)
            finished = finished or any(
                c.get("finish_reason") for c in chunk.get("choices") or () if isinstance(c, dict)
            )
            yield from_provider_response(chunk, target)
        if not finished:
            raise UpstreamError(provider, "dropped", detail="stream ended before it finished")
