"""Whatever account A's keys send, they never read or change account B: every account
endpoint, one case each."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import AccountService, NewAccount
from onerouter.api.routes.generations import encode_cursor
from onerouter.settings import Settings
from onerouter.usage.consumer import UsageConsumer
from tests.account_api import bill, call, event_of, manager
from tests.fakes.gateway import ServerThread


@dataclass
class Pair:
    a: NewAccount
    a_manager: str
    b: NewAccount
    b_manager: str
    b_generation: str
    b_created_at: str
    b_key_hash: str

    def b_state(self, service: AccountService) -> Any:
        """Everything of B's that A could change."""
        account = service.accounts.get(self.b.account_id)
        keys = service.keys.of_account(self.b.account_id)
        return account, sorted((k.key_id, k.label, k.disabled, k.limit) for k in keys)


@pytest.fixture(scope="module")
def pair(gateway: ServerThread, settings: Settings) -> Pair:
    service: AccountService = gateway.app.state.accounts
    a = service.open_account(Decimal(10))
    b = service.open_account(Decimal("3.21"))
    assert service.grant(b.account_id, Decimal("1.23"), grant_id="b-only", note="b's secret")
    b_event = event_of(b, model="test/b-only", cost="0.5")
    bill(UsageConsumer.from_settings(settings), event_of(a, cost="0.25"), b_event)
    return Pair(
        a,
        manager(gateway, a),
        b,
        manager(gateway, b),
        b_event.generation_id,
        b_event.created_at,
        hash_secret(b.key),
    )


def _no_b(pair: Pair, response: httpx.Response) -> None:
    """Nothing of B's in the answer."""
    for secret in (pair.b.account_id, pair.b.key_id, pair.b_generation, "test/b-only", "3.21"):
        assert secret not in response.text, secret
    assert "b's secret" not in response.text and "b-only" not in response.text


Case = Callable[[ServerThread, Pair], None]


def generation_by_id(gateway: ServerThread, pair: Pair) -> None:
    for key in (pair.a.key, pair.a_manager):
        response = call(gateway, "GET", "/generation", key, params={"id": pair.b_generation})
        assert response.status_code == 404
        # Just as absent as an id that never was (the answer names the id asked for).
        never = call(gateway, "GET", "/generation", key, params={"id": "gen-never"})
        assert response.text == never.text.replace("gen-never", pair.b_generation)


def generations(gateway: ServerThread, pair: Pair) -> None:
    for params in ({}, {"model": "test/b-only"}, {"key_id": pair.b.key_id}):
        response = call(gateway, "GET", "/generations", pair.a.key, params=params)
        assert response.status_code == 200
        assert all(g["key_id"] == pair.a.key_id for g in response.json()["data"])
        _no_b(pair, response)
    # B's position, as a cursor: refused, whoever made it.
    forged = encode_cursor(
        {
            "account_id": pair.b.account_id,
            "created_at": pair.b_created_at,
            "generation_id": pair.b_generation,
        }
    )
    response = call(gateway, "GET", "/generations", pair.a.key, params={"cursor": forged})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"


def activity(gateway: ServerThread, pair: Pair) -> None:
    params = {"from": "2026-11-01", "to": "2026-11-30"}
    for extra in ({}, {"format": "csv"}):
        response = call(gateway, "GET", "/activity", pair.a.key, params={**params, **extra})
        assert response.status_code == 200
        assert pair.a.key_id in response.text
        _no_b(pair, response)


def lots(gateway: ServerThread, pair: Pair) -> None:
    response = call(gateway, "GET", "/credits/lots", pair.a.key)
    assert response.status_code == 200
    assert [lot["amount"] for lot in response.json()["data"]] == ["10"]
    _no_b(pair, response)


def credits(gateway: ServerThread, pair: Pair) -> None:
    response = call(gateway, "GET", "/credits", pair.a.key)
    assert response.json()["data"]["balance"] == "9.75"
    _no_b(pair, response)


def key(gateway: ServerThread, pair: Pair) -> None:
    response = call(gateway, "GET", "/key", pair.a.key)
    assert response.json()["data"]["key_id"] == pair.a.key_id
    _no_b(pair, response)


