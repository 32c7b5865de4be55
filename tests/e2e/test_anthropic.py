"""The `anthropic` protocol end to end: the official OpenAI SDK against a gateway whose models
are served by a fake Anthropic Messages API on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fakes.anthropic_provider import FakeAnthropicProvider, default_reply
from tests.fakes.catalog import alone_and_with_backup, endpoint, provider
from tests.fakes.gateway import ServerThread, StartGateway, client_of
from tests.fakes.openai_provider import FakeOpenAIProvider

KEY_ENV = "ONEROUTER_TEST_ANTHROPIC_KEY"
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
def anthropic_fake() -> Iterator[FakeAnthropicProvider]:
    with FakeAnthropicProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def claude_gateway(
    start_gateway: StartGateway,
    anthropic_fake: FakeAnthropicProvider,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> ServerThread:
    own = ("anthropic-fake", provider("anthropic", anthropic_fake.base_url, KEY_ENV))
    claude = endpoint("anthropic-fake", "claude-sonnet-4-5", "3", "15")
    catalog = alone_and_with_backup("claude", own, claude, fakes[1].base_url)
    return start_gateway(catalog, {KEY_ENV: anthropic_fake.api_key})


@pytest.fixture
def claude(
    claude_gateway: ServerThread, anthropic_fake: FakeAnthropicProvider
) -> Iterator[openai.OpenAI]:
    anthropic_fake.reset()
    yield client_of(claude_gateway)
    anthropic_fake.reset()


def test_non_stream_text(claude: openai.OpenAI, anthropic_fake: FakeAnthropicProvider) -> None:
    raw = claude.chat.completions.with_raw_response.create(
        model="test/claude-only", messages=MESSAGES
    )
    completion = raw.parse()

    assert completion.choices[0].message.content == default_reply(MESSAGES)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].model_extra["native_finish_reason"] == "end_turn"
    assert completion.model == "test/claude-only"
    assert (completion.model_extra or {})["provider"] == "anthropic-fake"
    assert raw.headers["x-onerouter-provider"] == "anthropic-fake"
    sent = anthropic_fake.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == anthropic_fake.api_key
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["max_tokens"] == 8192
    assert sent.body["system"] == [{"type": "text", "text": "Be brief."}]


def test_stream_text_joins_to_the_reply(claude: openai.OpenAI) -> None:
    chunks = list(
        claude.chat.completions.create(model="test/claude-only", messages=MESSAGES, stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == default_reply(MESSAGES)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.id for c in chunks} == {chunks[0].id}


def test_tool_call_round_trip(claude: openai.OpenAI, anthropic_fake: FakeAnthropicProvider) -> None:
    anthropic_fake.reply("")
    anthropic_fake.tool_use("get_weather", {"city": "Paris"}, tool_id="toolu_01abc")
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    completion = claude.chat.completions.create(
        model="test/claude-only", messages=ask, tools=[WEATHER], tool_choice="auto"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert (call.id, call.function.name) == ("toolu_01abc", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert anthropic_fake.requests[-1].body["tools"][0]["name"] == "get_weather"

    anthropic_fake.reset()
    follow_up: list[Any] = [
        *ask,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21°C"},
    ]
    answer = claude.chat.completions.create(
        model="test/claude-only", messages=follow_up, tools=[WEATHER]
    )
    assert answer.choices[0].message.content
    sent = anthropic_fake.requests[-1].body["messages"]
    assert sent[1]["content"][0] == {
        "type": "tool_use",
        "id": "toolu_01abc",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert sent[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01abc", "content": "sunny, 21°C"}
        ],
    }


def test_streamed_tool_call(claude: openai.OpenAI, anthropic_fake: FakeAnthropicProvider) -> None:
    anthropic_fake.reply("Checking.")
    anthropic_fake.tool_use("get_weather", {"city": "Rome"}, tool_id="toolu_02xyz")
    chunks = list(
        claude.chat.completions.create(
            model="test/claude-only",
            messages=[{"role": "user", "content": "Weather in Rome?"}],
            tools=[WEATHER],
            stream=True,
        )
    )
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert calls[0].id == "toolu_02xyz"
    assert calls[0].function is not None and calls[0].function.name == "get_weather"
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(arguments) == {"city": "Rome"}
    assert {tc.index for tc in calls} == {0}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_usage_counts_cached_prompt_tokens(
    claude: openai.OpenAI, anthropic_fake: FakeAnthropicProvider
) -> None:
    anthropic_fake.cache(read=100, written=20)
    completion = claude.chat.completions.create(model="test/claude-only", messages=MESSAGES)
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 100
    assert usage.prompt_tokens_details.cache_write_tokens == 20
    assert usage.prompt_tokens > 120
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    chunks = list(
        claude.chat.completions.create(
            model="test/claude-only",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.model_dump(exclude_none=True) == usage.model_dump(exclude_none=True)


def test_without_include_usage_no_usage_chunk(claude: openai.OpenAI) -> None:
    chunks = list(
        claude.chat.completions.create(model="test/claude-only", messages=MESSAGES, stream=True)
    )
    assert all(c.choices and c.usage is None for c in chunks)


@pytest.mark.parametrize("stream", [False, True])
def test_overloaded_falls_back_to_the_next_endpoint(
    claude: openai.OpenAI,
    anthropic_fake: FakeAnthropicProvider,
    backup: FakeOpenAIProvider,
    stream: bool,
) -> None:
    anthropic_fake.fail(529)
    if stream:
        chunks = list(
            claude.chat.completions.create(
                model="test/claude-fallback", messages=MESSAGES, stream=True
            )
        )
        assert {(c.model_extra or {})["provider"] for c in chunks} == {"openai-backup"}
    else:
        completion = claude.chat.completions.create(model="test/claude-fallback", messages=MESSAGES)
        assert (completion.model_extra or {})["provider"] == "openai-backup"
    assert len(anthropic_fake.requests) == 1
    assert backup.requests[-1].body["model"] == "gpt-4o"


@pytest.mark.parametrize("stream", [False, True])
def test_overloaded_with_nowhere_to_go_is_502(
    claude: openai.OpenAI, anthropic_fake: FakeAnthropicProvider, stream: bool
) -> None:
    anthropic_fake.fail(529)
    with pytest.raises(openai.InternalServerError) as caught:
        result = claude.chat.completions.create(
            model="test/claude-only", messages=MESSAGES, stream=stream
        )
        list(result) if stream else None  # type: ignore[call-overload]
    assert caught.value.status_code == 502
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["metadata"]["provider_name"] == "anthropic-fake"
    assert caught.value.body["metadata"]["raw"]["error"]["type"] == "overloaded_error"


def test_unsupported_part_is_a_400(claude: openai.OpenAI) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    with pytest.raises(openai.BadRequestError) as caught:
        claude.chat.completions.create(
            model="test/claude-only",
            messages=[{"role": "user", "content": [audio]}],  # type: ignore[list-item]
        )
    assert "input_audio" in caught.value.message
    assert "test/claude-only" in caught.value.message


def test_dropped_stream_ends_with_an_error(
    claude: openai.OpenAI, anthropic_fake: FakeAnthropicProvider
) -> None:
    anthropic_fake.drop_stream(after_events=5)
    with pytest.raises(openai.APIError, match="anthropic-fake"):
        list(
            claude.chat.completions.create(model="test/claude-only", messages=MESSAGES, stream=True)
        )
