"""Chat completions end to end: the official OpenAI SDK against the running gateway."""

from __future__ import annotations

import openai

from tests.fakes.openai_provider import (
    FakeOpenAIProvider,
    completion_tokens,
    default_reply,
    prompt_tokens,
)

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "say hello to the world"},
]


def test_non_stream_answer_names_model_provider_and_generation(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    raw = client.chat.completions.with_raw_response.create(model="test/chat", messages=MESSAGES)
    completion = raw.parse()

    assert completion.choices[0].message.content == default_reply(MESSAGES)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "test/chat"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == prompt_tokens(MESSAGES)
    assert completion.usage.completion_tokens == completion_tokens(default_reply(MESSAGES))
    extra = completion.model_extra or {}
    assert extra["provider"] == "primary"
    assert completion.choices[0].model_extra["native_finish_reason"] == "stop"
    assert completion.id.startswith("gen-")
    assert raw.headers["x-onerouter-generation-id"] == completion.id
    assert raw.headers["x-onerouter-provider"] == "primary"
    assert raw.headers["x-onerouter-cache"] == "MISS"
    # The provider was asked for its own model name, with the provider's key.
    sent = fake.requests[-1]
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.headers["authorization"] == f"Bearer {fake.api_key}"


def test_alias_resolves_to_the_model(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    completion = client.chat.completions.create(model="chat", messages=MESSAGES)
    assert completion.model == "test/chat"


def test_stream_delivers_every_chunk_then_done(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    stream = client.chat.completions.create(model="test/chat", messages=MESSAGES, stream=True)
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == default_reply(MESSAGES)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[0].id.startswith("gen-")
    assert all(c.model == "test/chat" for c in chunks)
    # Usage was not asked for, so no usage-only chunk reaches the client...
    assert all(c.usage is None for c in chunks)
    # ...although the gateway always asks the provider for it (billing needs it).
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}


def test_stream_with_include_usage_ends_with_usage_chunk(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    stream = client.chat.completions.create(
        model="test/chat",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == prompt_tokens(MESSAGES)


def test_unknown_fields_pass_through_and_gateway_fields_do_not(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    client.chat.completions.create(
        model="test/chat",
        messages=MESSAGES,
        temperature=0.3,
        extra_body={
            "vendor_knob": {"level": 3},
            "models": ["test/solo"],
            "provider": {"sort": "price"},
            "usage": {"include": True},
        },
    )
    body = fake.requests[-1].body
    assert body["vendor_knob"] == {"level": 3}
    assert body["temperature"] == 0.3
    for gateway_only in ("models", "provider", "usage"):
        assert gateway_only not in body


def test_legacy_completions(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    completion = client.completions.create(model="test/solo", prompt="one two three")
    assert completion.object == "text_completion"
    assert completion.choices[0].text.startswith("Hello from fake")
    assert fake.requests[-1].path == "/v1/completions"

    streamed = list(client.completions.create(model="test/solo", prompt="one", stream=True))
    assert "".join(c.choices[0].text for c in streamed if c.choices).startswith("Hello")


def test_api_v1_prefix_serves_the_same(gateway, account, fake: FakeOpenAIProvider) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/api/v1", api_key=account.key, max_retries=0)
    completion = client.chat.completions.create(model="test/chat", messages=MESSAGES)
    assert completion.choices[0].message.content == default_reply(MESSAGES)
