"""Signing people in to the dashboard (/api/v1/auth/...), through the Cognito user pool.

Sign-in answers the ID token in the body, for the page to keep in memory and send as a Bearer
token; the refresh token goes into an HttpOnly, SameSite=Strict cookie that only these routes
see, so no script can read either from storage, and a reload restores the session through
/auth/refresh. Sign-up, confirm and resend take no session.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from anyio import to_thread
from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...accounts.cognito import Cognito, Tokens
from ...accounts.people import People
from ...errors import AuthenticationFailed, OneRouterError
from ..body import read_json, validate
from ..responses import json_response

COOKIE = "onerouter_refresh"
COOKIE_PATH = "/api/v1/auth"
# Cognito's default refresh token validity (template.yaml, UserPoolClient).
COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_BODY_BYTES = 8 * 1024
NO_STORE = {"cache-control": "no-store"}

Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
# Cognito takes passwords of up to 256 characters.
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


class SignUpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    password: Password


class ConfirmBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    code: Code


class EmailBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email


class NotConfigured(OneRouterError):
    status, type, code = 503, "service_unavailable", "sign_in_not_configured"


def _cognito(request: Request) -> Cognito:
    cognito: Cognito | None = getattr(request.app.state, "cognito", None)
    if cognito is None:
        raise NotConfigured("Dashboard sign-in is not enabled on this gateway.")
    return cognito


async def sign_up(request: Request) -> Response:
    cognito = _cognito(request)
    body = validate(SignUpBody, await read_json(request, MAX_BODY_BYTES))
    email = body.email.lower()
    await to_thread.run_sync(cognito.sign_up, email, body.password)
    data = {"email": email, "confirmed": False, "confirmation": cognito.confirmation}
    return json_response({"data": data}, 201)


async def confirm(request: Request) -> Response:
    cognito = _cognito(request)
    body = validate(ConfirmBody, await read_json(request, MAX_BODY_BYTES))
    email = body.email.lower()
    await to_thread.run_sync(cognito.confirm, email, body.code)
    return json_response({"data": {"email": email, "confirmed": True}})


async def resend_code(request: Request) -> Response:
    cognito = _cognito(request)
    body = validate(EmailBody, await read_json(request, MAX_BODY_BYTES))
    email = body.email.lower()
    await to_thread.run_sync(cognito.resend_code, email)
    return json_response({"data": {"email": email}})


async def sign_in(request: Request) -> Response:
    cognito = _cognito(request)
    body = validate(SignUpBody, await read_json(request, MAX_BODY_BYTES))
    tokens = await to_thread.run_sync(cognito.sign_in, body.email.lower(), body.password)
    response = await _session(request, tokens)
    if tokens.refresh_token:
        _set_cookie(request, response, tokens.refresh_token)
    return response


async def refresh(request: Request) -> Response:
    cognito = _cognito(request)
    refresh_token = request.cookies.get(COOKIE)
    if not refresh_token:
        raise AuthenticationFailed("You are signed out; sign in.", code="signed_out")
    try:
        tokens = await to_thread.run_sync(cognito.refresh, refresh_token)
    except AuthenticationFailed:
        response = json_response(
            AuthenticationFailed("Your session has ended; sign in.", code="signed_out").body(),
            401,
            NO_STORE,
        )
        _clear_cookie(response)
        return response
    return await _session(request, tokens)


async def sign_out(request: Request) -> Response:
    refresh_token = request.cookies.get(COOKIE)
    cognito: Cognito | None = getattr(request.app.state, "cognito", None)
    if refresh_token and cognito is not None:
        # The cookie goes anyway; an unrevoked refresh token expires by itself.
        with contextlib.suppress(OneRouterError):
            await to_thread.run_sync(cognito.sign_out, refresh_token)
    response = json_response({"data": {"signed_out": True}}, headers=NO_STORE)
    _clear_cookie(response)
    return response


async def _session(request: Request, tokens: Tokens) -> Response:
    """The answer of a sign-in or refresh: the ID token, and the account it opens (opened on
    the person's first sign-in)."""
    people: People = request.app.state.people
    identity = await to_thread.run_sync(people.verifier.verify, tokens.id_token)
    account = await to_thread.run_sync(people.account_of, identity)
    data: dict[str, Any] = {
        "token": tokens.id_token,
        "expires_in": tokens.expires_in,
        "account_id": account.account_id,
        "email": identity.email,
    }
    return json_response({"data": data}, headers=NO_STORE)


def _set_cookie(request: Request, response: Response, refresh_token: str) -> None:
    response.set_cookie(
        COOKIE,
        refresh_token,
        max_age=COOKIE_MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.public_url.startswith("https://"),
    )


def _clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


routes = [
    Route("/auth/sign-up", sign_up, methods=["POST"]),
    Route("/auth/confirm", confirm, methods=["POST"]),
    Route("/auth/resend-code", resend_code, methods=["POST"]),
    Route("/auth/sign-in", sign_in, methods=["POST"]),
    Route("/auth/refresh", refresh, methods=["POST"]),
    Route("/auth/sign-out", sign_out, methods=["POST"]),
]
