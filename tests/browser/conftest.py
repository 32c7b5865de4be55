"""The dashboard in a real Chromium (Debian's package, driven by Playwright), against a real
gateway: moto's Cognito, the usage consumer running, and a fake Stripe whose hosted checkout
page pays and delivers the signed webhook as Stripe's would.

Screenshots of every page go to .onerouter/screenshots/ (ONEROUTER_SCREENSHOTS overrides).
Without Chromium or a dashboard build these tests are skipped, except under CI, where that is
a failure: `.ci/run` installs Chromium and `make test` builds the dashboard.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from onerouter.api.app import create_app
from onerouter.dev.cognito import ConsoleCognito
from onerouter.dev.runner import usage_consumer
from onerouter.settings import RateLimitSettings, Settings, StripeSettings
from tests.fakes.gateway import ServerThread
from tests.fakes.stripe_api import FakeStripe

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_browser_test"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine has no internet: Chromium's own background calls would only fail.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}; CI must provide it (.ci/run, make test)")
    pytest.skip(what)


def _chromium() -> str:
    path = os.environ.get("ONEROUTER_CHROMIUM") or shutil.which("chromium") or ""
    if not path:
        _missing("Chromium is not installed (Debian: apt-get install chromium)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("ONEROUTER_SCREENSHOTS") or ROOT / ".onerouter" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


@pytest.fixture(scope="module")
def site(settings: Settings, fake_stripe: FakeStripe) -> Iterator[ServerThread]:
    """The gateway serving the dashboard, selling credit through the fake Stripe, with the
    usage consumer writing Logs and Activity as requests are served."""
    if not (settings.dashboard_dir / "index.html").is_file():
        _missing(f"the dashboard is not built ({settings.dashboard_dir}); run `make dashboard`")
    assert settings.cognito is not None
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    own = dataclasses.replace(
        settings,
        public_url=public,
        rate_limits=RateLimitSettings(),  # on, as deployed: Settings shows them
        stripe=StripeSettings(
            secret_key=fake_stripe.api_key,
            webhook_secret=WEBHOOK_SECRET,
            api_base=fake_stripe.url,
            success_url=f"{public}/credits?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{public}/credits?checkout=cancelled",
        ),
    )
    cognito = ConsoleCognito(settings.cognito.client_id, say=lambda _: None)
    fake_stripe.host_checkout(f"{public}/api/v1/billing/stripe/webhook", WEBHOOK_SECRET)
    with (
        ServerThread(create_app(own, cognito=cognito), name="site", port=port) as server,
        usage_consumer(own),
    ):
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
