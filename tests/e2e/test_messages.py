"""POST /v1/messages end to end: the official `anthropic` SDK, as Claude Code and scripts use
it, against a running gateway whose models are served by Anthropic, OpenAI-compatible and
Gemini fakes on loopback. One pipeline: the same keys, credit checks, fallback and billing as
chat completions, in Anthropic's wire format."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import botocore.session
import httpx
import pytest
import yaml

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.dev.poller import drain
from onerouter.settings import Settings
from onerouter.usage.consumer import make_handler
from tests.fakes.anthropic_provider import FakeAnthropicProvider
from tests.fakes.anthropic_provider import default_reply as claude_reply
from tests.fakes.catalog import BACKUP_KEY_ENV, endpoint, model, provider
from tests.fakes.gateway import ServerThread
from tests.fakes.gemini_provider import FakeGeminiProvider
from tests.fakes.openai_provider import FakeOpenAIProvider
from tests.fakes.openai_provider import default_reply as openai_reply

ANTHROPIC_KEY_ENV = "ONEROUTER_TEST_MESSAGES_ANTHROPIC_KEY"
GEMINI_KEY_ENV = "ONEROUTER_TEST_MESSAGES_GEMINI_KEY"
OPENAI_KEY_ENV = "ONEROUTER_TEST_FAKE_KEY"  # the shared primary fake's (tests/conftest.py)
MILLION = Decimal(1_000_000)
MODALITIES = ["text", "image", "file"]
WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
# A 1x1 transparent PNG.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
    )
).decode()
MODELS = ["test/claude", "test/gpt", "test/gemini"]


def _catalog(
    claude: FakeAnthropicProvider, gemini: FakeGeminiProvider, openai_url: str, backup_url: str
) -> dict[str, Any]:
    sonnet = endpoint("anthropic-fake", "claude-sonnet-4-5", "3", "15")
    sonnet["pricing"].update(input_cache_read="0.3", input_cache_write="3.75")
    gpt = endpoint("openai-fake", "gpt-4o-mini", "1", "2")
    flash = endpoint("gemini-fake", "gemini-2.5-flash", "0.3", "2.5")
    backup = endpoint("openai-backup", "gpt-4o", "5", "20")
    extra = {"input_modalities": MODALITIES, "max_output_tokens": 8192}
    return {
        "providers": {
            "anthropic-fake": provider("anthropic", claude.base_url, ANTHROPIC_KEY_ENV),
            "gemini-fake": provider("gemini", gemini.base_url, GEMINI_KEY_ENV),
            "openai-fake": provider("openai", openai_url, OPENAI_KEY_ENV),
            "openai-backup": provider("openai", backup_url, BACKUP_KEY_ENV),
        },
        "models": [
            model("test/claude", sonnet, **extra),
            model("test/gpt", gpt, **extra),
            model("test/gemini", flash, **extra),
            model("test/claude-fallback", sonnet, backup, **extra),
            model("test/gpt-cached", gpt, **{**extra, "cache_ttl": 60}),
        ],
    }


@pytest.fixture(scope="module")
def claude_fake() -> Iterator[FakeAnthropicProvider]:
    with FakeAnthropicProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def gemini_fake() -> Iterator[FakeGeminiProvider]:
    with FakeGeminiProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def sqs() -> Any:
    return botocore.session.get_session().create_client("sqs")


@pytest.fixture(scope="module")
def gateway(
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    claude_fake: FakeAnthropicProvider,
    gemini_fake: FakeGeminiProvider,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
    sqs: Any,
) -> Iterator[ServerThread]:
    """A gateway of its own: the three protocols' fakes, and a usage queue only it writes."""
    path = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
    catalog = _catalog(claude_fake, gemini_fake, fakes[0].base_url, fakes[1].base_url)
    path.write_text(yaml.safe_dump(catalog), encoding="utf-8")
    queue = sqs.create_queue(QueueName=f"onerouter-test-messages-{uuid.uuid4().hex[:8]}")
    environ = {
        **settings.environ,
        ANTHROPIC_KEY_ENV: claude_fake.api_key,
        GEMINI_KEY_ENV: gemini_fake.api_key,
    }
    own = dataclasses.replace(
        settings, catalog_path=path, environ=environ, usage_queue_url=queue["QueueUrl"]
    )
    with ServerThread(create_app(own), name="messages-gateway") as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(
    gateway: ServerThread,
    claude_fake: FakeAnthropicProvider,
    gemini_fake: FakeGeminiProvider,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> Iterator[None]:
    everyone = (claude_fake, gemini_fake, *fakes)
    for fake in everyone:
        fake.reset()
    gateway.app.state.pipeline.router.health.forget()
    yield
    for fake in everyone:
        fake.reset()


@pytest.fixture
def account(gateway: ServerThread) -> NewAccount:
    opened: NewAccount = gateway.app.state.accounts.open_account(Decimal("10.00"))
    return opened


@pytest.fixture
def client(gateway: ServerThread, account: NewAccount) -> anthropic.Anthropic:
    # No retries: the SDK's own retries would hide what the gateway answered.
    return anthropic.Anthropic(base_url=gateway.url, api_key=account.key, max_retries=0)


def _ask(text: str = "say hello to the world") -> list[Any]:
    return [{"role": "user", "content": text}]


def _texts(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


# ------------------------------------------------------------------------------ create


def test_create_against_claude(
    client: anthropic.Anthropic, claude_fake: FakeAnthropicProvider
) -> None:
    raw = client.messages.with_raw_response.create(
        model="test/claude",
        max_tokens=300,
        system="Be brief.",
        messages=_ask(),
        # Sampling parameters the API still takes, though the SDK's types (2.x) no longer list them.
        extra_body={"temperature": 0.5, "top_k": 5},
        stop_sequences=["END"],
        metadata={"user_id": "user-42"},
    )
    message = raw.parse()
    sent = claude_fake.requests[-1]
    assert _texts(message) == claude_reply(sent.body["messages"])
    assert (message.type, message.role, message.model) == ("message", "assistant", "test/claude")
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.id == raw.headers["x-onerouter-generation-id"] == raw.request_id
    assert raw.headers["x-onerouter-provider"] == "anthropic-fake"
    assert raw.headers["x-onerouter-cache"] == "MISS"
    assert sent.body["system"] == [{"type": "text", "text": "Be brief."}]
    assert (sent.body["max_tokens"], sent.body["temperature"], sent.body["top_k"]) == (300, 0.5, 5)
    assert sent.body["stop_sequences"] == ["END"]
    assert sent.body["metadata"] == {"user_id": "user-42"}


@pytest.mark.parametrize("model", ["test/gpt", "test/gemini"])
def test_create_against_other_providers(
    client: anthropic.Anthropic,
    model: str,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
    gemini_fake: FakeGeminiProvider,
) -> None:
    message = client.messages.create(
        model=model, max_tokens=100, system="Be brief.", messages=_ask("one two three")
    )
    expected = "Hello from fake: 3 words" if model == "test/gpt" else "Hello from Gemini: 3 words"
    assert _texts(message) == expected
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    if model == "test/gpt":
        sent = fakes[0].requests[-1].body
        assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
        assert sent["max_tokens"] == 100
    else:
        assert gemini_fake.requests[-1].body["systemInstruction"] == {
            "parts": [{"text": "Be brief."}]
        }


def test_the_key_as_a_bearer_token(gateway: ServerThread, account: NewAccount) -> None:
    """Claude Code with ANTHROPIC_AUTH_TOKEN sends `Authorization: Bearer <key>`."""
    bearer = anthropic.Anthropic(base_url=gateway.url, auth_token=account.key, max_retries=0)
    message = bearer.messages.create(model="test/gpt", max_tokens=50, messages=_ask())
    assert _texts(message) == openai_reply(_ask())


def test_api_v1_prefix_serves_too(gateway: ServerThread, account: NewAccount) -> None:
    prefixed = anthropic.Anthropic(
        base_url=f"{gateway.url}/api", api_key=account.key, max_retries=0
    )
    assert _texts(prefixed.messages.create(model="test/gpt", max_tokens=50, messages=_ask()))


# ------------------------------------------------------------------------------ stream


@pytest.mark.parametrize("model", MODELS)
def test_stream_helper(client: anthropic.Anthropic, model: str) -> None:
    with client.messages.stream(model=model, max_tokens=100, messages=_ask("a b c d")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == _texts(final)
    assert text.endswith("4 words")
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_create_stream_event_sequence(client: anthropic.Anthropic, model: str) -> None:
    events = list(client.messages.create(model=model, max_tokens=100, messages=_ask(), stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[1] == "content_block_start"
    assert set(kinds[2:-3]) == {"content_block_delta"}
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    delta = events[-2]
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens > 0


def test_stream_sends_the_anthropic_beta_header_and_pings_on(
    gateway: ServerThread, account: NewAccount, claude_fake: FakeAnthropicProvider
) -> None:
    body = {"model": "test/claude", "max_tokens": 50, "messages": _ask(), "stream": True}
    headers = {"x-api-key": account.key, "anthropic-beta": "prompt-caching-2024-07-31"}
    with httpx.stream(
        "POST", f"{gateway.url}/v1/messages", json=body, headers=headers, timeout=10
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-onerouter-provider"] == "anthropic-fake"
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert names[:2] == ["message_start", "ping"]
    assert names[-1] == "message_stop"
    assert "[DONE]" not in "".join(lines)
    sent = claude_fake.requests[-1].headers
    assert "prompt-caching-2024-07-31" in sent["anthropic-beta"].split(",")


# ------------------------------------------------------------------------------ tools


def test_tool_round_trip_with_claude(
    client: anthropic.Anthropic, claude_fake: FakeAnthropicProvider
) -> None:
    claude_fake.reply("")
    claude_fake.tool_use("get_weather", {"city": "Paris"}, tool_id="toolu_01abc")
    ask = _ask("Weather in Paris?")
    message = client.messages.create(
        model="test/claude",
        max_tokens=200,
        messages=ask,
        tools=[WEATHER],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
    )
    assert message.stop_reason == "tool_use"
    (call,) = [block for block in message.content if block.type == "tool_use"]
    assert (call.id, call.name, call.input) == ("toolu_01abc", "get_weather", {"city": "Paris"})
    sent = claude_fake.requests[-1].body
    assert sent["tools"] == [WEATHER]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}

    claude_fake.reset()
    follow_up: list[Any] = [
        *ask,
        {"role": "assistant", "content": [block.model_dump() for block in message.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21°C"},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]
    answer = client.messages.create(
        model="test/claude", max_tokens=200, messages=follow_up, tools=[WEATHER]
    )
    assert _texts(answer)
    sent_messages = claude_fake.requests[-1].body["messages"]
    assert sent_messages[1]["content"] == [
        {"type": "tool_use", "id": "toolu_01abc", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert sent_messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01abc", "content": "sunny, 21°C"},
            {"type": "text", "text": "And tomorrow?"},
        ],
    }


def test_streamed_tool_call_from_gemini(
    client: anthropic.Anthropic, gemini_fake: FakeGeminiProvider
) -> None:
    gemini_fake.call_function("get_weather", {"city": "Rome"})
    with client.messages.stream(
        model="test/gemini", max_tokens=200, messages=_ask("Weather in Rome?"), tools=[WEATHER]
    ) as stream:
        final = stream.get_final_message()
    (call,) = [block for block in final.content if block.type == "tool_use"]
    assert (call.name, call.input) == ("get_weather", {"city": "Rome"})
    assert final.stop_reason == "tool_use"
    declared = gemini_fake.requests[-1].body["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"


def test_tool_results_reach_an_openai_provider_as_tool_messages(
    client: anthropic.Anthropic, fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider]
) -> None:
    messages: list[Any] = [
        *_ask("Weather in Oslo?"),
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "snow"}],
        },
    ]
    client.messages.create(
        model="test/gpt",
        max_tokens=100,
        messages=messages,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    sent = fakes[0].requests[-1].body
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
    }
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "snow"}
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


# ------------------------------------------------------------------------------ images, cache


@pytest.mark.parametrize("model", MODELS)
def test_an_image(
    client: anthropic.Anthropic,
    model: str,
    claude_fake: FakeAnthropicProvider,
    gemini_fake: FakeGeminiProvider,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
) -> None:
    image = {"type": "base64", "media_type": "image/png", "data": PIXEL}
    content = [{"type": "image", "source": image}, {"type": "text", "text": "What is this?"}]
    message = client.messages.create(
        model=model, max_tokens=100, messages=[{"role": "user", "content": content}]
    )
    assert _texts(message)
    if model == "test/claude":
        assert claude_fake.requests[-1].body["messages"][0]["content"][0] == {
            "type": "image",
            "source": image,
        }
    elif model == "test/gpt":
        part = fakes[0].requests[-1].body["messages"][0]["content"][0]
        assert part == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}
    else:
        parts = gemini_fake.requests[-1].body["contents"][0]["parts"]
        assert parts[0] == {"inlineData": {"mimeType": "image/png", "data": PIXEL}}


def test_cache_control_reaches_claude(
    client: anthropic.Anthropic, claude_fake: FakeAnthropicProvider
) -> None:
    claude_fake.cache(read=100, written=20)
    ephemeral = {"type": "ephemeral"}
    tool = {**WEATHER, "cache_control": ephemeral}
    message = client.messages.create(
        model="test/claude",
        max_tokens=100,
        system=[{"type": "text", "text": "A long system prompt.", "cache_control": ephemeral}],
        tools=[tool],
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi there", "cache_control": ephemeral}],
            }
        ],
    )
    sent = claude_fake.requests[-1].body
    assert sent["system"] == [
        {"type": "text", "text": "A long system prompt.", "cache_control": ephemeral}
    ]
    assert sent["tools"] == [tool]
    assert sent["messages"][0]["content"] == [
        {"type": "text", "text": "hi there", "cache_control": ephemeral}
    ]
    assert message.usage.cache_read_input_tokens == 100
    assert message.usage.cache_creation_input_tokens == 20
    assert message.usage.input_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_the_prompt_cache_answers_a_repeated_request(
    client: anthropic.Anthropic, fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider], stream: bool
) -> None:
    ask = _ask(f"cache me {uuid.uuid4().hex} {stream}")
    answers = []
    for _ in range(2):
        if stream:
            with client.messages.with_streaming_response.create(
                model="test/gpt-cached", max_tokens=50, messages=ask, stream=True
            ) as raw:
                status = raw.headers["x-onerouter-cache"]
                events = list(raw.parse())  # type: ignore[call-overload]
            text = "".join(
                e.delta.text
                for e in events
                if e.type == "content_block_delta" and e.delta.type == "text_delta"
            )
            usage = events[-2].usage
            answers.append((status, text, usage.input_tokens, usage.output_tokens))
        else:
            raw_answer = client.messages.with_raw_response.create(
                model="test/gpt-cached", max_tokens=50, messages=ask
            )
            message = raw_answer.parse()
            answers.append(
                (
                    raw_answer.headers["x-onerouter-cache"],
                    _texts(message),
                    message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0),
                    message.usage.output_tokens,
                )
            )
    assert [a[0] for a in answers] == ["MISS", "HIT"]
    assert answers[0][1] == answers[1][1] == openai_reply(ask)
    assert len(fakes[0].requests) == 1


