"""The `gemini` protocol end to end: the official OpenAI SDK, the running gateway, and a fake
Gemini API on loopback speaking Google's wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from onerouter.providers.gemini.stream import JsonArrayStream
from tests.fakes.catalog import BACKUP_KEY_ENV, endpoint, model, provider
from tests.fakes.gateway import ServerThread, StartGateway, client_of
from tests.fakes.gemini_provider import FakeGeminiProvider, default_reply, prompt_tokens
from tests.fakes.openai_provider import FakeOpenAIProvider
from tests.fakes.openai_provider import default_reply as openai_reply

GEMINI_KEY_ENV = "ONEROUTER_TEST_GEMINI_KEY"
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "say hello to the world"},
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def _catalog(gemini: FakeGeminiProvider, backup: FakeOpenAIProvider) -> dict[str, object]:
    flash = endpoint("gemini-fake", "gemini-2.5-flash", "0.3", "2.5")
    gpt = endpoint("openai-backup", "gpt-4o", "2", "4")
    return {
        "providers": {
            "gemini-fake": provider("gemini", gemini.base_url, GEMINI_KEY_ENV),
            "openai-backup": provider("openai", backup.base_url, BACKUP_KEY_ENV),
        },
        "models": [
            model("test/gemini", flash, context_length=1048576),
            model("test/gemini-or-openai", gpt, flash, context_length=128000),
        ],
    }


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGeminiProvider]:
    with FakeGeminiProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def gemini_gateway(
    start_gateway: StartGateway,
    gemini: FakeGeminiProvider,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> ServerThread:
    return start_gateway(_catalog(gemini, fakes[1]), {GEMINI_KEY_ENV: gemini.api_key})


@pytest.fixture
def backup(fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider]) -> Iterator[FakeOpenAIProvider]:
    fakes[1].reset()
    yield fakes[1]
    fakes[1].reset()


@pytest.fixture
def client(
    gemini_gateway: ServerThread, gemini: FakeGeminiProvider, backup: FakeOpenAIProvider
) -> Iterator[openai.OpenAI]:
    gemini.reset()
    yield client_of(gemini_gateway)
    gemini.reset()


def _sent(gemini: FakeGeminiProvider) -> dict:
    body = gemini.requests[-1].body
    assert isinstance(body, dict)
    return body


def test_non_stream_answer_and_usage(client: openai.OpenAI, gemini: FakeGeminiProvider) -> None:
    gemini.cached(2)
    completion = client.chat.completions.create(model="test/gemini", messages=MESSAGES)

    sent = _sent(gemini)
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["contents"] == [{"role": "user", "parts": [{"text": "say hello to the world"}]}]
    assert gemini.requests[-1].path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert gemini.requests[-1].headers["x-goog-api-key"] == gemini.api_key

    reply = default_reply(sent["contents"])
    assert completion.choices[0].message.content == reply
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "test/gemini"
    assert (completion.model_extra or {})["provider"] == "gemini-fake"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == prompt_tokens(sent)
    assert completion.usage.completion_tokens == len(reply.split())
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 2


def test_reasoning_is_returned_and_counted(
    client: openai.OpenAI, gemini: FakeGeminiProvider
) -> None:
    gemini.think("hmm let me see")
    completion = client.chat.completions.create(
        model="test/gemini",
        messages=MESSAGES,
        extra_body={"reasoning": {"effort": "low"}},
    )
    assert _sent(gemini)["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}
    }
    assert (completion.choices[0].message.model_extra or {})["reasoning"] == "hmm let me see"
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 4
    reply_tokens = len(completion.choices[0].message.content.split())  # type: ignore[union-attr]
    assert completion.usage.completion_tokens == reply_tokens + 4


def test_stream_joined_deltas_equal_the_reply(
    client: openai.OpenAI, gemini: FakeGeminiProvider
) -> None:
    stream = client.chat.completions.create(
        model="test/gemini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert gemini.requests[-1].path.endswith(":streamGenerateContent")
    sent = _sent(gemini)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == default_reply(sent["contents"])
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == prompt_tokens(sent)
    assert len({c.id for c in chunks}) == 1


def test_stream_hides_usage_unless_asked(client: openai.OpenAI, gemini: FakeGeminiProvider) -> None:
    chunks = list(
        client.chat.completions.create(model="test/gemini", messages=MESSAGES, stream=True)
    )
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_call_round_trip(client: openai.OpenAI, gemini: FakeGeminiProvider) -> None:
    question = {"role": "user", "content": "Weather in Paris?"}
    gemini.call_function("get_weather", {"city": "Paris"})
    first = client.chat.completions.create(
        model="test/gemini", messages=[question], tools=[WEATHER_TOOL], tool_choice="required"
    )
    sent = _sent(gemini)
    declaration = sent["tools"][0]["functionDeclarations"][0]
    assert "additionalProperties" not in declaration["parameters"]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}

    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]

    second = client.chat.completions.create(
        model="test/gemini",
        messages=[
            question,
            choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
        ],
        tools=[WEATHER_TOOL],
    )
    contents = _sent(gemini)["contents"]
    assert contents[1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                "thoughtSignature": "c2lnbmF0dXJl",
            }
        ],
    }
    assert contents[2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}}],
    }
    assert second.choices[0].finish_reason == "stop"


def test_streamed_tool_call(client: openai.OpenAI, gemini: FakeGeminiProvider) -> None:
    gemini.call_function("get_weather", {"city": "Oslo"})
    chunks = list(
        client.chat.completions.create(
            model="test/gemini",
            messages=[{"role": "user", "content": "Weather in Oslo?"}],
            tools=[WEATHER_TOOL],
            stream=True,
        )
    )
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [(tc.index, tc.id, tc.function.name) for tc in calls] == [  # type: ignore[union-attr]
        (0, "call_0", "get_weather")
    ]
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr, arg-type]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_rate_limit_from_the_only_endpoint_is_a_rate_limit_error(
    client: openai.OpenAI, gemini: FakeGeminiProvider
) -> None:
    gemini.fail(429)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="test/gemini", messages=MESSAGES)
    assert "Resource has been exhausted" in caught.value.message


def test_an_unsupported_part_is_a_bad_request(
    client: openai.OpenAI, gemini: FakeGeminiProvider
) -> None:
    content = [{"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="test/gemini",
            messages=[{"role": "user", "content": content}],  # type: ignore[list-item, misc]
        )
    assert "messages[0].content[0]" in caught.value.message
    assert "test/gemini" in caught.value.message
    assert gemini.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_unavailable_gemini_falls_back_to_the_dearer_openai_endpoint(
    client: openai.OpenAI, gemini: FakeGeminiProvider, backup: FakeOpenAIProvider, stream: bool
) -> None:
    gemini.fail(503)
    user = [{"role": "user", "content": "hello there"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="test/gemini-or-openai", messages=user, stream=True
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        completion = client.chat.completions.create(model="test/gemini-or-openai", messages=user)
        text = completion.choices[0].message.content or ""
        assert (completion.model_extra or {})["provider"] == "openai-backup"
    assert len(gemini.requests) == 1  # tried first: it is the cheaper endpoint
    assert len(backup.requests) == 1
    assert text == openai_reply(user)


def test_a_dropped_stream_ends_with_an_error(
    client: openai.OpenAI, gemini: FakeGeminiProvider
) -> None:
    gemini.drop_stream(after_chunks=2)
    stream = client.chat.completions.create(model="test/gemini", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError):
        list(stream)


def test_the_fake_speaks_googles_json_array_stream_and_auth(gemini: FakeGeminiProvider) -> None:
    url = f"{gemini.base_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "one two three"}]}]}
    gemini.reset()
    parser = JsonArrayStream()
    items = []
    headers = {"x-goog-api-key": gemini.api_key}
    with httpx.stream("POST", url, json=body, headers=headers, timeout=5) as response:
        assert response.headers["content-type"].startswith("application/json")
        for chunk in response.iter_raw(3):
            items += parser.feed(chunk)
    parser.close()
    text = "".join(p["text"] for i in items for p in i["candidates"][0]["content"]["parts"])
    assert text == default_reply(body["contents"])
    assert items[-1]["candidates"][0]["finishReason"] == "STOP"

    missing = httpx.post(url, json=body, timeout=5)
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
    wrong = httpx.post(url, json=body, headers={"x-goog-api-key": "nope"}, timeout=5)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    # Protobuf JSON takes a field's proto name as well as its camelCase one; nothing else.
    snake = {**body, "generation_config": {"max_output_tokens": 5}}
    assert httpx.post(url, json=snake, headers=headers, timeout=5).status_code == 200
    unknown = httpx.post(url, json={**body, "generationConfigs": {}}, headers=headers, timeout=5)
    assert unknown.status_code == 400
    assert "Unknown name" in unknown.json()["error"]["message"]


def test_legacy_completion(client: openai.OpenAI, gemini: FakeGeminiProvider) -> None:
    completion = client.completions.create(model="test/gemini", prompt="one two three")
    assert _sent(gemini)["contents"] == [{"role": "user", "parts": [{"text": "one two three"}]}]
    assert completion.choices[0].text == "Hello from Gemini: 3 words"
    assert completion.choices[0].finish_reason == "stop"
    chunks = list(client.completions.create(model="test/gemini", prompt="four five", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Hello from Gemini: 2 words"
