"""The Responses API end to end: the official OpenAI SDK's `responses` against the running gateway,
through the same keys, credit checks, routing, fallback and billing as chat completions."""

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
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter

from onerouter.accounts.service import NewAccount
from onerouter.api.app import create_app
from onerouter.dev.poller import drain
from onerouter.settings import Settings
from onerouter.usage.consumer import make_handler
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import (
    FakeOpenAIProvider,
    completion_tokens,
    default_reply,
    prompt_tokens,
)

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
QUESTION = "say hello to the world"
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]


def _strict(response: Response) -> Response:
    """The response as the SDK's types validate it (the SDK itself only constructs)."""
    return Response.model_validate(response.model_dump(mode="json", by_alias=True))


def _events(stream: Any) -> list[Any]:
    events = list(stream)
    for event in events:
        EVENTS.validate_python(event.model_dump(mode="json", by_alias=True))
    return events


# ------------------------------------------------------------------------------ answers


def test_string_input_answers_a_response(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    raw = client.responses.with_raw_response.create(model="test/chat", input=QUESTION)
    response = _strict(raw.parse())

    messages = [{"role": "user", "content": QUESTION}]
    assert response.output_text == default_reply(messages)
    assert (response.object, response.status, response.model) == (
        "response",
        "completed",
        "test/chat",
    )
    generation = raw.headers["x-onerouter-generation-id"]
    assert response.id == f"resp_{generation}"
    assert raw.headers["x-onerouter-provider"] == "primary"
    assert raw.headers["x-onerouter-cache"] == "MISS"
    assert (response.model_extra or {})["provider"] == "primary"
    assert response.usage is not None
    assert response.usage.input_tokens == prompt_tokens(messages)
    assert response.usage.output_tokens == completion_tokens(default_reply(messages))
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    sent = fake.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"] == messages
    assert sent.body["model"] == "gpt-4o-mini"


def test_instructions_and_parameters_reach_the_provider(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    response = client.responses.create(
        model="test/chat",
        instructions="Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": QUESTION}]}],
        max_output_tokens=50,
        temperature=0.2,
        top_p=0.9,
        user="someone",
        metadata={"ticket": "42"},
    )
    assert response.instructions == "Be brief."
    assert response.metadata == {"ticket": "42"}
    assert response.max_output_tokens == 50
    body = fake.requests[-1].body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
    ]
    assert (body["max_completion_tokens"], body["temperature"], body["top_p"], body["user"]) == (
        50,
        0.2,
        0.9,
        "someone",
    )
    assert "metadata" not in body  # OpenAI's chat refuses metadata on answers it does not store