# ------------------------------------------------------------------------------ thinking


@pytest.mark.parametrize("stream", [False, True])
def test_thinking_with_its_signature_round_trip(
    client: anthropic.Anthropic, claude_fake: FakeAnthropicProvider, stream: bool
) -> None:
    claude_fake.think("Let me think about Paris.")
    thinking: Any = {"type": "enabled", "budget_tokens": 2048}
    ask = _ask("Capital of France?")
    if stream:
        with client.messages.stream(
            model="test/claude", max_tokens=4096, messages=ask, thinking=thinking
        ) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(
            model="test/claude", max_tokens=4096, messages=ask, thinking=thinking
        )
    assert claude_fake.requests[-1].body["thinking"] == thinking
    block = message.content[0]
    assert block.type == "thinking"
    assert (block.thinking, block.signature) == ("Let me think about Paris.", "sig-fake")
    assert message.content[1].type == "text"

    claude_fake.reset()
    history: list[Any] = [
        *ask,
        {"role": "assistant", "content": [b.model_dump() for b in message.content]},
        *_ask("And of Italy?"),
    ]
    client.messages.create(
        model="test/claude", max_tokens=4096, messages=history, thinking=thinking
    )
    sent = claude_fake.requests[-1].body["messages"][1]["content"]
    assert sent[0] == {
        "type": "thinking",
        "thinking": "Let me think about Paris.",
        "signature": "sig-fake",
    }


