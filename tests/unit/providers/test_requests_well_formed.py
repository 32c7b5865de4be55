"""Every OpenAI request the adapters take becomes a provider request its API accepts (judged by
the provider's official SDK types and stated rules, as the fakes judge), or else a 400 of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onerouter.errors import InvalidRequest
from onerouter.providers.anthropic import to_provider_request as to_anthropic
from onerouter.providers.bedrock import to_provider_request as to_bedrock
from onerouter.providers.gemini import to_provider_request as to_gemini
from onerouter.requests import GatewayRequest
from tests.fakes.checks import anthropic_problem, bedrock_problem, gemini_problem
from tests.unit.providers import google
from tests.unit.providers import test_anthropic as anthropic
from tests.unit.providers import test_bedrock as bedrock

PNG = "data:image/png;base64,iVBORw0KGgo="
PDF = "data:application/pdf;base64,JVBERi0xLjQ="
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
CALL = {
    "id": "call_abc123",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
# What pydantic writes for a model with a Literal, a set, a constrained int and an Optional.
PYDANTIC_SCHEMA = {
    "$defs": {"Unit": {"enum": ["c", "f"], "title": "Unit", "type": "string"}},
    "properties": {
        "city": {"title": "City", "type": "string", "minLength": 1},
        "unit": {"$ref": "#/$defs/Unit", "default": "c"},
        "days": {"exclusiveMinimum": 0, "title": "Days", "type": "integer"},
        "tags": {"items": {"type": "string"}, "type": "array", "uniqueItems": True},
        "kind": {"const": "weather", "type": "string"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "level": {"enum": [1, 2, 3], "type": "integer"},
    },
    "required": ["city", "days"],
    "title": "Args",
    "type": "object",
    "additionalProperties": False,
}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any, *calls: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content,
        **({"tool_calls": list(calls)} if calls else {}),
    }


def tool(content: Any, call_id: str = "call_abc123") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


ASK = user("Weather in Paris?")
CASES: dict[str, dict[str, Any]] = {
    "plain": {"messages": [user("hi")]},
    "system and developer": {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [text("Rules")]},
            user("hi"),
        ]
    },
    "empty and blank text parts": {"messages": [user([text(""), text("  "), text("hi")])]},
    "blank system": {"messages": [{"role": "system", "content": " "}, user("hi")]},
    "tool round trip": {
        "messages": [ASK, assistant(None, CALL), tool("sunny")],
        "tools": [WEATHER],
    },
    "blank text beside tool calls": {
        "messages": [ASK, assistant("\n\n", CALL), tool("sunny")],
        "tools": [WEATHER],
    },
    "empty text part beside tool calls": {
        "messages": [ASK, assistant([text("")], CALL), tool("sunny")],
        "tools": [WEATHER],
    },
    "empty tool result": {"messages": [ASK, assistant("", CALL), tool("")], "tools": [WEATHER]},
    "tool result as parts, then the user": {
        "messages": [ASK, assistant(None, CALL), tool([text("sunny")]), user("thanks")],
        "tools": [WEATHER],
    },
    "parallel calls": {
        "messages": [
            ASK,
            assistant(None, CALL, {**CALL, "id": "call_2"}),
            tool('{"t": 21}'),
            tool("[1, 2]", "call_2"),
        ],
        "tools": [WEATHER],
    },
    "tool history without tools": {
        "messages": [ASK, assistant(None, CALL), tool("sunny"), user("and tomorrow?")]
    },
    "images and a pdf": {
        "messages": [
            user(
                [
                    text("What is this?"),
                    {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}},
                    {"type": "file", "file": {"filename": "my report.v2.pdf", "file_data": PDF}},
                ]
            )
        ]
    },
    "cache control": {
        "messages": [user([{**text("long"), "cache_control": {"type": "ephemeral"}}, text("q")])]
    },
    "sampling": {
        "messages": [user("hi")],
        "temperature": 1.7,
        "top_p": 0.5,
        "top_k": 40,
        "stop": "END",
        "max_tokens": 100,
        "seed": 3,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.2,
        "user": "u-1",
    },
    "several stops and choices": {"messages": [user("hi")], "stop": ["a", "b"], "n": 2},
    "tool choice required": {"messages": [ASK], "tools": [WEATHER], "tool_choice": "required"},
    "tool choice none": {"messages": [ASK], "tools": [WEATHER], "tool_choice": "none"},
    "tool choice named": {
        "messages": [ASK],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    },
    "no parallel tool calls": {"messages": [ASK], "tools": [WEATHER], "parallel_tool_calls": False},
    "tool without parameters": {
        "messages": [ASK],
        "tools": [{"type": "function", "function": {"name": "now"}}],
    },
    "pydantic schema as tool": {
        "messages": [ASK],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": PYDANTIC_SCHEMA}}],
    },
    "json object": {"messages": [user("json")], "response_format": {"type": "json_object"}},
    "pydantic schema as response format": {
        "messages": [user("json")],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "args", "schema": PYDANTIC_SCHEMA, "strict": True},
        },
    },
    "reasoning": {"messages": [user("think")], "reasoning": {"effort": "low"}},
    "reasoning with sampling": {
        "messages": [user("think")],
        "reasoning_effort": "high",
        "temperature": 0.3,
        "top_p": 0.5,
        "top_k": 5,
    },
    "reasoning with forced tools": {
        "messages": [ASK],
        "reasoning": {"effort": "medium"},
        "tools": [WEATHER],
        "tool_choice": "required",
    },
    "reasoning budget above max_tokens": {
        "messages": [user("think")],
        "reasoning": {"max_tokens": 2000},
        "max_tokens": 1000,
    },
    "reasoning, hidden": {
        "messages": [user("think")],
        "reasoning": {"enabled": True, "exclude": True},
    },
    "no reasoning": {"messages": [user("think")], "reasoning_effort": "none"},
    "stream": {"messages": [user("hi")], "stream": True, "stream_options": {"include_usage": True}},
    "assistant extras": {
        "messages": [
            user("x"),
            {"role": "assistant", "content": "ok", "name": "bot", "refusal": None},
            {"role": "user", "content": "y", "name": "bob"},
        ]
    },
    "assistant prefill": {"messages": [user("x"), assistant("The answer is")]},
}

Translate = Callable[[dict[str, Any]], tuple[GatewayRequest, dict[str, Any]]]


def _translate(module: Any, to_provider: Any) -> Translate:
    def translate(raw: dict[str, Any]) -> tuple[GatewayRequest, dict[str, Any]]:
        request = module.chat(**raw)
        return request, to_provider(request, module.TARGET)

    return translate


PROTOCOLS: dict[str, tuple[Translate, Callable[[GatewayRequest, dict[str, Any]], str | None]]] = {
    "anthropic": (_translate(anthropic, to_anthropic), lambda _, body: anthropic_problem(body)),
    "bedrock": (
        _translate(bedrock, to_bedrock),
        lambda request, body: bedrock_problem(
            "ConverseStream" if request.stream else "Converse",
            bedrock.TARGET.endpoint.model,
            body,
        ),
    ),
    "gemini": (_translate(google, to_gemini), lambda _, body: gemini_problem(body)),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", CASES)
def test_request_is_well_formed_or_refused_by_us(case: str, protocol: str) -> None:
    translate, problem_in = PROTOCOLS[protocol]
    try:
        request, body = translate(CASES[case])
    except InvalidRequest:
        return  # a 400 of ours, naming the part: never sent
    assert problem_in(request, body) is None


def test_bedrock_conversation_opening_with_the_assistant_gets_a_user_turn_first() -> None:
    translate, problem_in = PROTOCOLS["bedrock"]
    request, body = translate({"messages": [assistant("How can I help?"), user("hi")]})
    assert problem_in(request, body) is None
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [{"text": "How can I help?"}]


# ----------------------------------------------------- the fixes these checks led to, directly


@pytest.mark.parametrize("protocol", ["anthropic", "bedrock"])
def test_blank_text_is_left_out_for_claude(protocol: str) -> None:
    translate, _ = PROTOCOLS[protocol]
    _, body = translate(CASES["blank text beside tool calls"])
    assert len(body["messages"][1]["content"]) == 1  # the tool call alone
    _, body = translate(CASES["empty and blank text parts"])
    (only,) = body["messages"][0]["content"]
    assert only["text"] == "hi"
    _, body = translate(CASES["blank system"])
    assert "system" not in body


def test_gemini_leaves_out_empty_text_parts() -> None:
    translate, _ = PROTOCOLS["gemini"]
    _, body = translate(CASES["empty and blank text parts"])
    assert body["contents"][0]["parts"] == [{"text": "  "}, {"text": "hi"}]
    _, body = translate(CASES["empty text part beside tool calls"])
    assert [list(part) for part in body["contents"][1]["parts"]] == [["functionCall"]]


def test_gemini_schema_keeps_only_what_gemini_takes() -> None:
    translate, _ = PROTOCOLS["gemini"]
    _, body = translate(CASES["pydantic schema as tool"])
    properties = body["tools"][0]["functionDeclarations"][0]["parameters"]["properties"]
    assert properties["days"] == {"title": "Days", "type": "integer"}
    assert properties["tags"] == {"items": {"type": "string"}, "type": "array"}
    assert properties["level"] == {"type": "integer"}  # Gemini's enums hold strings only
    assert properties["city"]["minLength"] == 1


@pytest.mark.parametrize("protocol", ["anthropic", "bedrock"])
def test_thinking_raises_top_p_to_what_claude_takes_then(protocol: str) -> None:
    translate, _ = PROTOCOLS[protocol]
    _, body = translate(CASES["reasoning with sampling"])
    sampling = body.get("inferenceConfig") or body
    assert sampling.get("top_p", sampling.get("topP")) == 0.95
    _, body = translate({**CASES["reasoning with sampling"], "top_p": 0.98})
    sampling = body.get("inferenceConfig") or body
    assert sampling.get("top_p", sampling.get("topP")) == 0.98
