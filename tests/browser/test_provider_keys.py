"""Provider keys (bring your own key) on the Settings page, in Chromium: a person stores their
own key for a provider, sees it only masked, replaces nothing by accident, and deletes it."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.fakes.gateway import ServerThread

PASSWORD = "a long enough passphrase"


def _shot(page: Page, folder: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def _signed_up(site: ServerThread) -> str:
    """A confirmed person with a new, empty account: their email."""
    email = f"byok-{secrets.token_hex(4)}@example.com"
    api = f"{site.url}/api/v1/auth"
    body = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{api}/sign-up", json=body).status_code == 201
    code = site.app.state.cognito.code_for(email)
    assert httpx.post(f"{api}/confirm", json={"email": email, "code": code}).is_success
    return email


def test_a_person_stores_sees_masked_and_deletes_a_provider_key(
    page: Page, site: ServerThread, screenshots: Path
) -> None:
    email = _signed_up(site)
    page.goto(f"{site.url}/sign-in")
    page.locator("#sign-in-email").fill(email)
    page.locator("#sign-in-password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/keys$"))

    page.get_by_test_id("nav-settings").click()
    # The account's rate limits, the gateway's defaults for a new account.
    expect(page.get_by_test_id("rate-limit")).to_have_text("600 requests a minute, 30 at once")
    section = page.get_by_test_id("provider-keys")
    expect(section.get_by_test_id("provider-keys-empty")).to_be_visible()
    provider = section.get_by_test_id("provider-key-provider")
    expect(provider).to_contain_text("primary")  # the providers of the models listing
    provider.select_option("primary")
    secret = f"sk-proj-{secrets.token_urlsafe(24)}WXYZ"
    field = section.get_by_test_id("provider-key-secret")
    expect(field).to_have_attribute("type", "password")
    field.fill(secret)
    section.get_by_test_id("provider-key-fallback").uncheck()
    section.get_by_test_id("provider-key-save").click()

    row = section.get_by_test_id("provider-key-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("provider-key-hint")).to_have_text("sk-proj-…WXYZ")
    expect(row).to_contain_text("primary")
    expect(row).to_contain_text("Other providers only")
    expect(field).to_have_value("")  # the key typed in is not kept
    assert secret not in page.content()
    expect(section.get_by_test_id("provider-key-save")).to_be_disabled()
    _shot(page, screenshots, "20-settings-provider-key")

    account_id = page.get_by_test_id("account-id").inner_text().strip()
    account = site.app.state.accounts.accounts.get(account_id)
    assert account is not None and account.byok_providers == {"primary"}

    # Delete, after confirming.
    row.get_by_role("button", name="Delete the primary key").click()
    expect(page.get_by_role("dialog")).to_contain_text("sk-proj-…WXYZ")
    _shot(page, screenshots, "21-settings-provider-key-delete")
    page.get_by_test_id("provider-key-delete-confirm").click()
    expect(section.get_by_test_id("provider-keys-empty")).to_be_visible()
    account = site.app.state.accounts.accounts.get(account_id)
    assert account is not None and account.byok_providers == frozenset()
