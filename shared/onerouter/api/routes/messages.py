"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages API as a front door.

The request is translated at the edge into the internal chat request and goes through the one
pipeline (keys, credit, the prompt cache, routing, fallback, billing) exactly as a chat
completion does; the answer, its stream and its errors are translated back. The key comes as
`x-api-key` (Anthropic's SDKs) or as a bearer token (Claude Code's `ANTHROPIC_AUTH_TOKEN`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...doors.messages.answer import to_message
from ...doors.messages.errors import envelope, error_event
from ...doors.messages.events import PING, MessageEvents, encode
from ...errors import OneRouterError
from ...logs import log_failure
from ...providers.base import Target
from ...requests import ChatRequest, GatewayRequest
from ...routing.needs import needs_of
from ..body import read_json, validate
from ..pipeline import Call, Pipeline
from ..served import served_headers
from ..sse import Dialect, open_stream

logger = logging.getLogger("onerouter.api")

SSE = Dialect(keepalive=PING, error=error_event, done=b"")


def _anthropic_errors(
    serve: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Errors before the answer starts, in Anthropic's envelope rather than OpenAI's."""

    async def endpoint(http: Request) -> Response:
        try:
            return await serve(http)
        except OneRouterError as exc:
            return _error(exc)
        except Exception as exc:
            log_failure(logger, "unhandled error", exc)
            return _error(OneRouterError("The gateway failed unexpectedly."))

    return endpoint


def _error(error: OneRouterError) -> Response:
    return Response(
        orjson.dumps(envelope(error)),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


def _authorization(headers: Headers) -> str | None:
    key = headers.get("x-api-key")
    return f"Bearer {key}" if key else headers.get("authorization")


@_anthropic_errors
async def create_message(http: Request) -> Response:
    state = http.app.state
    pipeline: Pipeline = state.pipeline
    principal = await pipeline.authenticate(_authorization(http.headers))
    # Imported on the first Messages request: building the body's schemas costs ~20 ms that
    # an instance serving only chat completions should not pay at its cold start.
    from ...doors.messages.body import MessagesBody, parse
    from ...doors.messages.request import to_chat_body

    body = parse(MessagesBody, await read_json(http, state.settings.max_body_bytes))
    chat = to_chat_body(body)
    params = validate(ChatRequest, chat)
    betas = GatewayRequest.betas(http.headers.get("anthropic-beta"))
    call = await pipeline.begin(principal, GatewayRequest("chat", params, chat, betas))
    if params.stream:
        events = MessageEvents(call.needs.prompt_tokens)
        return await open_stream(
            pipeline.stream(call),
            render=lambda item: encode(events.feed(item[1])),
            keepalive=state.settings.keepalive_interval,
            headers=lambda first: _headers(call, first[0] if first else None),
            dialect=SSE,
            end=lambda: encode(events.finish()),
        )
    target, answer = await pipeline.complete(call)
    return Response(
        orjson.dumps(to_message(answer)),
        media_type="application/json",
        headers=_headers(call, target),
    )


@_anthropic_errors
async def count_tokens(http: Request) -> Response:
    """The prompt's size as routing estimates it (about four characters a token), not a
    tokenizer's count: enough to decide whether a conversation still fits."""
    state = http.app.state
    pipeline: Pipeline = state.pipeline
    await pipeline.authenticate(_authorization(http.headers))
    from ...doors.messages.body import CountTokensBody, parse
    from ...doors.messages.request import to_chat_body

    body = parse(CountTokensBody, await read_json(http, state.settings.max_body_bytes))
    chat = to_chat_body(body)
    params = validate(ChatRequest, chat)
    pipeline.router.model(params.model)  # an unknown model is a 404
    needs = needs_of(GatewayRequest("chat", params, chat))
    answer: dict[str, Any] = {"input_tokens": needs.prompt_tokens}
    return Response(orjson.dumps(answer), media_type="application/json")


routes = [
    Route("/messages", create_message, methods=["POST"]),
    Route("/messages/count_tokens", count_tokens, methods=["POST"]),
]


def _headers(call: Call, target: Target | None) -> dict[str, str]:
    # Anthropic's own request id header, beside the gateway's.
    return {"request-id": call.generation_id, **served_headers(call, target)}
