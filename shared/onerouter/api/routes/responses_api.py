"""POST /v1/responses: OpenAI's Responses API, stateless, as a front door of the chat pipeline.

The body is translated into a chat request at the edge (`doors.responses`); keys, credit
checks, routing, fallback, the prompt cache and billing are the pipeline's, exactly as for
/v1/chat/completions. The answer, or each chunk of the stream, is translated back.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...doors.responses import answer
from ...doors.responses.events import ResponseEvents, encode
from ...doors.responses.request import renamed, to_chat_body
from ...errors import InvalidRequest, OneRouterError
from ...providers.base import Target
from ...requests import ChatRequest, GatewayRequest
from ..body import read_json, validate
from ..pipeline import Pipeline
from ..served import served_headers
from ..sse import Dialect, open_stream


async def responses(http: Request) -> Response:
    state = http.app.state
    pipeline: Pipeline = state.pipeline
    principal = await pipeline.authenticate(http.headers.get("authorization"))
    body = await read_json(http, state.settings.max_body_bytes)
    chat = to_chat_body(body)
    try:
        params = validate(ChatRequest, chat)
    except InvalidRequest as invalid:
        raise renamed(invalid) from None
    betas = GatewayRequest.betas(http.headers.get("anthropic-beta"))
    call = await pipeline.begin(principal, GatewayRequest("chat", params, chat, betas))
    rid = answer.response_id(call.generation_id)
    if params.stream:
        events = ResponseEvents(rid, body)

        def render(item: tuple[Target, dict[str, Any]]) -> bytes:
            return _joined(events.feed(item[1]))

        def fail(error: OneRouterError) -> bytes:
            return _joined(events.fail(error))

        return await open_stream(
            pipeline.stream(call),
            render=render,
            keepalive=state.settings.keepalive_interval,
            headers=lambda first: served_headers(call, first[0] if first else None),
            dialect=Dialect(error=fail, done=b""),
            end=lambda: _joined(events.finish()),
        )
    target, completion = await pipeline.complete(call)
    response = answer.from_chat_completion(completion, rid, body)
    return Response(
        orjson.dumps(response), media_type="application/json", headers=served_headers(call, target)
    )


def _joined(events: list[dict[str, Any]]) -> bytes:
    return b"".join(encode(event) for event in events)


routes = [Route("/responses", responses, methods=["POST"])]
