"""The account API the dashboard reads and changes: settings, credit lots, quotes, activity as
CSV, and who may call what. Real HTTP to a real gateway on moto."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest

from onerouter.accounts.service import AccountService, NewAccount
from onerouter.api.app import create_app
from onerouter.api.callers import Caller, Person
from onerouter.billing.lots import CreditLots
from onerouter.errors import AuthenticationFailed
from onerouter.settings import Settings
from onerouter.store.records import utcnow
from onerouter.usage.consumer import UsageConsumer
from tests.account_api import bill, call, event_of, manager
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

HI = [{"role": "user", "content": "hi"}]
LOT_FIELDS = {
    "id",
    "kind",
    "amount",
    "remaining",
    "refunded",
    "expired",
    "created_at",
    "expires_at",
    "note",
}


@pytest.fixture(scope="module")
def consumer(settings: Settings) -> UsageConsumer:
    return UsageConsumer.from_settings(settings)


def _service(gateway: ServerThread) -> AccountService:
    service: AccountService = gateway.app.state.accounts
    return service


# ---------------------------------------------------------------- GET and PATCH /account


def test_the_account_as_a_key_sees_it(gateway: ServerThread, account: NewAccount) -> None:
    response = call(gateway, "GET", "/account", account.key)
    assert response.status_code == 200
    data = response.json()["data"]
    stored = _service(gateway).accounts.get(account.account_id)
    assert stored is not None
    assert data == {
        "account_id": account.account_id,
        "email": None,  # a key has no email; a signed-in person does
        "data_collection": "deny",
        "created_at": stored.created_at,
        "rate_limit": None,  # limits are off for the shared test gateway (conftest)
    }


def test_a_management_key_changes_data_collection_and_routing_follows_at_once(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=account.key, max_retries=0)
    # test/policy is cheapest at `trainer`, which may train on prompts: denied by default.
    before = client.chat.completions.create(model="test/policy", messages=HI)
    assert before.model_extra and before.model_extra["provider"] == "backup"

    changed = call(
        gateway, "PATCH", "/account", manager(gateway, account), {"data_collection": "allow"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["data_collection"] == "allow"
    assert (
        call(gateway, "GET", "/account", account.key).json()["data"]["data_collection"] == "allow"
    )
    # The key was cached with the old setting; this process forgot it.
    after = client.chat.completions.create(model="test/policy", messages=HI)
    assert after.model_extra and after.model_extra["provider"] == "trainer"

    back = call(
        gateway, "PATCH", "/account", manager(gateway, account), {"data_collection": "deny"}
    )
    assert back.json()["data"]["data_collection"] == "deny"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"data_collection": "maybe"},
        {"data_collection": None},
        {"data_collection": "allow", "x": 1},
    ],
)
def test_bad_account_changes_are_400(
    gateway: ServerThread, account: NewAccount, body: dict[str, Any]
) -> None:
    response = call(gateway, "PATCH", "/account", manager(gateway, account), body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    stored = _service(gateway).accounts.get(account.account_id)
    assert stored is not None and stored.data_collection == "deny"


def test_a_regular_key_cannot_change_the_account(
    gateway: ServerThread, account: NewAccount
) -> None:
    response = call(gateway, "PATCH", "/account", account.key, {"data_collection": "allow"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_a_management_key"


def test_no_key_is_401(gateway: ServerThread) -> None:
    for method, path in (
        ("GET", "/account"),
        ("PATCH", "/account"),
        ("GET", "/credits/lots"),
        ("GET", "/generations"),
        ("GET", "/activity"),
    ):
        response = call(gateway, method, path, None)
        assert response.status_code == 401, (method, path)
        assert call(gateway, method, path, "sk-or1-nope").status_code == 401


# ---------------------------------------------------------------- GET /credits/lots


def test_lots_after_grants_purchase_refund_usage_and_expiry(
    gateway: ServerThread, account: NewAccount, consumer: UsageConsumer
) -> None:
    service = _service(gateway)
    time.sleep(0.002)  # lots are ordered by their milliseconds
    assert service.grant(account.account_id, Decimal(5), grant_id="welcome", note="welcome")
    time.sleep(0.002)
    assert service.purchase(account.account_id, Decimal(20), "cs_test_lots", "pi_test_lots")
    credit_lots = CreditLots(service.accounts, service.ledger)
    refunded = credit_lots.refund(account.account_id, "purchase#cs_test_lots", Decimal(5), utcnow())
    assert refunded == 5
    bill(consumer, event_of(account, cost="12"))

    response = call(gateway, "GET", "/credits/lots", account.key)
    assert response.status_code == 200
    lots = response.json()["data"]
    assert all(set(lot) == LOT_FIELDS for lot in lots)
    # Newest first; the $12 of usage took the opening $10 and $2 of the grant.
    assert [(lot["id"], lot["kind"]) for lot in lots] == [
        ("purchase#cs_test_lots", "purchase"),
        ("grant#welcome", "grant"),
        ("grant#opening", "grant"),
    ]
    money = [(lot["amount"], lot["refunded"], lot["remaining"], lot["expired"]) for lot in lots]
    assert money == [("20", "5", "15", "0"), ("5", "0", "3", "0"), ("10", "0", "0", "0")]
    assert lots[1]["note"] == "welcome"
    assert all(lot["expires_at"] > lot["created_at"] for lot in lots)
    credits = call(gateway, "GET", "/credits", account.key).json()["data"]
    assert Decimal(credits["balance"]) == sum(Decimal(lot["remaining"]) for lot in lots) == 18

    # A year on, the expiry job takes what is left of each.
    handled, expired = credit_lots.expire_account(account.account_id, "2099-01-01T00:00:00.000Z")
    assert (handled, expired) == (3, Decimal(18))
    after = call(gateway, "GET", "/credits/lots", account.key).json()["data"]
    assert [(lot["remaining"], lot["expired"]) for lot in after] == [
        ("0", "15"),
        ("0", "3"),
        ("0", "0"),
    ]


def test_an_account_without_credit_has_no_lots(gateway: ServerThread) -> None:
    opened = _service(gateway).open_account()
    response = call(gateway, "GET", "/credits/lots", opened.key)
    assert response.status_code == 200 and response.json() == {"data": []}


# ---------------------------------------------------------------- GET /credits/quote


def test_a_quote_needs_no_key(gateway: ServerThread) -> None:
    response = call(gateway, "GET", "/credits/quote", None, params={"amount": "10"})
    assert response.status_code == 200
    assert response.json() == {"data": {"amount": "10", "fee": "0.85", "total": "10.85"}}
    priced = call(gateway, "GET", "/credits/quote", None, params={"amount": "5.10"}).json()
    assert priced["data"] == {"amount": "5.1", "fee": "0.61", "total": "5.71"}


@pytest.mark.parametrize("amount", ["4.99", "10000.01", "10.001", "ten", "-5", "", None])
def test_a_quote_out_of_range_names_the_bounds(gateway: ServerThread, amount: str | None) -> None:
    params = {} if amount is None else {"amount": amount}
    response = call(gateway, "GET", "/credits/quote", None, params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "amount"
    assert "5" in error["message"] and "10000" in error["message"]


# ---------------------------------------------------------------- GET /activity?format=csv


def test_activity_as_csv_has_the_json_rows(
    gateway: ServerThread, account: NewAccount, consumer: UsageConsumer
) -> None:
    bill(
        consumer,
        event_of(account, cost="0.5", model="test/chat"),
        event_of(account, cost="0.25", model="test/chat"),
        event_of(account, cost="0.125", model="test/solo", day="2026-11-21"),
    )
    params = {"from": "2026-11-20", "to": "2026-11-21"}
    as_json = call(gateway, "GET", "/activity", account.key, params=params).json()
    response = call(gateway, "GET", "/activity", account.key, params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".csv" in disposition
    rows = list(csv.reader(io.StringIO(response.text)))
    header, body = rows[0], rows[1:]
    assert header == list(as_json["data"][0])
    assert len(body) == len(as_json["data"]) == 2
    assert body == [[str(value) for value in row.values()] for row in as_json["data"]]
    assert [row[header.index("cost")] for row in body] == ["0.75", "0.125"]


def test_activity_csv_of_nothing_is_a_header(gateway: ServerThread, account: NewAccount) -> None:
    params = {"from": "2020-01-01", "to": "2020-01-02", "format": "csv"}
    response = call(gateway, "GET", "/activity", account.key, params=params)
    assert response.status_code == 200
    assert response.text.strip().split(",")[:2] == ["date", "model"]
    assert len(response.text.strip().splitlines()) == 1


def test_activity_format_is_json_or_csv(gateway: ServerThread, account: NewAccount) -> None:
    response = call(gateway, "GET", "/activity", account.key, params={"format": "xml"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "format"


# ---------------------------------------------------------------- people (the dashboard)


class FakePeople:
    """Stands in for the lead's `accounts/people.py`: a "token" a.<account id>.b is that
    account's person."""

    def __init__(self, service: AccountService) -> None:
        self.service = service

    async def caller(self, authorization: str) -> Caller:
        account_id = authorization.partition(" ")[2].split(".")[1]
        account = self.service.accounts.get(account_id)
        if account is None:
            raise AuthenticationFailed("Unknown person.")
        return Caller(account, person=Person(sub="sub-" + account_id, email="ada@example.com"))


