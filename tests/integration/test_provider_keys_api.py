"""Stored provider keys (BYOK) through the running gateway: storing, listing and deleting them
with a management key or as a signed-in person, what is at rest, who may do what, and the
hot-path read routing uses."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import boto3
import pytest

from onerouter.accounts.envelope import Envelope, client
from onerouter.accounts.provider_keys import ProviderKeys, StoredCredential, hint
from onerouter.accounts.service import AccountService, NewAccount
from onerouter.settings import Settings
from onerouter.store.provider_keys import ProviderKeysRepository
from onerouter.store.records import Account
from tests.account_api import call, manager
from tests.fakes.gateway import ServerThread

VIEW_FIELDS = {"provider", "hint", "fallback", "created_at", "updated_at"}


def _secret() -> str:
    return f"sk-proj-{secrets.token_urlsafe(24)}"


def _vault(gateway: ServerThread) -> ProviderKeys:
    vault: ProviderKeys = gateway.app.state.provider_keys
    return vault


def _account(gateway: ServerThread, account_id: str) -> Account:
    service: AccountService = gateway.app.state.accounts
    found = service.accounts.get(account_id)
    assert found is not None
    return found


def _person(gateway: ServerThread, settings: Settings, account: NewAccount) -> str:
    """A person signed in to `account` through the dashboard's sign-in: their ID token."""
    email = f"byok-{secrets.token_hex(4)}@example.com"
    signing_up = {"email": email, "password": "owner of this account"}
    assert call(gateway, "POST", "/auth/sign-up", None, signing_up).status_code == 201
    code = gateway.app.state.cognito.code_for(email)
    confirmed = call(gateway, "POST", "/auth/confirm", None, {"email": email, "code": code})
    assert confirmed.status_code == 200
    assert settings.cognito is not None
    user = boto3.client("cognito-idp").admin_get_user(
        UserPoolId=settings.cognito.user_pool_id, Username=email
    )
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    gateway.app.state.people.link(sub, email, account.account_id)
    session = call(gateway, "POST", "/auth/sign-in", None, signing_up).json()["data"]
    token: str = session["token"]
    return token


# ---------------------------------------------------------------- the API


@pytest.mark.parametrize("as_person", [False, True], ids=["management-key", "person"])
def test_store_list_replace_and_delete(
    gateway: ServerThread,
    settings: Settings,
    account: NewAccount,
    as_person: bool,
) -> None:
    token = _person(gateway, settings, account) if as_person else manager(gateway, account)
    assert call(gateway, "GET", "/provider-keys", token).json() == {"data": []}

    secret = _secret()
    stored = call(gateway, "PUT", "/provider-keys/primary", token, {"api_key": secret})
    assert stored.status_code == 200, stored.text
    assert stored.headers["cache-control"] == "no-store"
    view = stored.json()["data"]
    assert set(view) == VIEW_FIELDS
    assert view["provider"] == "primary"
    assert view["hint"] == f"sk-proj-…{secret[-4:]}"
    assert view["fallback"] is True
    assert secret not in stored.text
    assert _account(gateway, account.account_id).byok_providers == {"primary"}

    listed = call(gateway, "GET", "/provider-keys", token)
    assert listed.status_code == 200
    assert listed.headers["cache-control"] == "no-store"
    assert listed.json() == {"data": [view]}
    assert secret not in listed.text

    # Replacing keeps created_at; a second provider joins the account's set.
    replacement = _secret()
    replaced = call(
        gateway,
        "PUT",
        "/provider-keys/primary",
        token,
        {"api_key": f"  {replacement}\n", "fallback": False},
    )
    assert replaced.status_code == 200, replaced.text
    again = replaced.json()["data"]
    assert again["created_at"] == view["created_at"]
    assert again["hint"] == f"sk-proj-…{replacement[-4:]}"
    assert again["fallback"] is False
    backup = call(gateway, "PUT", "/provider-keys/backup", token, {"api_key": _secret()})
    assert backup.status_code == 200
    assert _account(gateway, account.account_id).byok_providers == {"primary", "backup"}
    providers = [
        v["provider"] for v in call(gateway, "GET", "/provider-keys", token).json()["data"]
    ]
    assert providers == ["backup", "primary"]

    deleted = call(gateway, "DELETE", "/provider-keys/primary", token)
    assert deleted.status_code == 200
    assert deleted.json() == {"data": {"provider": "primary", "deleted": True}}
    assert _account(gateway, account.account_id).byok_providers == {"backup"}
    gone = call(gateway, "DELETE", "/provider-keys/primary", token)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "provider_key_not_found"
    assert call(gateway, "DELETE", "/provider-keys/backup", token).status_code == 200
    assert _account(gateway, account.account_id).byok_providers == frozenset()
    assert call(gateway, "GET", "/provider-keys", token).json() == {"data": []}


