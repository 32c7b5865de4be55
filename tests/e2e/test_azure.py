"""Azure OpenAI deployments through the gateway, with the OpenAI SDK as the client."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.fakes.azure_provider import FakeAzureOpenAI
from tests.fakes.catalog import endpoint, model, provider
from tests.fakes.gateway import ServerThread, StartGateway, client_of
from tests.fakes.openai_provider import FakeOpenAIProvider, default_reply

AZURE_KEY_ENV = "ONEROUTER_TEST_AZURE_KEY"
MESSAGES = [{"role": "user", "content": "hello from azure land"}]


@pytest.fixture(scope="module")
def azure() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def azure_gateway(
    start_gateway: StartGateway,
    azure: FakeAzureOpenAI,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> ServerThread:
    deployment = provider("azure", azure.base_url, AZURE_KEY_ENV, api_version="2024-10-21")
    catalog = {
        "providers": {
            "azure-fake": deployment,
            "openai-fake": provider("openai", fakes[0].base_url, "ONEROUTER_TEST_FAKE_KEY"),
        },
        "models": [
            model(
                "test/azure-gpt",
                endpoint("azure-fake", "gpt4o-prod", "1", "2"),
                endpoint("openai-fake", "gpt-4o", "2", "4"),
                context_length=128000,
            )
        ],
    }
    return start_gateway(catalog, {AZURE_KEY_ENV: azure.api_key})


@pytest.fixture
def azure_client(
    azure_gateway: ServerThread, azure: FakeAzureOpenAI, fake: FakeOpenAIProvider
) -> Iterator[openai.OpenAI]:
    azure.reset()
    yield client_of(azure_gateway)
    azure.reset()


def test_chat_goes_to_the_deployment_with_api_key_and_version(
    azure_client: openai.OpenAI, azure: FakeAzureOpenAI
) -> None:
    completion = azure_client.chat.completions.create(model="test/azure-gpt", messages=MESSAGES)

    assert completion.choices[0].message.content == default_reply(MESSAGES)
    assert completion.model_extra["provider"] == "azure-fake"
    sent = azure.requests[-1]
    assert sent.path == "/openai/deployments/gpt4o-prod/chat/completions"
    assert sent.headers["api-key"] == azure.api_key
    assert "authorization" not in sent.headers
    assert "model" not in sent.body


def test_stream_and_legacy_completions(azure_client: openai.OpenAI, azure: FakeAzureOpenAI) -> None:
    chunks = list(
        azure_client.chat.completions.create(model="test/azure-gpt", messages=MESSAGES, stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        default_reply(MESSAGES)
    )
    assert azure.requests[-1].body["stream_options"] == {"include_usage": True}

    completion = azure_client.completions.create(model="test/azure-gpt", prompt="one two")
    assert completion.choices[0].text.startswith("Hello from fake")
    assert azure.requests[-1].path == "/openai/deployments/gpt4o-prod/completions"


def test_azure_outage_falls_back_to_openai(
    azure_client: openai.OpenAI, azure: FakeAzureOpenAI, fake: FakeOpenAIProvider
) -> None:
    azure.fail(503)
    completion = azure_client.chat.completions.create(model="test/azure-gpt", messages=MESSAGES)
    assert completion.model_extra["provider"] == "openai-fake"
    assert fake.requests[-1].body["model"] == "gpt-4o"
