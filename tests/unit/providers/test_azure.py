"""The `azure` protocol: where a deployment lives and what its body holds."""

from __future__ import annotations

from onerouter.providers.azure import DEFAULT_API_VERSION, deployment_url, to_azure_request
from onerouter.providers.base import Target
from onerouter.requests import ChatRequest, GatewayRequest
from onerouter.routing.catalog import Endpoint, Pricing, Provider

ENDPOINT = Endpoint(
    provider="az",
    model="my-deployment",
    pricing=Pricing(prompt="1", completion="2"),  # type: ignore[arg-type]
)


def _target(api_version: str | None) -> Target:
    provider = Provider(
        id="az",
        protocol="azure",
        base_url="https://res.openai.azure.com/",
        api_version=api_version,
    )
    return Target("m", provider, ENDPOINT, "key")


def test_deployment_urls() -> None:
    assert deployment_url(_target("2025-01-01-preview"), "chat") == (
        "https://res.openai.azure.com/openai/deployments/my-deployment/chat/completions"
        "?api-version=2025-01-01-preview"
    )
    assert deployment_url(_target(None), "completion").endswith(
        f"/deployments/my-deployment/completions?api-version={DEFAULT_API_VERSION}"
    )


def test_body_has_no_model_and_no_gateway_fields() -> None:
    raw = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "provider": {"sort": "price"},
        "seed": 3,
    }
    body = to_azure_request(GatewayRequest("chat", ChatRequest.model_validate(raw), raw))
    assert body == {"messages": [{"role": "user", "content": "hi"}], "seed": 3}
