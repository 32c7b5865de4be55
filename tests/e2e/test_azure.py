"""Azure OpenAI deployments through the gateway, with the OpenAI SDK as the client."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import openai
import pytest
import yaml

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.settings import Settings
from tests.fakes.azure_provider import FakeAzureOpenAI
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider, default_reply

MESSAGES = [{"role": "user", "content": "hello from azure land"}]


@pytest.fixture(scope="module")
def azure() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def azure_gateway(
    settings: Settings,
    azure: FakeAzureOpenAI,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerThread]:
    catalog = {
        "providers": {
            "azure-fake": {
                "protocol": "azure",
                "base_url": azure.base_url,
                "api_key_env": "ONEROUTER_TEST_AZURE_KEY",
                "api_version": "2024-10-21",
            },
            "openai-fake": {
                "protocol": "openai",
                "base_url": fakes[0].base_url,
                "api_key_env": "ONEROUTER_TEST_FAKE_KEY",
            },
        },
        "models": [
            {
                "id": "test/azure-gpt",
                "name": "Azure GPT",
                "context_length": 128000,
                "endpoints": [
                    {
                        "provider": "azure-fake",
                        "model": "gpt4o-prod",
                        "pricing": {"prompt": "1", "completion": "2"},
                    },
                    {
                        "provider": "openai-fake",
                        "model": "gpt-4o",
                        "pricing": {"prompt": "2", "completion": "4"},
                    },
                ],
            }
        ],
    }
    path = tmp_path_factory.mktemp("azure") / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog), encoding="utf-8")
    environ = {**settings.environ, "ONEROUTER_TEST_AZURE_KEY": azure.api_key}
    app = create_app(dataclasses.replace(settings, catalog_path=path, environ=environ))
    with ServerThread(app) as server:
        yield server


@pytest.fixture
def azure_client(
    azure_gateway: ServerThread, azure: FakeAzureOpenAI, fake: FakeOpenAIProvider
) -> Iterator[openai.OpenAI]:
    azure.reset()
    opened: NewAccount = azure_gateway.app.state.accounts.open_account(10)
    yield openai.OpenAI(base_url=f"{azure_gateway.url}/v1", api_key=opened.key, max_retries=0)
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
