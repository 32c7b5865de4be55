"""The `gemini` protocol: Google's Generative Language API (v1beta `generateContent`).

Translation lives in `request`, `response` and `stream`; this module only calls the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from ...requests import EmbeddingGatewayRequest, GatewayRequest
from ..base import Target, UpstreamError
from ..http import Upstream, parse_event
from .embeddings import from_batch_response, to_batch_request
from .request import to_provider_request
from .response import from_provider_response
from .stream import JsonArrayStream, StreamTranslator, parse_json_array_stream


def model_url(target: Target, method: str) -> str:
    base = target.provider.base_url.rstrip("/")
    if not base.endswith(("/v1beta", "/v1")):
        base += "/v1beta"
    return f"{base}/models/{target.endpoint.model}:{method}"


def headers_for(target: Target) -> dict[str, str]:
    headers = {"content-type": "application/json", **target.provider.headers}
    if target.api_key:
        headers["x-goog-api-key"] = target.api_key
    return headers


class GeminiAdapter:
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    async def complete(self, target: Target, request: GatewayRequest) -> dict[str, Any]:
        body = orjson.dumps(to_provider_request(request, target))
        data = await self._upstream.post_json(
            target.provider, model_url(target, "generateContent"), headers_for(target), body
        )
        if not isinstance(data, dict):
            raise UpstreamError(target.provider.id, "protocol", detail="response is not an object")
        return from_provider_response(data, target, request.operation)

    async def embed(self, target: Target, request: EmbeddingGatewayRequest) -> dict[str, Any]:
        body = orjson.dumps(to_batch_request(request, target))
        data = await self._upstream.post_json(
            target.provider, model_url(target, "batchEmbedContents"), headers_for(target), body
        )
        return from_batch_response(data, request, target)

    async def stream(
        self, target: Target, request: GatewayRequest
    ) -> AsyncIterator[dict[str, Any]]:
        provider = target.provider.id
        body = orjson.dumps(to_provider_request(request, target))
        translator = StreamTranslator(target, request.operation)
        events = self._upstream.sse_events(
            target.provider,
            model_url(target, "streamGenerateContent") + "?alt=sse",
            headers_for(target),
            body,
        )
        async for data in events:
            event = parse_event(provider, data)
            if "error" in event:
                raise UpstreamError(provider, "status", status=502, raw=event)
            for chunk in translator.feed(event):
                yield chunk
        for chunk in translator.close():
            yield chunk


__all__ = [
    "GeminiAdapter",
    "JsonArrayStream",
    "StreamTranslator",
    "from_provider_response",
    "parse_json_array_stream",
    "to_provider_request",
]