def test_the_stored_item_holds_no_trace_of_the_key(
    gateway: ServerThread, settings: Settings, account: NewAccount
) -> None:
    secret = _secret()
    token = manager(gateway, account)
    assert call(gateway, "PUT", "/provider-keys/primary", token, {"api_key": secret}).is_success
    item = boto3.client("dynamodb").get_item(
        TableName=settings.tables.provider_keys,
        Key={"account_id": {"S": account.account_id}, "provider": {"S": "primary"}},
        ConsistentRead=True,
    )["Item"]
    assert {"ciphertext", "nonce", "data_key", "hint", "fallback"} <= set(item)
    plain = secret.encode()
    traces = [plain, base64.b64encode(plain), base64.urlsafe_b64encode(plain), plain.hex().encode()]
    traces += [secret[8:].encode(), base64.b64encode(secret[8:].encode())]
    for name, attribute in item.items():
        ((_, value),) = attribute.items()
        raw = value if isinstance(value, bytes) else str(value).encode()
        for trace in traces:
            assert trace not in raw, name
        if isinstance(value, bytes):
            for trace in traces:
                assert trace not in base64.b64encode(value), name
    assert item["hint"] == {"S": hint(secret)}


def test_accounts_do_not_reach_each_other(gateway: ServerThread, account: NewAccount) -> None:
    service: AccountService = gateway.app.state.accounts
    other = service.open_account(Decimal(1))
    mine, theirs = manager(gateway, account), manager(gateway, other)
    assert call(gateway, "PUT", "/provider-keys/primary", theirs, {"api_key": _secret()}).is_success

    assert call(gateway, "GET", "/provider-keys", mine).json() == {"data": []}
    refused = call(gateway, "DELETE", "/provider-keys/primary", mine)
    assert refused.status_code == 404
    # Storing my own key for the same provider leaves theirs alone.
    assert call(gateway, "PUT", "/provider-keys/primary", mine, {"api_key": _secret()}).is_success
    assert call(gateway, "DELETE", "/provider-keys/primary", mine).status_code == 200
    still = call(gateway, "GET", "/provider-keys", theirs).json()["data"]
    assert [v["provider"] for v in still] == ["primary"]
    assert _account(gateway, other.account_id).byok_providers == {"primary"}
    assert _account(gateway, account.account_id).byok_providers == frozenset()