def account(gateway: ServerThread, pair: Pair) -> None:
    response = call(gateway, "GET", "/account", pair.a.key)
    assert response.json()["data"]["account_id"] == pair.a.account_id
    _no_b(pair, response)


def account_change(gateway: ServerThread, pair: Pair) -> None:
    for body in ({"data_collection": "allow"}, {"data_collection": "deny"}):
        response = call(gateway, "PATCH", "/account", pair.a_manager, body)
        assert response.json()["data"]["account_id"] == pair.a.account_id
        _no_b(pair, response)
    # No way to name another account: its id in the body is an unknown field.
    response = call(
        gateway,
        "PATCH",
        "/account",
        pair.a_manager,
        {"data_collection": "allow", "account_id": pair.b.account_id},
    )
    assert response.status_code == 400


def keys_list(gateway: ServerThread, pair: Pair) -> None:
    response = call(gateway, "GET", "/keys", pair.a_manager)
    assert response.status_code == 200
    _no_b(pair, response)


def keys_create(gateway: ServerThread, pair: Pair) -> None:
    body = {"label": "mine", "account_id": pair.b.account_id}
    assert call(gateway, "POST", "/keys", pair.a_manager, body).status_code == 400
    created = call(gateway, "POST", "/keys", pair.a_manager, {"label": "mine"})
    assert created.status_code == 201
    service: AccountService = gateway.app.state.accounts
    new_hash = hash_secret(created.json()["key"])
    new_key = service.keys.get(new_hash)
    assert new_key is not None and new_key.account_id == pair.a.account_id


def keys_change(gateway: ServerThread, pair: Pair) -> None:
    for body in ({"disabled": True}, {"label": "hijacked"}, {"limit": "0.01"}):
        response = call(gateway, "PATCH", f"/keys/{pair.b.key_id}", pair.a_manager, body)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "key_not_found"


def keys_delete(gateway: ServerThread, pair: Pair) -> None:
    response = call(gateway, "DELETE", f"/keys/{pair.b.key_id}", pair.a_manager)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "key_not_found"


CASES: list[Case] = [
    generation_by_id,
    generations,
    activity,
    lots,
    credits,
    key,
    account,
    account_change,
    keys_list,
    keys_create,
    keys_change,
    keys_delete,
]


@pytest.fixture(scope="module")
def person_token(gateway: ServerThread, settings: Settings, pair: Pair) -> str:
    """A person signed in to account A through the dashboard's sign-in (an ID token)."""
    email = f"owner-{secrets.token_hex(4)}@example.com"
    password = "owner of account a"
    signing_up = {"email": email, "password": password}
    assert call(gateway, "POST", "/auth/sign-up", None, signing_up).status_code == 201
    code = gateway.app.state.cognito.code_for(email)
    confirmed = call(gateway, "POST", "/auth/confirm", None, {"email": email, "code": code})
    assert confirmed.status_code == 200
    assert settings.cognito is not None
    user = boto3.client("cognito-idp").admin_get_user(
        UserPoolId=settings.cognito.user_pool_id, Username=email
    )
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    gateway.app.state.people.link(sub, email, pair.a.account_id)
    session = call(gateway, "POST", "/auth/sign-in", None, signing_up).json()["data"]
    assert session["account_id"] == pair.a.account_id
    token: str = session["token"]
    return token


@pytest.mark.parametrize("as_person", [False, True], ids=["keys", "person"])
@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_one_account_never_reaches_another(
    gateway: ServerThread,
    pair: Pair,
    case: Case,
    as_person: bool,
    request: pytest.FixtureRequest,
) -> None:
    """A's keys, or A's owner signed in to the dashboard (whose one token both reads and
    manages), against every account endpoint."""
    if as_person:
        token = request.getfixturevalue("person_token")
        if case is key:  # GET /key describes the API key used; a person uses none
            assert call(gateway, "GET", "/key", token).status_code == 401
            return
        pair = dataclasses.replace(pair, a=dataclasses.replace(pair.a, key=token), a_manager=token)
    service: AccountService = gateway.app.state.accounts
    before = pair.b_state(service)
    case(gateway, pair)
    assert pair.b_state(service) == before
    # B's key still works and B still sees its own.
    own = call(gateway, "GET", "/generation", pair.b.key, params={"id": pair.b_generation})
    assert own.status_code == 200