def test_api_v1_prefix_serves_the_same(
    gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/api/v1", api_key=account.key, max_retries=0)
    response = client.responses.create(model="test/chat", input=QUESTION)
    assert response.output_text == default_reply([{"role": "user", "content": QUESTION}])


# ------------------------------------------------------------------------------ streams


def test_stream_sends_the_responses_events_in_order(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    events = _events(client.responses.create(model="test/chat", input=QUESTION, stream=True))

    kinds = [e.type for e in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    reply = default_reply([{"role": "user", "content": QUESTION}])
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == reply
    completed = events[-1].response
    assert completed.output_text == reply and completed.status == "completed"
    assert completed.id == events[0].response.id and completed.id.startswith("resp_gen-")
    assert completed.usage.input_tokens == prompt_tokens([{"role": "user", "content": QUESTION}])
    assert completed.usage.output_tokens == completion_tokens(reply)
    # Usage comes from the provider's usage chunk, which the gateway asks for.
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}


def test_stream_helper_gives_the_final_response(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with client.responses.stream(model="test/chat", input=QUESTION) as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    reply = default_reply([{"role": "user", "content": QUESTION}])
    assert "".join(texts) == final.output_text == reply


def test_stream_fails_over_before_the_first_byte(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503)
    raw = client.responses.with_raw_response.create(model="test/chat", input=QUESTION, stream=True)
    assert raw.headers["x-onerouter-provider"] == "backup"
    events = _events(raw.parse())
    assert events[-1].type == "response.completed"
    assert (events[-1].response.model_extra or {})["provider"] == "backup"
    assert backup.requests[-1].body["model"] == "gpt-4o"


def test_stream_dropped_after_the_first_byte_ends_with_error_and_failed(
    gateway: ServerThread,
    account: NewAccount,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
) -> None:
    fake.drop_stream(after_chunks=2)
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/responses",
        json={"model": "test/chat", "input": QUESTION, "stream": True},
        headers={"authorization": f"Bearer {account.key}"},
        timeout=20,
    ) as http:
        assert http.status_code == 200
        lines = [line for line in http.iter_lines() if line]
    assert "data: [DONE]" not in lines  # the Responses API ends its streams without one
    assert lines[-4:-2] == ["event: error", lines[-3]]
    error = EVENTS.validate_json(lines[-3].removeprefix("data: "))
    assert error.type == "error" and error.code == "upstream_error"
    failed = EVENTS.validate_json(lines[-1].removeprefix("data: "))
    assert failed.type == "response.failed" and failed.response.status == "failed"
    assert failed.response.error.code == "server_error"
    assert backup.requests == []  # content already sent is never replayed elsewhere


@pytest.fixture(scope="module")
def eager_gateway(settings: Settings) -> Iterator[ServerThread]:
    """A gateway whose keep-alive interval is short enough to see in a test."""
    with ServerThread(create_app(dataclasses.replace(settings, keepalive_interval=0.2))) as server:
        yield server


def test_slow_first_byte_keeps_alive_then_fails_in_stream(
    eager_gateway: ServerThread, account: NewAccount, fake: FakeOpenAIProvider
) -> None:
    fake.delay(1.0)
    fake.fail(500)
    with httpx.stream(
        "POST",
        f"{eager_gateway.url}/v1/responses",
        json={"model": "test/solo", "input": QUESTION, "stream": True},
        headers={"authorization": f"Bearer {account.key}"},
        timeout=20,
    ) as http:
        assert http.status_code == 200  # committed by the keep-alive
        lines = [line for line in http.iter_lines() if line]
    assert lines[0] == ": ONEROUTER PROCESSING"
    events = [EVENTS.validate_json(line[6:]) for line in lines if line.startswith("data: ")]
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
    ]
    assert events[2].code == "upstream_error"
    assert events[0].response.id == events[3].response.id


# ------------------------------------------------------------------------------ tools


def test_function_call_round_trip(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    fake.tool_use("get_weather", {"city": "Paris"}, tool_id="call_paris")
    asked = [{"role": "user", "content": "weather in Paris?"}]
    first = _strict(client.responses.create(model="test/chat", input=asked, tools=TOOLS))

    (call,) = first.output
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == (
        "call_paris",
        "get_weather",
        '{"city": "Paris"}',
    )
    assert first.tools[0].name == "get_weather"  # type: ignore[union-attr]
    sent = fake.requests[-1].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {k: TOOLS[0][k] for k in ("name", "description", "parameters", "strict")},
        }
    ]

    fake.reset()
    fake.reply("It is sunny in Paris.")
    output = {"type": "function_call_output", "call_id": "call_paris", "output": "sunny"}
    second = client.responses.create(
        model="test/chat", input=[*asked, *first.output, output], tools=TOOLS
    )
    assert second.output_text == "It is sunny in Paris."
    assert fake.requests[-1].body["messages"] == [
        asked[0],
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_paris",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_paris", "content": "sunny"},
    ]