# ------------------------------------------------------------------------------ count_tokens


def test_count_tokens(client: anthropic.Anthropic) -> None:
    small = client.messages.count_tokens(model="test/claude", messages=_ask("hi"))
    large = client.messages.count_tokens(
        model="test/claude", system="Be brief. " * 100, messages=_ask("hi " * 400), tools=[WEATHER]
    )
    assert 0 <= small.input_tokens < large.input_tokens
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="test/nope", messages=_ask())


# ------------------------------------------------------------------------------ failures


@pytest.mark.parametrize("stream", [False, True])
def test_fallback_when_the_primary_is_down(
    client: anthropic.Anthropic,
    claude_fake: FakeAnthropicProvider,
    fakes: tuple[FakeOpenAIProvider, FakeOpenAIProvider],
    stream: bool,
) -> None:
    claude_fake.fail(503)
    raw = client.messages.with_raw_response.create(
        model="test/claude-fallback", max_tokens=50, messages=_ask(), stream=stream
    )
    provider_name = raw.headers["x-onerouter-provider"]
    if stream:
        events = list(raw.parse())  # type: ignore[call-overload]
        text = "".join(
            e.delta.text
            for e in events
            if e.type == "content_block_delta" and e.delta.type == "text_delta"
        )
    else:
        text = _texts(raw.parse())  # type: ignore[arg-type]
    assert provider_name == "openai-backup"
    assert text == openai_reply(_ask())
    assert len(claude_fake.requests) == 1
    assert fakes[1].requests[-1].body["model"] == "gpt-4o"


