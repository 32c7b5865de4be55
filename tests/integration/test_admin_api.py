"""The operator API: opening accounts and granting credit, only for the admin token."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider


def _admin(gateway: ServerThread, path: str, json: object = None, token: str = ADMIN_TOKEN):
    return httpx.post(
        f"{gateway.url}/api/v1/admin{path}",
        json=json,
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_created_account_key_works_right_away(
    gateway: ServerThread, fake: FakeOpenAIProvider
) -> None:
    response = _admin(gateway, "/accounts", {"credits": "10"})
    assert response.status_code == 201
    created = response.json()
    assert created["account_id"].startswith("acct_")
    assert created["key"].startswith("sk-or1-")
    assert created["credits"] == "10"

    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=created["key"], max_retries=0)
    answer = client.chat.completions.create(
        model="test/solo", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content


def test_account_without_credit_then_granted(
    gateway: ServerThread, fake: FakeOpenAIProvider
) -> None:
    created = _admin(gateway, "/accounts").json()
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=created["key"], max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="test/solo", messages=messages)
    assert caught.value.status_code == 402

    path = f"/accounts/{created['account_id']}/credits"
    granted = _admin(gateway, path, {"amount": "2.50", "id": "manual-1", "note": "welcome"})
    assert granted.status_code == 201
    assert granted.json() == {
        "account_id": created["account_id"],
        "amount": "2.5",
        "applied": True,
        "balance": "2.5",
    }
    # A replay of the same grant id changes nothing.
    replay = _admin(gateway, path, {"amount": "2.50", "id": "manual-1"})
    assert replay.status_code == 200
    assert replay.json()["applied"] is False
    assert replay.json()["balance"] == "2.5"
    # The grant reaches the auth cache of this process at once.
    assert client.chat.completions.create(model="test/solo", messages=messages).choices


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({}, "amount"),
        ({"amount": "1", "surprise": True}, "surprise"),
    ],
)
def test_bad_grants_are_400(gateway: ServerThread, body: dict, param: str) -> None:
    created = _admin(gateway, "/accounts").json()
    response = _admin(gateway, f"/accounts/{created['account_id']}/credits", body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_grant_to_unknown_account_is_404(gateway: ServerThread) -> None:
    response = _admin(gateway, "/accounts/acct_nobody/credits", {"amount": "1"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "account_not_found"


def test_wrong_or_missing_token_is_401(gateway: ServerThread) -> None:
    assert _admin(gateway, "/accounts", token="wrong").status_code == 401
    response = httpx.post(f"{gateway.url}/api/v1/admin/accounts")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_api_keys_do_not_open_the_operator_api(gateway: ServerThread, account) -> None:
    assert _admin(gateway, "/accounts", token=account.key).status_code == 401


def test_data_collection_is_an_account_setting(gateway: ServerThread) -> None:
    created = _admin(gateway, "/accounts", {"credits": "1", "data_collection": "allow"}).json()
    assert created["data_collection"] == "allow"
    account = gateway.app.state.accounts.accounts.get(created["account_id"])
    assert account.data_collection == "allow"
    assert _admin(gateway, "/accounts", {}).json()["data_collection"] == "deny"

    refused = _admin(gateway, "/accounts", {"data_collection": "sometimes"})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "data_collection"