def test_streamed_function_call(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    fake.tool_use("get_weather", {"city": "Oslo"}, tool_id="call_oslo")
    with client.responses.stream(model="test/chat", input="weather?", tools=TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert "".join(deltas) == '{"city": "Oslo"}' and len(deltas) == 2
    (call,) = final.output
    assert call.type == "function_call" and call.call_id == "call_oslo"
    assert call.arguments == '{"city": "Oslo"}'


def test_built_in_tools_are_refused_by_name(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="test/chat", input=QUESTION, tools=[{"type": "web_search_preview"}]
        )
    assert "web_search_preview" in caught.value.message
    assert fake.requests == []


# ------------------------------------------------------------------------------ formats


class Person(BaseModel):
    name: str
    age: int


def test_json_schema_format_and_parse(client: openai.OpenAI, fake: FakeOpenAIProvider) -> None:
    fake.reply('{"name": "Ada", "age": 36}')
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "name": "person", "schema": schema, "strict": True}
    response = client.responses.create(model="test/chat", input="who?", text={"format": fmt})
    assert response.output_text == '{"name": "Ada", "age": 36}'
    assert fake.requests[-1].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": True},
    }

    parsed = client.responses.parse(model="test/chat", input="who?", text_format=Person)
    assert parsed.output_parsed == Person(name="Ada", age=36)
    assert fake.requests[-1].body["response_format"]["json_schema"]["name"] == "Person"


def test_reasoning_effort_reaches_the_provider_and_reasoning_comes_back(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    fake.think("Greet them warmly.")
    response = _strict(
        client.responses.create(model="test/chat", input=QUESTION, reasoning={"effort": "high"})
    )
    assert fake.requests[-1].body["reasoning_effort"] == "high"
    assert response.reasoning is not None and response.reasoning.effort == "high"
    reasoning, message = response.output
    assert reasoning.type == "reasoning"
    assert [s.text for s in reasoning.summary] == ["Greet them warmly."]
    assert message.type == "message"

    events = _events(
        client.responses.create(
            model="test/chat", input=QUESTION, reasoning={"effort": "low"}, stream=True
        )
    )
    thought = [e.delta for e in events if e.type == "response.reasoning_summary_text.delta"]
    assert "".join(thought) == "Greet them warmly."
    assert [item.type for item in events[-1].response.output] == ["reasoning", "message"]


# ------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("field", "value"), [("previous_response_id", "resp_123"), ("store", True)]
)
def test_stored_state_is_a_clear_400(
    client: openai.OpenAI, fake: FakeOpenAIProvider, field: str, value: Any
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="test/chat", input=QUESTION, **{field: value})
    assert caught.value.code == "stateless_endpoint"
    assert caught.value.param == field
    assert "stateless" in caught.value.message and "input" in caught.value.message
    assert fake.requests == []


def test_a_bad_parameter_is_a_400_naming_it_as_sent(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="test/chat", input=QUESTION, max_output_tokens=0)
    assert caught.value.param == "max_output_tokens"
    assert fake.requests == []


def test_bad_key_is_a_401(gateway: ServerThread, fake: FakeOpenAIProvider) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="sk-or1-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.responses.create(model="test/chat", input=QUESTION)
    assert fake.requests == []


def test_fallback_when_the_cheaper_provider_fails(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503)
    raw = client.responses.with_raw_response.create(model="test/chat", input=QUESTION)
    assert raw.headers["x-onerouter-provider"] == "backup"
    assert (raw.parse().model_extra or {})["provider"] == "backup"
    assert backup.requests[-1].body["model"] == "gpt-4o"


# ------------------------------------------------------------------------------ the cache


