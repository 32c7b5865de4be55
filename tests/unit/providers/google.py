"""A Gemini endpoint and request builders shared by the `gemini` protocol's tests."""

from __future__ import annotations

from typing import Any

from onerouter.providers.base import Target
from onerouter.providers.gemini import to_provider_request
from onerouter.requests import ChatRequest, GatewayRequest
from onerouter.routing.catalog import Endpoint, Pricing, Provider

PROVIDER = Provider(
    id="google",
    protocol="gemini",
    base_url="https://generativelanguage.googleapis.com",
    api_key_env="GEMINI_API_KEY",
)
ENDPOINT = Endpoint(
    provider="google",
    model="gemini-2.5-flash",
    pricing=Pricing(prompt="0.3", completion="2.5"),  # type: ignore[arg-type]
)
TARGET = Target("google/gemini-2.5-flash", PROVIDER, ENDPOINT, "AIza-test")


def chat(**raw: Any) -> GatewayRequest:
    raw.setdefault("model", "google/gemini-2.5-flash")
    return GatewayRequest("chat", ChatRequest.model_validate(raw), raw)


def translate(**raw: Any) -> dict[str, Any]:
    return to_provider_request(chat(**raw), TARGET)
