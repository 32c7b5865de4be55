"""The I/O of the `anthropic` protocol: one POST to /v1/messages, whole or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from ...requests import GatewayRequest
from ..base import Target, UpstreamError
from ..http import Upstream, parse_event
from .request import to_provider_request
from .response import from_provider_response
from .stream import StreamTranslator

API_VERSION = "2023-06-01"


def headers_for(target: Target, betas: tuple[str, ...] = ()) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "anthropic-version": API_VERSION,
        **target.provider.headers,
    }
    if betas:
        # The client's beta features join any the catalog turns on for this provider.
        key = next((k for k in headers if k.lower() == "anthropic-beta"), "anthropic-beta")
        configured = GatewayRequest.betas(headers.get(key))
        headers[key] = ",".join(dict.fromkeys(configured + betas))
    if target.api_key:
        headers["x-api-key"] = target.api_key
    return headers


def as_text_completion(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """A chat-shaped answer or chunk in legacy completions' shape (None: nothing to say)."""
    streamed = chunk.get("object") == "chat.completion.chunk"
    choices = []
    for choice in chunk.get("choices") or ():
        message = choice.get("delta" if streamed else "message") or {}
        text = message.get("content") or ""
        if streamed and not text and not choice.get("finish_reason"):
            continue
        choices.append({k: v for k, v in choice.items() if k not in ("delta", "message")})
        choices[-1]["text"] = text
    if streamed and not choices and not chunk.get("usage"):
        return None
    return {**chunk, "object": "text_completion", "choices": choices}


class AnthropicAdapter:
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    def _call(self, target: Target, request: GatewayRequest) -> tuple[str, dict[str, str], bytes]:
        url = target.provider.base_url.rstrip("/") + "/v1/messages"
        body = orjson.dumps(to_provider_request(request, target))
        return url, headers_for(target, request.anthropic_beta), body

    async def complete(self, target: Target, request: GatewayRequest) -> dict[str, Any]:
        data = await self._upstream.post_json(target.provider, *self._call(target, request))
        if not isinstance(data, dict) or data.get("type") != "message":
            raise UpstreamError(target.provider.id, "protocol", detail="not a message")
        answer = from_provider_response(data, target)
        if request.operation == "completion":
            return as_text_completion(answer) or answer
        return answer

    async def stream(
        self, target: Target, request: GatewayRequest
    ) -> AsyncIterator[dict[str, Any]]:
        provider = target.provider.id
        translator = StreamTranslator(target)
        legacy = request.operation == "completion"
        # Read on past message_stop to the end of the body, so the connection is reused.
        async for data in self._upstream.sse_events(target.provider, *self._call(target, request)):
            event = parse_event(provider, data)
            for chunk in translator.feed(event):
                out = as_text_completion(chunk) if legacy else chunk
                if out is not None:
                    yield out
        if not translator.finished:
            raise UpstreamError(provider, "dropped", detail="stream ended before message_stop")
