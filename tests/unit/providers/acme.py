"""An imaginary OpenAI-compatible provider, shared by the `openai` protocol's tests."""

from __future__ import annotations

from typing import Any

from onerouter.providers.base import Target
from onerouter.requests import ChatRequest, GatewayRequest
from onerouter.routing.catalog import Endpoint, Pricing, Provider

PROVIDER = Provider(
    id="acme",
    protocol="openai",
    base_url="https://api.acme.test/v1/",
    api_key_env="ACME_API_KEY",
    headers={"x-acme-org": "org-1"},
)
ENDPOINT = Endpoint(
    provider="acme",
    model="acme-large-2024-07",
    pricing=Pricing(prompt="1", completion="2"),  # type: ignore[arg-type]
)
TARGET = Target("acme/large", PROVIDER, ENDPOINT, "sk-acme")
KEYLESS = Target("acme/large", PROVIDER.model_copy(update={"headers": {}}), ENDPOINT, None)

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello"},
]


def chat(raw: dict[str, Any]) -> GatewayRequest:
    return GatewayRequest("chat", ChatRequest.model_validate(raw), raw)
