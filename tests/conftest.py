"""Shared fixtures: embedded AWS (moto server), fake providers on loopback, a running gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openai
import pytest
import yaml

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.dev.aws import LocalAWS
from onerouter.dev.cognito import ConsoleCognito
from onerouter.settings import Settings
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider

ADMIN_TOKEN = "test-admin-token"
FAKE_KEY_ENV = "ONEROUTER_TEST_FAKE_KEY"


@pytest.fixture(scope="session")
def aws() -> Iterator[LocalAWS]:
    # Always our own moto server: never an endpoint (or real AWS) the shell happens to name.
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with LocalAWS(prefix="onerouter-test") as local:
        yield local


@pytest.fixture(scope="session")
def fakes() -> Iterator[tuple[FakeOpenAIProvider, FakeOpenAIProvider]]:
    with FakeOpenAIProvider() as primary, FakeOpenAIProvider(api_key="sk-fake-backup") as backup:
        yield primary, backup


@pytest.fixture
def fake(fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider]) -> Iterator[FakeOpenAIProvider]:
    """The cheaper provider of `test/chat`, and the only one of `test/solo`; reset per test."""
    for provider in fakes:
        provider.reset()
    yield fakes[0]
    for provider in fakes:
        provider.reset()


@pytest.fixture
def backup(
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider], fake: FakeOpenAIProvider
) -> FakeOpenAIProvider:
    """The dearer provider of `test/chat`: where fallback goes."""
    return fakes[1]


def _catalog(primary: FakeOpenAIProvider, backup: FakeOpenAIProvider) -> dict[str, object]:
    def price(prompt: str, completion: str) -> dict[str, str]:
        return {"prompt": prompt, "completion": completion}

    return {
        "providers": {
            "primary": {
                "protocol": "openai",
                "base_url": primary.base_url,
                "api_key_env": FAKE_KEY_ENV,
                "timeouts": {"connect": 2, "first_byte": 5, "whole": 5},
            },
            "backup": {
                "protocol": "openai",
                "base_url": backup.base_url,
                "api_key_env": "ONEROUTER_TEST_BACKUP_KEY",
                "timeouts": {"connect": 2, "first_byte": 5, "whole": 5},
            },
            # Same server as `primary`, under other terms: it may train on prompts...
            "trainer": {
                "protocol": "openai",
                "base_url": primary.base_url,
                "api_key_env": FAKE_KEY_ENV,
                "trains_on_prompts": True,
            },
            # ...or it gives up on a slow first byte after half a second.
            "hasty": {
                "protocol": "openai",
                "base_url": primary.base_url,
                "api_key_env": FAKE_KEY_ENV,
                "timeouts": {"connect": 2, "first_byte": 0.5, "whole": 0.5},
            },
            "closed-port": {
                "protocol": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "api_key_env": FAKE_KEY_ENV,
            },
            "unconfigured": {
                "protocol": "openai",
                "base_url": "http://127.0.0.1:9",
                "api_key_env": "ONEROUTER_TEST_UNSET_KEY",
            },
        },
        "models": [
            {
                "id": "test/chat",
                "name": "Test Chat",
                "aliases": ["chat"],
                "context_length": 8192,
                "cache_ttl": 0,
                "endpoints": [
                    # Listed dearest first: routing must still try the cheaper one first.
                    {"provider": "backup", "model": "gpt-4o", "pricing": price("2", "4")},
                    {"provider": "primary", "model": "gpt-4o-mini", "pricing": price("1", "2")},
                ],
            },
            {
                # The one model with the prompt cache on (the others answer every request
                # afresh, so their tests see each request reach a provider).
                "id": "test/cached",
                "name": "Test Cached",
                "context_length": 8192,
                "cache_ttl": 60,
                "endpoints": [
                    {
                        "provider": "primary",
                        "model": "gpt-4o-mini",
                        "pricing": {"prompt": "1", "completion": "2", "input_cache_read": "0.5"},
                    }
                ],
            },
            {
                "id": "test/solo",
                "name": "Test Solo",
                "context_length": 8192,
                "cache_ttl": 0,
                "endpoints": [
                    {"provider": "primary", "model": "gpt-4o-mini", "pricing": price("1", "2")}
                ],
            },
            {
                "id": "test/policy",
                "name": "Test Data Policy",
                "context_length": 8192,
                "cache_ttl": 0,
                "endpoints": [
                    {"provider": "trainer", "model": "gpt-4o-mini", "pricing": price("0.5", "1")},
                    {"provider": "backup", "model": "gpt-4o", "pricing": price("2", "4")},
                ],
            },
            {
                "id": "test/hasty",
                "name": "Test Hasty",
                "context_length": 8192,
                "cache_ttl": 0,
                "endpoints": [
                    {"provider": "hasty", "model": "gpt-4o-mini", "pricing": price("1", "2")},
                    {"provider": "backup", "model": "gpt-4o", "pricing": price("2", "4")},
                ],
            },
            {
                "id": "test/no-tools",
                "name": "Test No Tools",
                "context_length": 8192,
                "cache_ttl": 0,
                "input_modalities": ["text", "image"],
                "endpoints": [
                    {
                        "provider": "primary",
                        "model": "gpt-4o-mini",
                        "pricing": price("1", "2"),
                        "supported_parameters": ["max_tokens", "temperature"],
                        "input_modalities": ["text"],
                    },
                    {"provider": "backup", "model": "gpt-4o", "pricing": price("2", "4")},
                ],
            },
            {
                "id": "test/dead-first",
                "name": "Test Dead First",
                "context_length": 8192,
                "cache_ttl": 0,
                "endpoints": [
                    {"provider": "closed-port", "model": "x", "pricing": price("0.1", "0.1")},
                    {"provider": "backup", "model": "gpt-4o", "pricing": price("2", "4")},
                ],
            },
            # Embedding models: `test/embed` on primary (cheaper) with backup behind it, and
            # `test/embed-cached` with the prompt cache on and a cache-read price.
            {
                "id": "test/embed",
                "name": "Test Embed",
                "kind": "embedding",
                "context_length": 8191,
                "dimensions": 8,
                "cache_ttl": 0,
                "endpoints": [
                    {
                        "provider": "backup",
                        "model": "text-embedding-3-large",
                        "pricing": {"prompt": "0.13"},
                    },
                    {
                        "provider": "primary",
                        "model": "text-embedding-3-small",
                        "pricing": {"prompt": "0.02"},
                    },
                ],
            },
            {
                "id": "test/embed-cached",
                "name": "Test Embed Cached",
                "kind": "embedding",
                "context_length": 8191,
                "cache_ttl": 60,
                "endpoints": [
                    {
                        "provider": "primary",
                        "model": "text-embedding-3-small",
                        "pricing": {"prompt": "0.02", "input_cache_read": "0.01"},
                    }
                ],
            },
            {
                "id": "test/offline",
                "name": "Test Offline",
                "context_length": 8192,
                "cache_ttl": 0,
                "endpoints": [
                    {"provider": "unconfigured", "model": "x", "pricing": price("1", "1")}
                ],
            },
        ],
    }


@pytest.fixture(scope="session")
def catalog_file(
    tmp_path_factory: pytest.TempPathFactory,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
    path.write_text(yaml.safe_dump(_catalog(*fakes)), encoding="utf-8")
    return path


def gateway_env(catalog_file: Path, fakes: tuple[FakeOpenAIProvider, ...]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ONEROUTER_TEST_UNSET_KEY"}
    env.update(
        ONEROUTER_CATALOG=str(catalog_file),
        ONEROUTER_ADMIN_TOKEN=ADMIN_TOKEN,
        ONEROUTER_TEST_FAKE_KEY=fakes[0].api_key,
        ONEROUTER_TEST_BACKUP_KEY=fakes[1].api_key,
        ONEROUTER_KEEPALIVE_INTERVAL="2",
        ONEROUTER_MAX_BODY_BYTES=str(256 * 1024),
        # Off for the shared test gateway: limits would add two calls to the in-process moto
        # server (5-8 ms each) to every request of every test. Their own tests turn them on
        # (tests/e2e/test_rate_limits.py), as does the dashboard's browser test.
        ONEROUTER_RATE_LIMITS="off",
    )
    return env


@pytest.fixture(scope="session")
def settings(
    aws: LocalAWS,
    catalog_file: Path,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> Settings:
    return Settings.from_env(gateway_env(catalog_file, fakes))


@pytest.fixture(scope="session")
def gateway(settings: Settings) -> Iterator[ServerThread]:
    # Sign-up codes as `onerouter dev` makes them: kept here for the tests to read
    # (`gateway.app.state.cognito.code_for(email)`), where Cognito would email them.
    assert settings.cognito is not None, "the template's user pool was not provisioned"
    cognito = ConsoleCognito(settings.cognito.client_id, say=lambda _: None)
    with ServerThread(create_app(settings, cognito=cognito)) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_health(request: pytest.FixtureRequest) -> None:
    """Each test starts with every endpoint healthy: one test's injected failures must not
    steer the next one's routing through the shared gateway's circuit breakers."""
    if "gateway" in request.fixturenames:
        server: ServerThread = request.getfixturevalue("gateway")
        server.app.state.pipeline.router.health.forget()


@pytest.fixture
def account(gateway: ServerThread) -> NewAccount:
    """A fresh account with $10.00 of credit and its first key."""
    opened: NewAccount = gateway.app.state.accounts.open_account(Decimal("10.00"))
    return opened


@pytest.fixture
def client(gateway: ServerThread, account: NewAccount) -> openai.OpenAI:
    # No retries: the SDK's own retries would hide what the gateway answered.
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=account.key, max_retries=0)
