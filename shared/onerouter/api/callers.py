"""Who is calling an account endpoint: a program with one of the account's API keys, or a person
signed in to the dashboard (a Cognito ID token, see `accounts/people.py`).

Completions take API keys only (`Pipeline.authenticate`); the account endpoints (credits,
activity, logs, keys, settings) take either, so the dashboard is a client of the same public API
that scripts use.
"""

from __future__ import annotations

from starlette.requests import Request

from ..accounts.auth import Caller, Person, Principal
from ..errors import AuthenticationFailed

__all__ = ["Caller", "Person", "account_manager", "account_reader"]


def _looks_like_token(authorization: str | None) -> bool:
    # A JWT is three base64url parts; API keys start with "sk-or".
    if not authorization:
        return False
    _, _, value = authorization.partition(" ")
    return value.strip().count(".") == 2


async def account_reader(request: Request) -> Caller:
    """Any key of the account, or a person signed in to it."""
    authorization = request.headers.get("authorization")
    if _looks_like_token(authorization):
        people = getattr(request.app.state, "people", None)
        if people is None:
            raise AuthenticationFailed(
                "Dashboard sign-in is not enabled on this gateway; use an API key.",
                code="sign_in_not_configured",
            )
        return await people.caller(authorization)  # type: ignore[no-any-return]
    principal: Principal = await request.app.state.pipeline.authenticate(authorization)
    return Caller(principal.account, key=principal.key)


async def account_manager(request: Request) -> Caller:
    """A person signed in to the account, or an enabled management key of it."""
    caller = await account_reader(request)
    caller.check_can_manage()
    return caller
