"""Routing a whole request: the caller's preferences, the request's needs, data policy, health
and fallback models decide which endpoints are tried, in what order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from onerouter.errors import InvalidRequest, ModelNotFound, NoProviderAvailable, NotFound
from onerouter.providers import SUPPORTED_PROTOCOLS
from onerouter.requests import ChatRequest, GatewayRequest
from onerouter.routing.catalog import Catalog
from onerouter.routing.health import Health
from onerouter.routing.needs import needs_of
from onerouter.routing.router import Router


def endpoint(provider: str, prompt: str, completion: str, **more: Any) -> dict[str, Any]:
    pricing = {"prompt": prompt, "completion": completion}
    return {"provider": provider, "model": f"{provider}-m", "pricing": pricing, **more}


CATALOG = Catalog.model_validate(
    {
        "providers": {
            "cheap": {"protocol": "openai", "base_url": "https://cheap", "api_key_env": "K"},
            "mid": {"protocol": "openai", "base_url": "https://mid", "api_key_env": "K"},
            "dear": {"protocol": "anthropic", "base_url": "https://dear", "api_key_env": "K"},
            "trainer": {
                "protocol": "openai",
                "base_url": "https://trainer",
                "api_key_env": "K",
                "trains_on_prompts": True,
            },
            "offline": {"protocol": "openai", "base_url": "https://off", "api_key_env": "UNSET"},
        },
        "models": [
            {
                "id": "t/m",
                "name": "M",
                "context_length": 1000,
                "input_modalities": ["text", "image"],
                "endpoints": [
                    endpoint("dear", "10", "10"),
                    endpoint(
                        "cheap",
                        "1",
                        "1",
                        supported_parameters=["max_tokens", "temperature"],
                        input_modalities=["text"],
                    ),
                    # Cheap to read, dear to write: first for long prompts, last for long answers.
                    endpoint("mid", "0.5", "20", context_length=100_000),
                ],
            },
            {
                "id": "t/policy",
                "name": "P",
                "context_length": 1000,
                "endpoints": [endpoint("trainer", "0.1", "0.1"), endpoint("mid", "5", "5")],
            },
            {
                "id": "t/text",
                "name": "T",
                "context_length": 1000,
                "endpoints": [endpoint("cheap", "1", "1")],
            },
            {
                "id": "t/offline",
                "name": "O",
                "context_length": 1000,
                "endpoints": [endpoint("offline", "1", "1")],
            },
        ],
    }
)


@pytest.fixture
def router() -> Router:
    return Router(CATALOG, {"K": "key"}, SUPPORTED_PROTOCOLS, Health())


# About 500 prompt tokens: enough for the prompt price to matter.
PROMPT = [{"role": "user", "content": "x" * 2000}]


def request(**raw: Any) -> GatewayRequest:
    raw = {"model": "t/m", "messages": PROMPT, **raw}
    return GatewayRequest("chat", ChatRequest.model_validate(raw), raw)


def plan(router: Router, allow_training: bool = False, **raw: Any) -> list[str]:
    route = router.plan(request(**raw), allow_training)
    return [f"{t.provider.id}:{t.model_id}" for t in route.targets]


# ---------------------------------------------------------------------------- price and size


def test_cheapest_for_the_expected_size_first(router: Router) -> None:
    assert plan(router, max_tokens=10) == ["mid:t/m", "cheap:t/m", "dear:t/m"]
    assert plan(router, max_tokens=400) == ["cheap:t/m", "mid:t/m", "dear:t/m"]
    assert plan(router) == ["cheap:t/m", "dear:t/m", "mid:t/m"]  # a typical answer's length


def test_context_too_small_is_skipped_and_too_long_for_all_is_a_400(router: Router) -> None:
    long = [{"role": "user", "content": "word " * 1000}]  # ~1,250 tokens
    assert plan(router, messages=long) == ["mid:t/m"]
    with pytest.raises(InvalidRequest) as caught:
        plan(router, model="t/text", messages=long)
    assert caught.value.code == "context_length_exceeded"


# ---------------------------------------------------------------------------- preferences


def test_order_comes_before_price_then_the_rest_by_price(router: Router) -> None:
    assert plan(router, max_tokens=10, provider={"order": ["Dear"]}) == [
        "dear:t/m",
        "mid:t/m",
        "cheap:t/m",
    ]


def test_only_and_ignore(router: Router) -> None:
    assert plan(router, max_tokens=10, provider={"only": ["cheap", "dear"]}) == [
        "cheap:t/m",
        "dear:t/m",
    ]
    assert plan(router, max_tokens=10, provider={"ignore": ["mid"]}) == ["cheap:t/m", "dear:t/m"]


def test_no_fallbacks_keeps_the_ordered_or_the_best(router: Router) -> None:
    no = {"allow_fallbacks": False}
    assert plan(router, max_tokens=10, provider=no) == ["mid:t/m"]
    assert plan(router, provider={**no, "order": ["dear", "cheap"]}) == ["dear:t/m", "cheap:t/m"]


def test_unknown_provider_names_are_a_400_naming_the_place(router: Router) -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan(router, provider={"ignore": ["cheap", "nobody"]})
    assert caught.value.param == "provider.ignore[1]"


def test_max_price_in_usd_per_million(router: Router) -> None:
    assert plan(router, provider={"max_price": {"completion": 10}}) == ["cheap:t/m", "dear:t/m"]
    assert plan(router, provider={"max_price": {"prompt": "0.5"}}) == ["mid:t/m"]
    with pytest.raises(NotFound) as caught:
        plan(router, provider={"max_price": {"prompt": 0.1}})
    assert caught.value.code == "no_endpoints_match"
    assert "cheap for t/m: its prompt price 1 is above max_price.prompt 0.1" in str(caught.value)


# ---------------------------------------------------------------------------- what it needs


TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def test_tools_and_json_schema_need_an_endpoint_that_has_them(router: Router) -> None:
    assert "cheap:t/m" not in plan(router, tools=[TOOL])
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    assert "cheap:t/m" not in plan(router, response_format=schema)
    # Other parameters only count when the caller insists.
    assert "cheap:t/m" in plan(router, seed=1)
    assert "cheap:t/m" not in plan(router, seed=1, provider={"require_parameters": True})
    assert "cheap:t/m" in plan(router, temperature=1, provider={"require_parameters": True})


def test_an_input_no_endpoint_takes_is_a_400_naming_the_part(router: Router) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}
    parts = [{"type": "text", "text": "look"}, image]
    assert "cheap:t/m" not in plan(router, messages=[{"role": "user", "content": parts}])
    with pytest.raises(InvalidRequest) as caught:
        plan(router, model="t/text", messages=[{"role": "user", "content": parts}])
    assert caught.value.param == "messages[0].content[1]"
    assert "'image_url'" in str(caught.value) and "t/text" in str(caught.value)


def test_needs_are_read_in_one_pass() -> None:
    needs = needs_of(
        request(
            messages=[
                {"role": "user", "content": [{"type": "text", "text": "x" * 400}]},
                {"role": "tool", "tool_call_id": "c", "content": "ok"},
            ],
            max_completion_tokens=50,
            reasoning_effort="low",
        )
    )
    assert needs.prompt_tokens == 100
    assert needs.max_tokens == 50
    assert needs.parameters == {"max_tokens", "reasoning", "tools"}
    assert needs.essential == {"tools"}


# ---------------------------------------------------------------------------- data policy


def test_providers_that_train_on_prompts_need_consent(router: Router) -> None:
    assert plan(router, model="t/policy") == ["mid:t/policy"]
    assert plan(router, True, model="t/policy") == ["trainer:t/policy", "mid:t/policy"]
    allow = {"data_collection": "allow"}
    assert plan(router, model="t/policy", provider=allow)[0] == "trainer:t/policy"
    deny = {"data_collection": "deny"}
    assert plan(router, True, model="t/policy", provider=deny) == ["mid:t/policy"]


# ---------------------------------------------------------------------------- fallback models


def test_fallback_models_follow_in_order(router: Router) -> None:
    targets = plan(router, model="t/text", models=["t/policy", "t/text", "t/m"], max_tokens=10)
    assert targets == ["cheap:t/text", "mid:t/policy", "mid:t/m", "cheap:t/m", "dear:t/m"]


def test_a_model_without_providers_falls_through_to_the_next(router: Router) -> None:
    assert plan(router, model="t/offline", fallback_models=["t/text"]) == ["cheap:t/text"]
    with pytest.raises(NoProviderAvailable):
        plan(router, model="t/offline")


def test_an_unknown_fallback_model_is_a_404_naming_it(router: Router) -> None:
    with pytest.raises(ModelNotFound) as caught:
        plan(router, models=["t/text", "t/nope"])
    assert caught.value.param == "models[1]"


# ---------------------------------------------------------------------------- health


def test_open_breakers_go_last_and_measured_speed_sorts(router: Router) -> None:
    for _ in range(3):
        router.health.failed("mid/mid-m")
    assert plan(router, max_tokens=10) == ["cheap:t/m", "dear:t/m", "mid:t/m"]

    router.health.forget()
    router.health.succeeded("dear/dear-m", ttft=0.2, throughput=90.0)
    router.health.succeeded("cheap/cheap-m", ttft=0.9, throughput=150.0)
    by_latency = plan(router, max_tokens=10, provider={"sort": "latency"})
    assert by_latency == ["dear:t/m", "cheap:t/m", "mid:t/m"]  # unmeasured last
    by_throughput = plan(router, max_tokens=10, provider={"sort": "throughput"})
    assert by_throughput == ["cheap:t/m", "dear:t/m", "mid:t/m"]


def test_max_price_is_exact_decimal() -> None:
    parsed = ChatRequest.model_validate(
        {"model": "m", "messages": PROMPT, "provider": {"max_price": {"prompt": 0.1}}}
    )
    assert parsed.provider is not None and parsed.provider.max_price is not None
    assert parsed.provider.max_price.prompt == Decimal("0.1")


def test_empty_tools_ask_for_nothing() -> None:
    assert "tools" not in needs_of(request(tools=[], tool_choice=None)).parameters


def test_the_part_named_is_the_first_of_a_kind_nothing_takes(router: Router) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "x"}]}] * 10
    messages = [*messages, {"role": "user", "content": [image]}]
    messages += [{"role": "user", "content": [{"type": "text", "text": "y"}, audio]}]
    with pytest.raises(InvalidRequest) as caught:
        plan(router, messages=messages)  # t/m takes images, but no endpoint takes audio
    assert caught.value.param == "messages[11].content[1]"


def test_endpoints_each_lacking_a_different_input_kind_is_still_a_400() -> None:
    catalog = Catalog.model_validate(
        {
            "providers": CATALOG.model_dump()["providers"],
            "models": [
                {
                    "id": "t/split",
                    "name": "S",
                    "context_length": 1000,
                    "input_modalities": ["text", "image", "audio"],
                    "endpoints": [
                        endpoint("cheap", "1", "1", input_modalities=["text", "image"]),
                        endpoint("mid", "1", "1", input_modalities=["text", "audio"]),
                    ],
                }
            ],
        }
    )
    router = Router(catalog, {"K": "key"}, SUPPORTED_PROTOCOLS, Health())
    image = {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    with pytest.raises(InvalidRequest) as caught:
        plan(router, model="t/split", messages=[{"role": "user", "content": [image, audio]}])
    assert caught.value.param == "messages[0].content[0]"
