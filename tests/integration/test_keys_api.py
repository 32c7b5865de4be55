"""The key management API (/api/v1/keys), driven over HTTP, with the OpenAI SDK proving what a
key can and cannot do afterwards."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from onerouter.accounts.auth import Principal
from onerouter.accounts.service import NewAccount
from onerouter.errors import PermissionDenied
from onerouter.store.dynamo import from_item
from tests.conftest import ADMIN_TOKEN
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

HI = [{"role": "user", "content": "hi"}]
VIEW_FIELDS = {
    "key_id",
    "label",
    "hint",
    "created_at",
    "disabled",
    "management",
    "limit",
    "usage",
    "limit_remaining",
    "rate_limit",
}


def _call(
    gateway: ServerThread, method: str, path: str, key: str | None, json: Any = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.request(
        method, f"{gateway.url}/api/v1{path}", json=json, headers=headers, timeout=10
    )


def _manager(gateway: ServerThread, account: NewAccount) -> str:
    """A management key for `account`, from the operator API."""
    response = _call(
        gateway,
        "POST",
        f"/admin/accounts/{account.account_id}/keys",
        ADMIN_TOKEN,
        {"label": "ops", "management": True},
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["management"] is True
    secret: str = response.json()["key"]
    return secret


def _create(gateway: ServerThread, manager: str, **body: Any) -> dict[str, Any]:
    response = _call(gateway, "POST", "/keys", manager, {"label": "app", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _openai(gateway: ServerThread, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def _chat(gateway: ServerThread, key: str, **extra: Any) -> Any:
    return _openai(gateway, key).chat.completions.create(model="test/solo", messages=HI, **extra)


def _stored(gateway: ServerThread, key_hash: str) -> dict[str, Any] | None:
    keys = gateway.app.state.accounts.keys
    item = keys.dynamodb.get_item(TableName=keys.table, Key={"key_hash": {"S": key_hash}})
    return item.get("Item")


def test_a_created_key_works_and_its_secret_is_shown_once(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    manager = _manager(gateway, account)
    response = _call(gateway, "POST", "/keys", manager, {"label": "  my app  ", "limit": 2.5})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    secret, view = created["key"], created["data"]
    assert secret.startswith("sk-or1-")
    assert set(view) == VIEW_FIELDS
    assert view["label"] == "my app"
    assert view["management"] is False and view["disabled"] is False
    assert (view["limit"], view["usage"], view["limit_remaining"]) == ("2.5", "0", "2.5")
    assert view["hint"] == f"{secret[:10]}...{secret[-4:]}"

    assert _chat(gateway, secret).choices[0].message.content

    # Listed without its secret (nor any key's hash), beside the account's other keys.
    listed = _call(gateway, "GET", "/keys", manager)
    assert listed.status_code == 200
    assert secret not in listed.text and account.key not in listed.text
    assert manager not in listed.text
    data = listed.json()["data"]
    assert all(set(entry) == VIEW_FIELDS for entry in data)
    assert {entry["key_id"] for entry in data} >= {account.key_id, view["key_id"]}
    assert [e["management"] for e in data].count(True) == 1
    assert next(e for e in data if e["key_id"] == view["key_id"]) == view
    for shown in (secret, manager, account.key):
        assert hashlib.sha256(shown.encode()).hexdigest() not in listed.text

    # The store holds the SHA-256 of the secret and never the secret itself.
    key_hash = hashlib.sha256(secret.encode()).hexdigest()
    item = _stored(gateway, key_hash)
    assert item is not None
    stored = from_item(item)
    assert stored["key_id"] == view["key_id"] and stored["key_hash"] == key_hash
    assert secret not in repr(item)
    assert set(stored) <= {
        *VIEW_FIELDS - {"limit_remaining", "rate_limit"},
        "key_hash",
        "account_id",
    }


def test_lists_only_the_callers_account(gateway: ServerThread, account: NewAccount) -> None:
    other = gateway.app.state.accounts.open_account(Decimal(1))
    mine = _create(gateway, _manager(gateway, account))["data"]["key_id"]
    theirs = _create(gateway, _manager(gateway, other))["data"]["key_id"]

    listed = {
        e["key_id"] for e in _call(gateway, "GET", "/keys", _manager(gateway, other)).json()["data"]
    }
    assert theirs in listed and other.key_id in listed
    assert mine not in listed and account.key_id not in listed


def test_disabling_and_enabling_a_key(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    manager = _manager(gateway, account)
    assert _chat(gateway, account.key).choices  # cached as enabled in this process

    disabled = _call(gateway, "PATCH", f"/keys/{account.key_id}", manager, {"disabled": True})
    assert disabled.status_code == 200
    assert disabled.json()["data"]["disabled"] is True
    with pytest.raises(openai.PermissionDeniedError) as caught:
        _chat(gateway, account.key)
    assert caught.value.code == "key_disabled"

    enabled = _call(gateway, "PATCH", f"/keys/{account.key_id}", manager, {"disabled": False})
    assert enabled.json()["data"]["disabled"] is False
    assert _chat(gateway, account.key).choices


def test_a_new_limit_is_enforced_at_once_and_can_be_removed(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    manager = _manager(gateway, account)
    assert _chat(gateway, account.key, max_tokens=1000).choices

    # test/solo: $2 per million completion tokens, so 1,000 of them may cost $0.002.
    patched = _call(gateway, "PATCH", f"/keys/{account.key_id}", manager, {"limit": "0.001"})
    assert patched.status_code == 200
    assert patched.json()["data"]["limit"] == "0.001"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        _chat(gateway, account.key, max_tokens=1000)
    assert caught.value.code == "key_limit_exceeded"
    assert _chat(gateway, account.key, max_tokens=10).choices  # well within it

    removed = _call(gateway, "PATCH", f"/keys/{account.key_id}", manager, {"limit": None})
    assert removed.json()["data"]["limit"] is None
    assert removed.json()["data"]["limit_remaining"] is None
    assert _chat(gateway, account.key, max_tokens=1000).choices


def test_updates_leave_usage_alone(gateway: ServerThread, account: NewAccount) -> None:
    manager = _manager(gateway, account)
    keys = gateway.app.state.accounts.keys
    key_hash = hashlib.sha256(account.key.encode()).hexdigest()
    keys.dynamodb.transact_write_items(
        TransactItems=[keys.add_usage_item(key_hash, Decimal("0.75"))]
    )

    response = _call(
        gateway,
        "PATCH",
        f"/keys/{account.key_id}",
        manager,
        {"label": "renamed", "limit": "1"},
    )
    assert response.status_code == 200
    view = response.json()["data"]
    assert (view["label"], view["limit"], view["usage"]) == ("renamed", "1", "0.75")
    assert view["limit_remaining"] == "0.25"
    stored = keys.get(key_hash)
    assert stored.usage == Decimal("0.75") and stored.label == "renamed"
    assert stored.hint == view["hint"] and stored.created_at == view["created_at"]


def test_a_deleted_key_stops_working(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    manager = _manager(gateway, account)
    created = _create(gateway, manager)
    secret, key_id = created["key"], created["data"]["key_id"]
    assert _chat(gateway, secret).choices  # now in this process's auth cache

    deleted = _call(gateway, "DELETE", f"/keys/{key_id}", manager)
    assert deleted.status_code == 200
    assert deleted.json() == {"data": {"key_id": key_id, "deleted": True}}
    with pytest.raises(openai.AuthenticationError):
        _chat(gateway, secret)
    assert _stored(gateway, hashlib.sha256(secret.encode()).hexdigest()) is None
    listed = _call(gateway, "GET", "/keys", manager).json()["data"]
    assert key_id not in {e["key_id"] for e in listed}

    assert _call(gateway, "DELETE", f"/keys/{key_id}", manager).status_code == 404
    again = _call(gateway, "PATCH", f"/keys/{key_id}", manager, {"label": "x"})
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "key_not_found"


def test_another_accounts_key_is_not_found(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    other = gateway.app.state.accounts.open_account(Decimal(1))
    manager = _manager(gateway, account)

    for method, body in (("PATCH", {"disabled": True}), ("DELETE", None)):
        response = _call(gateway, method, f"/keys/{other.key_id}", manager, body)
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "key_not_found"
    assert _chat(gateway, other.key).choices  # untouched
    stored = gateway.app.state.accounts.keys.get(hashlib.sha256(other.key.encode()).hexdigest())
    assert stored is not None and stored.disabled is False

    unknown = _call(gateway, "PATCH", "/keys/key_nothere", manager, {"disabled": True})
    assert unknown.status_code == 404


def test_a_management_key_cannot_pay_for_completions(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    manager = _manager(gateway, account)
    client = _openai(gateway, manager)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="test/solo", messages=HI)
    assert caught.value.code == "management_key"
    assert "management key" in caught.value.message
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.completions.create(model="test/solo", prompt="hi")
    assert caught.value.code == "management_key"
    assert fake.requests == []


def test_check_can_spend_refuses_management_keys(
    gateway: ServerThread, account: NewAccount
) -> None:
    key, _ = gateway.app.state.accounts.issue_key(account.account_id, "m", management=True)
    opened = gateway.app.state.accounts.accounts.get(account.account_id)
    with pytest.raises(PermissionDenied) as caught:
        Principal(key, opened).check_can_spend()
    assert caught.value.code == "management_key"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/keys", None),
        ("POST", "/keys", {"label": "sneaky"}),
        ("PATCH", "/keys/{key_id}", {"limit": "1000"}),
        ("DELETE", "/keys/{key_id}", None),
    ],
)
def test_a_regular_key_cannot_manage_keys(
    gateway: ServerThread, account: NewAccount, method: str, path: str, body: Any
) -> None:
    response = _call(gateway, method, path.format(key_id=account.key_id), account.key, body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_a_management_key"
    assert (
        gateway.app.state.accounts.keys.get(hashlib.sha256(account.key.encode()).hexdigest()).limit
        is None
    )


def test_missing_or_unknown_key_is_401(gateway: ServerThread) -> None:
    assert _call(gateway, "GET", "/keys", None).status_code == 401
    assert _call(gateway, "GET", "/keys", "sk-or1-no-such-key-anywhere").status_code == 401


def test_a_management_key_cannot_revoke_itself_but_another_can(
    gateway: ServerThread, account: NewAccount
) -> None:
    first, second = _manager(gateway, account), _manager(gateway, account)
    listed = _call(gateway, "GET", "/keys", first).json()["data"]
    first_id = next(e["key_id"] for e in listed if e["hint"][-4:] == first[-4:] and e["management"])

    for method, body in (("PATCH", {"disabled": True}), ("DELETE", None)):
        refused = _call(gateway, method, f"/keys/{first_id}", first, body)
        assert refused.status_code == 403, method
        assert refused.json()["error"]["code"] == "cannot_revoke_own_key"
    renamed = _call(gateway, "PATCH", f"/keys/{first_id}", first, {"label": "old ops"})
    assert renamed.json()["data"]["label"] == "old ops"
    no_limit = _call(gateway, "PATCH", f"/keys/{first_id}", first, {"limit": "5"})
    assert no_limit.status_code == 400 and no_limit.json()["error"]["param"] == "limit"

    # Rotation: the second management key retires the first.
    assert _call(gateway, "DELETE", f"/keys/{first_id}", second).status_code == 200
    assert _call(gateway, "GET", "/keys", first).status_code == 401
    assert _call(gateway, "GET", "/keys", second).status_code == 200


def test_a_disabled_management_key_cannot_manage(
    gateway: ServerThread, account: NewAccount
) -> None:
    first, second = _manager(gateway, account), _manager(gateway, account)
    listed = _call(gateway, "GET", "/keys", second).json()["data"]
    first_id = next(e["key_id"] for e in listed if e["hint"][-4:] == first[-4:] and e["management"])
    assert _call(gateway, "PATCH", f"/keys/{first_id}", second, {"disabled": True}).is_success
    refused = _call(gateway, "GET", "/keys", first)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "key_disabled"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "label"),
        ({"label": ""}, "label"),
        ({"label": "   "}, "label"),
        ({"label": "x" * 101}, "label"),
        ({"label": 7}, "label"),
        ({"label": "a", "limit": "0"}, "limit"),
        ({"label": "a", "limit": -1}, "limit"),
        ({"label": "a", "limit": "ten"}, "limit"),
        ({"label": "a", "limit": "1000000.01"}, "limit"),
        ({"label": "a", "limit": "1e-20"}, "limit"),
        ({"label": "a", "limit": True}, "limit"),
        ({"label": "a", "management": True}, "management"),
        ({"label": "a", "surprise": 1}, "surprise"),
    ],
)
def test_bad_create_bodies_are_400(
    gateway: ServerThread, account: NewAccount, body: dict[str, Any], param: str
) -> None:
    manager = _manager(gateway, account)
    response = _call(gateway, "POST", "/keys", manager, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert param in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, None),
        ({"limit": 0}, "limit"),
        ({"limit": "1000001"}, "limit"),
        ({"disabled": "yes"}, "disabled"),
        ({"disabled": 1}, "disabled"),
        ({"disabled": None}, "disabled"),
        ({"label": None}, "label"),
        ({"label": ""}, "label"),
        ({"usage": "0"}, "usage"),
        ({"management": True}, "management"),
    ],
)
def test_bad_update_bodies_are_400(
    gateway: ServerThread, account: NewAccount, body: dict[str, Any], param: str | None
) -> None:
    manager = _manager(gateway, account)
    response = _call(gateway, "PATCH", f"/keys/{account.key_id}", manager, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    stored = gateway.app.state.accounts.keys.get(hashlib.sha256(account.key.encode()).hexdigest())
    assert (stored.label, stored.limit, stored.disabled) == ("default", None, False)


def test_a_limit_at_the_ceiling_is_accepted(gateway: ServerThread, account: NewAccount) -> None:
    manager = _manager(gateway, account)
    view = _create(gateway, manager, limit=1_000_000)["data"]
    assert view["limit"] == "1000000"
    view = _create(gateway, manager, limit="0.000001")["data"]
    assert view["limit"] == "0.000001"
    view = _create(gateway, manager, limit="2.50000000000000000000000000000000000000000")["data"]
    assert view["limit"] == "2.5"


def test_non_json_bodies_are_400(gateway: ServerThread, account: NewAccount) -> None:
    manager = _manager(gateway, account)
    response = httpx.post(
        f"{gateway.url}/api/v1/keys",
        content=b"{label",
        headers={"authorization": f"Bearer {manager}"},
        timeout=10,
    )
    assert response.status_code == 400


# ------------------------------------------------------------------ the operator's side


def test_operator_issues_keys_for_an_account(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    path = f"/admin/accounts/{account.account_id}/keys"
    regular = _call(gateway, "POST", path, ADMIN_TOKEN, {"label": "ci", "limit": "3"})
    assert regular.status_code == 201
    created = regular.json()
    assert created["account_id"] == account.account_id
    assert created["data"]["management"] is False and created["data"]["limit"] == "3"
    assert _chat(gateway, created["key"]).choices

    default = _call(gateway, "POST", path, ADMIN_TOKEN)
    assert default.status_code == 201 and default.json()["data"]["label"] == "default"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"management": True, "limit": "1"}, "limit"),
        ({"management": "yes"}, "management"),
        ({"limit": "0"}, "limit"),
        ({"label": ""}, "label"),
        ({"key": "sk-or1-choose-my-own"}, "key"),
    ],
)
def test_bad_operator_key_bodies_are_400(
    gateway: ServerThread, account: NewAccount, body: dict[str, Any], param: str
) -> None:
    response = _call(
        gateway, "POST", f"/admin/accounts/{account.account_id}/keys", ADMIN_TOKEN, body
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_operator_keys_need_the_admin_token_and_an_account(
    gateway: ServerThread, account: NewAccount
) -> None:
    path = f"/admin/accounts/{account.account_id}/keys"
    assert _call(gateway, "POST", path, account.key, {"management": True}).status_code == 401
    missing = _call(gateway, "POST", "/admin/accounts/acct_nobody/keys", ADMIN_TOKEN, {})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "account_not_found"
    assert gateway.app.state.accounts.keys.of_account("acct_nobody") == []


def test_an_account_can_open_with_a_management_key(
    gateway: ServerThread, fake: FakeOpenAIProvider
) -> None:
    plain = _call(gateway, "POST", "/admin/accounts", ADMIN_TOKEN, {"credits": "1"}).json()
    assert "management_key" not in plain and "management_key_id" not in plain

    response = _call(
        gateway, "POST", "/admin/accounts", ADMIN_TOKEN, {"credits": "1", "management_key": True}
    )
    assert response.status_code == 201
    opened = response.json()
    assert {"account_id", "key", "key_id", "credits", "data_collection"} < set(opened)
    manager = opened["management_key"]
    assert manager.startswith("sk-or1-") and manager != opened["key"]

    listed = _call(gateway, "GET", "/keys", manager).json()["data"]
    by_id = {e["key_id"]: e for e in listed}
    assert by_id[opened["management_key_id"]]["management"] is True
    assert by_id[opened["key_id"]]["management"] is False
    assert _chat(gateway, opened["key"]).choices


def test_keys_stored_before_management_keys_existed_are_regular(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    keys = gateway.app.state.accounts.keys
    key_hash = hashlib.sha256(account.key.encode()).hexdigest()
    keys.dynamodb.update_item(
        TableName=keys.table,
        Key={"key_hash": {"S": key_hash}},
        UpdateExpression="REMOVE management SET retired_attribute = :x",
        ExpressionAttributeValues={":x": {"S": "left by an older or newer version"}},
    )
    assert "management" not in _stored(gateway, key_hash)
    gateway.app.state.pipeline.authenticator.forget(account.account_id)

    assert keys.get(key_hash).management is False
    assert _chat(gateway, account.key).choices
    listed = _call(gateway, "GET", "/keys", _manager(gateway, account)).json()["data"]
    assert next(e for e in listed if e["key_id"] == account.key_id)["management"] is False
