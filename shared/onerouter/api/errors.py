"""Every error leaves the gateway here, as OpenAI-shaped JSON with the right status."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..errors import InvalidRequest, NotFound, OneRouterError
from ..logs import log_failure

logger = logging.getLogger("onerouter.api")


def error_response(error: OneRouterError) -> Response:
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


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


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = ".".join(str(p) for p in first["loc"] if p != "body") or None
    return error_response(InvalidRequest(f"{param}: {first['msg']}", param=param))


async def _unexpected(_: Request, exc: Exception) -> Response:
    log_failure(logger, "unhandled error", exc)
    return error_response(OneRouterError("The gateway failed unexpectedly."))


def install(app: FastAPI) -> None:
    app.add_exception_handler(OneRouterError, _onerouter_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
