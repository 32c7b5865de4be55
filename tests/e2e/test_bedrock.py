"""The `bedrock` protocol end to end: the official OpenAI SDK against a gateway whose models are
served by a fake Bedrock Converse API on loopback (binary event stream included)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fakes.bedrock_provider import FakeBedrockProvider, default_reply
from tests.fakes.catalog import alone_and_with_backup, endpoint, provider
from tests.fakes.gateway import ServerThread, StartGateway, client_of
from tests.fakes.openai_provider import FakeOpenAIProvider

KEY_ENV = "ONEROUTER_TEST_BEDROCK_KEY"
MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "say hello to the world"},
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def bedrock_fake() -> Iterator[FakeBedrockProvider]:
    with FakeBedrockProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def bedrock_gateway(
    start_gateway: StartGateway,
    bedrock_fake: FakeBedrockProvider,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> ServerThread:
    own = ("bedrock-fake", provider("bedrock", bedrock_fake.base_url, KEY_ENV))
    claude = endpoint("bedrock-fake", MODEL, "3", "15")
    catalog = alone_and_with_backup("bedrock", own, claude, fakes[1].base_url)
    return start_gateway(catalog, {KEY_ENV: bedrock_fake.api_key})


@pytest.fixture
def bedrock(
    bedrock_gateway: ServerThread, bedrock_fake: FakeBedrockProvider
) -> Iterator[openai.OpenAI]:
    bedrock_fake.reset()
    yield client_of(bedrock_gateway)
    bedrock_fake.reset()


def test_non_stream_text(bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider) -> None:
    raw = bedrock.chat.completions.with_raw_response.create(
        model="test/bedrock-only", messages=MESSAGES
    )
    completion = raw.parse()

    assert completion.choices[0].message.content == default_reply(MESSAGES)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].model_extra["native_finish_reason"] == "end_turn"
    assert completion.model == "test/bedrock-only"
    assert (completion.model_extra or {})["provider"] == "bedrock-fake"
    assert raw.headers["x-onerouter-provider"] == "bedrock-fake"
    sent = bedrock_fake.requests[-1]
    assert sent.path == f"/model/{MODEL}/converse"
    assert sent.headers["authorization"] == f"Bearer {bedrock_fake.api_key}"
    assert sent.body["inferenceConfig"] == {"maxTokens": 8192}
    assert sent.body["system"] == [{"text": "Be brief."}]
    assert "model" not in sent.body


def test_stream_text_joins_to_the_reply(
    bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider
) -> None:
    bedrock_fake.reason("Thinking it over")
    chunks = list(
        bedrock.chat.completions.create(model="test/bedrock-only", messages=MESSAGES, stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == default_reply(MESSAGES)
    reasoning = [(c.choices[0].delta.model_extra or {}).get("reasoning") for c in chunks]
    assert "Thinking it over" in reasoning
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.id for c in chunks} == {chunks[0].id}
    assert bedrock_fake.requests[-1].path == f"/model/{MODEL}/converse-stream"


def test_tool_call_round_trip(bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider) -> None:
    bedrock_fake.reply("")
    bedrock_fake.tool_use("get_weather", {"city": "Paris"}, tool_id="tooluse_01abc")
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    completion = bedrock.chat.completions.create(
        model="test/bedrock-only", messages=ask, tools=[WEATHER], tool_choice="auto"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert (call.id, call.function.name) == ("tooluse_01abc", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    tool_config = bedrock_fake.requests[-1].body["toolConfig"]
    assert tool_config["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert tool_config["toolChoice"] == {"auto": {}}

    bedrock_fake.reset()
    follow_up: list[Any] = [
        *ask,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21°C"},
    ]
    answer = bedrock.chat.completions.create(
        model="test/bedrock-only", messages=follow_up, tools=[WEATHER]
    )
    assert answer.choices[0].message.content
    sent = bedrock_fake.requests[-1].body["messages"]
    assert sent[1]["content"] == [
        {
            "toolUse": {
                "toolUseId": "tooluse_01abc",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        }
    ]
    assert sent[2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "tooluse_01abc", "content": [{"text": "sunny, 21°C"}]}}
        ],
    }


def test_streamed_tool_call(bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider) -> None:
    bedrock_fake.reply("Checking.")
    bedrock_fake.tool_use("get_weather", {"city": "Rome"}, tool_id="tooluse_02xyz")
    chunks = list(
        bedrock.chat.completions.create(
            model="test/bedrock-only",
            messages=[{"role": "user", "content": "Weather in Rome?"}],
            tools=[WEATHER],
            stream=True,
        )
    )
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert calls[0].id == "tooluse_02xyz"
    assert calls[0].function is not None and calls[0].function.name == "get_weather"
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(arguments) == {"city": "Rome"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_usage_counts_cached_prompt_tokens(
    bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider
) -> None:
    bedrock_fake.cache(read=100, written=20)
    completion = bedrock.chat.completions.create(model="test/bedrock-only", messages=MESSAGES)
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 100
    assert usage.prompt_tokens_details.cache_write_tokens == 20
    assert usage.prompt_tokens > 120
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    chunks = list(
        bedrock.chat.completions.create(
            model="test/bedrock-only",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.model_dump(exclude_none=True) == usage.model_dump(exclude_none=True)


@pytest.mark.parametrize("stream", [False, True])
def test_throttling_falls_back_to_the_next_endpoint(
    bedrock: openai.OpenAI,
    bedrock_fake: FakeBedrockProvider,
    backup: FakeOpenAIProvider,
    stream: bool,
) -> None:
    bedrock_fake.fail(429, "ThrottlingException")
    if stream:
        chunks = list(
            bedrock.chat.completions.create(
                model="test/bedrock-fallback", messages=MESSAGES, stream=True
            )
        )
        assert {(c.model_extra or {})["provider"] for c in chunks} == {"openai-backup"}
    else:
        completion = bedrock.chat.completions.create(
            model="test/bedrock-fallback", messages=MESSAGES
        )
        assert (completion.model_extra or {})["provider"] == "openai-backup"
    assert len(bedrock_fake.requests) == 1
    assert backup.requests[-1].body["model"] == "gpt-4o"


def test_throttling_with_nowhere_to_go_is_429(
    bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider
) -> None:
    bedrock_fake.fail(429, "ThrottlingException")
    with pytest.raises(openai.RateLimitError) as caught:
        bedrock.chat.completions.create(model="test/bedrock-only", messages=MESSAGES)
    assert "ThrottlingException" in caught.value.message
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["metadata"]["provider_name"] == "bedrock-fake"


def test_unsupported_part_is_a_400(bedrock: openai.OpenAI) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}}
    with pytest.raises(openai.BadRequestError) as caught:
        bedrock.chat.completions.create(
            model="test/bedrock-only",
            messages=[{"role": "user", "content": [image]}],  # type: ignore[list-item]
        )
    assert "content[0]" in caught.value.message
    assert "test/bedrock-only" in caught.value.message


def test_in_stream_exception_ends_with_an_error(
    bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider
) -> None:
    bedrock_fake.stream_exception("modelStreamErrorException", after_events=3)
    with pytest.raises(openai.APIError, match="bedrock-fake"):
        list(
            bedrock.chat.completions.create(
                model="test/bedrock-only", messages=MESSAGES, stream=True
            )
        )


def test_dropped_stream_ends_with_an_error(
    bedrock: openai.OpenAI, bedrock_fake: FakeBedrockProvider
) -> None:
    bedrock_fake.drop_stream(after_events=3)
    with pytest.raises(openai.APIError, match="bedrock-fake"):
        list(
            bedrock.chat.completions.create(
                model="test/bedrock-only", messages=MESSAGES, stream=True
            )
        )
