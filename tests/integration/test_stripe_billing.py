"""Buying credit through Stripe: Checkout against a fake Stripe API, and the webhook with
events signed exactly as Stripe signs them (the SDK's own scheme)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import stripe

from onerouter.accounts.secrets import hash_secret
from onerouter.accounts.service import AccountService, NewAccount
from onerouter.api.app import create_app
from onerouter.billing.money import usd_str
from onerouter.dev.aws import LocalAWS
from onerouter.settings import Settings
from onerouter.usage.consumer import UsageConsumer
from tests.conftest import gateway_env
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider
from tests.fakes.stripe_api import FakeStripe
from tests.usage_events import failed_ids, sqs_event, usage_event

WEBHOOK_SECRET = "whsec_test_" + "0" * 24
WEBHOOK = "/api/v1/billing/stripe/webhook"


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


@pytest.fixture(scope="module")
def stripe_settings(
    aws: LocalAWS,
    catalog_file: Path,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
    fake_stripe: FakeStripe,
) -> Settings:
    env = gateway_env(catalog_file, fakes)
    env.update(
        STRIPE_SECRET_KEY=fake_stripe.api_key,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        ONEROUTER_STRIPE_API_BASE=fake_stripe.url,
        ONEROUTER_PUBLIC_URL="https://onerouter.test/",
    )
    return Settings.from_env(env)


@pytest.fixture(scope="module")
def shop(stripe_settings: Settings) -> Iterator[ServerThread]:
    """A gateway that sells credit through the fake Stripe."""
    with ServerThread(create_app(stripe_settings), name="shop") as server:
        yield server


@pytest.fixture
def buyer(shop: ServerThread, fake_stripe: FakeStripe) -> NewAccount:
    """A fresh account with no credit."""
    fake_stripe.reset()
    opened: NewAccount = shop.app.state.accounts.open_account()
    return opened


def _service(shop: ServerThread) -> AccountService:
    service: AccountService = shop.app.state.accounts
    return service


def balance(shop: ServerThread, account_id: str) -> Decimal:
    account = _service(shop).accounts.get(account_id)
    assert account is not None
    return account.balance


def checkout(shop: ServerThread, key: str, amount: Any) -> httpx.Response:
    return httpx.post(
        f"{shop.url}/api/v1/credits/checkout",
        json={"amount": amount},
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )


def bought(shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount, amount: str) -> str:
    """A Checkout Session of `amount` USD for the buyer; its id."""
    response = checkout(shop, buyer.key, amount)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["data"]["id"]
    return session_id


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "type": kind,
        "data": {"object": obj},
    }


def deliver(
    shop: ServerThread,
    payload: dict[str, Any] | str,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    body: str | None = None,
    header: str | None = "sign",
) -> httpx.Response:
    """POSTs `payload` signed the way Stripe signs it (or with `body` sent in its place)."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    headers = {"content-type": "application/json; charset=utf-8"}
    if header == "sign":
        headers["stripe-signature"] = stripe.WebhookSignature.generate_signature_header(
            text, secret, timestamp
        )
    elif header is not None:
        headers["stripe-signature"] = header
    return httpx.post(
        f"{shop.url}{WEBHOOK}", content=(body or text).encode(), headers=headers, timeout=10
    )


def ledger_kinds(shop: ServerThread, account_id: str) -> list[str]:
    return sorted(entry.kind for entry in _service(shop).ledger.entries(account_id))


# ---------------------------------------------------------------------------- checkout


@pytest.mark.parametrize(
    ("amount", "fee", "total", "cents"),
    [
        ("20", "1.35", "21.35", [2000, 135]),
        ("5", "0.6", "5.6", [500, 60]),
        ("10000", "500.35", "10500.35", [1_000_000, 50_035]),
        # 5% of $5.10 is 25.5 cents: half-up to 26.
        ("5.10", "0.61", "5.71", [510, 61]),
        (7.77, "0.74", "8.51", [777, 74]),
    ],
)
def test_checkout_prices_credit_and_fee_to_the_cent(
    shop: ServerThread,
    fake_stripe: FakeStripe,
    buyer: NewAccount,
    amount: Any,
    fee: str,
    total: str,
    cents: list[int],
) -> None:
    response = checkout(shop, buyer.key, amount)

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["amount"] == usd_str(Decimal(str(amount)))
    assert (data["fee"], data["total"]) == (fee, total)
    assert data["id"].startswith("cs_test_")
    assert data["url"] == f"https://checkout.stripe.com/c/pay/{data['id']}"
    session = fake_stripe.sessions[data["id"]]
    assert session["amount_total"] == sum(cents) == int(Decimal(total) * 100)
    [sent] = fake_stripe.requests
    assert (sent.method, sent.path) == ("POST", "/v1/checkout/sessions")
    params = sent.params
    assert [int(item["price_data"]["unit_amount"]) for item in params["line_items"]] == cents
    assert [item["quantity"] for item in params["line_items"]] == ["1", "1"]
    assert {item["price_data"]["currency"] for item in params["line_items"]} == {"usd"}


