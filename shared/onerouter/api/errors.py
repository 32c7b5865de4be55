"""Every error leaves the gateway here, as OpenAI-shaped JSON with the right status."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import NotFound, OneRouterError
from ..logs import log_failure
from .responses import json_response

logger = logging.getLogger("onerouter.api")


def error_response(error: OneRouterError) -> Response:
    return json_response(error.body(), status=error.status, headers=error.headers)


async def _onerouter_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, OneRouterError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error: OneRouterError = NotFound(f"No route for {request.method} {request.url.path}.")
    else:
        error = OneRouterError(str(exc.detail), code=exc.status_code)
        error.status = exc.status_code
        error.type = "invalid_request_error"
    return error_response(error)


async def _unexpected(_: Request, exc: Exception) -> Response:
    log_failure(logger, "unhandled error", exc)
    return error_response(OneRouterError("The gateway failed unexpectedly."))


HANDLERS: dict[Any, Any] = {
    OneRouterError: _onerouter_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}
