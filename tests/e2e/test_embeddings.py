"""POST /v1/embeddings end to end: the official `openai` SDK's `embeddings.create` against the
running gateway, fake providers speaking OpenAI's, Gemini's and Bedrock's wire formats, and the
same keys, credit checks, routing, fallback, cache and books as chat."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import botocore.session
import httpx
import openai
import pytest

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.dev.poller import drain
from onerouter.settings import Settings
from onerouter.usage.consumer import make_handler
from onerouter.usage.events import UsageEvent
from tests.fakes.azure_provider import FakeAzureOpenAI
from tests.fakes.bedrock_provider import FakeBedrockProvider
from tests.fakes.catalog import endpoint, model, provider
from tests.fakes.embeddings import vector_of
from tests.fakes.gateway import ServerThread, StartGateway, client_of
from tests.fakes.gemini_provider import FakeGeminiProvider
from tests.fakes.openai_provider import FakeOpenAIProvider

MILLION = Decimal(1_000_000)
MODEL = "test/embed"  # primary at $0.02 per million input tokens, backup at $0.13
CACHED = "test/embed-cached"  # primary at $0.02, cache reads at $0.01, TTL 60 s


def text() -> str:
    return f"the canary {uuid.uuid4().hex} sings"  # 4 words: 4 tokens at the fakes


# ------------------------------------------------------------------------------ a gateway


@pytest.fixture(scope="module")
def sqs() -> Any:
    return botocore.session.get_session().create_client("sqs")


@pytest.fixture(scope="module")
def queue(sqs: Any) -> str:
    name = f"onerouter-test-embeddings-{uuid.uuid4().hex[:8]}"
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url


@pytest.fixture(scope="module")
def gateway(settings: Settings, queue: str) -> Iterator[ServerThread]:
    """A gateway of its own, sending usage events to a queue only this module reads."""
    own = dataclasses.replace(settings, usage_queue_url=queue)
    with ServerThread(create_app(own), name="embeddings-gateway") as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(gateway: ServerThread, sqs: Any, queue: str) -> None:
    """Every endpoint healthy and the queue empty at the start of each test."""
    gateway.app.state.pipeline.router.health.forget()
    while messages := sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def account(gateway: ServerThread) -> NewAccount:
    opened: NewAccount = gateway.app.state.accounts.open_account(Decimal("10.00"))
    return opened


@pytest.fixture
def client(gateway: ServerThread, account: NewAccount) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=account.key, max_retries=0)


def receive(sqs: Any, queue: str, count: int, timeout: float = 10.0) -> list[UsageEvent]:
    found: list[UsageEvent] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            found.append(UsageEvent.from_message(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert len(found) == count
    assert not sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages")
    return found


def stored(gateway: ServerThread) -> None:
    deadline = time.monotonic() + 5
    while gateway.app.state.pipeline.cache.writing:
        assert time.monotonic() < deadline
        time.sleep(0.01)


# ------------------------------------------------------------------------------ the answer


def test_a_list_of_texts_as_floats(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    texts = [text(), "two words"]
    raw = client.embeddings.with_raw_response.create(
        model=MODEL, input=texts, encoding_format="float"
    )
    answer = raw.parse()

    assert [d.embedding for d in answer.data] == [vector_of(t) for t in texts]
    assert [d.index for d in answer.data] == [0, 1]
    assert answer.model == MODEL and answer.object == "list"
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == 6
    assert raw.headers["x-onerouter-provider"] == "primary"
    assert raw.headers["x-onerouter-cache"] == "MISS"
    assert raw.headers["x-onerouter-generation-id"].startswith("gen-")
    sent = fake.requests[-1]
    assert sent.path == "/v1/embeddings"
    assert sent.body == {
        "model": "text-embedding-3-small",
        "input": texts,
        "encoding_format": "float",
    }


def test_base64_is_decoded_by_the_sdk_to_the_same_floats(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    one = text()
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    decoded = client.embeddings.create(model=MODEL, input=one)
    assert fake.requests[-1].body["encoding_format"] == "base64"
    assert decoded.data[0].embedding == vector_of(one)
    floats = client.embeddings.create(model=MODEL, input=one, encoding_format="float")
    assert decoded.data[0].embedding == floats.data[0].embedding
    # Asked for explicitly, base64 comes back as sent: little-endian float32.
    shown = client.embeddings.create(model=MODEL, input=one, encoding_format="base64")
    assert isinstance(shown.data[0].embedding, str)


def test_dimensions_and_token_arrays_reach_an_openai_provider(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    answer = client.embeddings.create(
        model=MODEL, input=[[1, 2, 3], [4, 5]], dimensions=4, encoding_format="float"
    )
    assert [d.embedding for d in answer.data] == [vector_of([1, 2, 3], 4), vector_of([4, 5], 4)]
    assert fake.requests[-1].body["dimensions"] == 4
    assert answer.usage.prompt_tokens == 5


def test_a_failing_provider_falls_back(
    client: openai.OpenAI,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
    sqs: Any,
    queue: str,
) -> None:
    fake.fail(503)
    raw = client.embeddings.with_raw_response.create(
        model=MODEL, input=text(), encoding_format="float"
    )
    assert raw.headers["x-onerouter-provider"] == "backup"
    assert backup.requests[-1].body["model"] == "text-embedding-3-large"
    (event,) = receive(sqs, queue, 1)
    assert event.provider == "backup" and event.failed_endpoints == ((MODEL, "primary"),)
    assert event.cost == 4 * Decimal("0.13") / MILLION


def test_no_credit_is_a_402_and_nothing_is_sent(
    gateway: ServerThread, fake: FakeOpenAIProvider
) -> None:
    poor = gateway.app.state.accounts.open_account(Decimal("0.000001"))
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=poor.key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.embeddings.create(model=MODEL, input="word " * 5000)  # ~6,250 tokens at $0.13/M
    assert caught.value.status_code == 402
    assert fake.requests == []


def test_a_bad_key_is_a_401(gateway: ServerThread, fake: FakeOpenAIProvider) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-or1-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.embeddings.create(model=MODEL, input="hello")
    assert fake.requests == []


def test_the_usage_record_has_the_exact_cost(
    gateway: ServerThread,
    client: openai.OpenAI,
    account: NewAccount,
    sqs: Any,
    queue: str,
) -> None:
    body = client.embeddings.with_raw_response.create(
        model=MODEL, input=[text(), text()], extra_body={"usage": {"include": True}}
    ).http_response.json()
    cost = 8 * Decimal("0.02") / MILLION
    assert Decimal(str(body["usage"]["cost"])) == cost

    (event,) = receive(sqs, queue, 1)
    assert (event.model, event.provider, event.provider_model) == (
        MODEL,
        "primary",
        "text-embedding-3-small",
    )
    assert (event.prompt_tokens, event.completion_tokens) == (8, 0)
    assert (event.cost, event.estimated, event.cache, event.status) == (cost, False, "MISS", "ok")
    assert event.account_id == account.account_id and not event.streamed
    assert "canary" not in event.to_message()

    # The consumer books it (read above, so sent again); the generation reads back the cost.
    sqs.send_message(QueueUrl=queue, MessageBody=event.to_message())
    settings: Settings = gateway.app.state.settings
    assert drain(queue, make_handler(settings)) == 1
    record = httpx.get(
        f"{gateway.url}/api/v1/generation",
        params={"id": event.generation_id},
        headers={"authorization": f"Bearer {account.key}"},
    ).json()["data"]
    assert Decimal(record["cost"]) == cost and record["model"] == MODEL


def test_a_repeat_is_a_cache_hit_billed_at_the_cache_price(
    gateway: ServerThread, client: openai.OpenAI, fake: FakeOpenAIProvider, sqs: Any, queue: str
) -> None:
    texts = [text(), "a b"]
    first = client.embeddings.with_raw_response.create(model=CACHED, input=texts)
    stored(gateway)
    again = client.embeddings.with_raw_response.create(model=CACHED, input=texts)
    assert (first.headers["x-onerouter-cache"], again.headers["x-onerouter-cache"]) == (
        "MISS",
        "HIT",
    )
    assert len(fake.requests) == 1
    assert [d.embedding for d in again.parse().data] == [vector_of(t) for t in texts]
    assert again.parse().usage.prompt_tokens == 6

    # Another encoding or size is another request.
    client.embeddings.create(model=CACHED, input=texts, encoding_format="float")
    client.embeddings.create(model=CACHED, input=texts, dimensions=4)
    assert len(fake.requests) == 3

    by_cache: dict[str, list[UsageEvent]] = {}
    for event in receive(sqs, queue, 4):
        by_cache.setdefault(event.cache, []).append(event)
    (hit,) = by_cache["HIT"]
    assert (hit.prompt_tokens, hit.cached_tokens, hit.completion_tokens) == (6, 6, 0)
    assert hit.cost == 6 * Decimal("0.01") / MILLION


# ------------------------------------------------------------------------------ wrong requests


def test_chat_to_an_embedding_model_and_embeddings_to_a_chat_model_are_400s(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "wrong_model_kind"
    assert "test/embed" in caught.value.message and "embeddings" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="test/solo", input="hi")
    assert caught.value.code == "wrong_model_kind"
    assert "test/solo" in caught.value.message and "chat" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=MODEL, input="hi", extra_body={"models": ["test/solo"]})
    assert caught.value.code == "wrong_model_kind"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": []}, "input"),
        ({"input": ""}, "input"),
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({}, "input"),
    ],
)
def test_invalid_requests_name_the_field(
    gateway: ServerThread, account: NewAccount, body: dict[str, Any], param: str
) -> None:
    response = httpx.post(
        f"{gateway.url}/v1/embeddings",
        json={"model": MODEL, **body},
        headers={"authorization": f"Bearer {account.key}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_models_say_which_apis_serve_them(gateway: ServerThread) -> None:
    listed = {m["id"]: m for m in httpx.get(f"{gateway.url}/v1/models").json()["data"]}
    assert listed[MODEL]["apis"] == ["embeddings"]
    assert listed[MODEL]["dimensions"] == 8
    assert listed[MODEL]["pricing"]["prompt"] == "0.02"
    assert listed["test/solo"]["apis"] == ["chat", "messages", "responses"]
    assert "dimensions" not in listed["test/solo"]


def test_the_api_prefix_serves_embeddings_too(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    response = httpx.post(
        f"{gateway.url}/api/v1/embeddings",
        json={"model": MODEL, "input": "hello there"},
        headers={"authorization": f"Bearer {account.key}"},
    )
    assert response.status_code == 200
    assert response.json()["data"][0]["embedding"] == vector_of("hello there")


# ------------------------------------------------------------------------------ Gemini, Bedrock

AZURE_KEY_ENV = "ONEROUTER_TEST_AZURE_KEY"
GEMINI_KEY_ENV = "ONEROUTER_TEST_GEMINI_KEY"
BEDROCK_KEY_ENV = "ONEROUTER_TEST_BEDROCK_KEY"
TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGeminiProvider]:
    with FakeGeminiProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def bedrock() -> Iterator[FakeBedrockProvider]:
    with FakeBedrockProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def azure() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def others(
    start_gateway: StartGateway,
    gemini: FakeGeminiProvider,
    bedrock: FakeBedrockProvider,
    azure: FakeAzureOpenAI,
) -> ServerThread:
    def embedding(model_id: str, served: dict[str, Any], context: int) -> dict[str, Any]:
        served["pricing"] = {"prompt": served["pricing"]["prompt"]}  # no completion price
        return model(model_id, served, context_length=context, kind="embedding")

    catalog = {
        "providers": {
            "gemini-fake": provider("gemini", gemini.base_url, GEMINI_KEY_ENV),
            "bedrock-fake": provider("bedrock", bedrock.base_url, BEDROCK_KEY_ENV),
            "azure-fake": provider("azure", azure.base_url, AZURE_KEY_ENV),
        },
        "models": [
            embedding(
                "test/gemini-embed",
                endpoint("gemini-fake", "gemini-embedding-001", "0.15", "0"),
                2048,
            ),
            embedding("test/titan", endpoint("bedrock-fake", TITAN, "0.02", "0"), 8192),
            embedding("test/cohere", endpoint("bedrock-fake", COHERE, "0.1", "0"), 512),
            embedding("test/azure-embed", endpoint("azure-fake", "emb-prod", "0.02", "0"), 8191),
        ],
    }
    keys = {
        GEMINI_KEY_ENV: gemini.api_key,
        BEDROCK_KEY_ENV: bedrock.api_key,
        AZURE_KEY_ENV: azure.api_key,
    }
    return start_gateway(catalog, keys)


@pytest.fixture
def other(
    others: ServerThread,
    gemini: FakeGeminiProvider,
    bedrock: FakeBedrockProvider,
    azure: FakeAzureOpenAI,
) -> openai.OpenAI:
    for fake in (gemini, bedrock, azure):
        fake.reset()
    return client_of(others)


def test_azure_deployment_embeddings(other: openai.OpenAI, azure: FakeAzureOpenAI) -> None:
    answer = other.embeddings.create(model="test/azure-embed", input=["a b c"], dimensions=4)
    assert answer.data[0].embedding == vector_of("a b c", 4)  # base64, decoded by the SDK
    assert answer.usage.prompt_tokens == 3
    sent = azure.requests[-1]
    assert sent.path == "/openai/deployments/emb-prod/embeddings"
    assert sent.headers["api-key"] == azure.api_key
    assert sent.body == {"input": ["a b c"], "dimensions": 4, "encoding_format": "base64"}


def test_gemini_batch_embed_contents(other: openai.OpenAI, gemini: FakeGeminiProvider) -> None:
    texts = ["first text here", "second"]
    answer = other.embeddings.create(model="test/gemini-embed", input=texts, dimensions=16)

    sent = gemini.requests[-1]
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.headers["x-goog-api-key"] == gemini.api_key
    assert sent.body == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": t}]},
                "outputDimensionality": 16,
            }
            for t in texts
        ]
    }
    assert [d.embedding for d in answer.data] == [vector_of(t, 16) for t in texts]
    # Gemini counts no tokens: the gateway's estimate, about four characters a token.
    assert answer.usage.prompt_tokens == 4 + 2


def test_gemini_takes_no_token_arrays(other: openai.OpenAI, gemini: FakeGeminiProvider) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        other.embeddings.create(model="test/gemini-embed", input=[[1, 2, 3]])
    assert caught.value.param == "input"
    assert "token arrays" in caught.value.message
    assert gemini.requests == []


def test_titan_on_bedrock_one_call_per_input(
    other: openai.OpenAI, bedrock: FakeBedrockProvider
) -> None:
    texts = [f"text number {i}" for i in range(5)]
    answer = other.embeddings.create(
        model="test/titan", input=texts, dimensions=256, encoding_format="float"
    )

    assert [d.embedding for d in answer.data] == [vector_of(t, 256) for t in texts]
    assert answer.usage.prompt_tokens == 15  # Titan's counts, summed
    calls = bedrock.requests
    assert len(calls) == 5
    assert {c.path for c in calls} == {f"/model/{TITAN}/invoke"}
    assert sorted(c.body["inputText"] for c in calls) == sorted(texts)
    assert all(c.body["dimensions"] == 256 and c.body["normalize"] is True for c in calls)
    assert calls[0].headers["authorization"] == f"Bearer {bedrock.api_key}"


def test_titan_base64_and_a_refused_size(
    other: openai.OpenAI, bedrock: FakeBedrockProvider
) -> None:
    one = other.embeddings.create(model="test/titan", input="hello")  # the SDK decodes base64
    assert one.data[0].embedding == vector_of("hello", 1024)
    with pytest.raises(openai.BadRequestError) as caught:
        other.embeddings.create(model="test/titan", input="hello", dimensions=100)
    assert "dimensions" in caught.value.message


def test_cohere_on_bedrock_takes_96_texts_a_call(
    other: openai.OpenAI, bedrock: FakeBedrockProvider
) -> None:
    texts = [f"document {i}" for i in range(100)]
    answer = other.embeddings.create(model="test/cohere", input=texts, encoding_format="float")
    assert [d.embedding for d in answer.data] == [vector_of(t, 1024) for t in texts]
    calls = sorted(bedrock.requests, key=lambda c: len(c.body["texts"]), reverse=True)
    assert [len(c.body["texts"]) for c in calls] == [96, 4]
    assert {c.path for c in calls} == {f"/model/{COHERE}/invoke"}
    assert all(c.body["input_type"] == "search_document" for c in calls)
    # No token count from Cohere: estimated, about four characters a token.
    assert answer.usage.prompt_tokens == sum(-(-len(t) // 4) for t in texts)
    with pytest.raises(openai.BadRequestError) as caught:
        other.embeddings.create(model="test/cohere", input="x", dimensions=256)
    assert caught.value.param == "dimensions"