@pytest.fixture(scope="module")
def dashboard(settings: Settings) -> Iterator[ServerThread]:
    app = create_app(settings)
    app.state.people = FakePeople(app.state.accounts)
    with ServerThread(app, name="dashboard") as server:
        yield server


def test_a_person_reads_and_manages_the_account(dashboard: ServerThread) -> None:
    opened = _service(dashboard).open_account(Decimal(1), management_key=True)
    token = f"header.{opened.account_id}.signature"

    account = call(dashboard, "GET", "/account", token).json()["data"]
    assert (account["account_id"], account["email"]) == (opened.account_id, "ada@example.com")
    changed = call(dashboard, "PATCH", "/account", token, {"data_collection": "allow"})
    assert changed.status_code == 200 and changed.json()["data"]["email"] == "ada@example.com"

    # A person has no key of their own to lock out: they may revoke any key, management too.
    assert opened.management_key_id
    for key_id in (opened.management_key_id, opened.key_id):
        disabled = call(dashboard, "PATCH", f"/keys/{key_id}", token, {"disabled": True})
        assert disabled.status_code == 200, disabled.text
    assert call(dashboard, "DELETE", f"/keys/{opened.key_id}", token).status_code == 200
    created = call(dashboard, "POST", "/keys", token, {"label": "new"})
    assert created.status_code == 201
    listed = call(dashboard, "GET", "/keys", token).json()["data"]
    assert {key["key_id"] for key in listed} == {
        opened.management_key_id,
        created.json()["data"]["key_id"],
    }

    # Buying credit: a person passes the caller checks (this gateway has no Stripe: 503).
    bought = call(dashboard, "POST", "/credits/checkout", token, {"amount": "10"})
    assert bought.status_code == 503, bought.text
    assert bought.json()["error"]["code"] == "payments_not_configured"
    assert call(dashboard, "GET", "/credits/lots", token).json()["data"][0]["amount"] == "1"


def test_a_management_key_still_cannot_buy_credit(
    gateway: ServerThread, account: NewAccount
) -> None:
    response = call(
        gateway, "POST", "/credits/checkout", manager(gateway, account), {"amount": "10"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "management_key"
