"""Catalog entries for the gateways tests start on catalogs of their own."""

from __future__ import annotations

from typing import Any

BACKUP_KEY_ENV = "ONEROUTER_TEST_BACKUP_KEY"  # the shared backup fake's key (tests/conftest.py)
TIMEOUTS = {"connect": 2, "first_byte": 5}


def provider(protocol: str, base_url: str, key_env: str, **extra: Any) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "base_url": base_url,
        "api_key_env": key_env,
        "timeouts": TIMEOUTS,
        **extra,
    }


def endpoint(provider: str, model: str, prompt: str, completion: str) -> dict[str, Any]:
    pricing = {"prompt": prompt, "completion": completion}
    return {"provider": provider, "model": model, "pricing": pricing}


def model(
    model_id: str, *endpoints: dict[str, Any], context_length: int = 200000, **extra: Any
) -> dict[str, Any]:
    return {
        "id": model_id,
        "name": model_id,
        "context_length": context_length,
        # Off unless a test asks: each test's repeated requests must reach its provider.
        "cache_ttl": 0,
        "endpoints": list(endpoints),
        **extra,
    }


def alone_and_with_backup(
    name: str, own: tuple[str, dict[str, Any]], serves: dict[str, Any], backup_url: str
) -> dict[str, Any]:
    """A catalog of provider `own` (id, entry) with two models that `serves` (its endpoint):
    `test/{name}-only`, and `test/{name}-fallback`, which falls back to gpt-4o on an OpenAI
    provider `openai-backup` at `backup_url`."""
    gpt = endpoint("openai-backup", "gpt-4o", "5", "20")
    return {
        "providers": {
            own[0]: own[1],
            "openai-backup": provider("openai", backup_url, BACKUP_KEY_ENV),
        },
        "models": [
            model(f"test/{name}-fallback", serves, gpt, max_output_tokens=8192),
            model(f"test/{name}-only", serves, max_output_tokens=8192),
        ],
    }
