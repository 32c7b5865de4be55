"""GET /health: liveness, with no storage round trip."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..responses import json_response


async def health(_: Request) -> Response:
    return json_response({"status": "ok"})


routes = [Route("/health", health, methods=["GET"])]
