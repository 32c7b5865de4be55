"""A new user's whole first session in the dashboard, as a person does it in Chromium: sign up,
confirm, sign in, create a key, buy credit through Stripe Checkout, call the API with the key
through the openai SDK, find the request in Logs and Activity, change the privacy setting,
disable the key (the SDK then gets a 403), sign out. A screenshot of every page is saved."""

from __future__ import annotations

import re
import secrets
import time
from decimal import Decimal
from pathlib import Path

import httpx
import openai
import pytest
from playwright.sync_api import Page, expect

from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

PASSWORD = "a long enough passphrase"


def _shot(page: Page, folder: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def _wait_for_generation(site: ServerThread, key: str, generation_id: str) -> None:
    """Until the usage consumer has recorded the request (it polls the queue every second)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = httpx.get(
            f"{site.url}/api/v1/generation",
            params={"id": generation_id},
            headers={"authorization": f"Bearer {key}"},
        )
        if answer.status_code == 200:
            return
        time.sleep(0.25)
    raise AssertionError(f"generation {generation_id} was never recorded")


def _money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


def test_a_new_user_signs_up_buys_credit_and_uses_a_key(
    page: Page, site: ServerThread, screenshots: Path, fake: FakeOpenAIProvider
) -> None:
    email = f"ada-{secrets.token_hex(4)}@example.com"
    base = site.url

    # Models is public: it works signed out.
    page.goto(f"{base}/models")
    expect(page.get_by_test_id("model-row").first).to_be_visible()
    expect(page.get_by_text("test/chat").first).to_be_visible()
    _shot(page, screenshots, "01-models")

    # Sign up; the confirmation code is where `onerouter dev` prints it.
    page.goto(f"{base}/sign-up")
    page.locator("#sign-up-email").fill(email)
    page.locator("#sign-up-password").fill("short")
    page.locator("form button[type=submit]").click()
    expect(page.get_by_text("at least 12 characters")).to_be_visible()
    _shot(page, screenshots, "02-sign-up-error")
    page.locator("#sign-up-password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/confirm\?"))
    expect(page.get_by_test_id("confirm-hint")).to_contain_text("make dev")
    _shot(page, screenshots, "03-confirm")
    code = site.app.state.cognito.code_for(email)
    assert code
    page.locator("#confirm-code").fill(code)
    page.locator("form button[type=submit]").click()

    # Sign in: a new account, empty, that says what to do next.
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.locator("#sign-in-password").fill(PASSWORD)
    _shot(page, screenshots, "04-sign-in")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/keys$"))
    expect(page.get_by_test_id("empty")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_contain_text("0.00")
    _shot(page, screenshots, "05-keys-empty")
    # The token lives in memory only: nothing in the page's storage.
    stored = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert "eyJ" not in stored and stored == "[{},{}]"
    assert "eyJ" not in page.evaluate("() => document.cookie")

    # Create a key; its secret is shown once.
    page.get_by_test_id("create-key").first.click()
    page.locator("#key-label").fill("laptop")
    page.get_by_test_id("create-key-submit").click()
    secret = page.get_by_test_id("new-key-secret").inner_text().strip()
    assert secret.startswith("sk-or")
    _shot(page, screenshots, "06-key-created")
    page.keyboard.press("Escape")
    page.reload()
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    expect(page.get_by_test_id("key-row")).to_contain_text("laptop")
    assert secret not in page.content()  # never shown again
    _shot(page, screenshots, "07-keys")

    # With no credit, the key gets a 402.
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=secret, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="test/chat", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 402

    # Buy $10 of credit: the fee is shown before paying, then Stripe Checkout, then back.
    page.get_by_test_id("nav-credits").click()
    page.get_by_test_id("buy-amount").fill("10")
    expect(page.get_by_test_id("buy-fee")).to_contain_text("0.85")
    expect(page.get_by_test_id("buy-total")).to_contain_text("10.85")
    _shot(page, screenshots, "08-credits-buy")
    page.get_by_test_id("buy-submit").click()
    expect(page.get_by_role("heading", name=re.compile("Pay OneRouter"))).to_be_visible()
    _shot(page, screenshots, "09-stripe-checkout")
    page.get_by_role("button", name=re.compile("Pay")).click()
    # Back on the credits page, which waits for the webhook's credit to land.
    expect(page.get_by_test_id("checkout-notice")).to_contain_text("Credits added")
    expect(page).to_have_url(re.compile(r"/credits"))
    expect(page.get_by_test_id("credits-balance")).to_contain_text("10.00", timeout=30_000)
    expect(page.get_by_test_id("balance")).to_contain_text("10.00")
    expect(page.get_by_test_id("lot-row")).to_have_count(1)
    _shot(page, screenshots, "10-credits-bought")

    # The key now works through the official SDK, even while the cheaper provider is down.
    fake.fail(503)
    raw = client.chat.completions.with_raw_response.create(
        model="test/chat", messages=[{"role": "user", "content": "hello"}]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content
    assert raw.headers["x-onerouter-provider"] == "backup"
    generation_id = raw.headers["x-onerouter-generation-id"]
    _wait_for_generation(site, secret, generation_id)

    # Logs: the request, with its tokens and cost; the detail view; never the prompt.
    page.get_by_test_id("nav-logs").click()
    row = page.get_by_test_id("log-row").first
    expect(row).to_contain_text("test/chat")
    expect(row).to_contain_text("backup")
    expect(row).to_contain_text("laptop")
    _shot(page, screenshots, "11-logs")
    row.click()
    detail = page.get_by_test_id("log-detail")
    expect(detail).to_contain_text(generation_id)
    expect(detail).to_contain_text(re.compile(r"Fell back from\s*primary"))
    assert "hello" not in detail.inner_text()
    _shot(page, screenshots, "12-log-detail")
    page.keyboard.press("Escape")

    # Models: the request's endpoint now has measured latency, from the usage records.
    site.app.state.endpoint_stats.forget()
    page.get_by_test_id("nav-models").click()
    served = page.get_by_test_id("model-row").filter(has_text="test/chat").locator("tr")
    expect(served.filter(has_text="backup")).to_contain_text(re.compile(r"\d+ ms"))
    _shot(page, screenshots, "13-models-measured")

    # Activity: today's spend in the charts.
    page.get_by_test_id("nav-activity").click()
    for chart in ("spend", "tokens", "requests"):
        expect(page.get_by_test_id(f"activity-chart-{chart}")).to_be_visible()
    assert _money(page.get_by_test_id("activity-total-spend").inner_text()) > 0
    _shot(page, screenshots, "14-activity")

    # Privacy: off by default; turning it on reaches the account.
    page.get_by_test_id("nav-settings").click()
    toggle = page.get_by_test_id("privacy-toggle")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-checked", "true")
    expect(page.get_by_test_id("account-email")).to_have_text(email)
    _shot(page, screenshots, "15-settings")
    account = site.app.state.accounts.accounts.get(
        page.get_by_test_id("account-id").inner_text().strip()
    )
    assert account is not None and account.data_collection == "allow"

    # Disable the key: the SDK is refused at once.
    page.get_by_test_id("nav-keys").click()
    page.get_by_test_id("key-toggle").first.click()
    expect(page.get_by_test_id("key-row").first).to_contain_text(re.compile("Disabled", re.I))
    _shot(page, screenshots, "16-key-disabled")
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(
            model="test/chat", messages=[{"role": "user", "content": "hello again"}]
        )

    # Sign out: the session is gone, a reload does not bring it back.
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.goto(f"{base}/keys")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    _shot(page, screenshots, "17-signed-out")


def test_pages_send_a_strict_content_security_policy(site: ServerThread) -> None:
    for path in ("/", "/keys", "/logs"):
        answer = httpx.get(f"{site.url}{path}")
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        # No script or style from anywhere else, nor inline.
        assert "<script>" not in answer.text
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', answer.text)
