"""POST /v1/chat/completions and /v1/completions: OpenAI's front doors into the pipeline."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...providers.base import Target
from ...requests import ChatRequest, CompletionRequest, GatewayRequest, Operation
from ..body import read_json, validate
from ..pipeline import Pipeline
from ..served import served_headers
from ..sse import encode, open_stream

_SCHEMAS: dict[Operation, type[ChatRequest] | type[CompletionRequest]] = {
    "chat": ChatRequest,
    "completion": CompletionRequest,
}


async def chat_completions(request: Request) -> Response:
    return await _serve(request, "chat")


async def completions(request: Request) -> Response:
    return await _serve(request, "completion")


routes = [
    Route("/chat/completions", chat_completions, methods=["POST"]),
    Route("/completions", completions, methods=["POST"]),
]


async def _serve(http: Request, operation: Operation) -> Response:
    state = http.app.state
    pipeline: Pipeline = state.pipeline
    principal = await pipeline.authenticate(http.headers.get("authorization"))
    body = await read_json(http, state.settings.max_body_bytes)
    params: ChatRequest | CompletionRequest = validate(_SCHEMAS[operation], body)
    betas = GatewayRequest.betas(http.headers.get("anthropic-beta"))
    call = await pipeline.begin(principal, GatewayRequest(operation, params, body, betas))
    if params.stream:
        return await open_stream(
            pipeline.stream(call),
            render=_render_chunk,
            keepalive=state.settings.keepalive_interval,
            headers=lambda first: served_headers(call, first[0] if first else None),
        )
    target, answer = await pipeline.complete(call)
    return Response(
        orjson.dumps(answer), media_type="application/json", headers=served_headers(call, target)
    )


def _render_chunk(item: tuple[Target, dict[str, Any]]) -> bytes:
    return encode(item[1])
