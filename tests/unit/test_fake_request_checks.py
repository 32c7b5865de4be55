"""The fakes judge request bodies by the providers' official SDK types: well-formed bodies of every
kind pass, malformed ones are refused with the provider's own kind of 400."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_provider import FakeAnthropicProvider
from tests.fakes.bedrock_provider import FakeBedrockProvider
from tests.fakes.checks import anthropic_problem, bedrock_problem, gemini_problem, openai_problem
from tests.fakes.gemini_provider import FakeGeminiProvider

PNG = "iVBORw0KGgo="
PDF = "JVBERi0xLjQ="
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the value at dotted `path` replaced (or added)."""
    out = copy.deepcopy(body)
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    node: Any = out
    for key in parents:
        node = node[key]
    node[last] = value
    return out


# -------------------------------------------------------------------------------- Anthropic

CLAUDE_OK: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 2048,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "temperature": 1,
    "top_p": 0.95,
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "tools": [{"name": "get_weather", "description": "Weather", "input_schema": SCHEMA}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "metadata": {"user_id": "u-1"},
    "stop_sequences": ["END"],
    "stream": True,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look", "cache_control": {"type": "ephemeral"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.test/a.png"}},
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                    "title": "report.pdf",
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Hm.", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"a": 1}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "21°C"}],
                    "is_error": False,
                },
            ],
        },
    ],
}


def test_anthropic_accepts_every_kind_of_block() -> None:
    assert anthropic_problem(CLAUDE_OK) is None


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        # Block items are validated lazily by pydantic: these pass a naive TypeAdapter check.
        ("messages.0.content.1", {"type": "bogus"}, "messages.0.content.1.type"),
        ("messages.2.content.0", {"type": "tool_result"}, "messages.2.content.0.tool_use_id"),
        ("messages.1.content.3.input", "not an object", "messages.1.content.3.input"),
        ("messages.0.content.1.source.media_type", "image/bmp", "media_type"),
        ("messages.0.content.0.colour", "red", "messages.0.content.0.colour: Extra inputs"),
        ("messages.1.role", "robot", "messages.1.role"),
        ("system.0.text", "  ", "non-whitespace"),
        ("messages.1.content", [], "messages.1: all messages must have non-empty content"),
        ("frequency_penalty", 0.5, "frequency_penalty: Extra inputs"),
        ("temperature", 0.3, "`temperature` may only be set to 1"),
        ("top_p", 0.5, "`top_p` must be greater than or equal to 0.95"),
        ("max_tokens", 1024, "`max_tokens` must be greater"),
        ("tool_choice", {"type": "any"}, "forces tool use"),
    ],
)
def test_anthropic_refuses(path: str, value: Any, named: str) -> None:
    problem = anthropic_problem(_with(CLAUDE_OK, path, value))
    assert problem is not None and named in problem


def test_anthropic_needs_max_tokens_and_messages() -> None:
    assert anthropic_problem({"model": "m", "messages": []}) == "max_tokens: Field required"
    problem = anthropic_problem({"model": "m", "max_tokens": 5, "messages": []})
    assert problem == "messages: at least one message is required"


# ---------------------------------------------------------------------------------- Bedrock

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CONVERSE_OK: dict[str, Any] = {
    "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
    "inferenceConfig": {"maxTokens": 2048, "topP": 0.95, "stopSequences": ["END"]},
    "toolConfig": {
        "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": SCHEMA}}}],
        "toolChoice": {"auto": {}},
    },
    "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    "messages": [
        {
            "role": "user",
            "content": [
                {"text": "Look"},
                {"cachePoint": {"type": "default"}},
                {"image": {"format": "png", "source": {"bytes": PNG}}},
                {"document": {"format": "pdf", "name": "report", "source": {"bytes": PDF}}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"reasoningText": {"text": "Hm.", "signature": "sig"}}},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"a": 1}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": ""}]}},
                {"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"t": 21}}]}},
            ],
        },
    ],
}


@pytest.mark.parametrize("operation", ["Converse", "ConverseStream"])
def test_bedrock_accepts_the_rest_json_body(operation: str) -> None:
    assert bedrock_problem(operation, MODEL, CONVERSE_OK) is None


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (
            "messages.0.content.0",
            {"bogus": "x"},
            'Unknown parameter in messages[0].content[0]: "bogus"',
        ),
        ("messages.0.content.0", {"text": "a", "cachePoint": {"type": "default"}}, "tagged union"),
        ("messages.0.content.2.image.source.bytes", "!!", "not valid base64"),
        ("messages.0.content.2.image.format", "bmp", "enum value set"),
        ("messages.1.content.1.toolUse.name", "get.weather", "regular expression pattern"),
        ("messages.2.content.0.toolResult", {"content": []}, '"toolUseId"'),
        ("inferenceConfig.maxTokens", 0, "valid min value: 1"),
        ("inferenceConfig.temperature", 0.3, "`temperature` may only be set to 1"),
        ("modelId", MODEL, "belongs in the URL"),
        ("messages.0.content.0.text", " ", "messages.0.content.0 is blank"),
        ("messages.1.role", "user", "must alternate"),
        ("messages.0.role", "assistant", "must start with a user message"),
        ("messages.1.content", [], "messages.1 is empty"),
    ],
)
def test_bedrock_refuses(path: str, value: Any, named: str) -> None:
    problem = bedrock_problem("Converse", MODEL, _with(CONVERSE_OK, path, value))
    assert problem is not None and named in problem


