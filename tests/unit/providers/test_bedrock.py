"""Golden tests of the `bedrock` protocol's translation: OpenAI JSON in, Converse JSON out,
and back."""

from __future__ import annotations

from typing import Any

import pytest

from onerouter.errors import InvalidRequest
from onerouter.providers.base import Target
from onerouter.providers.bedrock import from_provider_response, to_provider_request
from onerouter.providers.bedrock.adapter import region_of, url_for
from onerouter.requests import ChatRequest, CompletionRequest, GatewayRequest
from onerouter.routing.catalog import Endpoint, Pricing, Provider

PROVIDER = Provider(
    id="bedrock",
    protocol="bedrock",
    base_url="https://bedrock-runtime.us-west-2.amazonaws.com",
)
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def target(model: str = CLAUDE, max_output_tokens: int | None = 64000) -> Target:
    endpoint = Endpoint(
        provider="bedrock",
        model=model,
        pricing=Pricing(prompt="3", completion="15"),  # type: ignore[arg-type]
    )
    return Target("bedrock/claude", PROVIDER, endpoint, "key", max_output_tokens=max_output_tokens)


TARGET = target()
NOVA = target("amazon.nova-pro-v1:0", max_output_tokens=None)
PNG = "iVBORw0KGgo="


def chat(**raw: Any) -> GatewayRequest:
    raw = {"model": "bedrock/claude", **raw}
    return GatewayRequest("chat", ChatRequest.model_validate(raw), raw)


def translate(at: Target = TARGET, **raw: Any) -> dict[str, Any]:
    return to_provider_request(chat(**raw), at)


def test_system_messages_and_same_roles_merge() -> None:
    body = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {
                "role": "developer",
                "content": [
                    {"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}
                ],
            },
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "there"}]},
            {"role": "assistant", "content": "Hello"},
        ],
        stream=True,
    )
    assert body == {
        "system": [
            {"text": "Be brief."},
            {"text": "Long rules"},
            {"cachePoint": {"type": "default"}},
        ],
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}, {"text": "there"}]},
            {"role": "assistant", "content": [{"text": "Hello"}]},
        ],
        "inferenceConfig": {"maxTokens": 64000},
    }


def test_images_and_pdfs_become_blocks() -> None:
    body = translate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {
                        "type": "file",
                        "file": {
                            "filename": "Q3 report_final.pdf",
                            "file_data": "data:application/pdf;base64,JVBERi0=",
                        },
                    },
                ],
            }
        ]
    )
    assert body["messages"][0]["content"] == [
        {"text": "Look"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {
            "document": {
                "format": "pdf",
                "name": "Q3 report-final",
                "source": {"bytes": "JVBERi0="},
            }
        },
    ]


@pytest.mark.parametrize(
    ("part", "words"),
    [
        ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "input_audio"),
        ({"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}}, "image URLs"),
        ({"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}, "image/bmp"),
    ],
)
def test_unsupported_part_is_a_400_naming_the_part_and_the_model(
    part: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[{"role": "user", "content": [{"type": "text", "text": "a"}, part]}])
    assert caught.value.status == 400
    assert "messages[0].content[1]" in caught.value.message
    assert words in caught.value.message
    assert "bedrock/claude" in caught.value.message


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_tool_round_trip_keeps_ids_and_merges_results() -> None:
    body = translate(
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "tooluse_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "tooluse_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "tooluse_1", "content": "sunny"},
            {
                "role": "tool",
                "tool_call_id": "tooluse_2",
                "content": [{"type": "text", "text": "rain"}],
            },
        ],
        tools=[WEATHER],
        tool_choice="auto",
    )
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "tooluse_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                },
                {
                    "toolUse": {
                        "toolUseId": "tooluse_2",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    }
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "sunny"}]}},
                {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "rain"}]}},
            ],
        },
    ]
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},  # type: ignore[index]
                }
            }
        ],
        "toolChoice": {"auto": {}},
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", {"any": {}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"tool": {"name": "get_weather"}},
        ),
        (None, None),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any] | None) -> None:
    body = translate(
        messages=[{"role": "user", "content": "Hi"}], tools=[WEATHER], tool_choice=choice
    )
    assert body["toolConfig"].get("toolChoice") == expected


def test_tool_choice_none_leaves_the_tools_out() -> None:
    body = translate(
        messages=[{"role": "user", "content": "Hi"}], tools=[WEATHER], tool_choice="none"
    )
    assert "toolConfig" not in body