def test_an_unknown_provider_is_a_404_naming_it(gateway: ServerThread, account: NewAccount) -> None:
    answer = call(
        gateway, "PUT", "/provider-keys/nosuch", manager(gateway, account), {"api_key": "sk-x1"}
    )
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "provider_not_found"
    assert "'nosuch'" in error["message"] and "GET /api/v1/models" in error["message"]
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"api_key": ""},
        {"api_key": "   "},
        {"api_key": "sk-has space"},
        {"api_key": "sk-tab\tinside"},
        {"api_key": "x" * 4097},
        {"api_key": 123},
        {"api_key": "sk-fine", "fallback": "yes"},
        {"api_key": "sk-fine", "extra": 1},
    ],
)
def test_bad_bodies_are_400_and_never_echo_the_key(
    gateway: ServerThread, account: NewAccount, body: dict[str, Any]
) -> None:
    answer = call(gateway, "PUT", "/provider-keys/primary", manager(gateway, account), body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["type"] == "invalid_request_error"
    if isinstance(body.get("api_key"), str) and body["api_key"].strip():
        assert body["api_key"] not in answer.text
    assert _account(gateway, account.account_id).byok_providers == frozenset()


def test_a_regular_key_may_not_touch_stored_keys(
    gateway: ServerThread, account: NewAccount
) -> None:
    for method, path, body in (
        ("GET", "/provider-keys", None),
        ("PUT", "/provider-keys/primary", {"api_key": "sk-abc123"}),
        ("DELETE", "/provider-keys/primary", None),
    ):
        answer = call(gateway, method, path, account.key, body)
        assert answer.status_code == 403, (method, answer.text)
        assert answer.json()["error"]["code"] == "not_a_management_key"
    assert call(gateway, "GET", "/provider-keys", None).status_code == 401


def test_without_a_kms_key_storing_is_refused_and_listing_works(
    gateway: ServerThread, account: NewAccount
) -> None:
    vault = _vault(gateway)
    configured = vault.envelope
    vault.envelope = Envelope(None)
    try:
        token = manager(gateway, account)
        refused = call(gateway, "PUT", "/provider-keys/primary", token, {"api_key": "sk-abc123"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "provider_keys_not_configured"
        assert "ONEROUTER_KMS_KEY_ID" in refused.json()["error"]["message"]
        assert call(gateway, "GET", "/provider-keys", token).json() == {"data": []}
    finally:
        vault.envelope = configured


# ---------------------------------------------------------------- the hot path


class CountingKms:
    """The KMS client, counting Decrypt calls."""

    def __init__(self) -> None:
        self.decrypts = 0

    def decrypt(self, **arguments: Any) -> Any:
        self.decrypts += 1
        return client().decrypt(**arguments)

    def generate_data_key(self, **arguments: Any) -> Any:
        return client().generate_data_key(**arguments)


class NoIo:
    """Stands in for the repository and KMS: any call fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"I/O on the hot path: {name}")


def _counting_vault(gateway: ServerThread, ttl: float = 60.0) -> tuple[ProviderKeys, CountingKms]:
    shared = _vault(gateway)
    kms = CountingKms()
    vault = ProviderKeys(
        shared.repository, Envelope(shared.envelope.key_id, kms=kms), shared.providers, ttl=ttl
    )
    return vault, kms


def _credentials(vault: ProviderKeys, account: Account) -> Mapping[str, StoredCredential]:
    return asyncio.run(vault.credentials(account))


def test_credentials_decrypt_once_then_come_from_memory(
    gateway: ServerThread, account: NewAccount
) -> None:
    vault, kms = _counting_vault(gateway)
    primary, backup = _secret(), _secret()
    vault.save(account.account_id, "primary", primary)
    vault.save(account.account_id, "backup", backup, fallback=False)
    record = _account(gateway, account.account_id)

    first = _credentials(vault, record)
    assert dict(first) == {
        "primary": StoredCredential("primary", primary, True),
        "backup": StoredCredential("backup", backup, False),
    }
    assert kms.decrypts == 2
    assert _credentials(vault, record) is first  # from memory: no KMS call
    assert kms.decrypts == 2
    assert primary not in repr(first) and backup not in repr(first)

    # Deleted elsewhere (this vault's cache is not told): once the account record lists
    # other providers than the cached entry was loaded for, the entry is reloaded at once.
    assert vault.repository.delete(account.account_id, "backup")
    assert _credentials(vault, record) is first
    changed = _account(gateway, account.account_id)
    assert changed.byok_providers == {"primary"}
    assert set(_credentials(vault, changed)) == {"primary"}
    assert kms.decrypts == 3


def test_concurrent_reads_of_one_account_share_one_load(
    gateway: ServerThread, account: NewAccount
) -> None:
    vault, kms = _counting_vault(gateway)
    vault.save(account.account_id, "primary", _secret())
    record = _account(gateway, account.account_id)

    async def many() -> list[Mapping[str, StoredCredential]]:
        return list(await asyncio.gather(*(vault.credentials(record) for _ in range(8))))

    answers = asyncio.run(many())
    assert all(answer is answers[0] for answer in answers)
    assert kms.decrypts == 1


def test_credentials_expire_after_the_ttl(gateway: ServerThread, account: NewAccount) -> None:
    vault, kms = _counting_vault(gateway, ttl=0.01)
    vault.save(account.account_id, "primary", _secret())
    record = _account(gateway, account.account_id)
    _credentials(vault, record)
    asyncio.run(asyncio.sleep(0.02))
    _credentials(vault, record)
    assert kms.decrypts == 2


def test_no_stored_keys_means_no_io(gateway: ServerThread, account: NewAccount) -> None:
    vault = ProviderKeys(NoIo(), NoIo(), {"primary"})  # type: ignore[arg-type]
    record = _account(gateway, account.account_id)
    assert record.byok_providers == frozenset()
    assert dict(_credentials(vault, record)) == {}


def test_a_key_that_cannot_be_opened_fails_closed(
    gateway: ServerThread, settings: Settings, account: NewAccount
) -> None:
    """Routing must not quietly use shared keys instead: a clear 503, nothing of the key."""
    vault, _ = _counting_vault(gateway)
    secret = _secret()
    vault.save(account.account_id, "primary", secret)
    boto3.client("dynamodb").update_item(
        TableName=settings.tables.provider_keys,
        Key={"account_id": {"S": account.account_id}, "provider": {"S": "primary"}},
        UpdateExpression="SET nonce = :nonce",
        ExpressionAttributeValues={":nonce": {"B": b"\x00" * 12}},
    )
    record = _account(gateway, account.account_id)
    with pytest.raises(Exception) as raised:
        _credentials(vault, record)
    assert getattr(raised.value, "status", None) == 503
    assert secret not in str(raised.value)


def test_the_repository_refuses_a_missing_account(settings: Settings) -> None:
    from onerouter.store.provider_keys import StoredKey

    repository = ProviderKeysRepository(settings.tables.provider_keys, settings.tables.accounts)
    missing = StoredKey("acct_missing", "primary", b"c", b"n", b"d", "…", True, "t", "t")
    assert repository.put(missing) is None
    assert repository.get("acct_missing", "primary") is None
    assert repository.delete("acct_missing", "primary") is False
