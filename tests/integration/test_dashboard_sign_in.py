"""Dashboard sign-in through the running gateway and moto's Cognito: sign up, confirm with the
code, sign in, use the account's endpoints with the ID token, refresh from the cookie, sign
out. Codes come from the gateway's ConsoleCognito, as `onerouter dev` prints them."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from onerouter.api.routes.auth import COOKIE
from tests.fakes.gateway import ServerThread

PASSWORD = "correct horse battery"


def _email() -> str:
    return f"person-{secrets.token_hex(4)}@example.com"


@pytest.fixture
def web(gateway: ServerThread) -> httpx.Client:
    """A browser-like client: it keeps cookies between calls."""
    return httpx.Client(base_url=f"{gateway.url}/api/v1", timeout=10)


def _signed_up(web: httpx.Client, gateway: ServerThread, email: str) -> None:
    assert web.post("/auth/sign-up", json={"email": email, "password": PASSWORD}).status_code == 201
    code = gateway.app.state.cognito.code_for(email)
    assert web.post("/auth/confirm", json={"email": email, "code": code}).status_code == 200


def _sign_in(web: httpx.Client, email: str) -> dict[str, Any]:
    answer = web.post("/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def _as(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def test_sign_up_confirm_and_sign_in_open_an_empty_account(
    web: httpx.Client, gateway: ServerThread
) -> None:
    email = _email()
    answer = web.post("/auth/sign-up", json={"email": email.upper(), "password": PASSWORD})
    assert answer.status_code == 201
    assert answer.json()["data"] == {"email": email, "confirmed": False, "confirmation": "console"}
    # Not before the email is confirmed, and not with a wrong code.
    signing_in = {"email": email, "password": PASSWORD}
    assert _error(web.post("/auth/sign-in", json=signing_in)) == (403, "not_confirmed")
    code = gateway.app.state.cognito.code_for(email)
    wrong = "000000" if code != "000000" else "111111"
    assert _error(web.post("/auth/confirm", json={"email": email, "code": wrong})) == (
        400,
        "invalid_code",
    )
    assert web.post("/auth/confirm", json={"email": email, "code": code}).json()["data"] == {
        "email": email,
        "confirmed": True,
    }

    session = _sign_in(web, email)
    assert session["email"] == email and session["account_id"].startswith("acct_")
    assert session["expires_in"] > 0
    # The refresh token is in an HttpOnly, SameSite=Strict cookie only the auth routes see.
    set_cookie = web.cookies.jar
    cookie = next(c for c in set_cookie if c.name == COOKIE)
    assert cookie.path == "/api/v1/auth" and cookie.has_nonstandard_attr("HttpOnly")
    assert COOKIE not in session and "refresh" not in str(session)

    credits = web.get("/credits", headers=_as(session["token"]))
    assert credits.status_code == 200
    assert Decimal(credits.json()["data"]["balance"]) == 0
    assert web.get("/keys", headers=_as(session["token"])).json()["data"] == []
    # The same person signing in again gets the same account.
    assert _sign_in(web, email)["account_id"] == session["account_id"]


def test_sign_up_refuses_what_cognito_refuses(web: httpx.Client, gateway: ServerThread) -> None:
    email = _email()
    short = web.post("/auth/sign-up", json={"email": email, "password": "short"})
    assert _error(short) == (400, "invalid_password")
    assert "12 characters" in short.json()["error"]["message"]
    assert _error(web.post("/auth/sign-up", json={"email": "nobody", "password": PASSWORD})) == (
        400,
        "invalid_email",
    )
    _signed_up(web, gateway, email)
    again = web.post("/auth/sign-up", json={"email": email, "password": PASSWORD})
    assert _error(again) == (409, "email_taken")
    extra = web.post("/auth/sign-up", json={"email": email, "password": PASSWORD, "admin": True})
    assert _error(extra) == (400, "invalid_request")


def test_wrong_password_and_unknown_email_read_the_same(web: httpx.Client) -> None:
    unknown = web.post("/auth/sign-in", json={"email": _email(), "password": PASSWORD})
    assert _error(unknown) == (401, "wrong_credentials")
    assert PASSWORD not in unknown.text


def test_refresh_restores_the_session_until_sign_out(
    web: httpx.Client, gateway: ServerThread
) -> None:
    email = _email()
    _signed_up(web, gateway, email)
    first = _sign_in(web, email)
    refreshed = web.post("/auth/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json()["data"]["account_id"] == first["account_id"]
    assert web.get("/credits", headers=_as(refreshed.json()["data"]["token"])).status_code == 200

    assert web.post("/auth/sign-out").json() == {"data": {"signed_out": True}}
    assert COOKIE not in web.cookies
    assert _error(web.post("/auth/refresh")) == (401, "signed_out")
    # A copy of the revoked refresh token is no good either.
    stale = httpx.Client(base_url=web.base_url, cookies={COOKIE: "not-a-refresh-token"})
    assert _error(stale.post("/auth/refresh")) == (401, "signed_out")


def test_a_tampered_or_foreign_token_is_a_401(web: httpx.Client, gateway: ServerThread) -> None:
    email = _email()
    _signed_up(web, gateway, email)
    token = _sign_in(web, email)["token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert _error(web.get("/credits", headers=_as(tampered))) == (401, "invalid_token")
    assert _error(web.get("/keys", headers=_as("a.b.c"))) == (401, "invalid_token")


def test_a_person_token_is_not_an_api_key(web: httpx.Client, gateway: ServerThread) -> None:
    email = _email()
    _signed_up(web, gateway, email)
    token = _sign_in(web, email)["token"]
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=token, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="test/chat", messages=[{"role": "user", "content": "hi"}]
        )


def test_a_person_manages_only_their_own_keys(web: httpx.Client, gateway: ServerThread) -> None:
    tokens = []
    for _ in range(2):
        email = _email()
        _signed_up(web, gateway, email)
        tokens.append(_sign_in(web, email)["token"])
    mine, theirs = tokens
    created = web.post("/keys", headers=_as(mine), json={"label": "laptop", "limit": "5"})
    assert created.status_code == 201 and created.json()["key"].startswith("sk-or")
    key_id = created.json()["data"]["key_id"]
    assert [k["key_id"] for k in web.get("/keys", headers=_as(mine)).json()["data"]] == [key_id]
    assert web.get("/keys", headers=_as(theirs)).json()["data"] == []
    for method, body in (("PATCH", {"disabled": True}), ("DELETE", None)):
        answer = web.request(method, f"/keys/{key_id}", headers=_as(theirs), json=body)
        assert _error(answer) == (404, "key_not_found")
    # The person may disable their own key: it is not the credential they are using.
    patched = web.patch(f"/keys/{key_id}", headers=_as(mine), json={"disabled": True})
    assert patched.status_code == 200 and patched.json()["data"]["disabled"] is True
