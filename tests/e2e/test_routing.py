"""Routing end to end: which provider serves, in what order the rest are tried, and what the
caller hears when none will do. The official OpenAI SDK against the running gateway."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from tests.conftest import ADMIN_TOKEN
from tests.fakes.gateway import ServerThread
from tests.fakes.openai_provider import FakeOpenAIProvider, default_reply

PROMPT = "route me somewhere"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
REPLY = default_reply([{"role": "user", "content": PROMPT}])
IMAGE: list[ChatCompletionMessageParam] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    }
]
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _ask(
    client: openai.OpenAI,
    model: str = "test/chat",
    messages: list[ChatCompletionMessageParam] = MESSAGES,
    **params: Any,
) -> tuple[str, ChatCompletion]:
    """The provider that served (as the header names it) and the answer."""
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages, **params)
    completion: ChatCompletion = raw.parse()
    return raw.headers["x-onerouter-provider"], completion


def _prefer(**provider: Any) -> dict[str, Any]:
    return {"extra_body": {"provider": provider}}


def _error(caught: pytest.ExceptionInfo[openai.APIError]) -> dict[str, Any]:
    body = caught.value.body
    assert isinstance(body, dict)
    return body


def _streamed(client: openai.OpenAI, model: str = "test/chat", **params: Any) -> str:
    """Streams an answer through; returns the provider that served it."""
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=MESSAGES, stream=True, **params
    )
    for _ in raw.parse():
        pass
    return raw.headers["x-onerouter-provider"]


# ---- price and the caller's order, only and ignore ---------------------------------------------


def test_cheapest_endpoint_serves_by_default(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, completion = _ask(client)
    assert served == "primary"
    assert (completion.model_extra or {})["provider"] == "primary"
    assert len(fake.requests) == 1
    assert backup.requests == []


def test_order_goes_before_price(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(client, **_prefer(order=["backup"]))
    assert served == "backup"
    assert backup.requests[-1].body["model"] == "gpt-4o"
    assert fake.requests == []


def test_order_is_case_insensitive_and_the_rest_follow_by_price(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    backup.fail(503)
    served, _ = _ask(client, **_prefer(order=["BACKUP"]))
    assert served == "primary"
    assert len(backup.requests) == 1
    assert len(fake.requests) == 1


def test_only_keeps_to_the_named_providers(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(client, **_prefer(only=["Backup"]))
    assert served == "backup"

    # Not even a failure sends it elsewhere; the one provider's own status comes back.
    backup.fail(429, headers={"Retry-After": "3"})
    with pytest.raises(openai.RateLimitError) as caught:
        _ask(client, **_prefer(only=["backup"]))
    assert caught.value.response.headers["retry-after"] == "3"
    assert _error(caught)["metadata"]["provider_name"] == "backup"
    assert fake.requests == []


def test_ignore_skips_the_named_providers(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(client, **_prefer(ignore=["PRIMARY"]))
    assert served == "backup"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("preferences", "param"),
    [
        ({"order": ["nobody"]}, "provider.order[0]"),
        ({"only": ["backup", "nobody"]}, "provider.only[1]"),
        ({"ignore": ["nobody"]}, "provider.ignore[0]"),
    ],
    ids=["order", "only", "ignore"],
)
def test_unknown_provider_name_is_400_naming_the_field(
    client: openai.OpenAI, fake: FakeOpenAIProvider, preferences: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, **_prefer(**preferences))
    error = _error(caught)
    assert error["param"] == param
    assert "nobody" in error["message"]
    assert fake.requests == []


def test_unknown_provider_preference_key_is_400(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, **_prefer(order=["backup"], prefer_cheap=True))
    assert _error(caught)["param"] == "provider.prefer_cheap"
    assert fake.requests == []


# ---- allow_fallbacks ---------------------------------------------------------------------------


def test_without_fallbacks_the_best_provider_failing_is_final(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503)
    with pytest.raises(openai.InternalServerError) as caught:
        _ask(client, **_prefer(allow_fallbacks=False))
    assert caught.value.status_code == 502
    assert _error(caught)["metadata"]["provider_name"] == "primary"
    assert backup.requests == []


def test_without_fallbacks_only_the_ordered_providers_are_tried(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    backup.fail(500)
    with pytest.raises(openai.InternalServerError):
        _ask(client, **_prefer(order=["backup"], allow_fallbacks=False))
    assert len(backup.requests) == 1
    assert fake.requests == []


# ---- data policy -------------------------------------------------------------------------------


@pytest.fixture
def sharing_client(gateway: ServerThread) -> openai.OpenAI:
    """A client whose account lets providers that train on prompts serve it."""
    response = httpx.post(
        f"{gateway.url}/api/v1/admin/accounts",
        json={"credits": "5", "data_collection": "allow"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 201
    assert response.json()["data_collection"] == "allow"
    key = response.json()["key"]
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def test_providers_that_train_on_prompts_are_skipped_by_default(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    # `trainer` is the cheapest, and is the primary fake's server under other terms.
    served, _ = _ask(client, "test/policy")
    assert served == "backup"
    assert fake.requests == []

    with pytest.raises(openai.NotFoundError) as caught:
        _ask(client, "test/policy", **_prefer(only=["trainer"]))
    error = _error(caught)
    assert error["code"] == "no_endpoints_match"
    assert "trainer" in error["message"]
    assert "data_collection" in error["message"]


def test_request_may_allow_data_collection(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(client, "test/policy", **_prefer(data_collection="allow"))
    assert served == "trainer"
    assert len(fake.requests) == 1
    assert backup.requests == []


def test_account_may_allow_data_collection(
    sharing_client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(sharing_client, "test/policy")
    assert served == "trainer"
    assert len(fake.requests) == 1
    assert backup.requests == []


def test_request_deny_overrides_the_accounts_allow(
    sharing_client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(sharing_client, "test/policy", **_prefer(data_collection="deny"))
    assert served == "backup"
    assert fake.requests == []


# ---- max_price ---------------------------------------------------------------------------------


def test_max_price_skips_dearer_endpoints(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    # Asked first, but its prompt price (2) is above the limit.
    served, _ = _ask(client, **_prefer(order=["backup"], max_price={"prompt": 1.5}))
    assert served == "primary"
    assert backup.requests == []

    # Nor is it a fallback once the cheap one fails.
    fake.fail(503)
    with pytest.raises(openai.InternalServerError):
        _ask(client, **_prefer(max_price={"prompt": "1.5", "completion": "2"}))
    assert backup.requests == []


def test_nothing_under_max_price_is_404_saying_why(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        _ask(client, **_prefer(max_price={"completion": "1"}))
    error = _error(caught)
    assert error["code"] == "no_endpoints_match"
    assert "primary" in error["message"]
    assert "backup" in error["message"]
    assert "max_price.completion" in error["message"]
    assert fake.requests == []
    assert backup.requests == []


# ---- parameters, features and input kinds ------------------------------------------------------


@pytest.mark.parametrize(
    "parameter", [{"seed": 7}, {"extra_body": {"top_k": 40}}], ids=["seed", "top_k"]
)
def test_require_parameters_skips_endpoints_lacking_one(
    client: openai.OpenAI,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
    parameter: dict[str, Any],
) -> None:
    # test/no-tools' cheaper endpoint supports only max_tokens and temperature...
    served, _ = _ask(client, "test/no-tools", **parameter)
    assert served == "primary"  # ...which only matters when the caller says so.

    extra_body = {**parameter.get("extra_body", {}), "provider": {"require_parameters": True}}
    served, _ = _ask(client, "test/no-tools", **{**parameter, "extra_body": extra_body})
    assert served == "backup"
    assert len(fake.requests) == 1


def test_require_parameters_is_met_by_supported_ones(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    served, _ = _ask(
        client, "test/no-tools", max_tokens=20, temperature=0.2, **_prefer(require_parameters=True)
    )
    assert served == "primary"


@pytest.mark.parametrize(
    "request_",
    [
        {"tools": [WEATHER]},
        {
            "messages": [
                {"role": "user", "content": "weather in Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ]
        },
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}},
            }
        },
    ],
    ids=["tools", "tool-messages", "json-schema"],
)
def test_essential_features_are_always_required(
    client: openai.OpenAI,
    fake: FakeOpenAIProvider,
    backup: FakeOpenAIProvider,
    request_: dict[str, Any],
) -> None:
    served, _ = _ask(client, "test/no-tools", **request_)
    assert served == "backup"
    assert fake.requests == []


def test_essential_feature_nowhere_is_404_saying_why(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        _ask(client, "test/no-tools", tools=[WEATHER], **_prefer(only=["primary"]))
    error = _error(caught)
    assert error["code"] == "no_endpoints_match"
    assert "primary" in error["message"]
    assert "tools" in error["message"]
    assert fake.requests == []


def test_image_input_goes_to_an_endpoint_that_takes_images(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    served, _ = _ask(client, "test/no-tools", IMAGE)
    assert served == "backup"
    assert backup.requests[-1].body["messages"][0]["content"][1]["type"] == "image_url"
    assert fake.requests == []


def test_image_input_nowhere_is_400_naming_the_part(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, "test/solo", IMAGE)
    assert _error(caught)["param"] == "messages[0].content[1]"
    assert fake.requests == []


def test_too_long_for_every_endpoint_is_context_length_exceeded(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, max_tokens=9000)  # test/chat's context is 8192 tokens
    assert _error(caught)["code"] == "context_length_exceeded"
    assert fake.requests == []
    assert backup.requests == []


# ---- fallback models ---------------------------------------------------------------------------


def test_fallback_model_serves_when_the_first_models_providers_fail(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.fail(503, times=None)
    served, completion = _ask(client, "test/solo", extra_body={"models": ["test/chat"]})
    assert served == "backup"
    assert completion.model == "test/chat"
    # test/solo's endpoint, then test/chat's own, cheapest first.
    assert [r.body["model"] for r in fake.requests] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert len(backup.requests) == 1


def test_model_without_usable_provider_falls_back(
    client: openai.OpenAI, fake: FakeOpenAIProvider
) -> None:
    served, completion = _ask(client, "test/offline", extra_body={"models": ["test/solo"]})
    assert served == "primary"
    assert completion.model == "test/solo"


def test_model_without_a_matching_endpoint_falls_back(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    # test/solo takes no images; test/no-tools' backup endpoint does.
    served, completion = _ask(
        client, "test/solo", IMAGE, extra_body={"fallback_models": ["test/no-tools"]}
    )
    assert served == "backup"
    assert completion.model == "test/no-tools"
    assert fake.requests == []


@pytest.mark.parametrize("field", ["models", "fallback_models"])
def test_unknown_fallback_model_is_404_naming_it(
    client: openai.OpenAI, fake: FakeOpenAIProvider, field: str
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        _ask(client, extra_body={field: ["test/solo", "nobody/such-model"]})
    error = _error(caught)
    assert error["param"] == f"{field}[1]"
    assert "nobody/such-model" in error["message"]
    assert fake.requests == []


# ---- failures: timeouts, everything down, a broken stream ---------------------------------------


@pytest.mark.parametrize("status", [401, 403, 404, 408, 409, 424, 429, 500, 502, 503, 504])
def test_endpoint_failures_fall_back(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider, status: int
) -> None:
    fake.fail(status)
    served, _ = _ask(client)
    assert served == "backup"
    assert len(fake.requests) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_slow_first_byte_falls_back(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider, stream: bool
) -> None:
    fake.delay(1.0)  # `hasty` gives up after 0.5 s
    if stream:
        served = _streamed(client, "test/hasty")
    else:
        served, _ = _ask(client, "test/hasty")
    assert served == "backup"
    assert len(fake.requests) == 1
    assert len(backup.requests) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_every_provider_failing_is_502_naming_each(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider, stream: bool
) -> None:
    fake.fail(500)
    backup.fail(429)
    with pytest.raises(openai.InternalServerError) as caught:
        if stream:
            _streamed(client)
        else:
            _ask(client)
    assert caught.value.status_code == 502
    message = _error(caught)["message"]
    assert "primary (500)" in message
    assert "backup (429)" in message


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_refused_request_after_a_failure_keeps_its_400(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider, stream: bool
) -> None:
    fake.fail(503)
    backup.fail(400, body={"error": {"message": "max_tokens too large", "type": "invalid"}})
    with pytest.raises(openai.BadRequestError) as caught:
        if stream:
            _streamed(client)
        else:
            _ask(client)
    assert "max_tokens too large" in _error(caught)["message"]
    assert _error(caught)["metadata"]["provider_name"] == "backup"


def test_drop_mid_stream_ends_in_stream_without_fallback(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    fake.drop_stream(after_chunks=2)
    raw = client.chat.completions.with_raw_response.create(
        model="test/chat", messages=MESSAGES, stream=True
    )
    assert raw.headers["x-onerouter-provider"] == "primary"
    chunks = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in raw.parse():
            chunks.append(chunk)
    assert _error(caught)["code"] == "upstream_error"
    assert _error(caught)["metadata"]["provider_name"] == "primary"
    # One answer, cut short: what arrived is the start of the primary's reply, nothing more.
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert REPLY.startswith(text)
    assert text != REPLY
    assert {c.id for c in chunks} == {chunks[0].id}
    assert {(c.model_extra or {})["provider"] for c in chunks} == {"primary"}
    assert len(fake.requests) == 1
    assert backup.requests == []


# ---- sort by measured speed --------------------------------------------------------------------


def test_sort_latency_prefers_the_endpoint_measured_faster(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    # Measure both: the cheaper one answers its first byte late.
    fake.delay(0.6)
    assert _streamed(client, **_prefer(order=["primary"])) == "primary"
    assert _streamed(client, **_prefer(order=["backup"])) == "backup"

    served, _ = _ask(client, **_prefer(sort="latency"))
    assert served == "backup"
    served, _ = _ask(client, **_prefer(sort="price"))
    assert served == "primary"


def test_sort_throughput_prefers_the_endpoint_measured_faster(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    # The cheaper one stalls mid-answer: same tokens, far fewer per second.
    fake.stream_pause(0.6, after_chunks=1)
    assert _streamed(client, **_prefer(order=["primary"])) == "primary"
    assert _streamed(client, **_prefer(order=["backup"])) == "backup"

    served, _ = _ask(client, **_prefer(sort="throughput"))
    assert served == "backup"


def test_unmeasured_endpoints_come_after_measured_ones(
    client: openai.OpenAI, fake: FakeOpenAIProvider, backup: FakeOpenAIProvider
) -> None:
    assert _streamed(client, **_prefer(order=["backup"])) == "backup"
    served, _ = _ask(client, **_prefer(sort="latency"))
    assert served == "backup"
