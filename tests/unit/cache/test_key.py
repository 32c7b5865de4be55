"""The cache key: the same question gets the same key, any answer-changing difference a new one,
and nothing about one account's requests opens another's entries."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from onerouter.cache.key import VERSION, CacheKey, cache_key, canonical
from onerouter.requests import ChatRequest, CompletionRequest, GatewayRequest

ACCOUNT = "acct_1"
MODEL = "openai/gpt-4o"
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
    },
}


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}], **fields}


def gateway(body: dict[str, Any], betas: tuple[str, ...] = ()) -> GatewayRequest:
    if "prompt" in body:
        return GatewayRequest("completion", CompletionRequest.model_validate(body), body, betas)
    return GatewayRequest("chat", ChatRequest.model_validate(body), body, betas)


def key(body: dict[str, Any], account: str = ACCOUNT, model: str = MODEL) -> CacheKey:
    return cache_key(account, model, gateway(body))


def test_the_same_request_gets_the_same_key() -> None:
    assert key(chat(temperature=0.2)) == key(chat(temperature=0.2))


def test_the_key_has_a_hex_lookup_id_and_a_32_byte_secret() -> None:
    k = key(chat())
    assert len(k.lookup) == 64 and int(k.lookup, 16) >= 0
    assert len(k.secret) == 32
    assert bytes.fromhex(k.lookup) != k.secret


def test_the_secret_is_not_in_the_repr() -> None:
    k = key(chat())
    assert k.secret.hex() not in repr(k) and str(k.secret) not in repr(k)


@pytest.mark.parametrize(
    "change",
    [
        {"messages": [{"role": "user", "content": "Hello!"}]},
        {"messages": [{"role": "system", "content": "Hello"}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]},
        {"messages": [{"role": "user", "content": "Hello"}, {"role": "user", "content": "Hi"}]},
        {"messages": [{"role": "user", "content": "Hello", "name": "ann"}]},
        {"tools": [TOOL]},
        {"tools": [TOOL], "tool_choice": "required"},
        {"tool_choice": {"type": "function", "function": {"name": "lookup"}}},
        {"parallel_tool_calls": False},
        {"response_format": {"type": "json_object"}},
        {"temperature": 0.5},
        {"top_p": 0.9},
        {"top_k": 40},
        {"min_p": 0.05},
        {"top_a": 0.1},
        {"seed": 7},
        {"stop": ["END"]},
        {"max_tokens": 100},
        {"max_completion_tokens": 100},
        {"n": 2},
        {"presence_penalty": 0.5},
        {"frequency_penalty": 0.5},
        {"repetition_penalty": 1.1},
        {"logit_bias": {"50256": -100}},
        {"logprobs": True},
        {"logprobs": True, "top_logprobs": 3},
        {"reasoning": {"effort": "high"}},
        {"reasoning": {"max_tokens": 2000}},
        {"reasoning": {"exclude": True}},
        {"reasoning": {"enabled": False}},
        {"reasoning_effort": "low"},
        # Unknown fields pass through to providers, so they count.
        {"verbosity": "low"},
        {"transforms": ["middle-out"]},
        {"web_search_options": {"search_context_size": "high"}},
        {"service_tier": "flex"},
    ],
    ids=lambda change: ",".join(change),
)
def test_each_answer_changing_field_changes_the_key(change: dict[str, Any]) -> None:
    assert key(chat(**change)) != key(chat())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"temperature": 0.5}, {"temperature": 0.6}),
        ({"seed": 1}, {"seed": 2}),
        ({"stop": ["a"]}, {"stop": ["b"]}),
        ({"max_tokens": 100}, {"max_tokens": 101}),
        ({"reasoning_effort": "low"}, {"reasoning_effort": "high"}),
        ({"top_k": 40}, {"top_k": 41}),
        ({"tools": [TOOL]}, {"tools": [{**TOOL, "function": {"name": "other"}}]}),
    ],
)
def test_each_value_of_a_field_has_its_own_key(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    assert key(chat(**first)) != key(chat(**second))


@pytest.mark.parametrize(
    "change",
    [
        {"stream": True},
        {"stream": True, "stream_options": {"include_usage": True}},
        {"user": "someone"},
        {"safety_identifier": "someone"},
        {"usage": {"include": True}},
        {"provider": {"order": ["openai"], "allow_fallbacks": False}},
        {"models": ["openai/gpt-4o", "anthropic/claude-sonnet-4"]},
        {"fallback_models": ["anthropic/claude-sonnet-4"]},
        {"route": "fallback"},
        {"metadata": {"team": "search"}},
        {"store": True},
        {"prompt_cache_key": "conversation-42"},
        {"model": "gpt-4o-alias"},
    ],
    ids=lambda change: ",".join(change),
)
def test_delivery_routing_and_bookkeeping_fields_do_not_change_the_key(
    change: dict[str, Any],
) -> None:
    assert key(chat(**change)) == key(chat())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"max_completion_tokens": 100}, {"max_tokens": 100}),
        ({"max_completion_tokens": 100, "max_tokens": 100}, {"max_tokens": 100}),
        ({"stop": "END"}, {"stop": ["END"]}),
        ({"stop": []}, {}),
        ({"temperature": None, "top_p": None, "seed": None, "tools": None}, {}),
        ({"temperature": 1}, {"temperature": 1.0}),
        ({"n": 1}, {}),
        ({"logprobs": False}, {}),
        ({"response_format": {"type": "text"}}, {}),
        ({"reasoning_effort": "high"}, {"reasoning": {"effort": "high"}}),
        (
            {"reasoning_effort": "high", "reasoning": {"effort": "high"}},
            {"reasoning_effort": "high"},
        ),
        ({"reasoning": {}}, {}),
        ({"reasoning": {"exclude": False, "effort": None}}, {}),
        ({"logit_bias": {"1": 5, "2": -5}}, {"logit_bias": {"2": -5.0, "1": 5.0}}),
        (
            {"messages": [{"role": "user", "content": "Hello", "name": None}]},
            {"messages": [{"content": "Hello", "role": "user"}]},
        ),
    ],
)
def test_spellings_of_the_same_request_share_a_key(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    assert key(chat(**first)) == key(chat(**second))


def test_field_order_does_not_count_where_it_means_nothing() -> None:
    body = chat(temperature=0.3, seed=1)
    reordered = dict(reversed(list(body.items())))
    assert key(reordered) == key(body)


def test_null_keys_of_tool_calls_are_absent() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    turn = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": None, "tool_calls": [{**call, "index": None}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    plain = [turn[0], {"role": "assistant", "tool_calls": [call]}, turn[2]]
    assert key(chat(messages=turn)) == key(chat(messages=plain))


def test_conflicting_spellings_both_count() -> None:
    both = key(chat(max_completion_tokens=100, max_tokens=200))
    assert both != key(chat(max_tokens=100)) and both != key(chat(max_tokens=200))
    efforts = key(chat(reasoning_effort="low", reasoning={"effort": "high"}))
    assert efforts != key(chat(reasoning_effort="low"))
    assert efforts != key(chat(reasoning_effort="high"))


def test_schema_property_order_counts() -> None:
    # Structured outputs are written in the schema's property order.
    def schema(*names: str) -> dict[str, Any]:
        properties = {name: {"type": "string"} for name in names}
        spec = {"name": "s", "schema": {"type": "object", "properties": properties}}
        return {"type": "json_schema", "json_schema": spec}

    assert key(chat(response_format=schema("a", "b"))) != key(
        chat(response_format=schema("b", "a"))
    )
    assert key(chat(response_format=schema("a", "b"))) == key(
        chat(response_format=schema("a", "b"))
    )


def test_chat_and_completion_of_the_same_text_differ() -> None:
    completion = key({"model": "gpt-4o", "prompt": "Hello"})
    assert completion != key(chat())
    assert completion == key({"model": "other", "prompt": "Hello", "stream": True})


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "Hello!"},
        {"prompt": ["Hello"]},
        {"suffix": "end"},
        {"echo": True},
        {"best_of": 2},
        {"logprobs": 0},
        {"max_tokens": 16},
    ],
    ids=lambda change: ",".join(change),
)
def test_completion_fields_change_the_key(change: dict[str, Any]) -> None:
    body = {"model": "gpt-4o-mini-instruct", "prompt": "Hello"}
    assert key({**body, **change}) != key(body)


def test_another_account_or_model_has_another_key() -> None:
    body = chat()
    assert key(body, account="acct_2") != key(body)
    assert key(body, model="anthropic/claude-sonnet-4") != key(body)
    # The fields are framed: moving a character from one to the other is another key.
    assert key(body, account="ab", model="c") != key(body, account="a", model="bc")


def test_the_model_id_passed_in_counts_not_the_alias_in_the_body() -> None:
    one = key(chat(model="gpt-4o"), model=MODEL)
    assert one == key(chat(model="openai/gpt-4o"), model=MODEL)


def test_anthropic_beta_features_count_in_any_order() -> None:
    body = chat()
    plain = cache_key(ACCOUNT, MODEL, gateway(body))
    beta = cache_key(ACCOUNT, MODEL, gateway(body, ("context-1m", "output-128k")))
    assert beta != plain
    assert beta == cache_key(ACCOUNT, MODEL, gateway(body, ("output-128k", "context-1m")))


def test_a_pepper_changes_both_keys() -> None:
    request = gateway(chat())
    plain = cache_key(ACCOUNT, MODEL, request)
    peppered = cache_key(ACCOUNT, MODEL, request, pepper=b"server secret")
    assert peppered.lookup != plain.lookup and peppered.secret != plain.secret


def test_keys_are_hkdf_sha256_of_the_canonical_request_with_two_labels() -> None:
    request = gateway(chat(temperature=0.1))
    content = canonical(ACCOUNT, MODEL, request)
    k = cache_key(ACCOUNT, MODEL, request)

    def hkdf(label: bytes) -> bytes:
        return HKDF(hashes.SHA256(), 32, salt=VERSION, info=label).derive(content)

    assert bytes.fromhex(k.lookup) == hkdf(VERSION + b"/lookup")
    assert k.secret == hkdf(VERSION + b"/seal")


def test_neither_key_is_a_plain_hash_of_the_content() -> None:
    request = gateway(chat())
    k = cache_key(ACCOUNT, MODEL, request)
    plain = {
        hashlib.sha256(canonical(ACCOUNT, MODEL, request)).digest(),
        hashlib.sha256(orjson.dumps(request.raw)).digest(),
        hashlib.sha256(orjson.dumps(request.raw, option=orjson.OPT_SORT_KEYS)).digest(),
    }
    assert bytes.fromhex(k.lookup) not in plain
    assert k.secret not in plain


def test_the_canonical_form_names_the_account_model_and_operation() -> None:
    document = orjson.loads(canonical(ACCOUNT, MODEL, gateway(chat(stop="x", stream=True))))
    assert document["account"] == ACCOUNT
    assert document["model"] == MODEL
    assert document["operation"] == "chat"
    assert document["body"] == {"messages": [{"role": "user", "content": "Hello"}], "stop": ["x"]}