def _stored(gateway: ServerThread) -> None:
    """Waits until the cache entries the gateway writes after answering are in the store."""
    deadline = time.monotonic() + 5
    while gateway.app.state.pipeline.cache.writing:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_repeated_request_is_answered_from_the_prompt_cache(
    gateway: ServerThread, client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    question = f"repeat after me CANARY-{uuid.uuid4().hex}"
    first = client.responses.with_raw_response.create(model="test/cached", input=question)
    _stored(gateway)
    again = client.responses.with_raw_response.create(model="test/cached", input=question)
    assert (first.headers["x-onerouter-cache"], again.headers["x-onerouter-cache"]) == (
        "MISS",
        "HIT",
    )
    assert len(fake.requests) == 1
    assert again.parse().output_text == first.parse().output_text
    assert again.parse().id != first.parse().id  # a request of its own, billed on its own

    streamed = client.responses.with_raw_response.create(
        model="test/cached", input=f"stream {question}", stream=True
    )
    _events(streamed.parse())
    _stored(gateway)
    raw = client.responses.with_raw_response.create(
        model="test/cached", input=f"stream {question}", stream=True
    )
    assert raw.headers["x-onerouter-cache"] == "HIT"
    events = _events(raw.parse())
    streamed_question = [{"role": "user", "content": f"stream {question}"}]
    assert events[-1].response.output_text == default_reply(streamed_question)
    assert events[-1].response.usage.input_tokens > 0
    assert len(fake.requests) == 2


# ------------------------------------------------------------------------------ billing

MILLION = Decimal(1_000_000)


@pytest.fixture(scope="module")
def billing(settings: Settings) -> Iterator[ServerThread]:
    """A gateway sending usage events to a queue only this module reads."""
    sqs = botocore.session.get_session().create_client("sqs")
    name = f"onerouter-test-responses-{uuid.uuid4().hex[:8]}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    with ServerThread(create_app(dataclasses.replace(settings, usage_queue_url=queue))) as server:
        yield server


def _book(server: ServerThread) -> int:
    settings: Settings = server.app.state.settings
    assert settings.usage_queue_url
    return drain(settings.usage_queue_url, make_handler(settings))


def _generation(server: ServerThread, key: str, generation_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.url}/api/v1/generation",
        params={"id": generation_id},
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    record: dict[str, Any] = answer.json()["data"]
    return record


def test_usage_record_has_the_exact_cost(billing: ServerThread, fake: FakeOpenAIProvider) -> None:
    payer: NewAccount = billing.app.state.accounts.open_account(Decimal("1"))
    client = openai.OpenAI(base_url=f"{billing.url}/v1", api_key=payer.key, max_retries=0)
    _book(billing)  # whatever earlier tests left on the queue
    whole = client.responses.create(
        model="test/solo", input=QUESTION, extra_body={"usage": {"include": True}}
    )
    events = _events(client.responses.create(model="test/solo", input=QUESTION, stream=True))
    streamed = events[-1].response
    assert _book(billing) == 2

    for response, was_streamed in ((whole, False), (streamed, True)):
        usage = response.usage
        assert usage is not None
        # test/solo: $1 per million prompt tokens, $2 per million completion tokens.
        cost = (usage.input_tokens * 1 + usage.output_tokens * 2) / MILLION
        record = _generation(billing, payer.key, response.id.removeprefix("resp_"))
        assert Decimal(record["cost"]) == cost
        assert (record["model"], record["provider"], record["status"]) == (
            "test/solo",
            "primary",
            "ok",
        )
        assert (record["prompt_tokens"], record["completion_tokens"]) == (
            usage.input_tokens,
            usage.output_tokens,
        )
        assert record["streamed"] is was_streamed
    # Asked for, the cost rides along in the answer, as on chat completions.
    assert Decimal(str((whole.usage.model_extra or {})["cost"])) == Decimal(  # type: ignore[union-attr]
        _generation(billing, payer.key, whole.id.removeprefix("resp_"))["cost"]
    )


def test_not_enough_credit_is_a_402(billing: ServerThread, fake: FakeOpenAIProvider) -> None:
    poor: NewAccount = billing.app.state.accounts.open_account(Decimal("0.01"))
    client = openai.OpenAI(base_url=f"{billing.url}/v1", api_key=poor.key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.create(model="test/solo", input=QUESTION, max_output_tokens=6000)
    assert caught.value.status_code == 402
    assert fake.requests == []