def test_bad_key_is_a_401_in_anthropics_envelope(gateway: ServerThread) -> None:
    stranger = anthropic.Anthropic(base_url=gateway.url, api_key="sk-or1-nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        stranger.messages.create(model="test/gpt", max_tokens=10, messages=_ask())
    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "authentication_error"


def test_no_credit_is_a_402_in_anthropics_envelope(gateway: ServerThread) -> None:
    broke = gateway.app.state.accounts.open_account(Decimal("0"))
    client = anthropic.Anthropic(base_url=gateway.url, api_key=broke.key, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model="test/gpt", max_tokens=10, messages=_ask())
    assert caught.value.status_code == 402
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "billing_error"


def test_an_unknown_field_is_a_400_naming_it(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="test/gpt", max_tokens=10, messages=_ask(), extra_body={"frobnicate": 1}
        )
    assert "frobnicate" in caught.value.message
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "invalid_request_error"


def test_an_unknown_model_is_a_404(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="test/nope", max_tokens=10, messages=_ask())
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "not_found_error"


def test_a_dropped_stream_ends_with_an_error_event(
    client: anthropic.Anthropic, claude_fake: FakeAnthropicProvider
) -> None:
    claude_fake.drop_stream(after_events=5)
    stream = client.messages.stream(model="test/claude", max_tokens=50, messages=_ask())
    with pytest.raises(anthropic.APIStatusError, match="anthropic-fake"), stream as events:
        events.get_final_message()


# ------------------------------------------------------------------------------ billing


@pytest.mark.parametrize("stream", [False, True])
def test_the_usage_record_holds_the_exact_cost(
    gateway: ServerThread, account: NewAccount, claude_fake: FakeAnthropicProvider, stream: bool
) -> None:
    settings: Settings = gateway.app.state.settings
    assert settings.usage_queue_url
    drain(settings.usage_queue_url, make_handler(settings))  # the earlier tests' requests
    client = anthropic.Anthropic(base_url=gateway.url, api_key=account.key, max_retries=0)
    claude_fake.cache(read=100, written=20)
    if stream:
        with client.messages.stream(model="test/claude", max_tokens=50, messages=_ask()) as s:
            message = s.get_final_message()
    else:
        message = client.messages.create(model="test/claude", max_tokens=50, messages=_ask())
    usage = message.usage
    # test/claude: per million tokens $3 fresh prompt, $0.30 cache read, $3.75 cache write,
    # $15 completion.
    prompt = usage.input_tokens + 100 + 20
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (100, 20)
    cost = (
        usage.input_tokens * Decimal(3)
        + 100 * Decimal("0.3")
        + 20 * Decimal("3.75")
        + usage.output_tokens * Decimal(15)
    ) / MILLION

    assert drain(settings.usage_queue_url, make_handler(settings)) == 1
    response = httpx.get(
        f"{gateway.url}/api/v1/generation",
        params={"id": message.id},
        headers={"authorization": f"Bearer {account.key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    record = response.json()["data"]
    assert (record["model"], record["provider"], record["status"]) == (
        "test/claude",
        "anthropic-fake",
        "ok",
    )
    assert Decimal(record["cost"]) == cost
    assert (record["prompt_tokens"], record["completion_tokens"]) == (prompt, usage.output_tokens)
    assert (record["cached_tokens"], record["cache_write_tokens"]) == (100, 20)
    credits = httpx.get(
        f"{gateway.url}/api/v1/credits",
        headers={"authorization": f"Bearer {account.key}"},
        timeout=10,
    ).json()["data"]
    assert Decimal(credits["balance"]) == Decimal("10.00") - cost


def test_claude_code_style_request(
    gateway: ServerThread, account: NewAccount, claude_fake: FakeAnthropicProvider
) -> None:
    """What Claude Code sends with ANTHROPIC_AUTH_TOKEN: a bearer key, `?beta=true`, betas,
    cached system blocks, thinking, and a context-management hint the gateway does not apply."""
    body = {
        "model": "test/claude",
        "max_tokens": 32000,
        "stream": True,
        "temperature": 1,
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "list files", "cache_control": {"type": "ephemeral"}}
                ],
            }
        ],
        "tools": [WEATHER],
        "metadata": {"user_id": "user_abc_account__session_1"},
        "thinking": {"type": "enabled", "budget_tokens": 4000},
        "context_management": {"edits": []},
    }
    headers = {
        "authorization": f"Bearer {account.key}",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
    }
    with httpx.stream(
        "POST", f"{gateway.url}/v1/messages?beta=true", json=body, headers=headers, timeout=10
    ) as response:
        assert response.status_code == 200, response.read()
        text = "".join(response.iter_text())
    assert "event: message_stop" in text
    sent = claude_fake.requests[-1]
    assert sent.body["thinking"] == {"type": "enabled", "budget_tokens": 4000}
    assert sent.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent.headers["anthropic-beta"].split(",") == [
        "claude-code-20250219",
        "interleaved-thinking-2025-05-14",
    ]