# ----------------------------------------------------------------------------------- Gemini

GEMINI_OK: dict[str, Any] = {
    "systemInstruction": {"parts": [{"text": "Be brief."}]},
    "contents": [
        {
            "role": "user",
            "parts": [
                {"text": "Look"},
                {"inlineData": {"mimeType": "image/png", "data": PNG}},
                {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x.test/a.pdf"}},
            ],
        },
        {
            "role": "model",
            "parts": [
                {"text": "Hm.", "thought": True},
                {"functionCall": {"name": "get_weather", "args": {}}, "thoughtSignature": "c2ln"},
            ],
        },
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]},
    ],
    "tools": [{"functionDeclarations": [{"name": "get_weather", "parameters": SCHEMA}]}],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["x"]}},
    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    "generationConfig": {
        "maxOutputTokens": 100,
        "temperature": 0.5,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
        "imageConfig": {"aspectRatio": "16:9"},
    },
}


def test_gemini_accepts_camel_case_and_protobufs_snake_case() -> None:
    assert gemini_problem(GEMINI_OK) is None
    snake = {"contents": GEMINI_OK["contents"], "generation_config": {"max_output_tokens": 5}}
    assert gemini_problem(snake) is None


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("generationConfigs", {}, 'Unknown name "generationConfigs"'),
        ("generationConfig.topQ", 1, "Unknown name \"topQ\" at 'generationConfig'"),
        ("generationConfig.routingConfig", {"autoMode": {}}, 'Unknown name "routingConfig"'),
        ("contents.0.parts.0.colour", "red", "Unknown name \"colour\" at 'contents.0.parts.0'"),
        ("contents.0.parts.0", {"text": ""}, "empty text parameter"),
        ("contents.0.parts.0", {"thought": True}, "required oneof field 'data'"),
        ("contents.0.parts.0", {"text": "a", "inlineData": {"data": PNG}}, "already set"),
        ("contents.0.parts.1.inlineData.data", "!!", "base64"),
        ("contents.0.role", "system", "valid role"),
        ("contents.1.parts", [], "must not be empty"),
        ("tools.0.functionDeclarations.0.parameters.additionalProperties", False, "Unknown name"),
        ("tools.0.functionDeclarations.0.parameters.$schema", "x", 'Unknown name "$schema"'),
        ("toolConfig.functionCallingConfig.mode", 7, "toolConfig.functionCallingConfig.mode"),
    ],
)
def test_gemini_refuses(path: str, value: Any, named: str) -> None:
    problem = gemini_problem(_with(GEMINI_OK, path, value))
    assert problem is not None and named in problem


# ----------------------------------------------------------------------------------- OpenAI


def test_openai_takes_unknown_fields_but_checks_known_ones() -> None:
    ask = [{"role": "user", "content": "hi"}]
    assert openai_problem({"model": "m", "messages": ask, "x_custom": {"a": 1}}) is None
    bogus = {"model": "m", "messages": [{"role": "user", "content": [{"type": "bogus"}]}]}
    assert openai_problem(bogus) == (
        "messages.0.content.0.type: Input tag 'bogus' does not match any expected tag"
    )
    orphan = {"model": "m", "messages": [{"role": "tool", "content": "x"}]}
    assert openai_problem(orphan) == "messages.0.tool_call_id: Field required"
    assert openai_problem({"model": "m"}, chat=False) == "prompt: Field required"


# ------------------------------------------------------- the refusal, in each provider's shape


@pytest.fixture(scope="module")
def claude() -> Iterator[FakeAnthropicProvider]:
    with FakeAnthropicProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def bedrock() -> Iterator[FakeBedrockProvider]:
    with FakeBedrockProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGeminiProvider]:
    with FakeGeminiProvider() as fake:
        yield fake


def test_anthropic_refusal_is_an_invalid_request_error(claude: FakeAnthropicProvider) -> None:
    body = _with(CLAUDE_OK, "messages.0.content.1", {"type": "bogus"})
    headers = {"x-api-key": claude.api_key, "anthropic-version": "2023-06-01"}
    response = httpx.post(f"{claude.base_url}/v1/messages", json=body, headers=headers)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith("messages.0.content.1.type: ")


def test_bedrock_refusal_is_a_validation_exception(bedrock: FakeBedrockProvider) -> None:
    body = _with(CONVERSE_OK, "messages.0.content.0", {"bogus": "x"})
    url = f"{bedrock.base_url}/model/{MODEL}/converse"
    response = httpx.post(url, json=body, headers={"authorization": f"Bearer {bedrock.api_key}"})
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"
    assert set(response.json()) == {"message"}
    assert '"bogus"' in response.json()["message"]


def test_gemini_refusal_is_invalid_argument(gemini: FakeGeminiProvider) -> None:
    body = _with(GEMINI_OK, "contents.0.parts.0", {"text": ""})
    url = f"{gemini.base_url}/v1beta/models/gemini-2.5-flash:generateContent"
    response = httpx.post(url, json=body, headers={"x-goog-api-key": gemini.api_key})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert "empty text parameter" in error["message"]