def test_bad_tool_arguments_are_a_400() -> None:
    call = {"id": "t", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
    with pytest.raises(InvalidRequest, match="tool_calls\\[0\\]"):
        translate(messages=[{"role": "assistant", "tool_calls": [call]}])


def test_parameters_clamped_and_placed() -> None:
    body = translate(
        messages=[{"role": "user", "content": "Hi"}],
        temperature=1.7,
        top_p=0.9,
        top_k=40,
        stop="END",
        max_tokens=300,
    )
    assert body["inferenceConfig"] == {
        "maxTokens": 300,
        "temperature": 1.0,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert body["additionalModelRequestFields"] == {"top_k": 40}


def test_max_tokens_defaults_and_top_k_only_for_anthropic_models() -> None:
    body = translate(NOVA, messages=[{"role": "user", "content": "Hi"}], top_k=40, temperature=0.2)
    assert body["inferenceConfig"] == {"maxTokens": 4096, "temperature": 0.2}
    assert "additionalModelRequestFields" not in body
    assert translate(messages=[{"role": "user", "content": "Hi"}])["inferenceConfig"] == {
        "maxTokens": 64000
    }


def test_reasoning_becomes_a_thinking_budget() -> None:
    body = translate(
        target(max_output_tokens=None),
        messages=[{"role": "user", "content": "Think"}],
        reasoning={"max_tokens": 2000},
        max_tokens=1000,
        temperature=0.5,
    )
    assert body["inferenceConfig"] == {"maxTokens": 3000}
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2000}
    }


def test_legacy_prompt_is_one_user_turn() -> None:
    raw = {"model": "bedrock/claude", "prompt": "Once"}
    request = GatewayRequest("completion", CompletionRequest.model_validate(raw), raw)
    body = to_provider_request(request, TARGET)
    assert body["messages"] == [{"role": "user", "content": [{"text": "Once"}]}]


def test_url_and_region() -> None:
    assert url_for(TARGET, stream=False) == (
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    )
    assert url_for(TARGET, stream=True).endswith("v1%3A0/converse-stream")
    assert region_of("https://bedrock-runtime-fips.eu-west-1.amazonaws.com/x") == "eu-west-1"


# ------------------------------------------------------------------------------ responses


def test_response_text_reasoning_tools_and_usage() -> None:
    data = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"reasoningContent": {"reasoningText": {"text": "Hm", "signature": "s"}}},
                    {"text": "Let me check."},
                    {
                        "toolUse": {
                            "toolUseId": "tooluse_9",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        }
                    },
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {
            "inputTokens": 10,
            "outputTokens": 7,
            "totalTokens": 47,
            "cacheReadInputTokens": 25,
            "cacheWriteInputTokens": 5,
        },
        "metrics": {"latencyMs": 100},
    }
    answer = from_provider_response(data, TARGET)
    assert answer["object"] == "chat.completion"
    assert answer["model"] == "bedrock/claude"
    assert answer["provider"] == "bedrock"
    assert answer["id"].startswith("gen-")
    (choice,) = answer["choices"]
    assert choice["message"] == {
        "role": "assistant",
        "content": "Let me check.",
        "reasoning": "Hm",
        "reasoning_details": [
            {
                "type": "reasoning.text",
                "text": "Hm",
                "signature": "s",
                "format": "anthropic-claude-v1",
                "index": 0,
            }
        ],
        "tool_calls": [
            {
                "id": "tooluse_9",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }
    assert (choice["finish_reason"], choice["native_finish_reason"]) == ("tool_calls", "tool_use")
    assert answer["usage"] == {
        "prompt_tokens": 40,
        "completion_tokens": 7,
        "total_tokens": 47,
        "prompt_tokens_details": {"cached_tokens": 25, "cache_write_tokens": 5},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    call = {"toolUse": {"toolUseId": "t", "name": "get_weather", "input": {}}}
    data = {"output": {"message": {"content": [call]}}, "stopReason": stop_reason}
    choice = from_provider_response(data, TARGET)["choices"][0]
    assert choice["finish_reason"] == finish
    assert choice["native_finish_reason"] == stop_reason


SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}}


def test_json_schema_is_a_forced_tool_and_comes_back_as_content() -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    body = translate(messages=[{"role": "user", "content": "n?"}], response_format=response_format)
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "json_output",
                    "description": "Respond with this JSON.",
                    "inputSchema": {"json": SCHEMA},
                }
            }
        ],
        "toolChoice": {"tool": {"name": "json_output"}},
    }
    call = {"toolUse": {"toolUseId": "t", "name": "json_output", "input": {"n": 3}}}
    data = {"output": {"message": {"content": [call]}}, "stopReason": "tool_use"}
    choice = from_provider_response(data, TARGET)["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": '{"n":3}'}
    assert choice["finish_reason"] == "stop"