def test_checkout_session_carries_the_account_and_the_credit(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount
) -> None:
    assert checkout(shop, buyer.key, "20").status_code == 201

    params = fake_stripe.requests[-1].params
    metadata = {"account_id": buyer.account_id, "credits": "20"}
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == buyer.account_id
    assert params["metadata"] == metadata
    assert params["payment_intent_data"] == {"metadata": metadata}
    assert params["payment_method_types"] == ["card", "alipay", "wechat_pay"]
    assert params["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    names = [item["price_data"]["product_data"]["name"] for item in params["line_items"]]
    assert names == ["OneRouter credits", "Purchase fee"]
    assert params["success_url"] == (
        "https://onerouter.test/credits?checkout=success&session_id={CHECKOUT_SESSION_ID}"
    )
    assert params["cancel_url"] == "https://onerouter.test/credits?checkout=cancelled"
    assert fake_stripe.requests[-1].headers["authorization"] == f"Bearer {fake_stripe.api_key}"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": "4.99"}, "amount"),
        ({"amount": "10000.01"}, "amount"),
        ({"amount": "20.001"}, "amount"),
        ({"amount": "-20"}, "amount"),
        ({"amount": "twenty"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": True}, "amount"),
        ({}, "amount"),
        ({"amount": "20", "currency": "eur"}, "currency"),
    ],
)
def test_checkout_bounds_are_400_naming_the_field(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount, body: dict, param: str
) -> None:
    response = httpx.post(
        f"{shop.url}/api/v1/credits/checkout",
        json=body,
        headers={"authorization": f"Bearer {buyer.key}"},
        timeout=10,
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert fake_stripe.requests == []


def test_checkout_needs_a_regular_key(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount
) -> None:
    assert checkout(shop, "sk-or1-nope", "20").status_code == 401
    managed = _service(shop).open_account(management_key=True)
    assert managed.management_key
    refused = checkout(shop, managed.management_key, "20")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "management_key"
    assert fake_stripe.requests == []


def test_without_stripe_keys_buying_is_unavailable(
    gateway: ServerThread, account: NewAccount
) -> None:
    response = checkout(gateway, account.key, "20")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payments_not_configured"
    unsigned = httpx.post(f"{gateway.url}{WEBHOOK}", content=b"{}", timeout=10)
    assert unsigned.status_code == 503


# ---------------------------------------------------------------------------- webhook


def test_paid_session_credits_the_credit_not_the_total_once(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount, fake: FakeOpenAIProvider
) -> None:
    client = openai.OpenAI(base_url=f"{shop.url}/v1", api_key=buyer.key, max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="test/solo", messages=messages)
    assert caught.value.status_code == 402  # and the key is now cached with no credit

    session_id = bought(shop, fake_stripe, buyer, "20")
    completed = event("checkout.session.completed", fake_stripe.pay(session_id))
    first = deliver(shop, completed)

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "credited"
    assert balance(shop, buyer.account_id) == Decimal("20")
    # The credit reaches this process's auth cache at once.
    assert client.chat.completions.create(model="test/solo", messages=messages).choices

    # Stripe retries the same event; then sends the session again under a new event id.
    replay = deliver(shop, completed)
    assert replay.status_code == 200
    assert replay.json()["status"] == "credited"  # the first outcome, from the idempotency store
    again = deliver(shop, event("checkout.session.completed", fake_stripe.pay(session_id)))
    assert again.json()["status"] == "already_credited"
    assert balance(shop, buyer.account_id) == Decimal("20")
    assert ledger_kinds(shop, buyer.account_id).count("purchase") == 1


def test_async_payment_credits_when_it_succeeds_in_any_order(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount
) -> None:
    # Alipay: completed while unpaid, then succeeded.
    first = bought(shop, fake_stripe, buyer, "10")
    pending = deliver(
        shop, event("checkout.session.completed", fake_stripe.pay(first, payment_status="unpaid"))
    )
    assert pending.json()["status"] == "pending"
    assert balance(shop, buyer.account_id) == 0
    succeeded = event("checkout.session.async_payment_succeeded", fake_stripe.pay(first))
    assert deliver(shop, succeeded).json()["status"] == "credited"
    assert balance(shop, buyer.account_id) == Decimal("10")

    # WeChat Pay, delivered out of order: succeeded first, then the (unpaid) completed.
    second = bought(shop, fake_stripe, buyer, "7.50")
    unpaid = fake_stripe.pay(second, payment_status="unpaid")
    paid = fake_stripe.pay(second)
    assert deliver(shop, event("checkout.session.async_payment_succeeded", paid)).status_code == 200
    late = deliver(shop, event("checkout.session.completed", unpaid))
    assert late.json()["status"] == "pending"
    # And a duplicate of the success under yet another event id.
    dup = deliver(shop, event("checkout.session.async_payment_succeeded", paid))
    assert dup.json()["status"] == "already_credited"
    assert balance(shop, buyer.account_id) == Decimal("17.5")
    assert ledger_kinds(shop, buyer.account_id) == ["purchase", "purchase"]


def test_failed_async_payment_credits_nothing(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount
) -> None:
    session_id = bought(shop, fake_stripe, buyer, "10")
    unpaid = fake_stripe.pay(session_id, payment_status="unpaid")
    assert deliver(shop, event("checkout.session.completed", unpaid)).json()["status"] == "pending"
    failed = deliver(shop, event("checkout.session.async_payment_failed", unpaid))
    assert failed.status_code == 200
    assert failed.json()["status"] == "payment_failed"
    assert balance(shop, buyer.account_id) == 0
    assert ledger_kinds(shop, buyer.account_id) == []


def test_tampered_deliveries_are_400_and_change_nothing(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount
) -> None:
    session_id = bought(shop, fake_stripe, buyer, "20")
    completed = event("checkout.session.completed", fake_stripe.pay(session_id))
    text = json.dumps(completed)
    richer = json.loads(text)
    richer["data"]["object"]["metadata"]["credits"] = "10000"

    attempts = [
        deliver(shop, text, secret="whsec_someone_else"),  # not our secret
        deliver(shop, text, body=json.dumps(richer)),  # body altered after signing
        deliver(shop, text, timestamp=int(time.time()) - 3600),  # an old capture
        deliver(shop, text, header=None),  # no signature at all
        deliver(shop, text, header="t=1,v1=00"),
        deliver(shop, text, header="garbage"),
    ]

    for response in attempts:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_signature"
    assert balance(shop, buyer.account_id) == 0
    assert ledger_kinds(shop, buyer.account_id) == []
    # The same event, properly signed, still goes through: nothing remembered it as handled.
    assert deliver(shop, text).json()["status"] == "credited"
    assert balance(shop, buyer.account_id) == Decimal("20")


def test_session_whose_metadata_disagrees_is_not_credited(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount
) -> None:
    session_id = bought(shop, fake_stripe, buyer, "20")
    session = fake_stripe.pay(session_id)
    other = _service(shop).open_account()
    forged = {**session, "client_reference_id": other.account_id}
    response = deliver(shop, event("checkout.session.completed", forged))
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    more = {**session, "metadata": {"account_id": buyer.account_id, "credits": "50"}}
    assert deliver(shop, event("checkout.session.completed", more)).json()["status"] == "rejected"
    assert balance(shop, buyer.account_id) == balance(shop, other.account_id) == 0


def test_other_events_are_acknowledged_and_ignored(shop: ServerThread) -> None:
    response = deliver(shop, event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


# ---------------------------------------------------------------------------- refunds


def _spend(stripe_settings: Settings, buyer: NewAccount, cost: str) -> None:
    consumer = UsageConsumer.from_settings(stripe_settings)
    key = (buyer.key_id, hash_secret(buyer.key))
    batch = sqs_event(usage_event(buyer.account_id, *key, cost=cost))
    assert failed_ids(consumer.handle(batch)) == set()


def test_refund_removes_credit_but_never_what_was_spent(
    shop: ServerThread,
    fake_stripe: FakeStripe,
    buyer: NewAccount,
    stripe_settings: Settings,
) -> None:
    session_id = bought(shop, fake_stripe, buyer, "20")  # pays $21.35
    deliver(shop, event("checkout.session.completed", fake_stripe.pay(session_id)))

    partly = deliver(shop, event("charge.refunded", fake_stripe.refund(session_id, cents=300)))
    assert partly.status_code == 200, partly.text
    assert partly.json()["removed"] == "3"
    assert balance(shop, buyer.account_id) == Decimal("17")

    _spend(stripe_settings, buyer, "15")
    assert balance(shop, buyer.account_id) == Decimal("2")

    # The rest refunded, fee and all: $20 of credit is the most a refund removes, and only
    # the $2 still unspent is there to remove.
    whole = event("charge.refunded", fake_stripe.refund(session_id, cents=1835))
    assert whole["data"]["object"]["amount_refunded"] == 2135
    assert deliver(shop, whole).json()["removed"] == "2"
    assert balance(shop, buyer.account_id) == 0
    # Replayed, and re-sent under a new id: nothing more goes.
    assert deliver(shop, whole).status_code == 200
    resent = deliver(shop, event("charge.refunded", whole["data"]["object"]))
    assert resent.json()["removed"] == "0"
    assert balance(shop, buyer.account_id) == 0
    intents = [r for r in fake_stripe.requests if r.path.startswith("/v1/payment_intents/")]
    assert intents and all(r.method == "GET" for r in intents)


def test_refund_before_its_purchase_is_credited_is_retried(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount
) -> None:
    session_id = bought(shop, fake_stripe, buyer, "10")
    completed = event("checkout.session.completed", fake_stripe.pay(session_id))
    refunded = event("charge.refunded", fake_stripe.refund(session_id, cents=1035))

    early = deliver(shop, refunded)
    assert early.status_code == 409  # Stripe retries it later

    deliver(shop, completed)
    assert balance(shop, buyer.account_id) == Decimal("10")
    retried = deliver(shop, refunded)
    assert retried.status_code == 200
    assert retried.json()["removed"] == "10"
    assert balance(shop, buyer.account_id) == 0


# ---------------------------------------------------------------------------- the function

ROOT = Path(__file__).resolve().parents[2]

INVOKE = """
import importlib.util, json, sys

spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)


class Context:
    function_name = "BillingWebhookFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:BillingWebhookFunction"
    aws_request_id = "req-0123456789"


for event in json.load(sys.stdin):
    response = app.handler(event, Context())
    print("RESPONSE " + json.dumps(response), flush=True)
"""


def _api_event(payload: str, signature: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "get_health.json").read_text())
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
    event.update(
        httpMethod="POST",
        path=WEBHOOK,
        resource=WEBHOOK,
        body=payload,
        headers={**event["headers"], **headers},
        multiValueHeaders={
            **event["multiValueHeaders"],
            **{name: [value] for name, value in headers.items()},
        },
    )
    event["requestContext"].update(httpMethod="POST", path=f"/prod{WEBHOOK}", resourcePath=WEBHOOK)
    return event


def test_the_function_credits_a_signed_event_and_refuses_a_forged_one(
    shop: ServerThread, fake_stripe: FakeStripe, buyer: NewAccount, stripe_settings: Settings
) -> None:
    """functions/billing_webhook as Lambda runs it: a fresh Python, the module imported cold,
    the handler called with API Gateway REST events."""
    session_id = bought(shop, fake_stripe, buyer, "20")
    text = json.dumps(event("checkout.session.completed", fake_stripe.pay(session_id)))
    good = stripe.WebhookSignature.generate_signature_header(text, WEBHOOK_SECRET)
    forged = stripe.WebhookSignature.generate_signature_header(text, "whsec_forger")
    env = {
        **os.environ,
        **{k: v for k, v in stripe_settings.environ.items() if k.endswith(("_TABLE", "_URL"))},
        "STRIPE_SECRET_KEY": fake_stripe.api_key,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ONEROUTER_STRIPE_API_BASE": fake_stripe.url,
        "POWERTOOLS_SERVICE_NAME": "onerouter",
        "AWS_LAMBDA_FUNCTION_NAME": "BillingWebhookFunction",
    }

    done = subprocess.run(
        [sys.executable, "-c", INVOKE, str(ROOT / "functions" / "billing_webhook" / "app.py")],
        input=json.dumps([_api_event(text, forged), _api_event(text, good)]),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    lines = done.stdout.splitlines()
    refused, accepted = [json.loads(line[9:]) for line in lines if line.startswith("RESPONSE ")]
    assert refused["statusCode"] == 400
    assert accepted["statusCode"] == 200, accepted
    assert json.loads(accepted["body"])["status"] == "credited"
    assert balance(shop, buyer.account_id) == Decimal("20")
    # The app's event-id memory is the same table: the gateway sees the event as handled.
    assert deliver(shop, text).json()["status"] == "credited"
    assert ledger_kinds(shop, buyer.account_id) == ["purchase"]
