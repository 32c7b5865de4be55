"""POST /v1/embeddings: OpenAI's Embeddings front door into the pipeline."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...requests import EmbeddingGatewayRequest, EmbeddingRequest
from ..body import read_json, validate
from ..pipeline import Pipeline
from ..served import served_headers


async def embeddings(http: Request) -> Response:
    state = http.app.state
    pipeline: Pipeline = state.pipeline
    principal = await pipeline.authenticate(http.headers.get("authorization"))
    body = await read_json(http, state.settings.max_body_bytes)
    params = validate(EmbeddingRequest, body)
    call = await pipeline.begin(principal, EmbeddingGatewayRequest(params, body))
    target, answer = await pipeline.embed(call)
    headers = served_headers(call, target)
    return Response(orjson.dumps(answer), media_type="application/json", headers=headers)


routes = [Route("/embeddings", embeddings, methods=["POST"])]
