"""Settings: read once from the environment, with defaults, overrides and clear errors."""

from __future__ import annotations

import dataclasses

import pytest

from onerouter.settings import DEFAULT_CATALOG, Settings, Tables


def test_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.catalog_path == DEFAULT_CATALOG
    assert DEFAULT_CATALOG.is_file()
    assert settings.admin_token is None
    assert settings.tables == Tables("onerouter-keys", "onerouter-accounts", "onerouter-ledger")
    assert settings.usage_queue_url is None
    assert settings.auth_cache_ttl == 5.0
    assert settings.keepalive_interval == 5.0
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert settings.tables.cache == "onerouter-cache"
    assert settings.cache_pepper == b""
    assert dict(settings.environ) == {}


def test_environment_overrides() -> None:
    env = {
        "ONEROUTER_CATALOG": "/etc/onerouter/catalog.yaml",
        "ONEROUTER_ADMIN_TOKEN": "admin-secret",
        "KEYS_TABLE": "stack-keys",
        "ACCOUNTS_TABLE": "stack-accounts",
        "LEDGER_TABLE": "stack-ledger",
        "USAGE_TABLE": "stack-usage",
        "ACTIVITY_TABLE": "stack-activity",
        "USAGE_QUEUE_URL": "https://sqs.example/123/usage",
        "ONEROUTER_AUTH_CACHE_TTL": "0.5",
        "ONEROUTER_KEEPALIVE_INTERVAL": "2",
        "ONEROUTER_MAX_BODY_BYTES": "262144",
        "CACHE_TABLE": "stack-cache",
        "ONEROUTER_CACHE_PEPPER": "pépper",
        "OPENAI_API_KEY": "sk-test",
    }

    settings = Settings.from_env(env)

    assert str(settings.catalog_path) == "/etc/onerouter/catalog.yaml"
    assert settings.admin_token == "admin-secret"
    assert settings.tables == Tables(
        "stack-keys",
        "stack-accounts",
        "stack-ledger",
        "stack-usage",
        "stack-activity",
        cache="stack-cache",
    )
    assert settings.cache_pepper == "pépper".encode()
    assert settings.usage_queue_url == "https://sqs.example/123/usage"
    assert settings.auth_cache_ttl == 0.5
    assert settings.keepalive_interval == 2.0
    assert settings.max_body_bytes == 262144
    assert type(settings.max_body_bytes) is int
    assert settings.environ["OPENAI_API_KEY"] == "sk-test"


def test_empty_values_mean_the_default() -> None:
    env = {
        "ONEROUTER_CATALOG": "",
        "ONEROUTER_ADMIN_TOKEN": "",
        "KEYS_TABLE": "",
        "USAGE_QUEUE_URL": "",
        "ONEROUTER_KEEPALIVE_INTERVAL": "",
    }

    settings = Settings.from_env(env)

    assert settings.catalog_path == DEFAULT_CATALOG
    assert settings.admin_token is None
    assert settings.tables.keys == "onerouter-keys"
    assert settings.usage_queue_url is None
    assert settings.keepalive_interval == 5.0


@pytest.mark.parametrize(
    "name",
    ["ONEROUTER_KEEPALIVE_INTERVAL", "ONEROUTER_AUTH_CACHE_TTL", "ONEROUTER_MAX_BODY_BYTES"],
)
def test_non_number_is_a_value_error_naming_the_variable(name: str) -> None:
    with pytest.raises(ValueError, match=name) as caught:
        Settings.from_env({name: "soon"})

    assert "'soon'" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ONEROUTER_KEEPALIVE_INTERVAL", "0"),
        ("ONEROUTER_KEEPALIVE_INTERVAL", "-1"),
        ("ONEROUTER_KEEPALIVE_INTERVAL", "nan"),
        ("ONEROUTER_MAX_BODY_BYTES", "inf"),
    ],
)
def test_unusable_number_is_a_value_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEROUTER_ADMIN_TOKEN", "from-os-environ")
    monkeypatch.setenv("ONEROUTER_KEEPALIVE_INTERVAL", "3")

    settings = Settings.from_env()

    assert settings.admin_token == "from-os-environ"
    assert settings.keepalive_interval == 3.0


def test_settings_are_a_snapshot() -> None:
    env = {"OPENAI_API_KEY": "sk-1"}
    settings = Settings.from_env(env)

    env["OPENAI_API_KEY"] = "sk-2"
    env["ANTHROPIC_API_KEY"] = "sk-3"

    assert settings.environ == {"OPENAI_API_KEY": "sk-1"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.admin_token = "x"  # type: ignore[misc]


def test_stripe_settings_keep_secrets_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "STRIPE_SECRET_KEY": "sk_test_secret",
            "STRIPE_WEBHOOK_SECRET": "whsec_secret",
            "ONEROUTER_PUBLIC_URL": "https://onerouter.example/",
            "IDEMPOTENCY_TABLE": "stack-idempotency",
        }
    )

    assert settings.stripe.secret_key == "sk_test_secret"
    assert settings.stripe.webhook_secret == "whsec_secret"
    assert settings.stripe.api_base is None
    assert settings.stripe.success_url.startswith("https://onerouter.example/credits?")
    assert "{CHECKOUT_SESSION_ID}" in settings.stripe.success_url
    assert settings.stripe.cancel_url == "https://onerouter.example/credits?checkout=cancelled"
    assert settings.tables.idempotency == "stack-idempotency"
    assert "secret" not in repr(settings)
    assert Settings.from_env({}).stripe.secret_key is None


def test_the_cache_pepper_stays_out_of_repr() -> None:
    settings = Settings.from_env({"ONEROUTER_CACHE_PEPPER": "pepper-secret"})

    assert settings.cache_pepper == b"pepper-secret"
    assert "pepper-secret" not in repr(settings)
